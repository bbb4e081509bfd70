package skeleton

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// CoalescedEnqueue is like handler.TypedEnqueueRequestsFromMapFunc, but enqueues the requests
// window after the event instead of at once. The workqueue keeps the earliest time of an item
// that is waiting, so every event mapped to the same object within the window joins one
// reconcile: a watch of many objects (the nodes of a pool, heartbeating or flapping) makes at
// most one reconcile, and one status write, per window and object.
func CoalescedEnqueue[T client.Object](window time.Duration, fn handler.TypedMapFunc[T, reconcile.Request]) handler.TypedEventHandler[T, reconcile.Request] {
	return coalesced[T]{window: window, fn: fn}
}

type coalesced[T client.Object] struct {
	window time.Duration
	fn     handler.TypedMapFunc[T, reconcile.Request]
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (c coalesced[T]) add(ctx context.Context, obj T, q queue) {
	for _, req := range c.fn(ctx, obj) {
		q.AddAfter(req, c.window)
	}
}

func (c coalesced[T]) Create(ctx context.Context, e event.TypedCreateEvent[T], q queue) {
	c.add(ctx, e.Object, q)
}

func (c coalesced[T]) Update(ctx context.Context, e event.TypedUpdateEvent[T], q queue) {
	c.add(ctx, e.ObjectOld, q)
	c.add(ctx, e.ObjectNew, q)
}

func (c coalesced[T]) Delete(ctx context.Context, e event.TypedDeleteEvent[T], q queue) {
	c.add(ctx, e.Object, q)
}

func (c coalesced[T]) Generic(ctx context.Context, e event.TypedGenericEvent[T], q queue) {
	c.add(ctx, e.Object, q)
}
