package edge

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// member is a pool node; ready "" means the kubelet never reported.
func member(name string, ready corev1.ConditionStatus, since, heartbeat time.Time) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Labels: map[string]string{v1alpha1.LabelEdgeCluster: "site-a", v1alpha1.LabelEdgeClusterMember: "site-a", corev1.LabelArchStable: "arm64"}},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
			NodeInfo:  corev1.NodeSystemInfo{OperatingSystem: "linux", KubeletVersion: "v1.37.2"},
		},
	}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready,
			LastTransitionTime: metav1.NewTime(since), LastHeartbeatTime: metav1.NewTime(heartbeat)}}
	}
	return n
}

func TestNodeStatus(t *testing.T) {
	n := member("edge-1", corev1.ConditionTrue, t0.Add(-time.Hour), t0.Add(-10*time.Second))
	want := v1alpha1.EdgeNodeStatus{Name: "edge-1", Ready: true, Arch: "arm64", OS: "linux", KubeletVersion: "v1.37.2", InternalIP: "10.0.0.5"}
	if got := NodeStatus(&n); !reflect.DeepEqual(got, want) {
		t.Errorf("ready node: %+v, want %+v (no heartbeat while Ready)", got, want)
	}
	// A later heartbeat of a Ready node does not change its status entry: no status churn.
	n2 := member("edge-1", corev1.ConditionTrue, t0.Add(-time.Hour), t0.Add(5*time.Minute))
	if !reflect.DeepEqual(NodeStatus(&n2), want) {
		t.Error("a heartbeat changed a Ready node's status entry")
	}

	n = member("edge-1", corev1.ConditionUnknown, t0.Add(-2*time.Minute), t0.Add(-3*time.Minute))
	got := NodeStatus(&n)
	if got.Ready || !got.NotReadySince.Time.Equal(t0.Add(-2*time.Minute)) || !got.LastHeartbeatTime.Time.Equal(t0.Add(-3*time.Minute)) {
		t.Errorf("not ready node: %+v", got)
	}
	n = member("edge-1", "", time.Time{}, time.Time{})
	if got := NodeStatus(&n); got.Ready || !got.NotReadySince.Time.Equal(t0.Add(-time.Hour)) || got.LastHeartbeatTime != nil {
		t.Errorf("never reported: %+v (not ready since it registered)", got)
	}
}

func TestEvaluateHealth(t *testing.T) {
	spec := &v1alpha1.EdgeClusterSpec{
		Health:        &v1alpha1.HealthSpec{NotReadyGracePeriod: &metav1.Duration{Duration: 5 * time.Minute}},
		ExpectedNodes: ptr.To[int32](5),
	}
	nodes := []corev1.Node{
		member("c-ready", corev1.ConditionTrue, t0.Add(-time.Hour), t0),
		member("a-down-long", corev1.ConditionUnknown, t0.Add(-6*time.Minute), t0.Add(-7*time.Minute)),
		member("b-down-short", corev1.ConditionFalse, t0.Add(-1*time.Minute), t0),
	}
	cases := []struct {
		name         string
		now          time.Time
		unhealthy    []string
		nextDeadline time.Time
	}{
		{"at t0: one beyond grace, one within", t0, []string{"a-down-long"}, t0.Add(4 * time.Minute)},
		{"the clock reaches the second deadline", t0.Add(4 * time.Minute), []string{"a-down-long", "b-down-short"}, time.Time{}},
		{"before either deadline", t0.Add(-2 * time.Minute), nil, t0.Add(-time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := EvaluateHealth(nodes, spec, tc.now)
			if h.Total != 3 || h.Ready != 1 || h.Missing != 2 || h.ReadyColumn() != "1/3" {
				t.Errorf("total %d ready %d missing %d column %s", h.Total, h.Ready, h.Missing, h.ReadyColumn())
			}
			if !reflect.DeepEqual(h.Unhealthy, tc.unhealthy) || !h.NextDeadline.Equal(tc.nextDeadline) {
				t.Errorf("unhealthy %v next %s; want %v %s", h.Unhealthy, h.NextDeadline, tc.unhealthy, tc.nextDeadline)
			}
			if names := []string{h.Nodes[0].Name, h.Nodes[1].Name, h.Nodes[2].Name}; !reflect.DeepEqual(names, []string{"a-down-long", "b-down-short", "c-ready"}) {
				t.Errorf("nodes not sorted: %v", names)
			}
		})
	}
	// Grace period 0: NotReady is unhealthy at once.
	h := EvaluateHealth(nodes, &v1alpha1.EdgeClusterSpec{Health: &v1alpha1.HealthSpec{NotReadyGracePeriod: &metav1.Duration{}}}, t0)
	if len(h.Unhealthy) != 2 || h.Missing != 0 {
		t.Errorf("grace 0: unhealthy %v missing %d", h.Unhealthy, h.Missing)
	}
	if msg := h.DegradedMessage(0); msg != "2 member node(s) NotReady for longer than 0s: a-down-long, b-down-short" {
		t.Errorf("message %q", msg)
	}
}

func TestDiffNodes(t *testing.T) {
	prev := []v1alpha1.EdgeNodeStatus{{Name: "a", Ready: true}, {Name: "b", Ready: false}, {Name: "gone", Ready: true}}
	cur := []v1alpha1.EdgeNodeStatus{{Name: "a", Ready: false}, {Name: "b", Ready: true}, {Name: "new", Ready: true}}
	want := NodeChanges{Joined: []string{"new"}, Left: []string{"gone"}, Recovered: []string{"b"}}
	if got := DiffNodes(prev, 0, cur); !reflect.DeepEqual(got, want) {
		t.Errorf("diff %+v, want %+v", got, want)
	}
	// A truncated previous list (only its NotReady nodes) says nothing of who joined or left.
	want = NodeChanges{Recovered: []string{"b"}}
	if got := DiffNodes([]v1alpha1.EdgeNodeStatus{{Name: "b", Ready: false}}, 5000, cur); !reflect.DeepEqual(got, want) {
		t.Errorf("truncated: diff %+v, want %+v", got, want)
	}
}

// status.nodes of a 10,000-node pool: its NotReady members only, at most 100, and the rest
// counted; the platforms summarize them all; the status stays far below the object size limit.
func TestListedNodesAtScale(t *testing.T) {
	small := make([]v1alpha1.EdgeNodeStatus, MaxListedNodes)
	for i := range small {
		small[i] = v1alpha1.EdgeNodeStatus{Name: fmt.Sprintf("n-%05d", i), Ready: i%2 == 0}
	}
	if got, omitted := ListedNodes(small); len(got) != MaxListedNodes || omitted != 0 {
		t.Errorf("a pool of %d lists all: %d listed, %d omitted", MaxListedNodes, len(got), omitted)
	}

	hb := metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	all := make([]v1alpha1.EdgeNodeStatus, 10000)
	for i := range all {
		arch := "arm64"
		if i%4 == 0 {
			arch = "amd64"
		}
		all[i] = v1alpha1.EdgeNodeStatus{Name: fmt.Sprintf("edge-node-%05d.site-a.example.com", i), Ready: i%50 != 7, Arch: arch, OS: "linux",
			KubeletVersion: "v1.37.2", InternalIP: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256), LastHeartbeatTime: &hb}
		if !all[i].Ready {
			all[i].NotReadySince = &hb
		}
	}
	listed, omitted := ListedNodes(all)
	if len(listed) != MaxListedNodes || int(omitted) != len(all)-MaxListedNodes {
		t.Fatalf("%d listed, %d omitted", len(listed), omitted)
	}
	for _, n := range listed {
		if n.Ready {
			t.Fatalf("a Ready node %s is listed in a truncated list", n.Name)
		}
	}
	st := v1alpha1.EdgeClusterStatus{Nodes: listed, NodesOmitted: omitted, Platforms: Platforms(all), TotalNodes: int32(len(all))}
	want := []v1alpha1.PlatformCount{{Platform: "linux/amd64", Nodes: 2500, ReadyNodes: 2500}, {Platform: "linux/arm64", Nodes: 7500, ReadyNodes: 7300}}
	if !reflect.DeepEqual(st.Platforms, want) {
		t.Errorf("platforms %+v, want %+v", st.Platforms, want)
	}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 64<<10 {
		t.Errorf("the status of a 10,000-node pool is %d bytes; the object limit is 1.5 MiB and it should stay small", len(data))
	}
}

func TestNameList(t *testing.T) {
	if got := NameList([]string{"a", "b", "c"}, 2); got != "a, b and 1 more" {
		t.Error(got)
	}
}

// A pool is Disconnected when at least spec.autonomy.disconnectedThreshold percent of its
// members are unreachable (Ready Unknown), not merely NotReady.
func TestDisconnected(t *testing.T) {
	node := func(name string, ready corev1.ConditionStatus) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: ready, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))}}}}
	}
	spec := func(threshold int32) *v1alpha1.EdgeClusterSpec {
		s := &v1alpha1.EdgeClusterSpec{}
		if threshold > 0 {
			s.Autonomy = &v1alpha1.AutonomySpec{DisconnectedThreshold: ptr.To(threshold)}
		}
		return s
	}
	u, r, f := corev1.ConditionUnknown, corev1.ConditionTrue, corev1.ConditionFalse
	for _, tc := range []struct {
		name      string
		states    []corev1.ConditionStatus
		threshold int32
		want      bool
	}{
		{"no members", nil, 0, false},
		{"all Ready", []corev1.ConditionStatus{r, r, r}, 0, false},
		{"7 of 10 unreachable: the default 70%", []corev1.ConditionStatus{u, u, u, u, u, u, u, r, r, r}, 0, true},
		{"6 of 10 unreachable: below 70%", []corev1.ConditionStatus{u, u, u, u, u, u, r, r, r, r}, 0, false},
		{"NotReady but reporting is not unreachable", []corev1.ConditionStatus{f, f, f}, 0, false},
		{"1 of 2 at 50%", []corev1.ConditionStatus{u, r}, 50, true},
		{"the one node of a pool", []corev1.ConditionStatus{u}, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var members []corev1.Node
			for i, st := range tc.states {
				members = append(members, node(fmt.Sprintf("n%d", i), st))
			}
			s := spec(tc.threshold)
			if got := EvaluateHealth(members, s, t0).Disconnected(s); got != tc.want {
				t.Fatalf("Disconnected = %v, want %v", got, tc.want)
			}
		})
	}
}

// disconnectedSince while it lasts; on reconnection lastDisconnection says how long it was away.
func TestUpdateDisconnection(t *testing.T) {
	st := &v1alpha1.EdgeClusterStatus{}
	if ch := UpdateDisconnection(st, false, t0); ch != (DisconnectionChange{}) || st.DisconnectedSince != nil {
		t.Fatalf("connected: %+v %+v", ch, st)
	}
	if ch := UpdateDisconnection(st, true, t0); !ch.Began || st.DisconnectedSince == nil || !st.DisconnectedSince.Time.Equal(t0) {
		t.Fatalf("disconnecting: %+v %+v", ch, st)
	}
	if ch := UpdateDisconnection(st, true, t0.Add(time.Minute)); ch != (DisconnectionChange{}) || !st.DisconnectedSince.Time.Equal(t0) {
		t.Fatalf("still disconnected: %+v %+v", ch, st)
	}
	ch := UpdateDisconnection(st, false, t0.Add(12*time.Minute+3*time.Second))
	if !ch.Ended || ch.Away != 12*time.Minute+3*time.Second || st.DisconnectedSince != nil ||
		st.LastDisconnection == nil || st.LastDisconnection.Duration != "12m3s" || !st.LastDisconnection.Since.Time.Equal(t0) {
		t.Fatalf("reconnected: %+v %+v", ch, st.LastDisconnection)
	}
}
