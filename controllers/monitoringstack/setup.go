package monitoringstack

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// SetupWithManager registers the MonitoringStack controller.
//
// Watches: MonitoringStacks (spec, annotation or label changes and deletion, not their own
// status writes); owned Deployments and Services (the manager's cache, shared with the
// AppDeployment controller); owned ConfigMaps, ServiceAccounts, DaemonSets and the labelled
// ClusterRoles/ClusterRoleBindings through a cache of its own limited to objects labelled
// edgeforge.io/monitoringstack (Secrets are neither cached nor watched: they are read by name,
// and a stack stalled on its admin Secret looks again every skeleton.UnwatchedRecheck); and the
// metadata of prometheus-operator's CRDs. Watches on Prometheus, ServiceMonitor and
// PrometheusRule objects (in the same label-scoped cache) start once those CRDs are served, so
// the controller starts, and stalls its stacks with a clear reason, on a cluster without
// prometheus-operator.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	def := settings.Defaults()
	if opts.GrafanaImage == "" {
		opts.GrafanaImage = def.GrafanaImage
	}
	if opts.NodeExporterImage == "" {
		opts.NodeExporterImage = def.NodeExporterImage
	}
	if opts.KubeStateMetricsImage == "" {
		opts.KubeStateMetricsImage = def.KubeStateMetricsImage
	}

	labelled, err := labels.NewRequirement(v1alpha1.LabelMonitoringStack, selection.Exists, nil)
	if err != nil {
		return err
	}
	owned, err := skeleton.PrivateCache(mgr, cache.Options{
		DefaultLabelSelector: labels.NewSelector().Add(*labelled),
		// edgeforge's managedFields entry stays: "already current" is decided from it. Anyone
		// may label their ConfigMaps edgeforge.io/monitoringstack: what no stack controls is
		// cached as a stub (apply.KeepOwnedOnly).
		DefaultTransform: apply.KeepOwnedOnly(settings.FieldOwner),
	})
	if err != nil {
		return err
	}

	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Recorder:  mgr.GetEventRecorder("edgeforge-monitoringstack"),
		Options:   opts,
		owned:     owned,
	}
	scheme, mapper := mgr.GetScheme(), mgr.GetRESTMapper()
	byOwner := func() handler.EventHandler {
		return handler.EnqueueRequestForOwner(scheme, mapper, &v1alpha1.MonitoringStack{}, handler.OnlyControllerOwner())
	}
	deleting := predicate.NewPredicateFuncs(func(o client.Object) bool { return !o.GetDeletionTimestamp().IsZero() })
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.MonitoringStack{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
			predicate.LabelChangedPredicate{}, deleting))).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		WatchesRawSource(source.Kind[client.Object](owned, &corev1.ConfigMap{}, byOwner())).
		WatchesRawSource(source.Kind[client.Object](owned, &corev1.ServiceAccount{}, byOwner())).
		WatchesRawSource(source.Kind[client.Object](owned, &appsv1.DaemonSet{}, byOwner())).
		WatchesRawSource(source.Kind[client.Object](owned, &rbacv1.Role{}, byOwner())).
		WatchesRawSource(source.Kind[client.Object](owned, &rbacv1.RoleBinding{}, byOwner())).
		WatchesRawSource(source.Kind[client.Object](owned, &rbacv1.ClusterRole{}, handler.EnqueueRequestsFromMapFunc(stackOfClusterObject))).
		WatchesRawSource(source.Kind[client.Object](owned, &rbacv1.ClusterRoleBinding{}, handler.EnqueueRequestsFromMapFunc(stackOfClusterObject))).
		// A namespace's Pod Security label decides whether node-exporter may run there.
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.stacksIn),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// Which stack runs node-exporter is decided from all of them: a stack that comes, goes
		// or turns node-exporter on or off concerns the others.
		Watches(&v1alpha1.MonitoringStack{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
			return r.allStacks(ctx)
		}), builder.WithPredicates(nodeExporterRunnerMayChange())).
		WatchesRawSource(optionalcrd.CRDSource(mgr.GetCache(), requiredKinds, r.allStacks)).
		Named("monitoringstack").
		Build(r)
	if err != nil {
		return err
	}
	r.ctrl = c
	r.operator = optionalcrd.NewWithCache(owned, mgr.GetScheme(), operatorKinds)
	if r.monitors, err = optionalcrd.New(mgr, monitorKinds, labels.Everything(), monitoring.TrimMonitor); err != nil {
		return err
	}
	return nil
}

// stackOfClusterObject maps a labelled ClusterRole or ClusterRoleBinding to its stack.
func stackOfClusterObject(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	name, ns := l[v1alpha1.LabelMonitoringStack], l[monitoring.LabelStackNamespace]
	if name == "" || ns == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// nodeExporterRunnerMayChange passes the MonitoringStack events that can change which stack runs
// node-exporter: one created or deleted, being deleted, or turning node-exporter on or off.
func nodeExporterRunnerMayChange() predicate.Predicate {
	wants := func(o client.Object) bool {
		s, ok := o.(*v1alpha1.MonitoringStack)
		return ok && s.DeletionTimestamp == nil && monitoring.Effective(s.Spec).NodeExporter.Enabled
	}
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		UpdateFunc:  func(e event.UpdateEvent) bool { return wants(e.ObjectOld) != wants(e.ObjectNew) },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// stacksIn maps a namespace to the stacks in it.
func (r *Reconciler) stacksIn(ctx context.Context, o client.Object) []reconcile.Request {
	return index.Requests(ctx, r.Client, &v1alpha1.MonitoringStackList{}, client.InNamespace(o.GetName()))
}
