package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// requireBench runs a test only in `make bench` (EDGEFORGE_BENCH=1): benchmarks of the
// performance budget, which fail on their own budgets and take minutes.
func requireBench(t *testing.T) {
	t.Helper()
	requireGate(t, "EDGEFORGE_BENCH", "a benchmark of the performance budget: make bench runs it")
}

// P2 of the performance budget (issue 16), on the local cluster: a pool of 1,000 kwok nodes
// (EDGEFORGE_BENCH_NODES), which kwok keeps heartbeating as kubelets do, converges; then in 2
// minutes at rest the operator writes nothing. Writes are counted where they arrive, in the API
// server's audit log of the operator's ServiceAccount (hack/cluster/control-plane.sh).
func TestBenchWritesAtRest(t *testing.T) {
	requireBench(t)
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("EDGEFORGE_BENCH_NODES")); err == nil && v > 0 {
		n = v
	}
	pool := "bench-" + randomHex(3)
	ctx := t.Context()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			name := fmt.Sprintf("%s-%04d", pool, i)
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
				Labels: map[string]string{v1alpha1.LabelEdgeCluster: pool, v1alpha1.LabelEdgeClusterMember: pool,
					corev1.LabelArchStable: "arm64", corev1.LabelOSStable: "linux", corev1.LabelHostname: name},
				Annotations: map[string]string{kwokAnnotation: "fake"}}}
			if err := k8sClient.Create(ctx, node); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		_ = k8sClient.DeleteAllOf(context.Background(), &corev1.Node{}, client.MatchingLabels{v1alpha1.LabelEdgeClusterMember: pool})
	})
	t.Logf("%d kwok nodes created in %s", n, time.Since(start).Round(time.Second))
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"tier": "bench"}}}}
	if err := k8sClient.Create(ctx, ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)
	want := fmt.Sprintf("%d/%d", n, n)
	waitFor(t, 10*time.Minute, "pool "+pool+" "+want+" Ready with its template on every node", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: pool}, ec); err != nil {
			return false, err
		}
		if ec.Status.Ready != want {
			return false, nil
		}
		nodes := &corev1.NodeList{}
		if err := k8sClient.List(ctx, nodes, client.MatchingLabels{v1alpha1.LabelEdgeClusterMember: pool, "tier": "bench"}); err != nil {
			return false, err
		}
		return len(nodes.Items) == n, nil
	})
	t.Logf("pool of %d converged %s after the first node was created", n, time.Since(start).Round(time.Second))

	time.Sleep(20 * time.Second) // settle
	from := time.Now()
	time.Sleep(2 * time.Minute)
	to := time.Now()
	time.Sleep(2 * time.Second) // requests complete before they are logged
	events, err := testenv.AuditEvents(filepath.Join(clusterDir, "logs", "audit.log"), from, to)
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]int{}
	total, reads := 0, 0
	for _, ev := range events {
		switch ev.Verb {
		case "get", "list", "watch":
			reads++
		default:
			writes[ev.Verb+" "+ev.Resource()]++
			total++
		}
	}
	var byKind []string
	for _, k := range slices.Sorted(maps.Keys(writes)) {
		byKind = append(byKind, fmt.Sprintf("%s: %d", k, writes[k]))
	}
	t.Logf("P2: %d writes (%v) and %d reads by the operator in 2m at rest with %d heartbeating nodes", total, byKind, reads, n)
	if total > 0 {
		t.Errorf("P2: the operator wrote %d times in 2m at rest (budget 0): %v", total, byKind)
		list := &corev1.EventList{}
		if err := k8sClient.List(ctx, list, client.MatchingFields{"involvedObject.name": pool}); err == nil {
			for _, e := range list.Items {
				if e.LastTimestamp.After(from) || e.EventTime.After(from) {
					t.Logf("event %s x%d: %s", e.Reason, e.Count, e.Message)
				}
			}
		}
	}
}
