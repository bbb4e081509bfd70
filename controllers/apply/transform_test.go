package apply

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A look-alike (labelled managed-by=edgeforge by anyone) is cached as a stub; a child of an
// edgeforge object keeps its spec and edgeforge's managedFields entry.
func TestKeepOwnedOnly(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	deployment := func(owner *metav1.OwnerReference) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team", UID: "u1", ResourceVersion: "7",
			Labels:        map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue},
			Annotations:   map[string]string{"filler": big, v1alpha1.AnnotationAdopt: "true"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "edgeforge", Operation: metav1.ManagedFieldsOperationApply}, {Manager: "kube-controller-manager"}}},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "FILLER", Value: big}}}}}}}}
		if owner != nil {
			d.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		return d
	}
	trim := KeepOwnedOnly("edgeforge")
	for _, tc := range []struct {
		name  string
		owner *metav1.OwnerReference
		stub  bool
	}{
		{"no owner: a stranger's look-alike", nil, true},
		{"owned by a ReplicaSet", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "x", Controller: ptr.To(true)}, true},
		{"an edgeforge reference that does not control", &metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AppDeployment", Name: "web"}, true},
		{"a look-alike group", &metav1.OwnerReference{APIVersion: "evil-edgeforge.io/v1alpha1", Kind: "AppDeployment", Name: "web", Controller: ptr.To(true)}, true},
		{"an AppDeployment's child", &metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AppDeployment", Name: "web", Controller: ptr.To(true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := trim(deployment(tc.owner))
			if err != nil {
				t.Fatal(err)
			}
			d := out.(*appsv1.Deployment)
			if d.Name != "web" || d.Namespace != "team" || d.UID != "u1" || d.ResourceVersion != "7" || d.Labels[v1alpha1.LabelManagedBy] == "" ||
				d.Annotations[v1alpha1.AnnotationAdopt] != "true" || (tc.owner != nil && len(d.OwnerReferences) != 1) {
				t.Fatalf("identity, labels, owners or the adopt annotation lost: %+v", d.ObjectMeta)
			}
			if tc.stub {
				if d.Spec.Replicas != nil || len(d.Spec.Template.Spec.Containers) != 0 || len(d.Annotations) != 1 || len(d.ManagedFields) != 0 {
					t.Fatalf("a stranger's object is cached with its data: %+v", d)
				}
				return
			}
			if d.Spec.Replicas == nil || len(d.ManagedFields) != 1 || d.ManagedFields[0].Manager != "edgeforge" {
				t.Fatalf("a child lost its spec or edgeforge's managedFields: %+v", d)
			}
		})
	}
}

// A cluster-scoped object (a stack's ClusterRole: no namespaced owner possible, and only cluster
// admins can make one) keeps its rules and edgeforge's managedFields.
func TestKeepOwnedOnlyClusterScoped(t *testing.T) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edgeforge:team:main:prometheus",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "edgeforge", Operation: metav1.ManagedFieldsOperationApply}, {Manager: "kubectl"}}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
	out, err := KeepOwnedOnly("edgeforge")(role)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*rbacv1.ClusterRole)
	if len(got.Rules) != 1 || len(got.ManagedFields) != 1 || got.ManagedFields[0].Manager != "edgeforge" {
		t.Fatalf("cluster-scoped object trimmed to a stub: %+v", got)
	}
}

func TestTrimPod(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "team", Labels: map[string]string{"a": "b"},
			Annotations: map[string]string{"filler": strings.Repeat("x", 1000)}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "edge-1", Containers: []corev1.Container{{Name: "app", Image: "web:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Reason: "Evicted", ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "web:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "401"}}}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
	out, err := TrimPod(p)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	if got.Name != "web-1" || got.Labels["a"] != "b" || got.Spec.NodeName != "edge-1" || got.Status.Reason != "Evicted" ||
		got.Status.ContainerStatuses[0].State.Waiting.Reason != "ErrImagePull" || len(got.Status.Conditions) != 1 {
		t.Fatalf("what the controllers read was lost: %+v", got)
	}
	if len(got.Spec.Containers) != 0 || len(got.Annotations) != 0 || len(got.ManagedFields) != 0 {
		t.Fatalf("spec, annotations or managedFields kept: %+v", got)
	}
}

// The children's transform shares the strings equal objects repeat (internal/intern), also in a
// Deployment's selector and pod template and a Service's selector.
func TestTransformsShareStrings(t *testing.T) {
	const meta = `"metadata":{"name":"web","namespace":"shop","labels":{"app.kubernetes.io/name":"web"},
	  "ownerReferences":[{"apiVersion":"edgeforge.io/v1alpha1","kind":"AppDeployment","name":"web","uid":"u","controller":true}],
	  "managedFields":[{"manager":"edgeforge","operation":"Apply","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{}}]}`
	decode := func(into any, s string) {
		t.Helper()
		if err := json.Unmarshal([]byte(s), into); err != nil {
			t.Fatal(err)
		}
	}
	trim := KeepOwnedOnly("edgeforge")
	var deps [2]*appsv1.Deployment
	var svcs [2]*corev1.Service
	for i := range deps {
		deps[i], svcs[i] = &appsv1.Deployment{}, &corev1.Service{}
		decode(deps[i], `{`+meta+`,"spec":{"selector":{"matchLabels":{"app.kubernetes.io/name":"web"}},
		  "template":{"metadata":{"labels":{"app.kubernetes.io/name":"web"}},"spec":{"containers":[{"name":"app","image":"r/web@sha256:1"}]}}}}`)
		decode(svcs[i], `{`+meta+`,"spec":{"selector":{"app.kubernetes.io/name":"web"}}}`)
		if _, err := trim(deps[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := trim(svcs[i]); err != nil {
			t.Fatal(err)
		}
	}
	same := func(what, a, b string) {
		if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s %q / %q not shared", what, a, b)
		}
	}
	const l = "app.kubernetes.io/name"
	same("namespace", deps[0].Namespace, svcs[1].Namespace)
	same("label", deps[0].Labels[l], svcs[1].Labels[l])
	same("selector", deps[0].Spec.Selector.MatchLabels[l], deps[1].Spec.Selector.MatchLabels[l])
	same("template label", deps[0].Spec.Template.Labels[l], deps[1].Spec.Template.Labels[l])
	same("image", deps[0].Spec.Template.Spec.Containers[0].Image, deps[1].Spec.Template.Spec.Containers[0].Image)
	same("service selector", svcs[0].Spec.Selector[l], deps[1].Spec.Template.Labels[l])
	same("manager", deps[0].ManagedFields[0].Manager, svcs[1].ManagedFields[0].Manager)
}
