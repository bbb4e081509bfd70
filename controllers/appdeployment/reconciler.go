// Package appdeployment reconciles AppDeployments: it server-side applies the Deployment,
// Service, Ingress, HorizontalPodAutoscaler, PodDisruptionBudget and ServiceMonitor that
// internal/app renders, follows an ImageBuild's digest, rolls a failed rollout back to the last
// good image, and reports what runs. Decisions are made in internal/app; this package reads,
// applies and records.
package appdeployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/app"
)

// Reconciler reconciles AppDeployments.
type Reconciler struct {
	// Client reads from the manager's cache (children: only objects labelled managed-by
	// edgeforge, see CacheOptions) and writes to the API server.
	client.Client
	// APIReader reads from the API server: whether a same-name object edgeforge did not create
	// stands where a child is about to be created (nil: Client).
	APIReader client.Reader
	// Recorder records RolloutStarted, RolledOut, RolledBack and Stalled events.
	Recorder events.EventRecorder
	// RESTMapper tells whether prometheus-operator's ServiceMonitor kind is served.
	RESTMapper meta.RESTMapper

	// ctrl and optional start the ServiceMonitor watch once the CRD exists (nil in tests that
	// call Reconcile directly: ServiceMonitors are then read with Client).
	ctrl     controller.Controller
	optional *optionalcrd.Watcher
	// prometheuses watches every Prometheus of the cluster (their monitor selectors only), to
	// tell whether one selects an app's ServiceMonitor (nil in tests: Client reads them).
	prometheuses *optionalcrd.Watcher
	// Shard selects the objects this operator reconciles (settings.Options.Shard); nil: all.
	Shard labels.Selector
	// Clock times pre-pulls (spec.strategy.prePullTimeout); nil: the real clock.
	Clock clock.PassiveClock
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
// Prometheuses are read (their monitor selectors) to tell whether one selects the ServiceMonitor.
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheuses,verbs=get;list;watch
// A metadata-only watch on CRDs notices when prometheus-operator's ServiceMonitor CRD is installed.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// The app's pods are read (cached: those labelled app.kubernetes.io/managed-by=edgeforge) for what
// only they report: an image that cannot be pulled.
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// Namespaces' labels (metadata only) decide whether an edge pool admits an app.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile brings an AppDeployment's children in line with its spec and writes its status once
// at the end (controllers/skeleton). The steps run in order and stop at the first that cannot go
// on.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sk := skeleton.Reconciler[*v1alpha1.AppDeployment, *pass]{
		Shard:     r.Shard,
		Client:    r.Client,
		Recorder:  r.Recorder,
		NewObject: func() *v1alpha1.AppDeployment { return &v1alpha1.AppDeployment{} },
		// No finalizer: every child has an owner reference, garbage collection removes them.
		NewPass: func(obj *v1alpha1.AppDeployment, p *skeleton.Patcher) *pass { return &pass{app: obj, patcher: p} },
		Steps: []skeleton.Step[*pass]{
			r.observeDeployment, // the live Deployment: replica counts, running image
			r.validate,          // what admission should have rejected
			r.resolveImage,      // spec.image, or the ImageBuild's latest digest
			r.resolvePlacement,  // the EdgeCluster of spec.placement
			r.applyWorkload,     // decide the image (pulled onto the nodes first), apply or delete the children
			r.observePods,       // what only the pods say: an image that cannot be pulled
			r.summarize,         // status from the Deployment and its pods as they are now
			r.applyServiceMonitor,
		},
	}
	return sk.Reconcile(ctx, req)
}

// pass is what the steps of one reconcile learn and pass on.
type pass struct {
	app        *v1alpha1.AppDeployment
	patcher    *skeleton.Patcher     // events are recorded once the status is written
	deployment *appsv1.Deployment    // live Deployment controlled by app (after this pass's apply); nil if none
	target     string                // the image the spec asks for
	pool       *v1alpha1.EdgeCluster // spec.placement.edgeClusterRef, when set
	build      *v1alpha1.ImageBuild  // spec.imageFrom's ImageBuild, when set
	decision   app.RolloutDecision
	pull       *app.StartFailure // a pod of the rollout that cannot pull its image or create its container

	// spec.placement.rollout: the pools in wave order with their Deployments, the pools by
	// name, and this pass's plan (nil and empty for an app in one place).
	waves     []app.WavePool
	wavePools map[string]*v1alpha1.EdgeCluster
	plan      app.WavePlan
}

// event records an event about the AppDeployment once its status is written.
func (s *pass) event(rec events.EventRecorder, eventType, reason, action, note string, args ...any) {
	s.patcher.Eventf(rec, s.app, nil, eventType, reason, action, note, args...)
}
