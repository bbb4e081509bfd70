// Package pools is how ImageBuilds and AppDeployments check that an edge pool admits their
// namespace (EdgeCluster spec.allowedNamespaces), and notice when a namespace's labels change.
package pools

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// Admits reads the namespace's labels (its metadata, from the manager's metadata cache, which
// WatchNamespaces fills) and reports whether the pool admits it; when not, why.
func Admits(ctx context.Context, c client.Reader, pool *v1alpha1.EdgeCluster, namespace string) (bool, string, error) {
	if pool.Spec.AllowedNamespaces == nil {
		return true, "", nil
	}
	labels, err := NamespaceLabels(ctx, c, namespace)
	if err != nil {
		return false, "", err
	}
	ok, why := edge.NamespaceAllowed(pool, namespace, labels)
	return ok, why, nil
}

// NamespaceLabels reads a namespace's labels as metadata only (the controllers' metadata watch
// of Namespaces keeps them cached): pool admission, Pod Security levels, monitor selection.
func NamespaceLabels(ctx context.Context, c client.Reader, namespace string) (map[string]string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := c.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return nil, err
	}
	return ns.Labels, nil
}

// NamespaceRequests maps a Namespace whose labels changed to every object of the kind in it
// (newList makes an empty list of the kind): whether a pool admits them may have changed.
func NamespaceRequests(c client.Reader, newList func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return index.Requests(ctx, c, newList(), client.InNamespace(o.GetName()))
	}
}
