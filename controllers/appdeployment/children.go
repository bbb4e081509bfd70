package appdeployment

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/internal/settings"
)

const (
	// fieldOwner is the server-side apply field manager of every child.
	fieldOwner = settings.FieldOwner
	// handoverFieldOwner co-owns a Deployment's replicas while they pass to an HPA (handOverReplicas).
	handoverFieldOwner = settings.FieldOwner + "-handover"
)

// child is one child of an AppDeployment: an empty object of its kind and the desired apply
// configuration (nil when the spec does not ask for it). Children have the AppDeployment's name.
func child[AC runtime.ApplyConfiguration](owner *v1alpha1.AppDeployment, live client.Object, desired AC) apply.Child {
	c := apply.Child{Live: live, Key: client.ObjectKeyFromObject(owner)}
	if v := reflect.ValueOf(desired); v.IsValid() && !v.IsNil() {
		c.Desired = desired
	}
	return c
}

// reconcileChild makes one child match the spec through the apply package (applied only when
// what edgeforge owns of it differs from the render; deleted when no longer asked for and this
// AppDeployment controls it). It reports whether it applied. One the API server refuses to let
// edgeforge apply (controlled by someone else, an immutable selector that differs) stalls the
// AppDeployment with the server's message.
func (r *Reconciler) reconcileChild(ctx context.Context, owner *v1alpha1.AppDeployment, c apply.Child) (bool, error) {
	out, err := apply.New(r.Client, r.APIReader, fieldOwner).Reconcile(ctx, owner, c)
	return out.Applied, apply.AsStall(err, v1alpha1.AppDeploymentReasonChildRejected)
}
