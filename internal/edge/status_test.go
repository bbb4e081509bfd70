package edge

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestSummarize(t *testing.T) {
	healthy := &PoolHealth{Total: 3, Ready: 3}
	oneDown := &PoolHealth{Total: 3, Ready: 2, Unhealthy: []string{"edge-2"}}
	allJoin := &JoinResult{Methods: []v1alpha1.JoinMethodStatus{{Method: v1alpha1.JoinMethodKubeadm, Ready: true}}}
	k3sMissing := &JoinResult{Methods: []v1alpha1.JoinMethodStatus{
		{Method: v1alpha1.JoinMethodKubeadm, Ready: true}, {Method: v1alpha1.JoinMethodK3s, Ready: false}}}
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "edge-1", errors.New("stale"))

	for _, tc := range []struct {
		name           string
		spec           func(*v1alpha1.EdgeCluster)
		pass           Pass
		readyStatus    metav1.ConditionStatus
		reason         string
		message        string
		degradedStatus metav1.ConditionStatus // "" when Degraded must not be set
	}{
		{name: "ready", pass: Pass{Health: healthy, Join: allJoin}, readyStatus: metav1.ConditionTrue,
			reason: v1alpha1.EdgeClusterReasonPoolReady, message: "3 of 3 member node(s) Ready (minimum 1)", degradedStatus: metav1.ConditionFalse},
		{name: "ready, a join method without command", pass: Pass{Health: healthy, Join: k3sMissing}, readyStatus: metav1.ConditionTrue,
			reason: v1alpha1.EdgeClusterReasonPoolReady, message: "no join command for k3s (see status.join.methods)", degradedStatus: metav1.ConditionFalse},
		{name: "not enough ready nodes", spec: func(ec *v1alpha1.EdgeCluster) { ec.Spec.MinReadyNodes = ptr.To[int32](3) },
			pass: Pass{Health: oneDown, Join: allJoin}, readyStatus: metav1.ConditionFalse, reason: v1alpha1.EdgeClusterReasonNotEnoughReadyNodes,
			message: "2 of 3 member node(s) Ready, spec.minReadyNodes is 3", degradedStatus: metav1.ConditionTrue},
		{name: "an error", pass: Pass{Health: healthy, Err: errors.New("token Secret: boom")}, readyStatus: metav1.ConditionFalse,
			reason: v1alpha1.EdgeClusterReasonProgressing, message: "retrying after an error: token Secret: boom", degradedStatus: metav1.ConditionFalse},
		{name: "a conflict is no news", pass: Pass{Health: healthy, Err: conflict}, readyStatus: metav1.ConditionFalse,
			reason: v1alpha1.EdgeClusterReasonProgressing, message: "working on the join token", degradedStatus: metav1.ConditionFalse},
		{name: "nodes not read", pass: Pass{Err: errors.New("list nodes")}, readyStatus: metav1.ConditionFalse,
			reason: v1alpha1.EdgeClusterReasonProgressing, message: "list nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ec := pool(tc.spec)
			Summarize(ec, tc.pass)
			ready := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || ready.Status != tc.readyStatus || ready.Reason != tc.reason || !strings.Contains(ready.Message, tc.message) {
				t.Errorf("Ready = %+v, want %s/%s containing %q", ready, tc.readyStatus, tc.reason, tc.message)
			}
			deg := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionDegraded)
			switch {
			case tc.degradedStatus == "" && deg != nil:
				t.Errorf("Degraded = %+v, want none (health unknown)", deg)
			case tc.degradedStatus != "" && (deg == nil || deg.Status != tc.degradedStatus):
				t.Errorf("Degraded = %+v, want %s", deg, tc.degradedStatus)
			}
		})
	}

	// A stall keeps what the stall set.
	ec := pool(nil)
	meta.SetStatusCondition(&ec.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "OperatorNamespaceNotFound"})
	Summarize(ec, Pass{Health: healthy, Stalled: true})
	if r := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionReady); r.Reason != "OperatorNamespaceNotFound" {
		t.Errorf("a stalled pass changed Ready: %+v", r)
	}
}

// JoinReady is True when at least one requested method has a command (naming those that have
// none and why), False with every reason when none has, and left alone until the join commands
// are known.
func TestJoinReady(t *testing.T) {
	healthy := &PoolHealth{Total: 1, Ready: 1}
	kubeadmNo := v1alpha1.JoinMethodStatus{Method: v1alpha1.JoinMethodKubeadm, Message: "kube-system/kubeadm-config not found"}
	k3sNo := v1alpha1.JoinMethodStatus{Method: v1alpha1.JoinMethodK3s, Message: "this cluster is not a k3s server"}
	kubelet := v1alpha1.JoinMethodStatus{Method: v1alpha1.JoinMethodKubelet, Ready: true}
	for _, tc := range []struct {
		name     string
		join     *JoinResult
		status   metav1.ConditionStatus // "" = absent
		reason   string
		contains []string
	}{
		{"not known yet", nil, "", "", nil},
		{"one usable", &JoinResult{Methods: []v1alpha1.JoinMethodStatus{kubelet}}, metav1.ConditionTrue,
			v1alpha1.EdgeClusterReasonJoinCommandsReady, []string{"join commands for kubelet in Secret site-a-join"}},
		{"one usable, one not", &JoinResult{Methods: []v1alpha1.JoinMethodStatus{kubeadmNo, kubelet}}, metav1.ConditionTrue,
			v1alpha1.EdgeClusterReasonJoinCommandsReady, []string{"kubelet", "not usable here: kubeadm: kube-system/kubeadm-config not found"}},
		{"none usable", &JoinResult{Methods: []v1alpha1.JoinMethodStatus{kubeadmNo, k3sNo}}, metav1.ConditionFalse,
			v1alpha1.EdgeClusterReasonNoUsableJoinMethod, []string{"none of spec.join.methods", "kubeadm: kube-system/kubeadm-config not found", "k3s: this cluster is not a k3s server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ec := pool(nil)
			Summarize(ec, Pass{Health: healthy, Join: tc.join})
			c := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionJoinReady)
			if tc.status == "" {
				if c != nil {
					t.Fatalf("JoinReady = %+v, want absent", c)
				}
				return
			}
			if c == nil || c.Status != tc.status || c.Reason != tc.reason || c.ObservedGeneration != ec.Generation {
				t.Fatalf("JoinReady = %+v, want %s/%s", c, tc.status, tc.reason)
			}
			for _, s := range tc.contains {
				if !strings.Contains(c.Message, s) {
					t.Errorf("message %q lacks %q", c.Message, s)
				}
			}
		})
	}
}
