package appdeployment

import (
	"context"
	"errors"
	"fmt"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// serviceMonitorCRD is the CRD whose presence decides whether ServiceMonitors are made.
const serviceMonitorCRD = "servicemonitors.monitoring.coreos.com"

// applyServiceMonitor applies (or deletes) the ServiceMonitor of spec.metrics when
// prometheus-operator's CRD is installed, and says so in the ServiceMonitorReady condition.
// Without the CRD the condition is False (reason CRDNotInstalled) and nothing else is affected;
// the metadata-only CRD watch brings the AppDeployment back once the CRD appears.
func (r *Reconciler) applyServiceMonitor(ctx context.Context, s *state) (bool, error) {
	obj := s.app
	desired := app.DesiredServiceMonitor(obj)
	served, pending, err := r.serviceMonitorsServed(ctx)
	if err != nil {
		return false, err
	}
	if !served {
		if desired == nil {
			meta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady)
			return false, nil
		}
		msg := fmt.Sprintf("prometheus-operator's ServiceMonitor CRD (%s) is not installed; "+
			"the ServiceMonitor for spec.metrics is created as soon as it is", serviceMonitorCRD)
		if pending {
			msg = fmt.Sprintf("prometheus-operator's ServiceMonitor CRD (%s) is installed but not served yet", serviceMonitorCRD)
			s.requeueAfter = time.Second
		}
		conditions.Set(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse, obj.Generation,
			v1alpha1.AppDeploymentReasonCRDNotInstalled, msg)
		return false, nil
	}
	reader, err := r.serviceMonitors(ctx)
	if err != nil {
		return false, err
	}

	live := &monitoringv1.ServiceMonitor{}
	c := child{live: live, reader: reader}
	if desired != nil {
		u := app.ServiceMonitorApplyConfiguration(desired)
		c.desired = client.ApplyConfigurationFromUnstructured(u)
		c.current = func() bool { return serviceMonitorCurrent(live, u) }
	}
	if _, err := r.reconcileChild(ctx, obj, c); err != nil {
		return false, err
	}
	if desired == nil {
		meta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady)
	} else {
		conditions.Set(&obj.Status.Conditions, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue, obj.Generation,
			v1alpha1.AppDeploymentReasonServiceMonitorApplied, fmt.Sprintf("ServiceMonitor %s/%s scrapes Service port %s at %s",
				obj.Namespace, obj.Name, obj.Spec.Metrics.Port, desired.Spec.Endpoints[0].Path))
	}
	return false, nil
}

// crdMetadata is a CustomResourceDefinition as metadata only.
func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return m
}

// serviceMonitorsServed reports whether the ServiceMonitor CRD exists (from the cached CRD
// metadata: no API call) and whether its kind is served (the REST mapper, which rediscovers a
// group it does not know). A CRD that exists but is not served yet is pending: just created,
// discovery follows its Established condition with a delay that no event reports.
func (r *Reconciler) serviceMonitorsServed(ctx context.Context) (served, pending bool, err error) {
	crd := crdMetadata()
	if err := r.Get(ctx, client.ObjectKey{Name: serviceMonitorCRD}, crd); err != nil {
		return false, false, client.IgnoreNotFound(err)
	}
	if !crd.DeletionTimestamp.IsZero() {
		return false, false, nil
	}
	gk := monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind).GroupKind()
	if _, err := r.RESTMapper.RESTMapping(gk, monitoringv1.SchemeGroupVersion.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return false, true, nil
		}
		return false, false, err
	}
	return true, false, nil
}

// serviceMonitors returns the reader for ServiceMonitors. On first use (once their kind is
// served) it starts a cache of the ServiceMonitors edgeforge made (label-selected, like
// CacheOptions) and a watch of those AppDeployments own; neither can be set up when the manager
// starts, since the kind may not exist then. Without a manager (tests calling Reconcile
// directly) it is the Reconciler's client.
func (r *Reconciler) serviceMonitors(ctx context.Context) (client.Reader, error) {
	r.smCacheMu.Lock()
	defer r.smCacheMu.Unlock()
	if r.mgr == nil {
		return r.Client, nil
	}
	if r.smCache != nil {
		return r.smCache, nil
	}
	c, err := cache.New(r.mgr.GetConfig(), cache.Options{
		HTTPClient: r.mgr.GetHTTPClient(),
		Scheme:     r.Scheme(),
		Mapper:     r.RESTMapper,
		ByObject:   map[client.Object]cache.ByObject{&monitoringv1.ServiceMonitor{}: childCacheOptions()},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the ServiceMonitor cache: %w", err)
	}
	if err := r.mgr.Add(c); err != nil {
		return nil, fmt.Errorf("starting the ServiceMonitor cache: %w", err)
	}
	src := source.Kind(c, &monitoringv1.ServiceMonitor{},
		handler.TypedEnqueueRequestForOwner[*monitoringv1.ServiceMonitor](r.Scheme(), r.RESTMapper, &v1alpha1.AppDeployment{}, handler.OnlyControllerOwner()),
		ignoreStatusOnlyUpdates[*monitoringv1.ServiceMonitor]())
	if err := r.ctrl.Watch(src); err != nil {
		return nil, fmt.Errorf("watching ServiceMonitors: %w", err)
	}
	if !c.WaitForCacheSync(ctx) {
		return nil, errors.New("the ServiceMonitor cache did not sync")
	}
	r.smCache = c
	return c, nil
}

// serviceMonitorCurrent reports whether the live ServiceMonitor holds what edgeforge would apply,
// as owned by edgeforge. prometheus-operator's module has no apply configurations (nor their
// schema), so the fields edgeforge owns are extracted from managedFields with a schema deduced
// from the object itself: maps are merged key by key, lists (endpoints, ownerReferences) are
// compared whole, and atomic maps (the label selector), which the deduced schema cannot know,
// are filled in from the live object (fillAtomic). The desired object has only what edgeforge sets, so this is the same test as
// for the built-in kinds.
func serviceMonitorCurrent(live *monitoringv1.ServiceMonitor, desired *unstructured.Unstructured) bool {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind))
	applied := map[string]any{}
	if err := managedfields.ExtractInto(u, typed.DeducedParseableType, fieldOwner, &applied, ""); err != nil {
		return false
	}
	// Identity is not in managedFields; the typed Extract functions add it the same way.
	if err := unstructured.SetNestedField(applied, live.Name, "metadata", "name"); err != nil {
		return false
	}
	if err := unstructured.SetNestedField(applied, live.Namespace, "metadata", "namespace"); err != nil {
		return false
	}
	fillAtomic(applied, m)
	return equality.Semantic.DeepEqual(applied, desired.Object)
}

// fillAtomic replaces the nils a deduced-schema extraction leaves where edgeforge owns a whole
// map (an atomic map is owned as one leaf, and the deduced schema extracts the leaf without its
// content) with the live value. The API server stores no nulls, so a nil is always such a leaf.
func fillAtomic(extracted, live map[string]any) {
	for k, v := range extracted {
		switch v := v.(type) {
		case nil:
			extracted[k] = runtime.DeepCopyJSONValue(live[k])
		case map[string]any:
			if l, ok := live[k].(map[string]any); ok {
				fillAtomic(v, l)
			}
		}
	}
}
