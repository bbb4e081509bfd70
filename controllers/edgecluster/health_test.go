package edgecluster

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// Pool health: per-node status, Ready when enough members are Ready, Degraded once a member is
// NotReady longer than the grace period (by the clock), events for joins, NotReady and recovery.
func TestPoolHealth(t *testing.T) {
	edgeNode(t, "health-1", "health", nil)
	edgeNode(t, "health-2", "health", func(n *corev1.Node) {
		n.Status = readyStatus("health-2", "10.0.0.6", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
		n.Status.NodeInfo.Architecture = "amd64"
	})
	newPool(t, "health", v1alpha1.EdgeClusterSpec{
		MinReadyNodes: ptr.To[int32](2),
		ExpectedNodes: ptr.To[int32](3),
		Health:        &v1alpha1.HealthSpec{NotReadyGracePeriod: &metav1.Duration{Duration: 5 * time.Minute}},
	})

	ec := waitForPool(t, "health", "Ready with 2/2", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionReady, metav1.ConditionTrue)
	})
	if ec.Status.Ready != "2/2" || ec.Status.TotalNodes != 2 || ec.Status.ReadyNodes != 2 || ec.Status.MissingNodes != 1 {
		t.Errorf("status %s total %d ready %d missing %d", ec.Status.Ready, ec.Status.TotalNodes, ec.Status.ReadyNodes, ec.Status.MissingNodes)
	}
	if msg := condition(ec, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "1 of spec.expectedNodes missing") {
		t.Errorf("Ready message %q does not mention the missing node", msg)
	}
	n2 := ec.Status.Nodes[1]
	if n2.Name != "health-2" || !n2.Ready || n2.Arch != "amd64" || n2.OS != "linux" || n2.KubeletVersion != "v1.37.2" ||
		n2.InternalIP != "10.0.0.6" || n2.LastHeartbeatTime != nil || n2.NotReadySince != nil {
		t.Errorf("node status %+v", n2)
	}
	if !condIs(ec, v1alpha1.ConditionDegraded, metav1.ConditionFalse) {
		t.Errorf("Degraded %+v", condition(ec, v1alpha1.ConditionDegraded))
	}
	waitForEvent(t, "health", v1alpha1.EdgeClusterEventNodeJoined)
	assertNoWritesAtRest(t, "health")

	// A heartbeat of a Ready node writes nothing: it does not even wake the controller. Node
	// events reach the queue a NodeEventWindow late, so wait out the earlier ones, then as long
	// for the heartbeat's.
	quiet(t)
	before, n := writes.Count(), reconciles(t)
	heartbeat(t, "health-1")
	time.Sleep(NodeEventWindow + 500*time.Millisecond)
	if reconciles(t) != n || writes.Count() != before {
		t.Errorf("a heartbeat caused %v reconcile(s) and %d write(s): %q", reconciles(t)-n, writes.Count()-before, writes.Since(before))
	}

	// health-1 goes NotReady: below minReadyNodes at once, Degraded only after the grace period.
	down := clk.Now()
	setReady(t, "health-1", corev1.ConditionUnknown, down)
	ec = waitForPool(t, "health", "NotReady below minReadyNodes", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionReady, metav1.ConditionFalse) && ec.Status.ReadyNodes == 1
	})
	if c := condition(ec, v1alpha1.ConditionReady); c.Reason != v1alpha1.EdgeClusterReasonNotEnoughReadyNodes {
		t.Errorf("Ready reason %s", c.Reason)
	}
	if n1 := ec.Status.Nodes[0]; n1.Ready || n1.NotReadySince == nil || !n1.NotReadySince.Time.Equal(down) || n1.LastHeartbeatTime == nil {
		t.Errorf("NotReady node status %+v", n1)
	}
	if !condIs(ec, v1alpha1.ConditionDegraded, metav1.ConditionFalse) || len(poolEvents(t, "health", v1alpha1.EdgeClusterEventNodeNotReady)) > 0 {
		t.Error("Degraded within the grace period")
	}

	clk.Step(5*time.Minute + time.Second)
	poke(t, "health")
	ec = waitForPool(t, "health", "Degraded after the grace period", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionDegraded, metav1.ConditionTrue)
	})
	if c := condition(ec, v1alpha1.ConditionDegraded); c.Reason != v1alpha1.EdgeClusterReasonNodesNotReady || !strings.Contains(c.Message, "health-1") {
		t.Errorf("Degraded %+v", c)
	}
	if notes := waitForEvent(t, "health", v1alpha1.EdgeClusterEventNodeNotReady); !strings.Contains(notes[0], "health-1") {
		t.Errorf("NodeNotReady %q", notes[0])
	}
	poke(t, "health") // reconciled again at the same episode: no second NodeNotReady
	assertNoWritesAtRest(t, "health")
	if got := poolEvents(t, "health", v1alpha1.EdgeClusterEventNodeNotReady); len(got) != 1 {
		t.Errorf("NodeNotReady recorded %d times for one episode", len(got))
	}

	// Recovery.
	setReady(t, "health-1", corev1.ConditionTrue, clk.Now())
	waitForPool(t, "health", "Ready and not Degraded again", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionReady, metav1.ConditionTrue) && condIs(ec, v1alpha1.ConditionDegraded, metav1.ConditionFalse)
	})
	waitForEvent(t, "health", v1alpha1.EdgeClusterEventNodeReady)
}

// The edgeforge_edge_nodes gauge follows the pool.
func TestEdgeNodesGauge(t *testing.T) {
	edgeNode(t, "gauge-1", "gauge", nil)
	edgeNode(t, "gauge-2", "gauge", func(n *corev1.Node) {
		n.Status = readyStatus("gauge-2", "10.0.0.7", corev1.ConditionFalse, clk.Now())
	})
	newPool(t, "gauge", v1alpha1.EdgeClusterSpec{})
	waitFor(t, "the gauge", func() (bool, error) {
		return gauge(t, "gauge", "true") == 1 && gauge(t, "gauge", "false") == 1, nil
	})
	deletePool(t, "gauge")
	if g := gauge(t, "gauge", "true"); g != -1 {
		t.Errorf("series of a deleted pool remain: %v", g)
	}
}

// gauge is edgeforge_edge_nodes{edge_cluster=pool, ready=ready}, -1 when absent.
func gauge(t *testing.T, pool, ready string) float64 {
	t.Helper()
	v, ok := testenv.GaugeValue(t, "edgeforge_edge_nodes", map[string]string{"edge_cluster": pool, "ready": ready})
	if !ok {
		return -1
	}
	return v
}

// A site's link goes down: when enough members stop reporting (Ready Unknown), the pool is
// Disconnected with one event (not a NodeNotReady per node); when they report again it is
// connected, and status and an event say how long it was away.
func TestDisconnectedPool(t *testing.T) {
	for _, n := range []string{"site-1", "site-2", "site-3"} {
		edgeNode(t, n, "site", nil)
	}
	newPool(t, "site", v1alpha1.EdgeClusterSpec{
		Autonomy: &v1alpha1.AutonomySpec{DisconnectedThreshold: ptr.To[int32](60), TolerateDisconnectionFor: "24h"},
		Health:   &v1alpha1.HealthSpec{NotReadyGracePeriod: &metav1.Duration{Duration: time.Minute}},
	})
	waitForPool(t, "site", "connected", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionDisconnected, metav1.ConditionFalse) && ec.Status.ReadyNodes == 3
	})

	// Two of three stop reporting: 67% >= 60%.
	setReady(t, "site-1", corev1.ConditionUnknown, clk.Now())
	setReady(t, "site-2", corev1.ConditionUnknown, clk.Now())
	waitForPool(t, "site", "Disconnected", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionDisconnected, metav1.ConditionTrue) && ec.Status.DisconnectedSince != nil
	})
	// Past the grace period they are Degraded too, but the site is one event, not two failures.
	clk.Step(2 * time.Minute)
	poke(t, "site")
	ec := waitForPool(t, "site", "Degraded while Disconnected", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionDegraded, metav1.ConditionTrue) && condIs(ec, v1alpha1.ConditionDisconnected, metav1.ConditionTrue)
	})
	if c := condition(ec, v1alpha1.ConditionDisconnected); c.Reason != v1alpha1.EdgeClusterReasonNodesUnreachable || !strings.Contains(c.Message, "2 of 3") {
		t.Errorf("Disconnected condition %+v", c)
	}
	events := strings.Join(waitForEvent(t, "site", v1alpha1.EdgeClusterEventDisconnected), "\n")
	if !strings.Contains(events, "stay on their nodes for 24h0m0s") {
		t.Errorf("Disconnected event %q does not say how long the pods stay", events)
	}
	if notReady := poolEvents(t, "site", v1alpha1.EdgeClusterEventNodeNotReady); len(notReady) > 0 {
		t.Errorf("a disconnected site reported node failures: %v", notReady)
	}

	// The link is back.
	setReady(t, "site-1", corev1.ConditionTrue, clk.Now())
	setReady(t, "site-2", corev1.ConditionTrue, clk.Now())
	ec = waitForPool(t, "site", "connected again", func(ec *v1alpha1.EdgeCluster) bool {
		return condIs(ec, v1alpha1.ConditionDisconnected, metav1.ConditionFalse) && ec.Status.LastDisconnection != nil
	})
	if ec.Status.DisconnectedSince != nil || ec.Status.LastDisconnection.Duration == "" {
		t.Errorf("after reconnection: disconnectedSince %v, lastDisconnection %+v", ec.Status.DisconnectedSince, ec.Status.LastDisconnection)
	}
	events = strings.Join(waitForEvent(t, "site", v1alpha1.EdgeClusterEventReconnected), "\n")
	if !strings.Contains(events, "connected again after "+ec.Status.LastDisconnection.Duration) {
		t.Errorf("Reconnected event %q does not say how long the pool was away (%s)", events, ec.Status.LastDisconnection.Duration)
	}
}
