// Package owner builds the owner references edgeforge puts on what it creates.
package owner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// ControllerReference makes obj, an edgeforge object of the given kind, the controlling owner
// of a child: garbage collection deletes the child with it, and the child is not deleted
// before it (blockOwnerDeletion).
func ControllerReference(obj metav1.Object, kind string) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(v1alpha1.GroupVersion.String()).
		WithKind(kind).
		WithName(obj.GetName()).
		WithUID(obj.GetUID()).
		WithController(true).
		WithBlockOwnerDeletion(true)
}
