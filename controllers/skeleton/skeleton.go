// Package skeleton is how every edgeforge reconciler is built: read the object, finalize it when
// it is being deleted, make sure of its finalizer, run its steps in order, decide its conditions,
// and write metadata and status once at the end, only when they changed, announcing events and
// metrics only after that write succeeded. docs/reconcilers.md walks through one kind.
//
// The model is cluster-api's MachineSet controller (doReconcile over phases, util/finalizers,
// util/patch) and Flux's SerialPatcher + finalizeStatus. github.com/fluxcd/pkg/runtime is not
// used: its patch and conditions helpers need Flux's own condition accessors and meta types on
// every object, and bring a large dependency tree for about two hundred lines edgeforge needs.
//
// # observedGeneration
//
// status.observedGeneration is the generation the conditions were decided for. The skeleton sets
// it after every pass that decided them: one whose steps all ran, stopped on purpose (waiting for
// a build) or stalled (the generation has been judged: a human must act). A pass that ended in a
// transient error leaves it alone, so kstatus tools (kubectl wait, Argo CD, Flux) keep showing
// the object in progress until a pass for this generation succeeds; the conditions it wrote say
// what went wrong. Reconcilers never set it themselves.
package skeleton

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Object is an edgeforge object: its status has conditions and an observedGeneration.
type Object interface {
	client.Object
	StatusConditions() *[]metav1.Condition
	SetObservedGeneration(int64)
}

// Reconciler is the skeleton of one kind's reconciler. O is the kind, S what one pass of its
// steps learns and hands on (typically a small struct holding the object and the Patcher).
type Reconciler[O Object, S any] struct {
	// Client reads the object (from the cache) and writes it.
	Client client.Client
	// Recorder records the Stalled events.
	Recorder events.EventRecorder
	// NewObject returns an empty object of the kind.
	NewObject func() O
	// Finalizer, when set, is added before the first step runs and removed after Finalize
	// succeeds. Kinds whose children all carry owner references need none.
	Finalizer string
	// Finalize cleans up what owner references cannot (cluster-scoped objects, nodes).
	Finalize func(ctx context.Context, obj O) error
	// OptimisticLock makes the status write fail when the object changed since it was read
	// (for a kind whose status is the controller's memory); the pass is then retried shortly,
	// having written and announced nothing.
	OptimisticLock bool
	// LiveReader, with OptimisticLock, reads the object from the API server when its status
	// write conflicted, and the pass runs once more on that copy at once. The usual cause of a
	// conflict is the controller's own last write, which the cache has not yet seen; retried
	// from the cache through the workqueue's backoff (5 ms, 10 ms, 20 ms, …) the pass conflicts
	// again until the cache catches up, which under load took hundreds of milliseconds (issue
	// 16, P4). Nil: retried through the workqueue only.
	LiveReader client.Reader
	// Writes, with LiveReader, remembers the versions this controller's own writes replaced, so
	// a pass never starts from a cached copy known to be stale: it reads the object from the API
	// server instead. It belongs to the kind's long-lived reconciler (one per controller).
	Writes *Writes
	// NewPass starts one pass over obj.
	NewPass func(obj O, p *Patcher) S
	// Steps run in order; see Run.
	Steps []Step[S]
	// Summarize, when set, decides the conditions from what the pass found. It runs after the
	// steps (and after a stall was marked), whatever the outcome.
	Summarize func(ctx context.Context, s S, out Outcome)
	// Shard, when set, is this operator's share of the objects (--watch-label-selector): an
	// object whose labels it does not match is another operator's and is left untouched, however
	// it was enqueued (a watch of nodes or children maps to objects of every shard).
	Shard labels.Selector
}

// Reconcile runs one pass of the skeleton for the object named by req.
func (r *Reconciler[O, S]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.Writes != nil && r.LiveReader != nil && r.Writes.Stale(req.NamespacedName, obj.GetResourceVersion(), time.Now()) {
		obj = r.NewObject()
		if err := r.LiveReader.Get(ctx, req.NamespacedName, obj); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if r.Shard != nil && !r.Shard.Matches(labels.Set(obj.GetLabels())) {
		return ctrl.Result{}, nil
	}
	res, err := r.pass(ctx, obj)
	if r.OptimisticLock && r.LiveReader != nil && apierrors.IsConflict(err) {
		live := r.NewObject()
		if err := r.LiveReader.Get(ctx, req.NamespacedName, live); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if r.Shard != nil && !r.Shard.Matches(labels.Set(live.GetLabels())) {
			return ctrl.Result{}, nil
		}
		// A second conflict (someone else wrote meanwhile) goes to the workqueue's backoff.
		return r.pass(ctx, live)
	}
	return res, err
}

// pass runs the skeleton once on obj: finalize or steps, then the one write of status.
func (r *Reconciler[O, S]) pass(ctx context.Context, obj O) (ctrl.Result, error) {
	p := NewPatcher(r.Client, obj, r.OptimisticLock)
	if read := obj.GetResourceVersion(); r.Writes != nil {
		defer func() {
			if obj.GetResourceVersion() != read { // this pass wrote: the copy it read is now stale
				r.Writes.Replaced(client.ObjectKeyFromObject(obj), read, time.Now())
			}
		}()
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj, p)
	}
	if r.Finalizer != "" {
		if err := p.EnsureFinalizer(ctx, obj, r.Finalizer); err != nil {
			return ctrl.Result{}, err
		}
	}

	s := r.NewPass(obj, p)
	out := Run(ctx, s, r.Steps...)
	if out.Stall != nil {
		MarkStalled(obj, p, r.Recorder, out.Stall)
	}
	if r.Summarize != nil {
		r.Summarize(ctx, s, out)
	}
	if out.Err == nil {
		obj.SetObservedGeneration(obj.GetGeneration())
	}
	if err := p.Patch(ctx, obj); err != nil {
		if r.OptimisticLock && apierrors.IsConflict(err) {
			// Retried through the workqueue's rate limiter (per-object exponential backoff),
			// never on a fixed short clock: a hot object cannot make a hot loop.
			return ctrl.Result{}, fmt.Errorf("the status changed since it was read: %w", err)
		}
		return ctrl.Result{}, errors.Join(out.Err, err)
	}
	return out.Result()
}

// finalize cleans up and lets the object go. Without the finalizer there is nothing to do: every
// child has an owner reference, and the garbage collector removes them.
func (r *Reconciler[O, S]) finalize(ctx context.Context, obj O, p *Patcher) error {
	if r.Finalizer == "" || !controllerutil.ContainsFinalizer(obj, r.Finalizer) {
		return nil
	}
	if r.Finalize != nil {
		if err := r.Finalize(ctx, obj); err != nil {
			return err
		}
	}
	controllerutil.RemoveFinalizer(obj, r.Finalizer)
	return p.Patch(ctx, obj)
}

// Result is what a step asks of the pass besides going on.
type Result struct {
	// Stop ends the pass after this step, without an error: what follows cannot be done yet
	// (an AppDeployment waiting for its first build) and a watch brings the object back.
	Stop bool
	// RequeueAfter asks for another look after this long, for a wait no watch reports (a clock,
	// discovery catching up). The pass keeps the shortest a step asked for.
	RequeueAfter time.Duration
}

// Step is one phase of a pass.
type Step[S any] func(ctx context.Context, s S) (Result, error)

// Outcome is how a pass of steps ended.
type Outcome struct {
	// Err is the error that ended the pass early (transient: the pass is retried with backoff).
	Err error
	// Stall is the problem that ended the pass when only a human can fix it.
	Stall *StallError
	// Stopped: a step stopped the pass on purpose.
	Stopped bool
	// Terminating: the namespace is being deleted, and the object with it; nothing more is done.
	Terminating bool
	// RequeueAfter is the shortest wait a step asked for.
	RequeueAfter time.Duration
}

// Completed reports whether every step ran.
func (o Outcome) Completed() bool {
	return o.Err == nil && o.Stall == nil && !o.Stopped && !o.Terminating
}

// Result is what the reconciler returns to controller-runtime. A stall is a terminal error (no
// retry: a watch brings the object back when what it waits for changes) unless a step still
// asked for a timed look.
func (o Outcome) Result() (ctrl.Result, error) {
	switch {
	case o.Err != nil:
		return ctrl.Result{}, o.Err
	case o.Stall != nil && o.RequeueAfter == 0:
		return ctrl.Result{}, reconcile.TerminalError(o.Stall)
	default:
		return ctrl.Result{RequeueAfter: o.RequeueAfter}, nil
	}
}

// Run calls the steps in order. The first error ends the pass: a StallError as a stall, an
// error saying the namespace is terminating as a quiet end, any other as a transient error. A
// step's Stop ends the pass without one.
func Run[S any](ctx context.Context, s S, steps ...Step[S]) Outcome {
	var out Outcome
	for _, step := range steps {
		res, err := step(ctx, s)
		if res.RequeueAfter > 0 && (out.RequeueAfter == 0 || res.RequeueAfter < out.RequeueAfter) {
			out.RequeueAfter = res.RequeueAfter
		}
		var stall *StallError
		switch {
		case errors.As(err, &stall):
			out.Stall = stall
			if r := stall.RecheckAfter; r > 0 && (out.RequeueAfter == 0 || r < out.RequeueAfter) {
				out.RequeueAfter = r
			}
			return out
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			logf.FromContext(ctx).V(1).Info("namespace is terminating; not writing children")
			out.Terminating = true
			return out
		case err != nil:
			out.Err = err
			return out
		case res.Stop:
			out.Stopped = true
			return out
		}
	}
	return out
}
