package edgecluster

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A pool of 1,000 nodes (EDGEFORGE_SCALE_TEST=1; about a minute): the template reaches every
// node, a Ready change shows in status quickly, and the pool at rest writes nothing.
func TestPoolOf1000Nodes(t *testing.T) {
	if os.Getenv("EDGEFORGE_SCALE_TEST") == "" {
		t.Skip("a benchmark of the performance budget: run it with make bench (EDGEFORGE_SCALE_TEST=1)")
	}
	const n = 1000
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			edgeNode(t, fmt.Sprintf("scale-%04d", i), "scale", nil)
		}()
	}
	wg.Wait()
	t.Logf("%d nodes created in %s", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	newPool(t, "scale", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{
		Labels: map[string]v1alpha1.LabelValue{"tier": "edge"},
		Taints: []v1alpha1.Taint{{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}},
	}})
	waitForPool(t, "scale", "1000/1000", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.Ready == "1000/1000" })
	t.Logf("pool status for %d nodes after %s", n, time.Since(start).Round(time.Millisecond))
	waitFor(t, "the template on the last node", func() (bool, error) {
		node := &corev1.Node{}
		if err := get(t, "", fmt.Sprintf("scale-%04d", n-1), node); err != nil {
			return false, err
		}
		return node.Labels["tier"] == "edge", nil
	})
	t.Logf("template on %d nodes after %s", n, time.Since(start).Round(time.Millisecond))
	assertNoWritesAtRest(t, "scale")

	// Ready -> NotReady of one node, measured to the status.
	sum0, count0 := reconcileTime(t)
	var worst time.Duration
	for i := range 5 {
		name := fmt.Sprintf("scale-%04d", i*97)
		flip := time.Now()
		setReady(t, name, corev1.ConditionFalse, clk.Now())
		waitForPool(t, "scale", name+" NotReady in status", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.ReadyNodes == int32(n-1-i) })
		if d := time.Since(flip); d > worst {
			worst = d
		}
	}
	sum1, count1 := reconcileTime(t)
	t.Logf("a Ready change reaches the status in at most %s; %d reconciles meanwhile, %.0f ms each on average",
		worst.Round(time.Millisecond), count1-count0, 1000*(sum1-sum0)/float64(count1-count0))
	if worst > 2*time.Second {
		t.Errorf("a Ready change took %s to reach the status (budget 2s)", worst)
	}
	ec := &v1alpha1.EdgeCluster{}
	if err := get(t, "", "scale", ec); err != nil {
		t.Fatal(err)
	}
	t.Logf("EdgeCluster object: %d bytes of JSON", len(mustJSON(ec)))
}

// reconcileTime is the sum and count of controller_runtime_reconcile_time_seconds for this controller.
func reconcileTime(t *testing.T) (float64, uint64) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "edgecluster" {
					return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0, 0
}
