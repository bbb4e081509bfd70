package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A real kubelet tries to claim a pool it was not given a token for, with its own credentials
// (the client certificate it got by joining the real pool): NodeRestriction refuses the member
// label, the claim label it may set gets it nothing of the claimed pool (no template, not
// counted), and the pool reports it as unadmitted.
func TestRealKubeletCannotClaimAPool(t *testing.T) {
	requireRealTier(t)
	node := realNodeNames()[0]
	pool := "e2e-claimed-" + randomHex(3)
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool}, Spec: v1alpha1.EdgeClusterSpec{
		Join:         &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet}},
		NodeTemplate: &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"claimed": "yes"}},
	}}
	if err := k8sClient.Create(t.Context(), ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(realEnv["REAL_NODES_DIR"], node, "kubelet.conf"))
	if err != nil {
		t.Fatalf("the real kubelet's kubeconfig: %v", err)
	}
	asKubelet, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	patch := func(ctx context.Context, key, value string) error {
		_, err := asKubelet.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType,
			[]byte(`{"metadata":{"labels":{"`+key+`":"`+value+`"}}}`), metav1.PatchOptions{})
		return err
	}
	if err := patch(t.Context(), edgePoolLabel, pool); !apierrors.IsForbidden(err) {
		t.Fatalf("the kubelet set its own membership label %s=%s: %v, want Forbidden (NodeRestriction)", edgePoolLabel, pool, err)
	}
	if err := patch(t.Context(), v1alpha1.LabelEdgeCluster, pool); err != nil {
		t.Fatalf("the kubelet may label its own Node (the claim): %v", err)
	}
	t.Cleanup(func() { // back to the claim its join command made
		if err := patch(context.Background(), v1alpha1.LabelEdgeCluster, realPool()); err != nil {
			t.Errorf("restoring %s's claim: %v", node, err)
		}
	})

	waitFor(t, time.Minute, "EdgeCluster "+pool+" to report "+node+" as unadmitted", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ec), ec); err != nil {
			return false, err
		}
		return slices.Contains(ec.Status.UnadmittedNodes, node), nil
	})
	if ec.Status.TotalNodes != 0 {
		t.Errorf("the claimed pool counts %d nodes, want 0", ec.Status.TotalNodes)
	}
	n := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: node}, n); err != nil {
		t.Fatal(err)
	}
	if n.Labels["claimed"] != "" || n.Labels[edgePoolLabel] != realPool() {
		t.Errorf("node %s got the claimed pool's template or lost its membership: %v", node, n.Labels)
	}
}
