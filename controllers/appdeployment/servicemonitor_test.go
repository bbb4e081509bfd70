package appdeployment

import (
	"fmt"
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
	waitFor(t, key, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonServiceMonitorApplied)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")

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
