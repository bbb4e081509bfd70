// Package index is how a kind finds the objects that reference something: a field index of the
// kind by the names it references, and the map from a referenced object to reconcile requests
// for its referrers. Every kind's watches on what it references (Secrets, ConfigMaps, pools,
// builds) go through it.
package index

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Field indexes objects of kind O by the names Extract returns (the objects they reference).
type Field[O client.Object] struct {
	// Name of the index (the field name passed to client.MatchingFields).
	Name string
	// Extract returns the names an object references; none for an object that references nothing.
	Extract func(O) []string
}

// Register adds the indexes to the manager's cache, on objects like obj.
func Register[O client.Object](ctx context.Context, indexer client.FieldIndexer, obj O, fields ...Field[O]) error {
	for _, f := range fields {
		extract := f.Extract
		if err := indexer.IndexField(ctx, obj, f.Name, func(o client.Object) []string { return extract(o.(O)) }); err != nil {
			return err
		}
	}
	return nil
}

// Referrers maps an object to reconcile requests for the objects whose index holds its name:
// in its namespace when namespaced (a namespaced reference), anywhere otherwise (a reference
// to a cluster-scoped object). newList makes an empty list of the referring kind.
func Referrers(c client.Reader, newList func() client.ObjectList, index string, namespaced bool) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		opts := []client.ListOption{client.MatchingFields{index: o.GetName()}}
		if namespaced {
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		return Requests(ctx, c, newList(), opts...)
	}
}

// Requests lists objects (into list, from the cache) and returns a request for each. A failed
// list is logged and yields none: a mapping function has no way to retry.
func Requests(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	// The items are only read for their keys.
	if err := c.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing objects to enqueue", "list", list.GetObjectKind().GroupVersionKind().Kind)
		return nil
	}
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
		return nil
	})
	return reqs
}
