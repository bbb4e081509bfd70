package monitoring

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func prom(gen int64, conds ...monitoringv1.Condition) *monitoringv1.Prometheus {
	return &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: "monitoring", Generation: gen},
		Status:     monitoringv1.PrometheusStatus{Conditions: conds},
	}
}

func available(status monitoringv1.ConditionStatus, gen int64) monitoringv1.Condition {
	return monitoringv1.Condition{Type: monitoringv1.Available, Status: status, ObservedGeneration: gen, Reason: "SomePodsNotReady", Message: "1/2 pods ready."}
}

func deploy(gen, observed int64, replicas, updated, available, total int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "grafana-main", Namespace: "monitoring", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total,
			UpdatedReplicas: updated, AvailableReplicas: available, ReadyReplicas: available},
	}
}

func TestPrometheusReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *monitoringv1.Prometheus
		want bool
		msg  string
	}{
		{"absent", nil, false, "does not exist"},
		{"no status", prom(1), false, "is prometheus-operator running"},
		{"available", prom(2, available(monitoringv1.ConditionTrue, 2)), true, ""},
		{"available for an old generation", prom(3, available(monitoringv1.ConditionTrue, 2)), false, "generation 3"},
		{"degraded", prom(1, available(monitoringv1.ConditionDegraded, 1)), false, "not available (Degraded: SomePodsNotReady, 1/2 pods ready)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := PrometheusReady(tc.p)
			if got != tc.want || !strings.Contains(msg, tc.msg) {
				t.Fatalf("got %v %q, want %v and a message containing %q", got, msg, tc.want, tc.msg)
			}
		})
	}
}

func daemonSet(gen, observed int64, desired, updated, available int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "node-exporter-main", Namespace: "monitoring", Generation: gen},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
			UpdatedNumberScheduled: updated, NumberAvailable: available},
	}
}

// withExporters adds a ready node-exporter DaemonSet and kube-state-metrics Deployment.
func withExporters(o Observed) Observed {
	o.NodeExporter = daemonSet(1, 1, 3, 3, 3)
	o.KubeStateMetrics = deploy(1, 1, 1, 1, 1, 1)
	return o
}

func TestDaemonSetReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
		want bool
	}{
		{"absent", nil, false},
		{"on every node", daemonSet(2, 2, 3, 3, 3), true},
		{"no node to run on", daemonSet(1, 1, 0, 0, 0), true},
		{"not observed", daemonSet(3, 2, 3, 3, 3), false},
		{"not available", daemonSet(2, 2, 3, 3, 2), false},
		{"not updated", daemonSet(2, 2, 3, 2, 3), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := DaemonSetReady(tc.ds); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDeploymentReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"absent", nil, false},
		{"rolled out", deploy(2, 2, 2, 2, 2, 2), true},
		{"not observed", deploy(3, 2, 2, 2, 2, 2), false},
		{"old replica left", deploy(2, 2, 2, 2, 2, 3), false},
		{"not available", deploy(2, 2, 2, 2, 1, 2), false},
		{"not updated", deploy(2, 2, 2, 1, 2, 2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := DeploymentReady(tc.d); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	s := stack(nil)
	p, g, ready, msg := Status(s, withExporters(Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1)}))
	if !ready || msg != "" || !p.Ready || !g.Ready {
		t.Fatalf("want ready, got %v %q %+v %+v", ready, msg, p, g)
	}
	if p.URL != "http://prometheus-main.monitoring.svc:9090" || g.URL != "http://grafana-main.monitoring.svc:3000" {
		t.Fatalf("URLs: %s %s", p.URL, g.URL)
	}
	if g.AdminSecretRef == nil || g.AdminSecretRef.Name != "grafana-main-admin" {
		t.Fatalf("adminSecretRef: %+v", g.AdminSecretRef)
	}

	_, _, ready, msg = Status(s, Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1))})
	if ready || !strings.Contains(msg, "Grafana: the Deployment does not exist yet") {
		t.Fatalf("Grafana missing: got %v %q", ready, msg)
	}

	// Grafana off: Prometheus alone decides; no grafana status.
	off := stack(func(s *v1alpha1.MonitoringStackSpec) { s.Grafana = &v1alpha1.GrafanaSpec{Enabled: false} })
	_, g, ready, _ = Status(off, withExporters(Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1))}))
	if !ready || g != nil {
		t.Fatalf("Grafana off: got ready=%v grafana=%+v", ready, g)
	}

	// A user's Secret is reported as the admin Secret.
	own := stack(func(s *v1alpha1.MonitoringStackSpec) {
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AdminCredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "mine"}}
	})
	_, g, _, _ = Status(own, Observed{})
	if g.AdminSecretRef.Name != "mine" {
		t.Fatalf("adminSecretRef: %+v", g.AdminSecretRef)
	}
}

func TestConfigChecksumFollowsConfig(t *testing.T) {
	plain := stack(nil)
	embed := stack(func(s *v1alpha1.MonitoringStackSpec) {
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AllowEmbedding: true}
	})
	a := ConfigChecksum(grafanaConfigMaps(plain), "s")
	if a != ConfigChecksum(grafanaConfigMaps(plain), "s") {
		t.Fatal("checksum is not deterministic")
	}
	if a == ConfigChecksum(grafanaConfigMaps(embed), "s") {
		t.Fatal("checksum ignores grafana.ini")
	}
	if a == ConfigChecksum(grafanaConfigMaps(plain), "other") {
		t.Fatal("checksum ignores the admin Secret's name")
	}
}

// Summarize sets Ready only when every component is ready, and says what it waits for otherwise.
func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      func(*v1alpha1.MonitoringStackSpec)
		obs       Observed
		ready     bool
		condition string // the condition that is True
		message   string // part of Ready's message
	}{
		{name: "all ready", obs: withExporters(Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1)}),
			ready: true, condition: v1alpha1.ConditionReady,
			message: "Prometheus is ready at http://prometheus-main.monitoring.svc:9090; Grafana is ready at http://grafana-main.monitoring.svc:3000"},
		{name: "Grafana off", spec: func(s *v1alpha1.MonitoringStackSpec) { s.Grafana = &v1alpha1.GrafanaSpec{Enabled: false} },
			obs: withExporters(Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1))}), ready: true, condition: v1alpha1.ConditionReady,
			message: "Prometheus is ready at http://prometheus-main.monitoring.svc:9090"},
		{name: "Prometheus missing", obs: Observed{Grafana: deploy(1, 1, 1, 1, 1, 1)}, condition: v1alpha1.ConditionReconciling,
			message: "Waiting for Prometheus: the Prometheus object does not exist yet"},
		{name: "Grafana missing", obs: Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1))}, condition: v1alpha1.ConditionReconciling,
			message: "Grafana: the Deployment does not exist yet"},
		{name: "node-exporter not on every node", obs: Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1),
			NodeExporter: daemonSet(1, 1, 3, 3, 2), KubeStateMetrics: deploy(1, 1, 1, 1, 1, 1)}, condition: v1alpha1.ConditionReconciling,
			message: "node-exporter: DaemonSet monitoring/node-exporter-main: 2 of 3 pods updated and available"},
		{name: "kube-state-metrics missing", obs: Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1),
			NodeExporter: daemonSet(1, 1, 3, 3, 3)}, condition: v1alpha1.ConditionReconciling,
			message: "kube-state-metrics: the Deployment does not exist yet"},
		{name: "exporters off: not waited for", spec: func(s *v1alpha1.MonitoringStackSpec) {
			s.NodeExporter, s.KubeStateMetrics = &v1alpha1.Toggle{Enabled: false}, &v1alpha1.Toggle{Enabled: false}
		}, obs: Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1)},
			ready: true, condition: v1alpha1.ConditionReady, message: "Prometheus is ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stack(tc.spec)
			if got := Summarize(s, tc.obs); got != tc.ready {
				t.Errorf("Summarize = %v, want %v", got, tc.ready)
			}
			if !meta.IsStatusConditionTrue(s.Status.Conditions, tc.condition) {
				t.Errorf("%s is not True: %+v", tc.condition, s.Status.Conditions)
			}
			ready := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || !strings.Contains(ready.Message, tc.message) {
				t.Errorf("Ready = %+v, want a message containing %q", ready, tc.message)
			}
		})
	}
}
