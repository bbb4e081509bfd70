package appdeployment

import (
	"fmt"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// An app with spec.metrics gets a ServiceMonitor it owns; drift is undone; dropping spec.metrics
// deletes it. (Without prometheus-operator's CRDs: controllers/latecrds.)
func TestServiceMonitorFollowsSpecMetrics(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "metered", func(a *v1alpha1.AppDeployment) {
		a.Spec.Metrics = &v1alpha1.AppMetrics{Port: "http", Path: "/metrics", Interval: "30s"}
	})
	key := client.ObjectKeyFromObject(a)
	a = getApp(t, key)
	rollOut(t, key)
	sm := &monitoringv1.ServiceMonitor{}
	eventually(t, "ServiceMonitor exists and is owned", func() error {
		if err := k8s.Get(ctx(t), key, sm); err != nil {
			return err
		}
		if err := controlledBy(sm, a); err != nil {
			return err
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "30s" {
			return fmt.Errorf("endpoints %+v", sm.Spec.Endpoints)
		}
		return nil
	})
	// No Prometheus selects it yet: NotSelected, saying what would (the app is Ready anyway).
	got := waitFor(t, key, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse, v1alpha1.AppDeploymentReasonNotSelected)
	if c := findCondition(got, v1alpha1.ConditionServiceMonitorReady); !strings.Contains(c.Message, "MonitoringStack in namespace "+ns) {
		t.Fatalf("NotSelected does not say what would select it: %q", c.Message)
	}
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")
	// A Prometheus that selects every monitor of the namespace: Applied, naming it.
	prom := newPrometheus(t, ns, "p", &metav1.LabelSelector{})
	got = waitFor(t, key, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonServiceMonitorApplied)
	if c := findCondition(got, v1alpha1.ConditionServiceMonitorReady); !strings.Contains(c.Message, "selected by Prometheus "+ns+"/p") {
		t.Fatalf("Applied does not name the Prometheus: %q", c.Message)
	}
	// Its selector changes so that it no longer picks the monitor: NotSelected, with its reason.
	eventually(t, "narrowing the Prometheus' selector", func() error {
		if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(prom), prom); err != nil {
			return err
		}
		prom.Spec.ServiceMonitorSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "other"}}
		return k8s.Update(ctx(t), prom)
	})
	got = waitFor(t, key, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse, v1alpha1.AppDeploymentReasonNotSelected)
	if c := findCondition(got, v1alpha1.ConditionServiceMonitorReady); !strings.Contains(c.Message, "labelled team=other") {
		t.Fatalf("NotSelected does not say why the Prometheus does not select it: %q", c.Message)
	}
	if err := k8s.Delete(ctx(t), prom); err != nil {
		t.Fatal(err)
	}

	// Drift is undone: the ServiceMonitor watch sees a changed path and the controller applies it back.
	eventually(t, "changing the ServiceMonitor's path", func() error {
		if err := k8s.Get(ctx(t), key, sm); err != nil {
			return err
		}
		sm.Spec.Endpoints[0].Path = "/other"
		return k8s.Update(ctx(t), sm)
	})
	eventually(t, "path restored", func() error {
		if err := k8s.Get(ctx(t), key, sm); err != nil {
			return err
		}
		if p := sm.Spec.Endpoints[0].Path; p != "/metrics" {
			return fmt.Errorf("path %q", p)
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Metrics = nil })
	eventually(t, "ServiceMonitor is deleted", func() error {
		if err := k8s.Get(ctx(t), key, &monitoringv1.ServiceMonitor{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (err %v)", err)
		}
		return nil
	})
	if got := waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, ""); findCondition(got, v1alpha1.ConditionServiceMonitorReady) != nil {
		t.Errorf("ServiceMonitorReady still set without spec.metrics")
	}
}

// newPrometheus creates a Prometheus object (nobody runs it: selection is decided from its spec)
// in ns that selects ServiceMonitors by sel in its own namespace.
func newPrometheus(t *testing.T, ns, name string, sel *metav1.LabelSelector) *monitoringv1.Prometheus {
	t.Helper()
	p := &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: monitoringv1.PrometheusSpec{CommonPrometheusFields: monitoringv1.CommonPrometheusFields{ServiceMonitorSelector: sel}}}
	if err := k8s.Create(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	return p
}
