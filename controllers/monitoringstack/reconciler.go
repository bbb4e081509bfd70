// Package monitoringstack reconciles MonitoringStacks: a prometheus-operator Prometheus with its
// RBAC, node-exporter, kube-state-metrics, the built-in alerts, and Grafana wired to Prometheus
// with the built-in dashboards. internal/monitoring decides what the objects look like and what
// the status says; this package reads, applies, deletes and records.
package monitoringstack

import (
	"context"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Reconciler reconciles MonitoringStacks.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	client.Client
	// APIReader reads the user's Grafana admin Secret (to check its keys), which no cache holds.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	// Recorder records Stalled, Ready and AdminSecretGenerated events; metrics.go exports
	// edgeforge_monitoringstack_ready.
	Recorder events.EventRecorder
	// Options carries the exporter and Grafana images.
	Options settings.Options

	// owned is a cache of the kinds only MonitoringStacks create here (ConfigMaps,
	// ServiceAccounts, DaemonSets, ClusterRoles, ClusterRoleBindings and, once their CRDs exist,
	// Prometheuses, ServiceMonitors and PrometheusRules), limited to objects labelled
	// edgeforge.io/monitoringstack.
	owned cache.Cache

	// ctrl and operator start the watches on prometheus-operator's kinds (in owned) once their
	// CRDs are served.
	ctrl     controller.Controller
	operator *optionalcrd.Watcher
	// monitors watches every ServiceMonitor and PodMonitor of the cluster, trimmed to labels and
	// file accesses (monitoring.TrimMonitor), for status.prometheus.monitors and ignoredMonitors.
	monitors *optionalcrd.Watcher

	// writes: the versions this reconciler's own writes replaced (skeleton.Writes).
	writes skeleton.Writes
}

// Kinds held by the reconciler's own label-scoped cache.
var ownedCacheKinds = map[schema.GroupVersionKind]bool{
	monitoring.GVKConfigMap:          true,
	monitoring.GVKServiceAccount:     true,
	monitoring.GVKDaemonSet:          true,
	monitoring.GVKClusterRole:        true,
	monitoring.GVKClusterRoleBinding: true,
	monitoring.GVKRole:               true,
	monitoring.GVKRoleBinding:        true,
	monitoring.GVKPrometheus:         true,
	monitoring.GVKServiceMonitor:     true,
	monitoring.GVKPrometheusRule:     true,
}

// reader is the cache that holds a kind.
func (r *Reconciler) reader(gvk schema.GroupVersionKind) client.Reader {
	switch {
	case ownedCacheKinds[gvk]:
		return r.owned
	case gvk == monitoring.GVKSecret:
		return r.APIReader // no Secret cache, not even of metadata: no list/watch of Secrets
	}
	return r.Client
}

// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks/finalizers,verbs=update
// prometheus-operator's CRDs are watched (metadata only) to notice when they are installed.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheuses;servicemonitors;prometheusrules,verbs=get;list;watch;create;patch;delete
// Every monitor's labels are read, to say which ones the stack's Prometheus selects.
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=podmonitors,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;daemonsets,verbs=get;list;watch;create;patch;delete
// The generated Grafana admin Secret is created once and never updated (deleted when no longer
// wanted). Secrets are neither listed nor watched: the user's admin Secret is read (key names
// only) with the API reader when the stack is reconciled, and a stack stalled on it looks again
// every minute.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings;roles;rolebindings,verbs=get;list;watch;create;patch;delete
// Kubernetes lets the operator grant Prometheus and kube-state-metrics only permissions it holds
// itself (no escalate/bind verbs): these read-only rules are those of their ClusterRoles.
// +kubebuilder:rbac:groups="",resources=nodes/metrics,verbs=get
// +kubebuilder:rbac:groups="",resources=endpoints;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:urls=/metrics,verbs=get
// +kubebuilder:rbac:groups="",resources=nodes;namespaces;persistentvolumeclaims,verbs=list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets;statefulsets,verbs=list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=list;watch

// Reconcile brings a MonitoringStack's children in line with its spec and reports their state:
// the skeleton (controllers/skeleton) runs the steps and writes the status once at the end, and
// only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sk := skeleton.Reconciler[*v1alpha1.MonitoringStack, *pass]{
		Shard:     r.Options.Shard,
		Client:    r.Client,
		Recorder:  r.Recorder,
		NewObject: func() *v1alpha1.MonitoringStack { return &v1alpha1.MonitoringStack{} },
		Finalizer: v1alpha1.MonitoringStackFinalizer,
		Finalize:  r.finalize,
		// The stack's own status writes do not trigger a pass, so the next pass (a child or
		// monitor changed) may read the stack from a cache that has not seen the last write yet.
		// Its status write is then refused, and it announces nothing: becoming Ready is
		// announced once, not again by every pass that read the stale status.
		OptimisticLock: true,
		LiveReader:     r.APIReader,
		Writes:         &r.writes,
		NewPass: func(stack *v1alpha1.MonitoringStack, p *skeleton.Patcher) *pass {
			return &pass{stack: stack, patcher: p}
		},
		Steps: []skeleton.Step[*pass]{
			r.checkSpec,                 // the scope is allowed here; the selector can be honoured
			r.requirePrometheusOperator, // the CRDs are served; their watches started
			r.settleAdminSecret,         // Grafana's admin credentials
			r.applyChildren,             // apply what the spec asks for, delete the rest
			r.observe,                   // the Prometheus CR and Grafana's Deployment
		},
		Summarize: r.summarize,
	}
	return sk.Reconcile(ctx, req)
}

// checkSpec stalls a stack whose scope its namespace does not allow, or whose spec
// internal/monitoring cannot carry out.
func (r *Reconciler) checkSpec(_ context.Context, p *pass) (skeleton.Result, error) {
	if ok, why := monitoring.ScopeAllowed(p.stack, r.Options.ClusterMonitoring()); !ok {
		return skeleton.Result{}, skeleton.Stall(v1alpha1.MonitoringStackReasonScopeNotAllowed, "%s", why)
	}
	if why := monitoring.SpecProblem(p.stack); why != "" {
		return skeleton.Result{}, skeleton.Stall(v1alpha1.MonitoringStackReasonInvalidSpec, "%s", why)
	}
	return skeleton.Result{}, nil
}

// pass is what the steps of one reconcile learn and pass on.
type pass struct {
	stack   *v1alpha1.MonitoringStack
	patcher *skeleton.Patcher
	obs     monitoring.Observed
}

// observe reads the Prometheus CR and Grafana's Deployment.
func (r *Reconciler) observe(ctx context.Context, p *pass) (skeleton.Result, error) {
	stack := p.stack
	n := monitoring.NamesFor(stack)
	prom, err := r.get(ctx, monitoring.Object{GVK: monitoring.GVKPrometheus, Namespace: stack.Namespace, Name: n.Prometheus()})
	if err != nil {
		return skeleton.Result{}, err
	}
	if prom != nil {
		p.obs.Prometheus = prom.(*monitoringv1.Prometheus)
	}
	eff := monitoring.Effective(stack.Spec)
	for _, part := range []struct {
		enabled bool
		gvk     schema.GroupVersionKind
		name    string
		into    func(client.Object)
	}{
		{eff.Grafana.Enabled, monitoring.GVKDeployment, n.Grafana(), func(o client.Object) { p.obs.Grafana = o.(*appsv1.Deployment) }},
		{p.obs.Cluster.RunsNodeExporter(stack), monitoring.GVKDaemonSet, n.NodeExporter(), func(o client.Object) { p.obs.NodeExporter = o.(*appsv1.DaemonSet) }},
		{eff.KubeStateMetrics.Enabled, monitoring.GVKDeployment, n.KubeStateMetrics(), func(o client.Object) { p.obs.KubeStateMetrics = o.(*appsv1.Deployment) }},
	} {
		if !part.enabled {
			continue
		}
		o, err := r.get(ctx, monitoring.Object{GVK: part.gvk, Namespace: stack.Namespace, Name: part.name})
		if err != nil {
			return skeleton.Result{}, err
		}
		if o != nil {
			part.into(o)
		}
	}
	return skeleton.Result{}, r.observeMonitors(ctx, p)
}

// observeMonitors lists the ServiceMonitors and PodMonitors in the stack's reach (trimmed by
// monitoring.TrimMonitor: labels, and the file accesses prometheus-operator refuses).
func (r *Reconciler) observeMonitors(ctx context.Context, p *pass) error {
	if r.monitors == nil {
		return nil // a Reconciler without a manager (tests): no monitor cache
	}
	var opts []client.ListOption
	if !monitoring.ClusterScoped(p.stack) {
		opts = append(opts, client.InNamespace(p.stack.Namespace))
	}
	sms := &monitoringv1.ServiceMonitorList{}
	if err := r.monitors.Reader().List(ctx, sms, opts...); err != nil {
		return err
	}
	for _, m := range sms.Items {
		p.obs.Monitors = append(p.obs.Monitors, monitoring.Monitor{Kind: monitoring.KindServiceMonitor, Namespace: m.Namespace, Name: m.Name,
			Labels: m.Labels, FileAccess: monitoring.ServiceMonitorFileAccess(&m)})
	}
	pms := &monitoringv1.PodMonitorList{}
	if err := r.monitors.Reader().List(ctx, pms, opts...); err != nil {
		return err
	}
	for _, m := range pms.Items {
		p.obs.Monitors = append(p.obs.Monitors, monitoring.Monitor{Kind: monitoring.KindPodMonitor, Namespace: m.Namespace, Name: m.Name, Labels: m.Labels})
	}
	return nil
}

// summarize sets the conditions from the pass (internal/monitoring decides them) and announces
// a stack that became Ready.
func (r *Reconciler) summarize(_ context.Context, p *pass, out skeleton.Outcome) {
	stack := p.stack
	switch {
	case out.Err != nil:
		monitoring.MarkApplyFailed(stack, out.Err)
	case out.Completed():
		wasReady := meta.IsStatusConditionTrue(stack.Status.Conditions, v1alpha1.ConditionReady)
		if monitoring.Summarize(stack, p.obs) && !wasReady {
			ready := meta.FindStatusCondition(stack.Status.Conditions, v1alpha1.ConditionReady)
			p.patcher.Eventf(r.Recorder, stack, nil, corev1.EventTypeNormal, v1alpha1.MonitoringStackReasonReady, "Reconcile", "%s", ready.Message)
		}
	}
	ready := meta.IsStatusConditionTrue(stack.Status.Conditions, v1alpha1.ConditionReady)
	p.patcher.Announce(func() { recordReady(stack, ready) })
}

// finalize deletes the stack's cluster-scoped objects (which no owner reference can remove);
// the garbage collector removes the namespaced children.
func (r *Reconciler) finalize(ctx context.Context, stack *v1alpha1.MonitoringStack) error {
	n := monitoring.NamesFor(stack)
	for _, component := range []string{monitoring.ComponentPrometheus, monitoring.ComponentKubeStateMetrics} {
		for _, gvk := range []schema.GroupVersionKind{monitoring.GVKClusterRoleBinding, monitoring.GVKClusterRole} {
			for _, name := range []string{n.ClusterRole(component), n.LegacyClusterRole(component)} {
				if _, err := r.reconcileChild(ctx, stack, monitoring.Object{GVK: gvk, Name: name}); err != nil {
					return err
				}
			}
		}
	}
	forgetStack(stack)
	return nil
}
