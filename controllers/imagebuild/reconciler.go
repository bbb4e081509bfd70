// Package imagebuild reconciles ImageBuilds: one Kaniko build Job at a time per ImageBuild, a new
// one for every spec generation and rebuild request, the pushed digest recorded in status.
// Decisions (what the Job looks like, what a Job's state means, what to prune) are made in
// internal/build; this package reads, writes and records.
package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/patch"
	"github.com/edgeforge/edgeforge/internal/build"
	"github.com/edgeforge/edgeforge/internal/conditions"
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
// The build pods' ServiceAccount and an inline context's ConfigMap are server-side applied.
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch
// Secrets referenced by ImageBuilds are read (type and keys, never logged) when a build starts;
// list/watch serves a metadata-only watch that notices when a missing one appears.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile moves an ImageBuild one step along: record what its current build Job says,
// supersede a build the spec has moved past, start the build that is due, prune old Jobs; then
// write the status once, and only then announce (events, metrics) what happened.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ib := &v1alpha1.ImageBuild{}
	if err := r.Get(ctx, req.NamespacedName, ib); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ib.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references let the garbage collector remove Jobs and ConfigMaps
	}
	before := ib.DeepCopy()
	p := &pass{Reconciler: r, ib: ib}
	err := p.run(ctx)
	ib.Status.ObservedGeneration = ib.Generation
	if perr := r.patchStatus(ctx, before, ib); perr != nil {
		if apierrors.IsConflict(perr) {
			// The cached copy was stale (e.g. our own last status write had not reached the
			// cache): nothing was written or announced; look again with a fresh copy.
			logf.FromContext(ctx).V(1).Info("status changed since it was read; retrying")
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, kerrors.NewAggregate([]error{err, perr})
	}
	for _, announce := range p.announcements {
		announce()
	}
	return ctrl.Result{}, err
}

// conflictRetry is how soon a reconcile whose status write lost a race looks again.
const conflictRetry = 200 * time.Millisecond

// pass is one reconcile of one ImageBuild: the object being worked on, and the events and
// metrics to emit once its new status is written (so a pass that loses a write race announces
// nothing, and a build's end is counted once).
type pass struct {
	*Reconciler
	ib            *v1alpha1.ImageBuild
	announcements []func()
}

// run calls the steps in order, stopping at the first error; a stall marks Stalled.
func (p *pass) run(ctx context.Context) error {
	for _, step := range []func(context.Context) error{
		p.observeCurrentBuild,
		p.supersedeOutdatedBuild,
		p.startDueBuild,
		p.pruneHistory,
	} {
		if err := step(ctx); err != nil {
			var s *stallError
			if errors.As(err, &s) {
				p.markStalled(s)
				return reconcile.TerminalError(err)
			}
			build.Summarize(p.ib)
			return err
		}
	}
	build.Summarize(p.ib)
	return nil
}

// patchStatus writes the status when it changed (never otherwise), with optimistic locking:
// the status is this controller's memory (build count, current build), so a write computed from
// a stale cached copy must fail rather than overwrite a newer status.
func (r *Reconciler) patchStatus(ctx context.Context, before, after *v1alpha1.ImageBuild) error {
	if !patch.StatusChanged(before, after) {
		return nil
	}
	err := r.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	return client.IgnoreNotFound(err)
}

// event records an event about the ImageBuild once the status is written.
func (p *pass) event(related runtime.Object, eventType, reason, action, note string, args ...any) {
	ib := p.ib
	p.announcements = append(p.announcements, func() {
		p.Recorder.Eventf(ib, related, eventType, reason, action, note, args...)
	})
}

// buildEnded counts a build that ended, once the status is written.
func (p *pass) buildEnded(rec *v1alpha1.BuildRecord, result string) {
	ib, r := p.ib, *rec
	p.announcements = append(p.announcements, func() { recordBuildEnd(ib, &r, result) })
}

// stallError is a problem only the user can fix (a missing Secret, an unusable spec): the
// ImageBuild is marked Stalled and waits for a watched object to change.
type stallError struct{ reason, message string }

func (e *stallError) Error() string { return e.message }

func stall(reason, format string, args ...any) error {
	return &stallError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// asStall turns an invalid-spec verdict of internal/build into a stall.
func asStall(err error) error {
	var inv *build.InvalidSpecError
	if errors.As(err, &inv) {
		return &stallError{reason: inv.Reason, message: inv.Message}
	}
	return err
}

// markStalled sets Stalled (and Ready=False) with the stall's reason, and announces it once per
// distinct problem.
func (p *pass) markStalled(s *stallError) {
	ib := p.ib
	prev := meta.FindStatusCondition(ib.Status.Conditions, v1alpha1.ConditionStalled)
	if ib.Status.CurrentBuild == nil {
		ib.Status.Phase = v1alpha1.BuildPhasePending
	}
	conditions.MarkStalled(&ib.Status.Conditions, ib.Generation, s.reason, s.message)
	if prev == nil || prev.Status != metav1.ConditionTrue || prev.Reason != s.reason || prev.Message != s.message {
		p.event(nil, corev1.EventTypeWarning, s.reason, "Stalled", "%s", s.message)
	}
}
