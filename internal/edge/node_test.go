package edge

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrimNode(t *testing.T) {
	full := member("edge-1", corev1.ConditionTrue, t0.Add(-time.Hour), t0)
	full.ResourceVersion = "10"
	full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
	full.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.example.com/big:1"}, SizeBytes: 1 << 30}}
	full.Status.Conditions = append(full.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse})
	full.Spec.PodCIDR = "10.64.0.0/24"
	full.Spec.Taints = []corev1.Taint{userTaint}

	out, err := TrimNode(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := out.(*corev1.Node)
	if len(trimmed.Status.Images) != 0 || trimmed.ManagedFields != nil || trimmed.Spec.PodCIDR != "" || len(trimmed.Status.Conditions) != 1 {
		t.Errorf("not trimmed: %+v", trimmed)
	}
	if trimmed.Status.Conditions[0].LastHeartbeatTime != (metav1.Time{}) {
		t.Error("a Ready node's heartbeat is kept")
	}
	if NodeStatus(trimmed) != NodeStatus(&full) || len(trimmed.Spec.Taints) != 1 || trimmed.Labels[corev1.LabelArchStable] != "arm64" {
		t.Errorf("trimming changed what EdgeClusters see: %+v", trimmed)
	}

	// A heartbeat (new resourceVersion, later heartbeat time) of a Ready node is no change.
	beat := full.DeepCopy()
	beat.ResourceVersion = "11"
	beat.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.Add(5 * time.Minute))
	out2, _ := TrimNode(beat)
	if NodeChanged(trimmed, out2.(*corev1.Node)) {
		t.Error("a heartbeat counts as a change")
	}
	// Readiness flipping does.
	down := beat.DeepCopy()
	down.Status.Conditions[0].Status = corev1.ConditionUnknown
	out3, _ := TrimNode(down)
	if !NodeChanged(trimmed, out3.(*corev1.Node)) {
		t.Error("NotReady is not a change")
	}
	if o, _ := TrimNode("tombstone"); o != "tombstone" {
		t.Error("other objects must pass through")
	}
}

func TestBootstrapRBAC(t *testing.T) {
	bindings := BootstrapRBAC()
	if len(bindings) != len(BootstrapRBACBindingNames) {
		t.Fatalf("%d bindings", len(bindings))
	}
	for i, b := range bindings {
		if *b.Name != BootstrapRBACBindingNames[i] {
			t.Errorf("binding %d named %s", i, *b.Name)
		}
	}
	if *bindings[0].RoleRef.Name != "system:node-bootstrapper" || *bindings[0].Subjects[0].Name != "system:bootstrappers:edgeforge" {
		t.Errorf("first binding %+v", bindings[0])
	}
	// Nothing lets kube-controller-manager approve what edgeforge's tokens ask for: only
	// edgeforge does, checking the node's name.
	for _, b := range bindings {
		if *b.RoleRef.Name == "system:certificates.k8s.io:certificatesigningrequests:nodeclient" {
			t.Errorf("binding %s grants automatic approval of node client certificates", *b.Name)
		}
	}
}
