package monitoringstack

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// A tenant's stack (the default scope, Namespace) gets discovery rights in its namespace only:
// a Role, no ClusterRole, no exporter, and a Prometheus that looks in no other namespace.
func TestNamespaceScopeGrantsNothingClusterWide(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "team", func(s *v1alpha1.MonitoringStackSpec) { s.Scope = "" })
	n := monitoring.NamesFor(s)
	waitExists(t, &rbacv1.Role{}, ns, n.PrometheusService())
	waitExists(t, &rbacv1.RoleBinding{}, ns, n.PrometheusService())
	prom := &monitoringv1.Prometheus{}
	waitExists(t, prom, ns, n.Prometheus())
	if prom.Spec.ServiceMonitorNamespaceSelector != nil || prom.Spec.PodMonitorNamespaceSelector != nil {
		t.Fatalf("a Namespace-scoped Prometheus selects other namespaces: %v %v",
			prom.Spec.ServiceMonitorNamespaceSelector, prom.Spec.PodMonitorNamespaceSelector)
	}
	if exists(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentPrometheus)) ||
		exists(t, &rbacv1.ClusterRoleBinding{}, "", n.ClusterRole(monitoring.ComponentPrometheus)) ||
		exists(t, &appsv1.DaemonSet{}, ns, n.NodeExporter()) ||
		exists(t, &appsv1.Deployment{}, ns, n.KubeStateMetrics()) {
		t.Fatal("a Namespace-scoped stack got cluster-wide RBAC or an exporter")
	}

	// Switched to Cluster (allowed in this namespace): the Role goes, the ClusterRole comes.
	updateStack(t, ns, "team", func(s *v1alpha1.MonitoringStack) { s.Spec.Scope = v1alpha1.MonitoringScopeCluster })
	waitExists(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentPrometheus))
	waitGone(t, &rbacv1.Role{}, ns, n.PrometheusService())
	waitExists(t, &appsv1.Deployment{}, ns, n.KubeStateMetrics())
}

// Cluster scope outside --cluster-monitoring-namespaces: Stalled, nothing made.
func TestClusterScopeOnlyWhereAllowed(t *testing.T) {
	ns := "tenant-scope"
	if err := k8s.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, ns, "grab", nil)
	got := waitCondition(t, ns, "grab", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonScopeNotAllowed)
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled); c == nil || !strings.Contains(c.Message, "--cluster-monitoring-namespaces") {
		t.Fatalf("Stalled does not name the flag: %+v", c)
	}
	n := monitoring.NamesFor(s)
	if exists(t, &monitoringv1.Prometheus{}, ns, n.Prometheus()) || exists(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentPrometheus)) {
		t.Fatal("a refused Cluster-scoped stack made children")
	}
}

// A serviceMonitorSelector that cannot pick the stack's own monitors is refused with a reason.
func TestSelectorExcludingOwnMonitors(t *testing.T) {
	ns := newNamespace(t)
	newStack(t, ns, "narrow", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1alpha1.LabelManagedBy: "someone-else"}}}
	})
	got := waitCondition(t, ns, "narrow", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonInvalidSpec)
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled); c == nil || !strings.Contains(c.Message, "spec.prometheus.serviceMonitorSelector") {
		t.Fatalf("Stalled does not name the field: %+v", c)
	}
}

// With a selector, the stack's own ServiceMonitors carry what it asks for: always scraped.
func TestSelectorAddsToOwnMonitors(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "main", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "factory"}}}
	})
	n := monitoring.NamesFor(s)
	for _, name := range []string{n.PrometheusService(), n.NodeExporter(), n.KubeStateMetrics()} {
		sm := &monitoringv1.ServiceMonitor{}
		waitExists(t, sm, ns, name)
		if sm.Labels["team"] != "factory" {
			t.Fatalf("own ServiceMonitor %s lacks the selector's label: %v", name, sm.Labels)
		}
	}
}

// A Cluster-scoped stack whose namespace enforces a Pod Security level that refuses
// node-exporter (hostNetwork, hostPID, hostPath) says so, instead of waiting for pods that can
// never be admitted; relabelling the namespace privileged lets it go on by itself.
func TestNodeExporterForbiddenByPodSecurity(t *testing.T) {
	ns := newNamespace(t)
	setEnforce := func(level string) {
		eventually(t, "labelling namespace "+ns+" "+level, func() error {
			n := &corev1.Namespace{}
			if err := k8s.Get(ctx(t), client.ObjectKey{Name: ns}, n); err != nil {
				return err
			}
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[monitoring.LabelPodSecurityEnforce] = level
			return k8s.Update(ctx(t), n)
		})
	}
	setEnforce("restricted")
	s := newStack(t, ns, "cluster", nil)
	got := waitCondition(t, ns, "cluster", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonNodeExporterForbidden)
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled); !strings.Contains(c.Message, `"restricted"`) ||
		!strings.Contains(c.Message, "spec.nodeExporter.enabled") {
		t.Fatalf("Stalled does not say which level refuses it and what to do: %q", c.Message)
	}
	if exists(t, &appsv1.DaemonSet{}, ns, monitoring.NamesFor(s).NodeExporter()) {
		t.Fatal("a DaemonSet whose pods cannot be admitted was created")
	}
	setEnforce("privileged")
	waitExists(t, &appsv1.DaemonSet{}, ns, monitoring.NamesFor(s).NodeExporter())
	waitCondition(t, ns, "cluster", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonProgressing)
}
