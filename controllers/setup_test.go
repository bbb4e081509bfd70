package controllers

import (
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// The controllers that share the pod cache agree on it, and it is trimmed.
func TestCacheOptions(t *testing.T) {
	by, err := CacheOptions()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for obj, o := range by {
		if _, ok := obj.(*corev1.Pod); ok {
			found = true
			if o.Transform == nil || o.Label == nil || o.Label.String() != "app.kubernetes.io/managed-by=edgeforge" {
				t.Errorf("pod cache: %+v", o)
			}
		}
	}
	if !found {
		t.Error("no pod cache selection")
	}
}

// The default cache transform keeps what reconcilers read and drops other managers' fields, the
// operator's own status-write entries and kubectl's last-applied copy of the spec.
func TestDefaultTransform(t *testing.T) {
	a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: "web",
		Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{}}`, "team": "a"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply"}, {Manager: settings.FieldOwner, Subresource: "status"},
			{Manager: settings.FieldOwner, Operation: metav1.ManagedFieldsOperationApply}}},
		Spec: v1alpha1.AppDeploymentSpec{Image: "web:1"}}
	out, err := DefaultTransform(a)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*v1alpha1.AppDeployment)
	if want := map[string]string{"team": "a"}; !maps.Equal(got.Annotations, want) {
		t.Errorf("annotations %v, want %v", got.Annotations, want)
	}
	if len(got.ManagedFields) != 1 || got.ManagedFields[0].Manager != settings.FieldOwner || got.ManagedFields[0].Subresource != "" {
		t.Errorf("managedFields %+v, want only %s's apply entry of the main resource", got.ManagedFields, settings.FieldOwner)
	}
	if got.Name != "web" || got.Spec.Image != "web:1" {
		t.Errorf("lost what reconcilers read: %+v", got)
	}
	// A tombstone passes through.
	if _, err := DefaultTransform("tombstone"); err != nil {
		t.Error(err)
	}
}
