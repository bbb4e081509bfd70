package appdeployment

import (
	"context"
	"errors"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/optionalcrd"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/conditions"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// serviceMonitorCRD is the CRD whose presence decides whether ServiceMonitors are made.
const serviceMonitorCRD = "servicemonitors.monitoring.coreos.com"

// serviceMonitorKinds is the optional kind of this controller.
var serviceMonitorKinds = optionalcrd.Kinds{
	serviceMonitorCRD: monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind),
}

// applyServiceMonitor applies (or deletes) the ServiceMonitor of spec.metrics when
// prometheus-operator's CRD is installed, and says so in the ServiceMonitorReady condition.
// Without the CRD the condition is False (reason CRDNotInstalled) and nothing else is affected;
// the metadata-only CRD watch brings the AppDeployment back once the CRD appears.
func (r *Reconciler) applyServiceMonitor(ctx context.Context, s *pass) (skeleton.Result, error) {
	obj := s.app
	desired := app.DesiredServiceMonitor(obj)
	st, err := optionalcrd.Check(ctx, r.Client, r.RESTMapper, serviceMonitorKinds)
	if err != nil {
		return skeleton.Result{}, err
	}
	if !st.Served() {
		if desired == nil {
			meta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady)
			return skeleton.Result{}, nil
		}
		msg := fmt.Sprintf("prometheus-operator's ServiceMonitor CRD (%s) is not installed; "+
			"the ServiceMonitor for spec.metrics is created as soon as it is", serviceMonitorCRD)
		var err error
		if len(st.Unserved) > 0 {
			// Installed but not served yet: discovery catching up sends no event, so retry
			// through the workqueue's rate limiter (per-object backoff), not on a fixed clock.
			msg = fmt.Sprintf("prometheus-operator's ServiceMonitor CRD (%s) is installed but not served yet", serviceMonitorCRD)
			err = errors.New(msg)
		}
		conditions.Set(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse, obj.Generation,
			v1alpha1.AppDeploymentReasonCRDNotInstalled, msg)
		return skeleton.Result{}, err
	}
	reader, err := r.serviceMonitors(ctx)
	if err != nil {
		return skeleton.Result{}, err
	}

	c := apply.Child{Live: &monitoringv1.ServiceMonitor{}, Key: client.ObjectKeyFromObject(obj), Reader: reader}
	if desired != nil {
		c.Desired = client.ApplyConfigurationFromUnstructured(app.ServiceMonitorApplyConfiguration(desired))
	}
	if _, err := r.reconcileChild(ctx, obj, c); err != nil {
		return skeleton.Result{}, err
	}
	if desired == nil {
		meta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady)
		return skeleton.Result{}, nil
	}
	by, why, unserved, err := r.monitorSelectedBy(ctx, desired)
	if err != nil {
		return skeleton.Result{}, err
	}
	if len(by) == 0 {
		conditions.Set(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse, obj.Generation,
			v1alpha1.AppDeploymentReasonNotSelected, why)
		if unserved {
			// The Prometheus CRD is installed but not in discovery yet, and its CRD events are
			// over: retry through the workqueue's rate limiter instead of waiting for one.
			return skeleton.Result{}, errors.New("waiting for prometheus-operator's Prometheus CRD to be served")
		}
		return skeleton.Result{}, nil
	}
	conditions.Set(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue, obj.Generation,
		v1alpha1.AppDeploymentReasonServiceMonitorApplied, fmt.Sprintf("ServiceMonitor %s/%s scrapes Service port %s at %s; selected by %s",
			obj.Namespace, obj.Name, obj.Spec.Metrics.Port, desired.Spec.Endpoints[0].Path, strings.Join(by, ", ")))
	return skeleton.Result{}, nil
}

// prometheusKinds is the optional kind whose objects decide whether a ServiceMonitor is selected.
var prometheusKinds = optionalcrd.Kinds{
	"prometheuses.monitoring.coreos.com": monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusesKind),
}

// monitorSelectedBy names the Prometheuses of the cluster that select the ServiceMonitor sm,
// or says why none does (internal/monitoring decides, as prometheus-operator would). unserved:
// the Prometheus CRD is installed but not served yet, so the answer will change.
func (r *Reconciler) monitorSelectedBy(ctx context.Context, sm *monitoringv1.ServiceMonitor) (by []string, why string, unserved bool, err error) {
	st, err := optionalcrd.Check(ctx, r.Client, r.RESTMapper, prometheusKinds)
	if err != nil {
		return nil, "", false, err
	}
	unserved = len(st.Unserved) > 0
	var proms []monitoring.Selection
	if st.Served() {
		reader := client.Reader(r.Client)
		if r.prometheuses != nil {
			h := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request { return r.withMetrics(ctx) })
			if err := r.prometheuses.Start(ctx, r.ctrl, h, predicate.GenerationChangedPredicate{}); err != nil {
				return nil, "", false, err
			}
			reader = r.prometheuses.Reader()
		}
		list := &monitoringv1.PrometheusList{}
		if err := reader.List(ctx, list); err != nil {
			return nil, "", false, err
		}
		for i := range list.Items {
			proms = append(proms, monitoring.SelectionOf(&list.Items[i]))
		}
	}
	nsLabels, err := pools.NamespaceLabels(ctx, r.Client, sm.Namespace)
	if err != nil {
		return nil, "", false, err
	}
	m := monitoring.Monitor{Kind: monitoring.KindServiceMonitor, Namespace: sm.Namespace, Name: sm.Name, Labels: sm.Labels,
		FileAccess: monitoring.ServiceMonitorFileAccess(sm)}
	by, why = monitoring.SelectedBy(m, nsLabels, proms)
	return by, why, unserved, nil
}

// TrimPrometheus keeps of a cached Prometheus only what selection reads: its identity and its
// monitor selectors (a Prometheus spec is large; thousands of apps read a few of them).
func TrimPrometheus(obj any) (any, error) {
	p, ok := obj.(*monitoringv1.Prometheus)
	if !ok {
		return obj, nil
	}
	return &monitoringv1.Prometheus{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Labels: p.Labels,
			ResourceVersion: p.ResourceVersion, Generation: p.Generation, DeletionTimestamp: p.DeletionTimestamp},
		Spec: monitoringv1.PrometheusSpec{CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
			ServiceMonitorSelector:          p.Spec.ServiceMonitorSelector,
			ServiceMonitorNamespaceSelector: p.Spec.ServiceMonitorNamespaceSelector,
			PodMonitorSelector:              p.Spec.PodMonitorSelector,
			PodMonitorNamespaceSelector:     p.Spec.PodMonitorNamespaceSelector,
		}},
	}, nil
}

// serviceMonitors returns the reader for ServiceMonitors. On first use (once their kind is
// served) it starts the watch of the ServiceMonitors AppDeployments own, on the cache of the
// ServiceMonitors edgeforge made (label-selected, like CacheOptions); neither can be set up
// when the manager starts, since the kind may not exist then. Without a manager (tests calling
// Reconcile directly) it is the Reconciler's client.
func (r *Reconciler) serviceMonitors(ctx context.Context) (client.Reader, error) {
	if r.optional == nil {
		return r.Client, nil
	}
	h := handler.EnqueueRequestForOwner(r.Scheme(), r.RESTMapper, &v1alpha1.AppDeployment{}, handler.OnlyControllerOwner())
	if err := r.optional.Start(ctx, r.ctrl, h, ignoreStatusOnlyUpdates[client.Object]()); err != nil {
		return nil, err
	}
	return r.optional.Reader(), nil
}
