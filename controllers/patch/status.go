// Package patch writes the status of edgeforge objects once per reconcile, and only when it
// changed: snapshot the object at the start, patch the difference at the end (the way Flux's
// SerialPatcher and cluster-api's patch.Helper do). A reconcile that changes nothing writes nothing.
package patch

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// StatusPatcher remembers an object as it was read.
type StatusPatcher struct {
	c      client.Client
	before client.Object
}

// NewStatusPatcher snapshots obj; call it right after reading obj.
func NewStatusPatcher(c client.Client, obj client.Object) *StatusPatcher {
	return &StatusPatcher{c: c, before: obj.DeepCopyObject().(client.Object)}
}

// Patch writes obj's status with a merge patch when it differs from the snapshot.
// It returns without an API call when the status is unchanged.
func (p *StatusPatcher) Patch(ctx context.Context, obj client.Object) error {
	if !StatusChanged(p.before, obj) {
		return nil
	}
	if err := p.c.Status().Patch(ctx, obj, client.MergeFrom(p.before)); err != nil {
		return client.IgnoreNotFound(err)
	}
	p.before = obj.DeepCopyObject().(client.Object)
	return nil
}

// StatusChanged reports whether the "status" of two objects differs semantically.
func StatusChanged(before, after runtime.Object) bool {
	b, err1 := runtime.DefaultUnstructuredConverter.ToUnstructured(before)
	a, err2 := runtime.DefaultUnstructuredConverter.ToUnstructured(after)
	if err1 != nil || err2 != nil {
		return true
	}
	return !equality.Semantic.DeepEqual(b["status"], a["status"])
}
