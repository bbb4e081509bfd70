package monitoringstack

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// operatorKinds are the prometheus-operator kinds a stack needs, by CRD name.
var operatorKinds = optionalcrd.Kinds{
	"prometheuses.monitoring.coreos.com":    monitoring.GVKPrometheus,
	"servicemonitors.monitoring.coreos.com": monitoring.GVKServiceMonitor,
	"prometheusrules.monitoring.coreos.com": monitoring.GVKPrometheusRule,
}

// monitorKinds are the monitor kinds whose metadata decide status.prometheus.monitors.
var monitorKinds = optionalcrd.Kinds{
	"servicemonitors.monitoring.coreos.com": monitoring.GVKServiceMonitor,
	"podmonitors.monitoring.coreos.com":     monitoring.GVKPodMonitor,
}

// requiredKinds are operatorKinds and monitorKinds: what a stack needs served.
var requiredKinds = func() optionalcrd.Kinds {
	k := optionalcrd.Kinds{}
	maps.Copy(k, operatorKinds)
	maps.Copy(k, monitorKinds)
	return k
}()

// allStacks re-enqueues every MonitoringStack when one of prometheus-operator's CRDs comes,
// changes (becomes Established) or goes.
func (r *Reconciler) allStacks(ctx context.Context) []reconcile.Request {
	return index.Requests(ctx, r.Client, &v1alpha1.MonitoringStackList{})
}

// requirePrometheusOperator stalls the stack while prometheus-operator's CRDs are missing. Once
// they exist and are served, it starts the watches on Prometheus, ServiceMonitor and
// PrometheusRule objects (a watch on a kind the API server does not serve would fail the
// controller, so they cannot be set up at start).
func (r *Reconciler) requirePrometheusOperator(ctx context.Context, p *pass) (skeleton.Result, error) {
	st, err := optionalcrd.Check(ctx, r.Client, r.RESTMapper(), requiredKinds)
	if err != nil {
		return skeleton.Result{}, err
	}
	if len(st.Missing) > 0 {
		return skeleton.Result{}, skeleton.Stall(v1alpha1.MonitoringStackReasonPrometheusOperatorMissing,
			"prometheus-operator is not installed: CRD(s) %s not found. Install prometheus-operator "+
				"(its bundle.yaml, Helm chart or OLM package); the stack continues by itself once the CRDs exist",
			strings.Join(st.Missing, ", "))
	}
	if len(st.Unserved) > 0 {
		// The CRDs exist but are not served yet (not Established, or discovery lags behind).
		// Discovery catching up sends no event, so this is retried, through the workqueue's
		// rate limiter (per-object exponential backoff), not on a fixed clock per stack.
		return skeleton.Result{}, fmt.Errorf("waiting for prometheus-operator's CRD(s) %s to be served", strings.Join(st.Unserved, ", "))
	}
	if r.operator == nil || r.ctrl == nil {
		return skeleton.Result{}, nil // a Reconciler without a manager (tests): nothing to watch
	}
	h := handler.EnqueueRequestForOwner(r.Scheme, r.RESTMapper(), &v1alpha1.MonitoringStack{}, handler.OnlyControllerOwner())
	if err := r.operator.Start(ctx, r.ctrl, h); err != nil {
		return skeleton.Result{}, err
	}
	// A monitor that comes, goes or changes its labels may change what the stacks in its reach
	// select.
	return skeleton.Result{}, r.monitors.Start(ctx, r.ctrl, handler.EnqueueRequestsFromMapFunc(r.stacksReaching),
		predicate.LabelChangedPredicate{})
}

// stacksReaching maps a monitor to the stacks whose reach includes it: those of its namespace
// and every Cluster-scoped one.
func (r *Reconciler) stacksReaching(ctx context.Context, o client.Object) []reconcile.Request {
	stacks := &v1alpha1.MonitoringStackList{}
	if err := r.List(ctx, stacks); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, s := range stacks.Items {
		if s.Namespace == o.GetNamespace() || monitoring.ClusterScoped(&s) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
	}
	return reqs
}
