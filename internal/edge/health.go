package edge

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// NodeStatus is the status entry of one member node. It only holds what changes when something
// happens to the node (readiness, addresses, versions); the heartbeat time is recorded only
// while the node is not Ready (see EdgeNodeStatus.LastHeartbeatTime).
func NodeStatus(node *corev1.Node) v1alpha1.EdgeNodeStatus {
	st := v1alpha1.EdgeNodeStatus{
		Name:           node.Name,
		Arch:           node.Status.NodeInfo.Architecture,
		OS:             node.Status.NodeInfo.OperatingSystem,
		KubeletVersion: node.Status.NodeInfo.KubeletVersion,
	}
	if st.Arch == "" {
		st.Arch = node.Labels[corev1.LabelArchStable]
	}
	if st.OS == "" {
		st.OS = node.Labels[corev1.LabelOSStable]
	}
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			st.InternalIP = a.Address
			break
		}
	}
	cond := readyCondition(node)
	switch {
	case cond != nil && cond.Status == corev1.ConditionTrue:
		st.Ready = true
	case cond != nil:
		since := cond.LastTransitionTime
		st.NotReadySince = &since
		if !cond.LastHeartbeatTime.IsZero() {
			hb := cond.LastHeartbeatTime
			st.LastHeartbeatTime = &hb
		}
	default: // registered, but the kubelet never reported: not ready since it registered
		since := node.CreationTimestamp
		st.NotReadySince = &since
	}
	return st
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(node *corev1.Node) bool {
	c := readyCondition(node)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// PoolHealth is the health of a pool at one instant.
type PoolHealth struct {
	// Nodes are the members' status entries, sorted by name.
	Nodes []v1alpha1.EdgeNodeStatus
	Total int32
	Ready int32
	// Unreachable members: their Ready condition is Unknown (the node lifecycle controller's mark
	// for a node that stopped reporting), as when the site's link is down.
	Unreachable int32
	// Missing is expectedNodes - total when positive.
	Missing int32
	// Unhealthy are the members NotReady for longer than the grace period, sorted.
	Unhealthy []string
	// NextDeadline is the earliest time a NotReady member will exceed the grace period (zero:
	// none will); the controller comes back then, since nothing else would wake it.
	NextDeadline time.Time
}

// EvaluateHealth computes pool health from the members at now.
func EvaluateHealth(members []corev1.Node, spec *v1alpha1.EdgeClusterSpec, now time.Time) PoolHealth {
	grace := GracePeriod(spec)
	h := PoolHealth{Nodes: make([]v1alpha1.EdgeNodeStatus, 0, len(members))}
	for i := range members {
		st := NodeStatus(&members[i])
		h.Nodes = append(h.Nodes, st)
		if c := readyCondition(&members[i]); c != nil && c.Status == corev1.ConditionUnknown {
			h.Unreachable++
		}
		if st.Ready {
			h.Ready++
			continue
		}
		deadline := st.NotReadySince.Add(grace)
		if !now.Before(deadline) {
			h.Unhealthy = append(h.Unhealthy, st.Name)
		} else if h.NextDeadline.IsZero() || deadline.Before(h.NextDeadline) {
			h.NextDeadline = deadline
		}
	}
	sort.Slice(h.Nodes, func(i, j int) bool { return h.Nodes[i].Name < h.Nodes[j].Name })
	sort.Strings(h.Unhealthy)
	h.Total = int32(len(h.Nodes))
	if spec.ExpectedNodes != nil && *spec.ExpectedNodes > h.Total {
		h.Missing = *spec.ExpectedNodes - h.Total
	}
	return h
}

// ReadyColumn is status.ready, kubectl's READY column: "readyNodes/totalNodes".
func (h PoolHealth) ReadyColumn() string { return fmt.Sprintf("%d/%d", h.Ready, h.Total) }

// DegradedMessage says which nodes make the pool Degraded ("" when none).
func (h PoolHealth) DegradedMessage(grace time.Duration) string {
	if len(h.Unhealthy) == 0 {
		return ""
	}
	return fmt.Sprintf("%d member node(s) NotReady for longer than %s: %s", len(h.Unhealthy), grace, NameList(h.Unhealthy, 10))
}

// MaxListedNodes caps status.nodes: a larger pool lists only its NotReady members (at most this
// many). With ~250 bytes per entry, 100 entries keep the status small at any pool size.
const MaxListedNodes = 100

// ListedNodes is status.nodes for all members (sorted by name) and how many it leaves out: all
// of them up to MaxListedNodes, else the NotReady ones, at most MaxListedNodes.
func ListedNodes(all []v1alpha1.EdgeNodeStatus) ([]v1alpha1.EdgeNodeStatus, int32) {
	if len(all) <= MaxListedNodes {
		return all, 0
	}
	var out []v1alpha1.EdgeNodeStatus
	for _, n := range all {
		if !n.Ready && len(out) < MaxListedNodes {
			out = append(out, n)
		}
	}
	return out, int32(len(all) - len(out))
}

// Platforms counts the members per os/arch (members without an arch label are left out).
func Platforms(all []v1alpha1.EdgeNodeStatus) []v1alpha1.PlatformCount {
	idx := map[string]int{}
	var out []v1alpha1.PlatformCount
	for _, n := range all {
		if n.Arch == "" {
			continue
		}
		p := cmp.Or(n.OS, "linux") + "/" + n.Arch
		i, ok := idx[p]
		if !ok {
			i = len(out)
			idx[p] = i
			out = append(out, v1alpha1.PlatformCount{Platform: p})
		}
		out[i].Nodes++
		if n.Ready {
			out[i].ReadyNodes++
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	return out
}

// NodeChanges are the membership and readiness changes between two status snapshots.
type NodeChanges struct {
	Joined    []string // members now that were not before
	Left      []string // members before that are not now
	Recovered []string // NotReady before, Ready now
}

// DiffNodes compares the previous status.nodes with all current members. When the previous list
// was truncated (prevOmitted > 0) it does not say who was a member, so only recoveries of the
// nodes it listed (NotReady then) are reported, not joins or leaves.
func DiffNodes(prev []v1alpha1.EdgeNodeStatus, prevOmitted int32, cur []v1alpha1.EdgeNodeStatus) NodeChanges {
	before := make(map[string]v1alpha1.EdgeNodeStatus, len(prev))
	for _, n := range prev {
		before[n.Name] = n
	}
	var ch NodeChanges
	complete := prevOmitted == 0
	for _, n := range cur {
		p, ok := before[n.Name]
		switch {
		case !ok:
			if complete {
				ch.Joined = append(ch.Joined, n.Name)
			}
		case !p.Ready && n.Ready:
			ch.Recovered = append(ch.Recovered, n.Name)
		}
		delete(before, n.Name)
	}
	for name := range before {
		if complete {
			ch.Left = append(ch.Left, name)
		}
	}
	sort.Strings(ch.Joined)
	sort.Strings(ch.Left)
	sort.Strings(ch.Recovered)
	return ch
}

// NameList joins names for a message, showing at most max of them.
func NameList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// GracePeriod is spec.health.notReadyGracePeriod, 5m when unset.
func GracePeriod(spec *v1alpha1.EdgeClusterSpec) time.Duration {
	if spec.Health != nil && spec.Health.NotReadyGracePeriod != nil {
		return spec.Health.NotReadyGracePeriod.Duration
	}
	return 5 * time.Minute
}

// MinReadyNodes is spec.minReadyNodes, 1 when unset.
func MinReadyNodes(spec *v1alpha1.EdgeClusterSpec) int32 {
	if spec.MinReadyNodes != nil {
		return *spec.MinReadyNodes
	}
	return 1
}

// Disconnected: at least the pool's spec.autonomy.disconnectedThreshold percent of its members
// (and at least one) are unreachable.
func (h PoolHealth) Disconnected(spec *v1alpha1.EdgeClusterSpec) bool {
	return h.Total > 0 && h.Unreachable > 0 && int64(h.Unreachable)*100 >= int64(spec.DisconnectedThreshold())*int64(h.Total)
}

// DisconnectedMessage says why the pool is, or is not, Disconnected.
func (h PoolHealth) DisconnectedMessage(spec *v1alpha1.EdgeClusterSpec) string {
	return fmt.Sprintf("%d of %d member node(s) unreachable; the pool is Disconnected at %d%% (spec.autonomy.disconnectedThreshold)",
		h.Unreachable, h.Total, spec.DisconnectedThreshold())
}

// DisconnectionChange is what a pass changed about the pool's disconnection.
type DisconnectionChange struct {
	// Began: the pool became Disconnected in this pass.
	Began bool
	// Ended: it was Disconnected and is connected again; Away is for how long.
	Ended bool
	Away  time.Duration
}

// UpdateDisconnection records in st whether the pool is disconnected at now: disconnectedSince
// while it is, lastDisconnection once it ends.
func UpdateDisconnection(st *v1alpha1.EdgeClusterStatus, disconnected bool, now time.Time) DisconnectionChange {
	switch {
	case disconnected && st.DisconnectedSince == nil:
		since := metav1.NewTime(now)
		st.DisconnectedSince = &since
		return DisconnectionChange{Began: true}
	case !disconnected && st.DisconnectedSince != nil:
		away := now.Sub(st.DisconnectedSince.Time).Round(time.Second)
		st.LastDisconnection = &v1alpha1.Disconnection{Since: *st.DisconnectedSince, Until: metav1.NewTime(now), Duration: away.String()}
		st.DisconnectedSince = nil
		return DisconnectionChange{Ended: true, Away: away}
	}
	return DisconnectionChange{}
}
