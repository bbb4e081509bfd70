// Package appdeployment reconciles AppDeployments: it server-side applies the Deployment,
// Service, Ingress, HorizontalPodAutoscaler, PodDisruptionBudget and ServiceMonitor that
// internal/app renders, follows an ImageBuild's digest, rolls a failed rollout back to the last
// good image, and reports what runs. Decisions are made in internal/app; this package reads,
// applies and records.
package appdeployment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/patch"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// Reconciler reconciles AppDeployments.
type Reconciler struct {
	// Client reads from the manager's cache (children: only objects labelled managed-by
	// edgeforge, see CacheOptions) and writes to the API server.
	client.Client
	// Recorder records RolloutStarted, RolledOut, RolledBack and Stalled events.
	Recorder events.EventRecorder
	// RESTMapper tells whether prometheus-operator's ServiceMonitor kind is served.
	RESTMapper meta.RESTMapper

	// mgr and ctrl start a ServiceMonitor cache and watch once the CRD exists (nil in tests that
	// call Reconcile directly: ServiceMonitors are then read with Client).
	mgr       ctrl.Manager
	ctrl      controller.Controller
	smCacheMu sync.Mutex
	smCache   cache.Cache
}

// +kubebuilder:rbac:groups=edgeforge.io,resources=appdeployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=edgeforge.io,resources=appdeployments/status,verbs=get;update;patch
// Owner references with blockOwnerDeletion on the children need this where the
// OwnerReferencesPermissionEnforcement admission plugin is on.
// +kubebuilder:rbac:groups=edgeforge.io,resources=appdeployments/finalizers,verbs=update
// Referenced objects are only read.
// +kubebuilder:rbac:groups=edgeforge.io,resources=imagebuilds;edgeclusters,verbs=get;list;watch
// Children are server-side applied (create for the first apply, patch after), watched, and
// deleted when a spec change makes them obsolete.
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch;delete
// A metadata-only watch on CRDs notices when prometheus-operator's ServiceMonitor CRD is installed.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Reconcile brings an AppDeployment's children in line with its spec and writes its status once
// at the end. The steps run in order and stop at the first that cannot go on.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	obj := &v1alpha1.AppDeployment{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // every child has an owner reference: garbage collection removes them
	}
	patcher := patch.NewStatusPatcher(r.Client, obj)
	defer func() { retErr = errors.Join(retErr, patcher.Patch(ctx, obj)) }()

	s := &state{app: obj}
	for i, step := range []func(context.Context, *state) (done bool, err error){
		r.observeDeployment, // the live Deployment: replica counts, running image
		r.validate,          // what admission should have rejected
		r.resolveImage,      // spec.image, or the ImageBuild's latest digest
		r.resolvePlacement,  // the EdgeCluster of spec.placement
		r.applyWorkload,     // decide the image, apply or delete the children
		r.summarize,         // status from the Deployment as it is now
		r.applyServiceMonitor,
	} {
		done, err := step(ctx, s)
		var st *stallError
		switch {
		case errors.As(err, &st):
			r.markStalled(obj, st)
			return ctrl.Result{}, reconcile.TerminalError(err)
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			// The namespace is being deleted, and this AppDeployment with it: nothing to recreate.
			log.FromContext(ctx).V(1).Info("namespace is terminating; not applying children", "step", i)
			return ctrl.Result{}, nil
		case err != nil:
			return ctrl.Result{}, err
		case done:
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

// state is what the steps of one reconcile learn and pass on.
type state struct {
	app        *v1alpha1.AppDeployment
	deployment *appsv1.Deployment    // live Deployment controlled by app (after this pass's apply); nil if none
	target     string                // the image the spec asks for
	pool       *v1alpha1.EdgeCluster // spec.placement.edgeClusterRef, when set
	build      *v1alpha1.ImageBuild  // spec.imageFrom's ImageBuild, when set
	decision   app.RolloutDecision
	// requeueAfter asks for another look, for a wait no watch reports (discovery catching up).
	requeueAfter time.Duration
}

// stallError is a problem only the user can fix; the AppDeployment is marked Stalled and waits
// for a watched object (its spec, the ImageBuild, the EdgeCluster) to change.
type stallError struct{ reason, message string }

func (e *stallError) Error() string { return e.message }

func stall(reason, format string, args ...any) error {
	return &stallError{reason: reason, message: fmt.Sprintf(format, args...)}
}

func (r *Reconciler) markStalled(obj *v1alpha1.AppDeployment, s *stallError) {
	prev := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled)
	obj.Status.ObservedGeneration = obj.Generation
	conditions.MarkStalled(&obj.Status.Conditions, obj.Generation, s.reason, s.message)
	if prev == nil || prev.Status != "True" || prev.Reason != s.reason || prev.Message != s.message {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, s.reason, "Stalled", "%s", s.message)
	}
}
