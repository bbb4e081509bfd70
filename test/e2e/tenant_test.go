package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// A tenant with rights in their own namespace only (edgeforge's kinds and Deployments there),
// against the installed operator, tries to reach beyond it (issue 12): a Deployment of theirs
// is not taken over by an AppDeployment of the same name; a Cluster-scoped MonitoringStack is
// refused and a Namespace-scoped one selecting every monitor ({}) still sees its namespace only,
// with no cluster-wide RBAC; a build on a pool reserved for other namespaces gets no Job.
func TestTenantStaysInItsNamespace(t *testing.T) {
	ns := createNamespace(t, "e2e-tenant")
	ctx := t.Context()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"imagebuilds", "appdeployments", "monitoringstacks"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice", Groups: []string{"system:authenticated"}}
	alice, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	stalled := func(obj client.Object, reason string) {
		t.Helper()
		waitFor(t, time.Minute, fmt.Sprintf("%T %s Stalled %s", obj, obj.GetName(), reason), func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, err
			}
			conds := obj.(interface{ StatusConditions() *[]metav1.Condition }).StatusConditions()
			c := meta.FindStatusCondition(*conds, v1alpha1.ConditionStalled)
			return c != nil && c.Status == metav1.ConditionTrue && c.Reason == reason, nil
		})
	}

	// 1. Her own Deployment "web", then an AppDeployment "web": not taken over.
	labels := map[string]string{"app": "web"}
	mine := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "mine", Image: "registry.example.com/mine:1"}}}}}}
	if err := alice.Create(ctx, mine); err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.AppDeploymentSpec{Image: "registry.example.com/other:2", Replicas: ptr.To[int32](1)}}
	if err := alice.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	stalled(app, v1alpha1.ReasonObjectExists)
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(mine), mine); err != nil {
		t.Fatal(err)
	}
	if c := mine.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != "registry.example.com/mine:1" || metav1.GetControllerOf(mine) != nil {
		t.Errorf("the tenant's own Deployment was taken over: %+v, owners %v", c, mine.OwnerReferences)
	}

	// 2. Monitoring: Cluster scope refused; Namespace scope with {} sees its namespace only.
	grab := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grab"},
		Spec: v1alpha1.MonitoringStackSpec{Scope: v1alpha1.MonitoringScopeCluster}}
	if err := alice.Create(ctx, grab); err != nil {
		t.Fatal(err)
	}
	stalled(grab, v1alpha1.MonitoringStackReasonScopeNotAllowed)
	all := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"}, Spec: v1alpha1.MonitoringStackSpec{
		Prometheus: &v1alpha1.PrometheusSpec{ServiceMonitorSelector: &metav1.LabelSelector{}}}}
	if err := alice.Create(ctx, all); err != nil {
		t.Fatal(err)
	}
	prom := &monitoringv1.Prometheus{}
	waitFor(t, time.Minute, "the tenant stack's Prometheus", func(ctx context.Context) (bool, error) {
		return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: monitoring.NamesFor(all).Prometheus()}, prom) == nil, nil
	})
	if prom.Spec.ServiceMonitorNamespaceSelector != nil || prom.Spec.PodMonitorNamespaceSelector != nil {
		t.Errorf("a tenant's Prometheus selects monitors of other namespaces: %v %v", prom.Spec.ServiceMonitorNamespaceSelector, prom.Spec.PodMonitorNamespaceSelector)
	}
	for _, s := range []*v1alpha1.MonitoringStack{grab, all} {
		for _, c := range []string{monitoring.ComponentPrometheus, monitoring.ComponentKubeStateMetrics} {
			err := k8sClient.Get(ctx, client.ObjectKey{Name: monitoring.NamesFor(s).ClusterRole(c)}, &rbacv1.ClusterRole{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("tenant stack %s has a ClusterRole for %s (%v)", s.Name, c, err)
			}
		}
	}

	// 3. A pool reserved for other namespaces: her build gets no Job.
	pool := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: "e2e-reserved-" + randomHex(3)}, Spec: v1alpha1.EdgeClusterSpec{
		Join:              &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "factory"}}}}
	if err := k8sClient.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, pool)
	ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sneak"}, Spec: v1alpha1.ImageBuildSpec{
		Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM scratch\n"}},
		Output: v1alpha1.BuildOutput{Image: "registry.example.com/sneak:1"},
		RunOn:  &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool.Name}}}}
	if err := alice.Create(ctx, ib); err != nil {
		t.Fatal(err)
	}
	stalled(ib, v1alpha1.ImageBuildReasonPoolNotAllowed)
	jobs := &batchv1.JobList{}
	if err := k8sClient.List(ctx, jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) > 0 {
		t.Errorf("a build on a pool reserved for other namespaces got a Job: %s", jobs.Items[0].Name)
	}
}
