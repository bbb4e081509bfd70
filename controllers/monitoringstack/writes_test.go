package monitoringstack

import (
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A converged stack that is reconciled again makes no API write: every child already matches,
// the status is unchanged, the generated Secret exists.
func TestNoWritesAtRest(t *testing.T) {
	ns := newNamespace(t)
	newStack(t, ns, "main", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{ExternalLabels: map[string]string{"cluster": "factory-busan"}}
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AllowEmbedding: true,
			Anonymous: &v1alpha1.AnonymousAccess{Enabled: true, Role: v1alpha1.GrafanaRoleViewer}}
	})
	waitCondition(t, ns, "main", v1alpha1.ConditionReconciling, "True", v1alpha1.MonitoringStackReasonProgressing)
	markStackParts(t, ns, "main")
	waitCondition(t, ns, "main", v1alpha1.ConditionReady, "True", v1alpha1.MonitoringStackReasonReady)
	// The monitor cache may report the stack's own ServiceMonitors after Ready: wait for
	// status.prometheus to list them, then for the status writes above to settle.
	eventually(t, "the stack's own monitors to be listed", func() error {
		listed := 0
		for _, m := range getStack(t, ns, "main").Status.Prometheus.Monitors {
			if m.Namespace == ns {
				listed++
			}
		}
		return testenv.Expect(listed == 3, "%d of its 3 own monitors listed", listed)
	})
	// The writes of becoming Ready (status, events, which are sent asynchronously) end, and
	// nothing follows them: a controller in a loop fails here.
	writes.Settle(t, 700*time.Millisecond, time.Minute)
	stayQuiet(t, time.Second)

	for i, poke := range []string{"a", "b", "c"} {
		before := writes.Count()
		annotate(t, ns, "main", poke)
		if w := writes.Count() - before; w != 0 {
			t.Fatalf("reconcile %d of an unchanged stack made %d write(s): %q", i+1, w, writes.Since(before))
		}
	}
	// Becoming Ready was announced once. A pass that read the stack from a cache that had not yet
	// seen the Ready status would announce it again (an event series) unless its status write
	// is refused for the stale read.
	evs := &eventsv1.EventList{}
	if err := k8s.List(ctx(t), evs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, e := range evs.Items {
		if e.Regarding.Name == "main" && e.Reason == v1alpha1.MonitoringStackReasonReady {
			ready++
			if e.Series != nil {
				t.Errorf("the Ready event was recorded %d times", e.Series.Count)
			}
		}
	}
	if ready != 1 {
		t.Errorf("%d Ready events, want 1", ready)
	}
	deleteStack(t, ns, "main")
}
