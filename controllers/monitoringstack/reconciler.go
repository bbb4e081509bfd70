// Package monitoringstack reconciles MonitoringStacks: a prometheus-operator Prometheus with its
// RBAC, node-exporter, kube-state-metrics, the built-in alerts, and Grafana wired to Prometheus
// with the built-in dashboards. internal/monitoring decides what the objects look like and what
// the status says; this package reads, applies, deletes and records.
package monitoringstack

import (
	"context"
	"errors"
	"fmt"
	"sync"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/patch"
	"github.com/edgeforge/edgeforge/internal/conditions"
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

	// The watches on prometheus-operator's kinds, started once their CRDs exist.
	mu               sync.Mutex
	operatorWatching bool
	startWatches     func() error
}

// Kinds held by the reconciler's own label-scoped cache.
var ownedCacheKinds = map[schema.GroupVersionKind]bool{
	monitoring.GVKConfigMap:          true,
	monitoring.GVKServiceAccount:     true,
	monitoring.GVKDaemonSet:          true,
	monitoring.GVKClusterRole:        true,
	monitoring.GVKClusterRoleBinding: true,
	monitoring.GVKPrometheus:         true,
	monitoring.GVKServiceMonitor:     true,
	monitoring.GVKPrometheusRule:     true,
}

// reader is the cache that holds a kind.
func (r *Reconciler) reader(gvk schema.GroupVersionKind) client.Reader {
	if ownedCacheKinds[gvk] {
		return r.owned
	}
	return r.Client
}

// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=edgeforge.io,resources=monitoringstacks/finalizers,verbs=update
// prometheus-operator's CRDs are watched (metadata only) to notice when they are installed.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheuses;servicemonitors;prometheusrules,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;daemonsets,verbs=get;list;watch;create;patch;delete
// The generated Grafana admin Secret is created once and never updated. Secrets are watched as
// metadata only; the user's admin Secret is read (key names only) with the API reader.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch;delete
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
// check that prometheus-operator is installed, settle Grafana's admin Secret, apply the children,
// then summarise. The status is written once, at the end, and only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	stack := &v1alpha1.MonitoringStack{}
	if err := r.Get(ctx, req.NamespacedName, stack); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !stack.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, stack)
	}
	if err := r.ensureFinalizer(ctx, stack); err != nil {
		return ctrl.Result{}, err
	}
	patcher := patch.NewStatusPatcher(r.Client, stack)
	defer func() {
		stack.Status.ObservedGeneration = stack.Generation
		recordReady(stack, meta.IsStatusConditionTrue(stack.Status.Conditions, v1alpha1.ConditionReady))
		retErr = kerrors.NewAggregate([]error{retErr, patcher.Patch(ctx, stack)})
	}()

	for _, step := range []func(context.Context, *v1alpha1.MonitoringStack) (bool, error){
		r.requirePrometheusOperator,
		r.settleAdminSecret,
		r.applyChildren,
	} {
		stop, err := step(ctx, stack)
		var s *stallError
		var rq *requeueError
		switch {
		case errors.As(err, &rq):
			return ctrl.Result{RequeueAfter: rq.after}, nil
		case errors.As(err, &s):
			r.markStalled(stack, s)
			return ctrl.Result{}, reconcile.TerminalError(err)
		case err != nil:
			conditions.MarkReconciling(&stack.Status.Conditions, stack.Generation,
				v1alpha1.MonitoringStackReasonProgressing, "Applying the stack's objects: "+err.Error())
			return ctrl.Result{}, err
		case stop:
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, r.summarize(ctx, stack)
}

// stallError is a problem only a human can fix. The stack is marked Stalled and waits for a
// watched object (a CRD, a Secret) or its spec to change.
type stallError struct{ reason, message string }

func (e *stallError) Error() string { return e.message }

func stall(reason, format string, args ...any) error {
	return &stallError{reason: reason, message: fmt.Sprintf(format, args...)}
}

func (r *Reconciler) markStalled(stack *v1alpha1.MonitoringStack, s *stallError) {
	prev := meta.FindStatusCondition(stack.Status.Conditions, v1alpha1.ConditionStalled)
	conditions.MarkStalled(&stack.Status.Conditions, stack.Generation, s.reason, s.message)
	if prev == nil || prev.Status != "True" || prev.Reason != s.reason || prev.Message != s.message {
		r.Recorder.Eventf(stack, nil, corev1.EventTypeWarning, s.reason, "Stalled", "%s", s.message)
	}
}

// summarize reads the Prometheus CR and Grafana's Deployment and sets status and conditions.
func (r *Reconciler) summarize(ctx context.Context, stack *v1alpha1.MonitoringStack) error {
	var obs monitoring.Observed
	n := monitoring.NamesFor(stack)
	prom, err := r.observe(ctx, monitoring.Object{GVK: monitoring.GVKPrometheus, Namespace: stack.Namespace, Name: n.Prometheus()})
	if err != nil {
		return err
	}
	if prom != nil {
		obs.Prometheus = prom.(*monitoringv1.Prometheus)
	}
	if monitoring.Effective(stack.Spec).Grafana.Enabled {
		d, err := r.observe(ctx, monitoring.Object{GVK: monitoring.GVKDeployment, Namespace: stack.Namespace, Name: n.Grafana()})
		if err != nil {
			return err
		}
		if d != nil {
			obs.Grafana = d.(*appsv1.Deployment)
		}
	}
	p, g, ready, waiting := monitoring.Status(stack, obs)
	stack.Status.Prometheus, stack.Status.Grafana = p, g
	if !ready {
		conditions.MarkReconciling(&stack.Status.Conditions, stack.Generation, v1alpha1.MonitoringStackReasonProgressing, waiting)
		return nil
	}
	wasReady := meta.IsStatusConditionTrue(stack.Status.Conditions, v1alpha1.ConditionReady)
	msg := "Prometheus is ready at " + p.URL
	if g != nil {
		msg += "; Grafana is ready at " + g.URL
	}
	conditions.MarkReady(&stack.Status.Conditions, stack.Generation, v1alpha1.MonitoringStackReasonReady, msg)
	if !wasReady {
		r.Recorder.Eventf(stack, nil, corev1.EventTypeNormal, v1alpha1.MonitoringStackReasonReady, "Reconcile", "%s", msg)
	}
	return nil
}

// ensureFinalizer adds the cleanup finalizer (once; a no-op afterwards).
func (r *Reconciler) ensureFinalizer(ctx context.Context, stack *v1alpha1.MonitoringStack) error {
	if controllerutil.ContainsFinalizer(stack, v1alpha1.MonitoringStackFinalizer) {
		return nil
	}
	before := stack.DeepCopy()
	controllerutil.AddFinalizer(stack, v1alpha1.MonitoringStackFinalizer)
	return r.Patch(ctx, stack, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// finalize deletes the stack's cluster-scoped objects (which no owner reference can remove) and
// then lets the stack go; the garbage collector removes the namespaced children.
func (r *Reconciler) finalize(ctx context.Context, stack *v1alpha1.MonitoringStack) error {
	if !controllerutil.ContainsFinalizer(stack, v1alpha1.MonitoringStackFinalizer) {
		return nil
	}
	n := monitoring.NamesFor(stack)
	for _, component := range []string{monitoring.ComponentPrometheus, monitoring.ComponentKubeStateMetrics} {
		for _, gvk := range []schema.GroupVersionKind{monitoring.GVKClusterRoleBinding, monitoring.GVKClusterRole} {
			if err := r.deleteIfOwned(ctx, stack, monitoring.Object{GVK: gvk, Name: n.ClusterRole(component)}); err != nil {
				return err
			}
		}
	}
	forgetStack(stack)
	before := stack.DeepCopy()
	controllerutil.RemoveFinalizer(stack, v1alpha1.MonitoringStackFinalizer)
	return client.IgnoreNotFound(r.Patch(ctx, stack, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
}
