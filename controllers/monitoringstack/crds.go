package monitoringstack

import (
	"context"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// GVKCustomResourceDefinition is watched as metadata only.
var gvkCRD = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// operatorCRDs are the prometheus-operator CRDs a stack needs, by CRD name.
var operatorCRDs = map[string]schema.GroupVersionKind{
	"prometheuses.monitoring.coreos.com":    monitoring.GVKPrometheus,
	"servicemonitors.monitoring.coreos.com": monitoring.GVKServiceMonitor,
	"prometheusrules.monitoring.coreos.com": monitoring.GVKPrometheusRule,
}

func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvkCRD)
	return m
}

// isOperatorCRD filters the CRD watch to prometheus-operator's three CRDs.
func isOperatorCRD(o client.Object) bool {
	_, ok := operatorCRDs[o.GetName()]
	return ok
}

// allStacks re-enqueues every MonitoringStack when one of prometheus-operator's CRDs comes,
// changes (becomes Established) or goes.
func (r *Reconciler) allStacks(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &v1alpha1.MonitoringStackList{}
	if err := r.List(ctx, list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, s := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
	}
	return reqs
}

// requirePrometheusOperator stalls the stack while prometheus-operator's CRDs are missing. Once
// they exist and are served, it starts the watches on Prometheus, ServiceMonitor and
// PrometheusRule objects (a watch on a kind the API server does not serve would fail the
// controller, so they cannot be set up at start).
func (r *Reconciler) requirePrometheusOperator(ctx context.Context, stack *v1alpha1.MonitoringStack) (bool, error) {
	var missing, unserved []string
	for _, name := range sortedCRDNames() {
		if err := r.Get(ctx, types.NamespacedName{Name: name}, crdMetadata()); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return false, err
			}
			missing = append(missing, name)
			continue
		}
		gvk := operatorCRDs[name]
		if _, err := r.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			if !meta.IsNoMatchError(err) {
				return false, err
			}
			unserved = append(unserved, name)
		}
	}
	if len(missing) > 0 {
		return true, stall(v1alpha1.MonitoringStackReasonPrometheusOperatorMissing,
			"prometheus-operator is not installed: CRD(s) %s not found. Install prometheus-operator "+
				"(its bundle.yaml, Helm chart or OLM package); the stack continues by itself once the CRDs exist",
			strings.Join(missing, ", "))
	}
	if len(unserved) > 0 {
		// The CRDs exist but are not served yet (not Established, or discovery lags behind):
		// a short wait, since discovery catching up sends no event.
		conditions.MarkReconciling(&stack.Status.Conditions, stack.Generation, v1alpha1.MonitoringStackReasonProgressing,
			"Waiting for prometheus-operator's CRD(s) "+strings.Join(unserved, ", ")+" to be served")
		return true, &requeueError{after: time.Second, reason: "CRD(s) " + strings.Join(unserved, ", ") + " not served yet"}
	}
	return false, r.watchOperatorKinds()
}

// watchOperatorKinds starts, once, the watches on the prometheus-operator objects the stacks own.
func (r *Reconciler) watchOperatorKinds() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.operatorWatching {
		return nil
	}
	if err := r.startWatches(); err != nil {
		return err
	}
	r.operatorWatching = true
	return nil
}

func sortedCRDNames() []string {
	return []string{
		"prometheuses.monitoring.coreos.com",
		"prometheusrules.monitoring.coreos.com",
		"servicemonitors.monitoring.coreos.com",
	}
}

// requeueError asks for another look after a while, without an error (and its log and
// backoff): for waits on something no watch reports.
type requeueError struct {
	after  time.Duration
	reason string
}

func (e *requeueError) Error() string { return e.reason }
