package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/internal/conditions"
)

// TestSamplesBecomeReady is `make demo` as a test: the samples in config/samples are applied
// to the local cluster (real scheduler, controller-manager, prometheus-operator; kwok nodes and
// pods) with the operator running under its generated RBAC, and every one of them must become
// healthy the way kstatus-based tools (Flux, Argo CD, kubectl wait) judge it: Ready=True for
// the current generation, neither Reconciling nor Stalled.
func TestSamplesBecomeReady(t *testing.T) {
	ns := createNamespace(t, "e2e-samples")
	// The ImageBuild sample pushes with the dockerconfigjson Secret "regcred".
	regcred := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{"registry.example.com":{"auth":"ZGVtbzpkZW1v"}}}`},
	}
	if err := k8sClient.Create(t.Context(), regcred); err != nil {
		t.Fatal(err)
	}
	var applied []*unstructured.Unstructured
	for _, f := range []string{"edgecluster", "imagebuild", "appdeployment", "monitoringstack"} {
		for _, o := range applyYAMLFileIn(t, filepath.Join(repoRoot, "config", "samples", "edgeforge_v1alpha1_"+f+".yaml"), ns) {
			if o.GetNamespace() == "" { // cluster-scoped: not removed with the namespace
				deleteOnCleanup(t, o)
			}
			applied = append(applied, o)
		}
	}
	if len(applied) != 4 {
		t.Fatalf("want one sample per kind, applied %d objects", len(applied))
	}
	for _, o := range applied {
		what := o.GetKind() + " " + client.ObjectKeyFromObject(o).String()
		var last conditions.Health
		var lastMsg string
		waitForQuietly(t, 3*time.Minute, func(ctx context.Context) bool {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(o.GroupVersionKind())
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
				return false
			}
			last, lastMsg = health(got)
			return last == conditions.Current
		}, func() { t.Fatalf("%s is %s, not Current: %s", what, last, lastMsg) })
		t.Logf("%s: Current", what)
	}
	// And the way a user checks it: kubectl wait returns at once for a Ready AppDeployment.
	kubectl := filepath.Join(controlPlaneBin(t), "kubectl")
	out, err := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", kubeconfigPath, "-n", ns,
		"wait", "--for=condition=Ready", "--timeout=30s", "appdeployment/web").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl wait appdeployment/web: %v\n%s", err, out)
	}
	checkSampleDetails(t, ns)
}

// health reads an object's kstatus health from its status.
func health(u *unstructured.Unstructured) (conditions.Health, string) {
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var conds []metav1.Condition
	msg := ""
	for _, r := range raw {
		m, _ := r.(map[string]any)
		c := metav1.Condition{}
		c.Type, _ = m["type"].(string)
		s, _ := m["status"].(string)
		c.Status = metav1.ConditionStatus(s)
		c.Message, _ = m["message"].(string)
		if c.Type == "Ready" {
			msg = c.Message
		}
		conds = append(conds, c)
	}
	return conditions.Summarize(u.GetGeneration(), observed, conds), msg
}

// waitForQuietly polls cond until it holds; on timeout it calls onTimeout (which reports why).
func waitForQuietly(t *testing.T, timeout time.Duration, cond func(context.Context) bool, onTimeout func()) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(t.Context()) {
		if time.Now().After(deadline) {
			onTimeout()
			return
		}
		time.Sleep(pollInterval)
	}
}

// controlPlaneBin is where hack/controlplane.sh keeps kubectl and friends.
func controlPlaneBin(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), filepath.Join(repoRoot, "hack", "controlplane.sh")).Output()
	if err != nil {
		t.Fatalf("hack/controlplane.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}
