// Package imagebuild reconciles ImageBuilds: one Kaniko build Job at a time per ImageBuild, a new
// one for every spec generation and rebuild request, the pushed digest recorded in status.
// Decisions (what the Job looks like, what a Job's state means, what to prune) are made in
// internal/build; this package reads, writes and records.
package imagebuild

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
// supersede a build the spec has moved past, start the build that is due, prune old Jobs, and
// write the status once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	ib := &v1alpha1.ImageBuild{}
	if err := r.Get(ctx, req.NamespacedName, ib); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ib.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references let the garbage collector remove Jobs and ConfigMaps
	}
	patcher := patch.NewStatusPatcher(r.Client, ib)
	defer func() {
		ib.Status.ObservedGeneration = ib.Generation
		retErr = kerrors.NewAggregate([]error{retErr, patcher.Patch(ctx, ib)})
	}()

	for _, step := range []func(context.Context, *v1alpha1.ImageBuild) error{
		r.observeCurrentBuild,
		r.supersedeOutdatedBuild,
		r.startDueBuild,
		r.pruneHistory,
	} {
		if err := step(ctx, ib); err != nil {
			var s *stallError
			if errors.As(err, &s) {
				r.markStalled(ib, s)
				return ctrl.Result{}, reconcile.TerminalError(err)
			}
			build.Summarize(ib)
			return ctrl.Result{}, err
		}
	}
	build.Summarize(ib)
	return ctrl.Result{}, nil
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

func (r *Reconciler) markStalled(ib *v1alpha1.ImageBuild, s *stallError) {
	prev := meta.FindStatusCondition(ib.Status.Conditions, v1alpha1.ConditionStalled)
	if ib.Status.CurrentBuild == nil {
		ib.Status.Phase = v1alpha1.BuildPhasePending
	}
	conditions.MarkStalled(&ib.Status.Conditions, ib.Generation, s.reason, s.message)
	if prev == nil || prev.Status != "True" || prev.Reason != s.reason || prev.Message != s.message {
		r.Recorder.Eventf(ib, nil, corev1.EventTypeWarning, s.reason, "Stalled", "%s", s.message)
	}
}
