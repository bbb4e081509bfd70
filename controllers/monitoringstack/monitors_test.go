package monitoringstack

import (
	"fmt"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// Nothing ignored silently: status.prometheus lists the monitors the stack's Prometheus selects
// and the edgeforge-made ones in its namespace it does not, and follows monitors that come, go
// or change their labels. A Namespace-scoped stack lists nothing of other namespaces, and no
// monitor that prometheus-operator refuses for reading the Prometheus pod's files.
func TestStatusListsSelectedAndIgnoredMonitors(t *testing.T) {
	ns, other := newNamespace(t), newNamespace(t)
	newStack(t, ns, "team", func(s *v1alpha1.MonitoringStackSpec) {
		s.Scope = v1alpha1.MonitoringScopeNamespace
		s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}
	})
	monitor := func(namespace, name string, l map[string]string) *monitoringv1.ServiceMonitor {
		sm := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: l},
			Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "http"}}}}
		if err := k8s.Create(ctx(t), sm); err != nil {
			t.Fatal(err)
		}
		return sm
	}
	monitor(ns, "user", map[string]string{"team": "a"})
	app := monitor(ns, "app", map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue})
	monitor(ns, "someone-elses", map[string]string{"team": "b"})
	monitor(other, "elsewhere", map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, "team": "a"})
	// Matches the selector but reads the Prometheus pod's token: prometheus-operator drops it
	// (arbitraryFSAccessThroughSMs.deny), so the status does not claim it is scraped.
	thief := monitor(ns, "thief", map[string]string{"team": "a"})
	thief.Spec.Endpoints[0].BearerTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token" //nolint:staticcheck // the attack
	if err := k8s.Update(ctx(t), thief); err != nil {
		t.Fatal(err)
	}
	pm := &monitoringv1.PodMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pods", Labels: map[string]string{"team": "a"}},
		Spec: monitoringv1.PodMonitorSpec{PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: ptrTo("http")}}}}
	if err := k8s.Create(ctx(t), pm); err != nil {
		t.Fatal(err)
	}

	own := monitoring.NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team"}}).PrometheusService()
	wantSelected := fmt.Sprintf("[PodMonitor %s/pods ServiceMonitor %s/%s ServiceMonitor %s/user]", ns, ns, own, ns)
	wantIgnored := fmt.Sprintf("[ServiceMonitor %s/app]", ns)
	listed := func() (string, string, *v1alpha1.PrometheusStatus) {
		p := getStack(t, ns, "team").Status.Prometheus
		if p == nil {
			return "", "", nil
		}
		var sel, ign []string
		for _, m := range p.Monitors {
			sel = append(sel, fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name))
		}
		for _, m := range p.IgnoredMonitors {
			ign = append(ign, fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name))
		}
		return fmt.Sprint(sel), fmt.Sprint(ign), p
	}
	eventually(t, "status.prometheus to list the monitors", func() error {
		sel, ign, p := listed()
		if sel != wantSelected || ign != wantIgnored {
			return fmt.Errorf("selected %s, ignored %s; want %s, %s", sel, ign, wantSelected, wantIgnored)
		}
		if p.MonitorCount != 3 || p.IgnoredMonitorCount != 1 || p.IgnoredMonitors[0].Reason == "" {
			return fmt.Errorf("counts %d/%d, ignored %+v", p.MonitorCount, p.IgnoredMonitorCount, p.IgnoredMonitors)
		}
		return nil
	})

	// The app's monitor gains the label: selected; it is deleted: gone from the status.
	app.Labels["team"] = "a"
	if err := k8s.Update(ctx(t), app); err != nil {
		t.Fatal(err)
	}
	wantSelected = fmt.Sprintf("[PodMonitor %s/pods ServiceMonitor %s/app ServiceMonitor %s/%s ServiceMonitor %s/user]", ns, ns, ns, own, ns)
	eventually(t, "a relabelled monitor to be selected", func() error {
		if sel, ign, _ := listed(); sel != wantSelected || ign != "[]" {
			return fmt.Errorf("selected %s, ignored %s", sel, ign)
		}
		return nil
	})
	if err := k8s.Delete(ctx(t), pm); err != nil {
		t.Fatal(err)
	}
	wantSelected = fmt.Sprintf("[ServiceMonitor %s/app ServiceMonitor %s/%s ServiceMonitor %s/user]", ns, ns, own, ns)
	eventually(t, "a deleted monitor to leave the status", func() error {
		if sel, _, _ := listed(); sel != wantSelected {
			return fmt.Errorf("selected %s", sel)
		}
		return nil
	})
}

func ptrTo[T any](v T) *T { return &v }
