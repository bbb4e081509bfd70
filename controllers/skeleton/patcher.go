package skeleton

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// Patcher writes an object's finalizers and status once per pass, and only what changed since
// it was read (a pass that changes nothing sends no request), then emits what the pass announced.
// An announcement (event, metric) queued during the pass is dropped when the write fails, so a
// pass that loses a race announces nothing and the retry announces once.
type Patcher struct {
	c             client.Client
	before        client.Object
	lock          bool
	announcements []func()
}

// NewPatcher snapshots obj; call it right after reading obj. With optimisticLock, the status
// write fails with a conflict when obj changed on the server since it was read.
func NewPatcher(c client.Client, obj client.Object, optimisticLock bool) *Patcher {
	return &Patcher{c: c, before: obj.DeepCopyObject().(client.Object), lock: optimisticLock}
}

// Announce queues f to run once the pass's write succeeded.
func (p *Patcher) Announce(f func()) { p.announcements = append(p.announcements, f) }

// Eventf queues an event about regarding, recorded once the pass's write succeeded.
func (p *Patcher) Eventf(rec events.EventRecorder, regarding, related runtime.Object, eventType, reason, action, note string, args ...any) {
	p.Announce(func() { rec.Eventf(regarding, related, eventType, reason, action, note, args...) })
}

// EnsureFinalizer adds finalizer to obj and writes it at once when it is missing: it must be
// stored before anything it cleans up is made.
func (p *Patcher) EnsureFinalizer(ctx context.Context, obj client.Object, finalizer string) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	controllerutil.AddFinalizer(obj, finalizer)
	if err := p.patchFinalizers(ctx, obj); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", finalizer, err)
	}
	return nil
}

// Patch writes obj's finalizers (with optimistic locking: another writer's finalizer is never
// dropped) and status when they differ from the snapshot, then runs the announcements. An
// object deleted meanwhile is not an error.
func (p *Patcher) Patch(ctx context.Context, obj client.Object) error {
	if err := p.patchFinalizers(ctx, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if statusChanged(p.before, obj) {
		opts := []client.MergeFromOption{}
		if p.lock {
			opts = append(opts, client.MergeFromWithOptimisticLock{})
		}
		// Patch a copy: the response would replace what obj holds with the server's object.
		written := obj.DeepCopyObject().(client.Object)
		if err := p.c.Status().Patch(ctx, written, client.MergeFromWithOptions(p.before, opts...)); err != nil {
			return client.IgnoreNotFound(err)
		}
		obj.SetResourceVersion(written.GetResourceVersion())
		p.before = obj.DeepCopyObject().(client.Object)
	}
	for _, announce := range p.announcements {
		announce()
	}
	p.announcements = nil
	return nil
}

// patchFinalizers writes the finalizers when they changed, and moves the snapshot to the new
// resourceVersion (the status in the snapshot stays as read, so Patch still sees its changes).
func (p *Patcher) patchFinalizers(ctx context.Context, obj client.Object) error {
	if slices.Equal(p.before.GetFinalizers(), obj.GetFinalizers()) {
		return nil
	}
	written := obj.DeepCopyObject().(client.Object)
	if err := p.c.Patch(ctx, written, client.MergeFromWithOptions(metadataOnly(p.before, obj), client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	obj.SetResourceVersion(written.GetResourceVersion())
	p.before.SetFinalizers(slices.Clone(obj.GetFinalizers()))
	p.before.SetResourceVersion(written.GetResourceVersion())
	return nil
}

// metadataOnly is the snapshot with obj's status, so a merge patch between them names only the
// metadata that changed (the main resource ignores status anyway; this keeps the patch small).
func metadataOnly(before, obj client.Object) client.Object {
	base := obj.DeepCopyObject().(client.Object)
	base.SetFinalizers(before.GetFinalizers())
	base.SetResourceVersion(before.GetResourceVersion())
	return base
}

// statusChanged reports whether the status of two objects differs semantically.
func statusChanged(before, after runtime.Object) bool {
	b, err1 := runtime.DefaultUnstructuredConverter.ToUnstructured(before)
	a, err2 := runtime.DefaultUnstructuredConverter.ToUnstructured(after)
	if err1 != nil || err2 != nil {
		return true
	}
	return !equality.Semantic.DeepEqual(b["status"], a["status"])
}
