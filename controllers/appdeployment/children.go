package appdeployment

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
)

const (
	// fieldOwner is the server-side apply field manager of every child.
	fieldOwner = settings.FieldOwner
	// handoverFieldOwner co-owns a Deployment's replicas while they pass to an HPA (handOverReplicas).
	handoverFieldOwner = settings.FieldOwner + "-handover"
)

// child is one child object of an AppDeployment: the kind (an empty live object Get fills), the
// desired apply configuration (nil when the spec does not ask for this child) and how to tell
// that the live object already carries it.
type child struct {
	live    client.Object
	reader  client.Reader // where to read live from; nil: the manager's cache
	desired runtime.ApplyConfiguration
	// current reports whether live (just read) already holds everything in desired, as owned by
	// edgeforge's field manager.
	current func() bool
}

// typedChild is a child of a built-in kind. "Current" compares the desired apply configuration
// with the one client-go extracts from the live object's managedFields for edgeforge's field
// manager: exactly the fields (and values) edgeforge applied last time and still owns.
//
// This is how the controller makes no write at rest: a server-side apply is a PATCH request even
// when it changes nothing, so it is only sent when the extraction differs from the render. The
// comparison is exact and needs no bookkeeping (no hash annotation): fields defaulted by the API
// server or set by others are not in the extraction, a field another writer took over or changed
// (kubectl edit, kubectl scale) drops out of it and is applied back, and quantities compare by
// value (equality.Semantic), so "0.5" and "500m" are the same CPU.
func typedChild[O client.Object, AC any](live O, desired *AC, extract func(O, string) (*AC, error)) child {
	c := child{live: live}
	if desired == nil {
		return c
	}
	c.desired = any(desired).(runtime.ApplyConfiguration)
	c.current = func() bool {
		applied, err := extract(live, fieldOwner)
		return err == nil && equality.Semantic.DeepEqual(applied, desired)
	}
	return c
}

// reconcileChild makes one child match the spec: apply it when it is missing or not current,
// delete it when the spec no longer asks for it (only if this AppDeployment controls it). It
// reports whether it applied. Children have the AppDeployment's name; the cache holds only
// objects labelled managed-by edgeforge.
//
// An object of the same name that no controller owns is adopted by the apply. One the API server
// refuses to let edgeforge apply to (controlled by someone else, an immutable selector that
// differs) stalls the AppDeployment with the server's message.
func (r *Reconciler) reconcileChild(ctx context.Context, owner *v1alpha1.AppDeployment, c child) (bool, error) {
	reader := c.reader
	if reader == nil {
		reader = r.Client
	}
	err := reader.Get(ctx, client.ObjectKeyFromObject(owner), c.live)
	if err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	ours := err == nil && metav1.IsControlledBy(c.live, owner)
	if c.desired == nil {
		if !ours {
			return false, nil
		}
		uid := c.live.GetUID()
		return false, client.IgnoreNotFound(r.Delete(ctx, c.live, client.Preconditions{UID: &uid}))
	}
	if ours && c.current() {
		return false, nil
	}
	if err := r.Apply(ctx, c.desired, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		if apierrors.IsInvalid(err) || apierrors.IsAlreadyExists(err) || apierrors.IsBadRequest(err) {
			return false, stall(v1alpha1.AppDeploymentReasonChildRejected,
				"The API server rejected %s %s/%s: %v", kindOf(c.live), owner.Namespace, owner.Name, err)
		}
		return false, err
	}
	return true, nil
}

// kindOf names the kind of a typed object (objects read from the cache have no TypeMeta).
func kindOf(obj client.Object) string {
	return reflect.TypeOf(obj).Elem().Name()
}
