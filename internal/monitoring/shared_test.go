package monitoring

import (
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
)

func stackAt(ns, name string, created time.Time, nodeExporter bool) v1alpha1.MonitoringStack {
	s := *stack(func(s *v1alpha1.MonitoringStackSpec) { s.NodeExporter = &v1alpha1.Toggle{Enabled: nodeExporter} })
	s.Namespace, s.Name, s.CreationTimestamp = ns, name, metav1.NewTime(created)
	return s
}

// node-exporter runs in one stack per cluster: the oldest that wants it and is not going away.
func TestSharedBy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	deleting := stackAt("a", "old", t0, true)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		stacks []v1alpha1.MonitoringStack
		want   string
	}{
		{"none", nil, ""},
		{"one", []v1alpha1.MonitoringStack{stackAt("a", "main", t0, true)}, "a/main"},
		{"the oldest", []v1alpha1.MonitoringStack{stackAt("b", "main", t0.Add(time.Minute), true), stackAt("a", "main", t0.Add(2*time.Minute), true)}, "b/main"},
		{"same age: by namespace/name", []v1alpha1.MonitoringStack{stackAt("b", "main", t0, true), stackAt("a", "z", t0, true), stackAt("a", "m", t0, true)}, "a/m"},
		{"only those that want it", []v1alpha1.MonitoringStack{stackAt("a", "off", t0, false), stackAt("b", "on", t0.Add(time.Hour), true)}, "b/on"},
		{"not one being deleted", []v1alpha1.MonitoringStack{deleting, stackAt("b", "next", t0.Add(time.Minute), true)}, "b/next"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SharedBy(tc.stacks).NodeExporterRunner; got != tc.want {
				t.Fatalf("runner = %q, want %q", got, tc.want)
			}
		})
	}
}

// A stack that does not run node-exporter renders none of its objects, does not wait for it,
// and says whose it uses.
func TestSecondStackSharesNodeExporter(t *testing.T) {
	s := stack(nil)
	other := Cluster{NodeExporterRunner: "monitoring-a/main"}
	objs, err := Desired(s, settings.Defaults(), other)
	if err != nil {
		t.Fatal(err)
	}
	n := NamesFor(s)
	for _, o := range objs {
		if o.Name == n.NodeExporter() && o.Apply != nil {
			t.Errorf("%s %s is applied by a stack that does not run node-exporter", o.GVK.Kind, o.Name)
		}
	}
	obs := Observed{Prometheus: prom(1, available(monitoringv1.ConditionTrue, 1)), Grafana: deploy(1, 1, 1, 1, 1, 1),
		KubeStateMetrics: deploy(1, 1, 1, 1, 1, 1), Cluster: other} // no DaemonSet of its own
	if !Summarize(s, obs) {
		t.Fatalf("not Ready: %+v", s.Status.Conditions)
	}
	ready := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(ready.Message, "node-exporter is the one of MonitoringStack monitoring-a/main") {
		t.Errorf("Ready's message does not say whose node-exporter is used: %s", ready.Message)
	}
	// The runner itself still renders and waits for its own.
	objs, _ = Desired(s, settings.Defaults(), Cluster{NodeExporterRunner: Key(s)})
	applied := false
	for _, o := range objs {
		applied = applied || (o.Name == n.NodeExporter() && o.GVK == GVKDaemonSet && o.Apply != nil)
	}
	if !applied {
		t.Error("the runner does not render its node-exporter DaemonSet")
	}
}

// Cluster-scoped names of two stacks never collide, whatever their namespaces and names.
func TestClusterRoleNamesDoNotCollide(t *testing.T) {
	a := NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: "a-prometheus", Name: "x"}})
	b := NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "prometheus-x"}})
	if a.LegacyClusterRole(ComponentPrometheus) != b.LegacyClusterRole(ComponentPrometheus) {
		t.Fatal("the example does not collide under the old scheme: fix the test")
	}
	if a.ClusterRole(ComponentPrometheus) == b.ClusterRole(ComponentPrometheus) {
		t.Fatalf("%s collides", a.ClusterRole(ComponentPrometheus))
	}
}
