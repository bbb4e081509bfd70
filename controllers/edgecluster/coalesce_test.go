package edgecluster

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// The nodes of a pool changing at once (a site's link flapping): 20 nodes go NotReady within
// a second, and the pool's status is written about once for all of them (NodeEventWindow), not
// once per node; it still ends up counting every one.
func TestNodeEventsCoalesced(t *testing.T) {
	const n = 20
	for i := range n {
		edgeNode(t, fmt.Sprintf("flap-%02d", i), "flap", nil)
	}
	newPool(t, "flap", v1alpha1.EdgeClusterSpec{})
	waitForPool(t, "flap", "20/20 Ready", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.Ready == "20/20" })
	time.Sleep(2 * NodeEventWindow) // the last node events are over

	list := &v1alpha1.EdgeClusterList{}
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctxT(t), list, client.MatchingFields{"metadata.name": "flap"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// One node after the other, 40 ms apart (within one window): without coalescing each would
	// be a reconcile and a status write of its own.
	for i := range n {
		setReady(t, fmt.Sprintf("flap-%02d", i), corev1.ConditionFalse, clk.Now())
		time.Sleep(40 * time.Millisecond)
	}
	writes := 0
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Modified {
				continue
			}
			writes++
			if ec := ev.Object.(*v1alpha1.EdgeCluster); ec.Status.ReadyNodes == 0 {
				t.Logf("%d NotReady changes of %d nodes: %d status writes", n, n, writes)
				if writes > 3 {
					t.Errorf("the pool's status was written %d times for %d nodes changing at once, want it coalesced (at most 3)", writes, n)
				}
				return
			}
		case <-deadline:
			t.Fatalf("the pool never counted all %d nodes NotReady (%d status writes)", n, writes)
		}
	}
}
