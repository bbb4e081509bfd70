// Package imagebuild reconciles ImageBuilds: one Kaniko build Job at a time per ImageBuild, a new
// one for every spec generation and rebuild request, the pushed digest recorded in status.
// Decisions (what the Job looks like, what a Job's state means, what to prune) are made in
// internal/imagebuild; this package reads, writes and records.
package imagebuild

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// Reconciler reconciles ImageBuilds.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	client.Client
	// APIReader reads Secrets and ConfigMaps the cache does not hold (and confirms a missing Job).
	APIReader client.Reader
	// Recorder records BuildStarted, BuildSucceeded, BuildFailed, BuildSuperseded and Stalled events.
	Recorder events.EventRecorder
	// ExecutorImage is the default Kaniko executor image (the --kaniko-image flag).
	ExecutorImage string
	// IndexImage is the image of the Job that pushes a multi-platform build's index (the
	// --index-image flag); empty: such builds stall with NoIndexImage.
	IndexImage string
	// BuildRequests and BuildLimits are the default build resources (--build-default-requests,
	// --build-default-limits).
	BuildRequests, BuildLimits corev1.ResourceList
	// Shard selects the objects this operator reconciles (settings.Options.Shard); nil: all.
	Shard labels.Selector

	// writes: the status versions this reconciler's own writes replaced (skeleton.Writes).
	writes skeleton.Writes
}

// +kubebuilder:rbac:groups=edgeforge.io,resources=imagebuilds,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgeforge.io,resources=imagebuilds/status,verbs=get;update;patch
// Owner references with blockOwnerDeletion on build Jobs, ConfigMaps and ServiceAccounts need this
// where the OwnerReferencesPermissionEnforcement admission plugin is on.
// +kubebuilder:rbac:groups=edgeforge.io,resources=imagebuilds/finalizers,verbs=update
// +kubebuilder:rbac:groups=edgeforge.io,resources=edgeclusters,verbs=get;list;watch
// Build Jobs are created once and never updated (their pod template is immutable); superseded
// and pruned ones are deleted.
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// Build pods are read for the digest (termination message) and failure reasons.
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// The node a build ran on is read once when it pushed, for status.platform (its os/arch labels).
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get
// Namespaces' labels (metadata only) decide whether an edge pool admits a build.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// The build pods' ServiceAccount and an inline context's ConfigMap are server-side applied; a
// spec.source.configMap is read by name when a build starts (never listed or watched).
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch
// Secrets referenced by ImageBuilds are read by name (type and keys, never logged) when a build
// starts; they are neither listed nor watched (a build stalled on one looks again every minute).
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconcile moves an ImageBuild one step along: record what its current build Job says,
// supersede a build the spec has moved past, start the build that is due, prune old Jobs; then
// write the status once, and only then announce (events, metrics) what happened
// (controllers/skeleton).
//
// The status is written with optimistic locking: it is this controller's memory (build count,
// current build), so a write computed from a stale cached copy must fail rather than overwrite a
// newer status; the skeleton then retries shortly, having written and announced nothing.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sk := skeleton.Reconciler[*v1alpha1.ImageBuild, *pass]{
		Shard:     r.Shard,
		Client:    r.Client,
		Recorder:  r.Recorder,
		NewObject: func() *v1alpha1.ImageBuild { return &v1alpha1.ImageBuild{} },
		// No finalizer: owner references let the garbage collector remove Jobs and ConfigMaps.
		OptimisticLock: true,
		LiveReader:     r.APIReader,
		Writes:         &r.writes,
		NewPass: func(ib *v1alpha1.ImageBuild, p *skeleton.Patcher) *pass {
			return &pass{Reconciler: r, ib: ib, patcher: p}
		},
		Steps: []skeleton.Step[*pass]{
			step((*pass).observeCurrentBuild),
			step((*pass).supersedeOutdatedBuild),
			step((*pass).startDueBuild),
			func(ctx context.Context, p *pass) (skeleton.Result, error) { return p.pruneHistory(ctx) },
		},
		Summarize: summarize,
	}
	return sk.Reconcile(ctx, req)
}

// pass is one reconcile of one ImageBuild: the object being worked on, and the Patcher that
// emits its events and metrics once the new status is written (so a pass that loses a write
// race announces nothing, and a build's end is counted once).
type pass struct {
	*Reconciler
	ib      *v1alpha1.ImageBuild
	patcher *skeleton.Patcher
	// ended: a build ended in this pass (its result goes into the status first).
	ended bool
}

// step adapts a step method of pass to the skeleton.
func step(f func(*pass, context.Context) error) skeleton.Step[*pass] {
	return func(ctx context.Context, p *pass) (skeleton.Result, error) { return skeleton.Result{}, f(p, ctx) }
}

// summarize sets phase and conditions from the builds (internal/imagebuild decides); a stalled
// ImageBuild that has no build running is Pending.
func summarize(_ context.Context, p *pass, out skeleton.Outcome) {
	if out.Stall != nil {
		if p.ib.Status.CurrentBuild == nil {
			p.ib.Status.Phase = v1alpha1.BuildPhasePending
		}
		return
	}
	imagebuild.Summarize(p.ib)
}

// event records an event about the ImageBuild once the status is written.
func (p *pass) event(related runtime.Object, eventType, reason, action, note string, args ...any) {
	p.patcher.Eventf(p.Recorder, p.ib, related, eventType, reason, action, note, args...)
}

// buildEnded counts a build that ended, once the status is written.
func (p *pass) buildEnded(rec *v1alpha1.BuildRecord, result string) {
	ib, r := p.ib, *rec
	p.patcher.Announce(func() { recordBuildEnd(ib, &r, result) })
}

// asStall turns an invalid-spec verdict of internal/imagebuild into a stall.
func asStall(err error) error {
	var inv *imagebuild.InvalidSpecError
	if errors.As(err, &inv) {
		s := &skeleton.StallError{Reason: inv.Reason, Message: inv.Message}
		if inv.Reason == v1alpha1.ImageBuildReasonInvalidContext {
			// Possibly the user's context ConfigMap, which is not watched: look again.
			s.RecheckAfter = skeleton.UnwatchedRecheck
		}
		return s
	}
	return err
}
