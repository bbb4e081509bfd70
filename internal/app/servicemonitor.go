package app

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// DesiredServiceMonitor is the prometheus-operator ServiceMonitor of spec.metrics: it scrapes
// the Service port named by spec.metrics.port at spec.metrics.path (every spec.metrics.interval,
// when set). It is nil when spec.metrics is not set or the app has no Service.
//
// The ServiceMonitor selects the Service by the app's selector labels and carries the labels of
// Labels, so a MonitoringStack can select the ServiceMonitors of AppDeployments by
// edgeforge.io/appdeployment.
func DesiredServiceMonitor(app *v1alpha1.AppDeployment) *monitoringv1.ServiceMonitor {
	m := app.Spec.Metrics
	if m == nil || !HasService(app) {
		return nil
	}
	path := m.Path
	if path == "" {
		path = "/metrics"
	}
	ep := monitoringv1.Endpoint{Port: m.Port, Path: path}
	if m.Interval != "" {
		ep.Interval = monitoringv1.Duration(m.Interval)
	}
	ref := ownerReference(app)
	return &monitoringv1.ServiceMonitor{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.ServiceMonitorsKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: app.Name, Namespace: app.Namespace, Labels: Labels(app),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: *ref.APIVersion, Kind: *ref.Kind, Name: *ref.Name, UID: *ref.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:  metav1.LabelSelector{MatchLabels: SelectorLabels(app)},
			Endpoints: []monitoringv1.Endpoint{ep},
		},
	}
}

// ServiceMonitorApplyConfiguration turns a ServiceMonitor into the unstructured object to apply
// (prometheus-operator's API module has no typed apply configurations). The typed fields are
// omitempty, so only what DesiredServiceMonitor set is in the result; the empty
// namespaceSelector (meaning "the ServiceMonitor's namespace") is left out too.
func ServiceMonitorApplyConfiguration(sm *monitoringv1.ServiceMonitor) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sm)
	if err != nil {
		panic(fmt.Sprintf("converting a ServiceMonitor to unstructured: %v", err)) // programming error
	}
	u := &unstructured.Unstructured{Object: m}
	if ns, found, _ := unstructured.NestedMap(m, "spec", "namespaceSelector"); found && len(ns) == 0 {
		unstructured.RemoveNestedField(m, "spec", "namespaceSelector")
	}
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "status")
	return u
}
