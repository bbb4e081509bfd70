package monitoringstack

import (
	"context"
	"fmt"
	"strings"

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
	st, err := optionalcrd.Check(ctx, r.Client, r.RESTMapper(), operatorKinds)
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
	return skeleton.Result{}, r.operator.Start(ctx, r.ctrl, h)
}
