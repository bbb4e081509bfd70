package appdeployment

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Field indexes on AppDeployments, so a change of a referenced object maps to the AppDeployments
// that reference it without listing them all.
const (
	indexImageBuild  = "spec.imageFrom.imageBuildRef.name"
	indexEdgeCluster = "spec.placement.edgeClusterRef.name"
	indexMetrics     = "spec.metrics"
)

// SetupWithManager registers the AppDeployment controller: it owns the children, follows the
// ImageBuilds and EdgeClusters AppDeployments reference (field indexes), and watches the
// metadata of prometheus-operator's ServiceMonitor CRD so apps with spec.metrics get their
// ServiceMonitor as soon as it is installed. The ServiceMonitor watch itself starts then.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	r := &Reconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("edgeforge-appdeployment"),
		RESTMapper: mgr.GetRESTMapper(),
		Shard:      opts.Shard,
	}
	by := childCacheOptions()
	optional, err := optionalcrd.New(mgr, serviceMonitorKinds, by.Label, by.Transform)
	if err != nil {
		return err
	}
	r.optional = optional
	if r.prometheuses, err = optionalcrd.New(mgr, prometheusKinds, labels.Everything(), TrimPrometheus); err != nil {
		return err
	}
	if err := index.Register(context.Background(), mgr.GetFieldIndexer(), &v1alpha1.AppDeployment{},
		index.Field[*v1alpha1.AppDeployment]{Name: indexImageBuild, Extract: imageBuildName},
		index.Field[*v1alpha1.AppDeployment]{Name: indexEdgeCluster, Extract: edgeClusterName},
		index.Field[*v1alpha1.AppDeployment]{Name: indexMetrics, Extract: hasMetrics},
	); err != nil {
		return err
	}

	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("appdeployment").
		// Its own status writes do not wake it up.
		For(&v1alpha1.AppDeployment{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Deployment status drives the rollout; the other children matter when they change or go.
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}, builder.WithPredicates(ignoreStatusOnlyUpdates[client.Object]())).
		Owns(&networkingv1.Ingress{}, builder.WithPredicates(ignoreStatusOnlyUpdates[client.Object]())).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, builder.WithPredicates(ignoreStatusOnlyUpdates[client.Object]())).
		Owns(&policyv1.PodDisruptionBudget{}, builder.WithPredicates(ignoreStatusOnlyUpdates[client.Object]())).
		// A namespace's labels decide whether a pool admits its apps (spec.allowedNamespaces).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(pools.NamespaceRequests(r.Client,
			func() client.ObjectList { return &v1alpha1.AppDeploymentList{} })), builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// Pods only when one starts or stops failing to pull its image or create its container.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToApp), builder.WithPredicates(startFailingChanged())).
		// Pre-pull Pods when one comes, goes or has pulled the image.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(prePullPodToApp), builder.WithPredicates(prePullChanged())).
		Watches(&v1alpha1.ImageBuild{}, handler.EnqueueRequestsFromMapFunc(r.referencing(indexImageBuild, true)),
			builder.WithPredicates(buildOutcomeChanged())).
		// A pool's spec (taints, autonomy), whether it is Disconnected (rollouts pause) and its
		// labels (which rollouts select it).
		Watches(&v1alpha1.EdgeCluster{}, handler.EnqueueRequestsFromMapFunc(r.poolReferrers),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, disconnectedChanged(),
				predicate.LabelChangedPredicate{}))).
		WatchesRawSource(optionalcrd.CRDSource(mgr.GetCache(), serviceMonitorKinds, r.withMetrics)).
		WatchesRawSource(optionalcrd.CRDSource(mgr.GetCache(), prometheusKinds, r.withMetrics)).
		Build(r)
	if err != nil {
		return err
	}
	r.ctrl = c
	return nil
}

// CacheOptions narrows the manager's caches of the kinds AppDeployments own to the objects
// edgeforge made (label app.kubernetes.io/managed-by=edgeforge), instead of every Deployment,
// Service, Ingress, HPA and PDB of the cluster, and keeps only edgeforge's own managedFields
// entry of each (the controller compares against it; the others, e.g. kube-controller-manager's
// status entries, are dead weight). main.go merges it into the manager's cache.Options.ByObject.
// Do not combine it with a cache-wide transform that strips managedFields: without edgeforge's
// entry every reconcile would re-apply every child.
//
// ServiceMonitors are not in it: a ByObject entry needs the kind to exist when the manager
// starts. The controller has its own cache for them (optionalcrd), with the same label and
// transform (childCacheOptions), whose watch starts once prometheus-operator's CRD is served.
func CacheOptions() map[client.Object]cache.ByObject {
	by := childCacheOptions()
	return map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:                     by,
		&corev1.Service{}:                        by,
		&networkingv1.Ingress{}:                  by,
		&autoscalingv2.HorizontalPodAutoscaler{}: by,
		&policyv1.PodDisruptionBudget{}:          by,
		// The app's pods, for what only they report: an image that cannot be pulled. The
		// ImageBuild controller caches the same pods (build pods carry the label too).
		&corev1.Pod{}: apply.PodCache(),
	}
}

// childCacheOptions caches the children edgeforge made, with only edgeforge's managedFields.
func childCacheOptions() cache.ByObject {
	return cache.ByObject{
		Label:     apply.MadeByEdgeforge(),
		Transform: apply.KeepOwnedOnly(fieldOwner),
	}
}

func imageBuildName(a *v1alpha1.AppDeployment) []string {
	if a.Spec.ImageFrom == nil {
		return nil
	}
	return []string{a.Spec.ImageFrom.ImageBuildRef.Name}
}

// edgeClusterName indexes an app by the pools it names (spec.placement.edgeClusterRef or the
// edgeClusterRef entries of spec.placement.rollout), and by selectorReferrer when a rollout entry
// selects pools by label.
func edgeClusterName(a *v1alpha1.AppDeployment) []string {
	if pool := app.PoolName(a); pool != "" {
		return []string{pool}
	}
	var names []string
	if ro := app.Rollout(a); ro != nil {
		for _, e := range ro.Pools {
			switch {
			case e.EdgeClusterRef != nil:
				names = append(names, e.EdgeClusterRef.Name)
			case !slices.Contains(names, selectorReferrer):
				names = append(names, selectorReferrer)
			}
		}
	}
	return names
}

// poolReferrers maps an EdgeCluster to the AppDeployments that name it and those that select
// pools by label (whether they select this one is theirs to find out).
func (r *Reconciler) poolReferrers(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := r.referencing(indexEdgeCluster, false)(ctx, o)
	for _, req := range index.Requests(ctx, r.Client, &v1alpha1.AppDeploymentList{}, client.MatchingFields{indexEdgeCluster: selectorReferrer}) {
		if !slices.Contains(reqs, req) {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

func hasMetrics(a *v1alpha1.AppDeployment) []string {
	if a.Spec.Metrics == nil {
		return nil
	}
	return []string{"true"}
}

// referencing maps a referenced object to the AppDeployments whose index holds its name (in its
// namespace when namespaced).
func (r *Reconciler) referencing(name string, namespaced bool) handler.MapFunc {
	return index.Referrers(r.Client, func() client.ObjectList { return &v1alpha1.AppDeploymentList{} }, name, namespaced)
}

// withMetrics maps the ServiceMonitor CRD to every AppDeployment with spec.metrics.
func (r *Reconciler) withMetrics(ctx context.Context) []reconcile.Request {
	return index.Requests(ctx, r.Client, &v1alpha1.AppDeploymentList{}, client.MatchingFields{indexMetrics: "true"})
}

// buildOutcomeChanged passes ImageBuild updates that matter to the apps following it: a new
// latestImage (a new rollout) or a new phase (the WaitingForBuild message).
func buildOutcomeChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.ImageBuild)
		n, ok2 := e.ObjectNew.(*v1alpha1.ImageBuild)
		return !ok1 || !ok2 || o.Status.LatestImage != n.Status.LatestImage || o.Status.Phase != n.Status.Phase
	}}
}

// ignoreStatusOnlyUpdates drops updates of a child that changed nothing but its status (an HPA's
// current metrics, a PDB's healthy pod count): nothing edgeforge applies can have drifted then.
func ignoreStatusOnlyUpdates[T client.Object]() predicate.TypedPredicate[T] {
	return predicate.TypedFuncs[T]{UpdateFunc: func(e event.TypedUpdateEvent[T]) bool {
		return !equality.Semantic.DeepEqual(withoutStatus(e.ObjectOld), withoutStatus(e.ObjectNew))
	}}
}

func withoutStatus(obj runtime.Object) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "resourceVersion")
		delete(md, "managedFields")
	}
	return m
}

// podToApp maps an app's pod to its AppDeployment (label edgeforge.io/appdeployment).
func podToApp(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[v1alpha1.LabelAppDeployment]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// startFailingChanged passes a pod event when the pod starts or stops failing to pull its image
// or create its container (or a failing pod comes or goes): the only pod news an AppDeployment's
// status depends on.
func startFailingChanged() predicate.Predicate {
	failing := func(o client.Object) bool {
		p, ok := o.(*corev1.Pod)
		return ok && app.StartFailing(p)
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return failing(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return failing(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return failing(e.ObjectOld) != failing(e.ObjectNew) },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// disconnectedChanged passes an EdgeCluster update that turns its Disconnected condition on or off.
func disconnectedChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		was, is := e.ObjectOld.(*v1alpha1.EdgeCluster), e.ObjectNew.(*v1alpha1.EdgeCluster)
		if was == nil || is == nil {
			return false
		}
		return meta.IsStatusConditionTrue(was.Status.Conditions, v1alpha1.ConditionDisconnected) !=
			meta.IsStatusConditionTrue(is.Status.Conditions, v1alpha1.ConditionDisconnected)
	}}
}
