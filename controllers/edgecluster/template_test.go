package edgecluster

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

var userTaint = corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}

func waitForNode(t *testing.T, name, what string, cond func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	n := &corev1.Node{}
	waitFor(t, what, func() (bool, error) {
		if err := get(t, "", name, n); err != nil {
			return false, err
		}
		return cond(n), nil
	})
	return n
}

// taintKeys lists a node's taints but the node.kubernetes.io/ ones the API server and the node
// lifecycle controller manage (a new Node gets node.kubernetes.io/not-ready from admission):
// edgeforge keeps those in place too.
func taintKeys(n *corev1.Node) []string {
	var out []string
	for _, tn := range n.Spec.Taints {
		if strings.HasPrefix(tn.Key, "node.kubernetes.io/") {
			continue
		}
		out = append(out, tn.Key+"="+tn.Value+":"+string(tn.Effect))
	}
	return out
}

// Node.spec.taints is an atomic list in the API server's schema: an apply of it takes over and
// replaces the whole list. This is why the controller merges taints itself instead of applying
// them (see edge.NodeTemplatePlan); this test keeps that assumption honest.
func TestNodeTaintsAreAtomic(t *testing.T) {
	n := edgeNode(t, "atomic-1", "", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{userTaint} })
	ac := []byte(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"` + n.Name + `"},"spec":{"taints":[{"key":"other","effect":"NoSchedule"}]}}`)
	if err := k8s.Patch(ctxT(t), &corev1.Node{ObjectMeta: n.ObjectMeta}, client.RawPatch(types.ApplyPatchType, ac),
		client.FieldOwner("atomic-test"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	got := waitForNode(t, n.Name, "the apply", func(*corev1.Node) bool { return true })
	if !reflect.DeepEqual(taintKeys(got), []string{"other=:NoSchedule"}) {
		t.Fatalf("taints after applying one taint: %v; Node taints are no longer atomic, revisit edge.NodeTemplatePlan", taintKeys(got))
	}
}

// The template's labels, annotations and taints reach the members; a user's own label and taint
// survive every change; entries removed from the template leave the nodes; a node that leaves
// the pool loses the template.
func TestNodeTemplateAppliedAndRemoved(t *testing.T) {
	for _, name := range []string{"tmpl-1", "tmpl-2"} {
		edgeNode(t, name, "tmpl", func(n *corev1.Node) {
			n.Labels["user"] = "mine"
			n.Spec.Taints = []corev1.Taint{userTaint}
		})
	}
	outsider := edgeNode(t, "tmpl-outsider", "", nil)
	newPool(t, "tmpl", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{
		Labels:      map[string]v1alpha1.LabelValue{"tier": "edge", "zone": "busan"},
		Annotations: map[string]string{"example.com/owner": "ops"},
		Taints:      []v1alpha1.Taint{{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}},
	}})

	for _, name := range []string{"tmpl-1", "tmpl-2"} {
		n := waitForNode(t, name, name+" templated", func(n *corev1.Node) bool {
			return n.Labels["tier"] == "edge" && len(taintKeys(n)) == 2
		})
		if n.Labels["zone"] != "busan" || n.Labels["user"] != "mine" || n.Annotations["example.com/owner"] != "ops" {
			t.Errorf("%s: labels %v annotations %v", name, n.Labels, n.Annotations)
		}
		if !reflect.DeepEqual(taintKeys(n), []string{"dedicated=gpu:NoSchedule", "edgeforge.io/edge=true:NoSchedule"}) {
			t.Errorf("%s taints %v", name, taintKeys(n))
		}
		owners := map[string]bool{}
		for _, mf := range n.ManagedFields {
			owners[mf.Manager+"/"+string(mf.Operation)] = true
		}
		if !owners[edge.FieldManager+"/Apply"] {
			t.Errorf("%s: no apply by %s: %v", name, edge.FieldManager, owners)
		}
	}
	if n := waitForNode(t, outsider.Name, "outsider", func(*corev1.Node) bool { return true }); n.Labels["tier"] != "" || len(taintKeys(n)) != 0 {
		t.Errorf("a non-member was templated: %v %v", n.Labels, n.Spec.Taints)
	}
	waitForPool(t, "tmpl", "2 members", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.TotalNodes == 2 })
	assertNoWritesAtRest(t, "tmpl")

	// Drop a label, the annotation and the taint from the template.
	updatePool(t, "tmpl", func(ec *v1alpha1.EdgeCluster) {
		ec.Spec.NodeTemplate = &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"tier": "edge"}}
	})
	for _, name := range []string{"tmpl-1", "tmpl-2"} {
		n := waitForNode(t, name, name+" without the dropped entries", func(n *corev1.Node) bool {
			_, zone := n.Labels["zone"]
			_, owner := n.Annotations["example.com/owner"]
			return !zone && !owner && len(taintKeys(n)) == 1
		})
		if n.Labels["tier"] != "edge" || n.Labels["user"] != "mine" || !reflect.DeepEqual(taintKeys(n), []string{"dedicated=gpu:NoSchedule"}) {
			t.Errorf("%s after the change: labels %v taints %v", name, n.Labels, taintKeys(n))
		}
	}

	// tmpl-2 leaves the pool: its template goes, the user's things stay.
	n := &corev1.Node{}
	if err := get(t, "", "tmpl-2", n); err != nil {
		t.Fatal(err)
	}
	orig := n.DeepCopy()
	delete(n.Labels, v1alpha1.LabelEdgeClusterMember)
	if err := k8s.Patch(ctxT(t), n, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	n = waitForNode(t, "tmpl-2", "tmpl-2 untemplated", func(n *corev1.Node) bool {
		_, tier := n.Labels["tier"]
		_, marker := n.Annotations[v1alpha1.AnnotationNodeTemplate]
		return !tier && !marker
	})
	if n.Labels["user"] != "mine" || !reflect.DeepEqual(taintKeys(n), []string{"dedicated=gpu:NoSchedule"}) {
		t.Errorf("tmpl-2 after leaving: labels %v taints %v", n.Labels, taintKeys(n))
	}
	waitForPool(t, "tmpl", "1 member", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.TotalNodes == 1 })
	waitForEvent(t, "tmpl", v1alpha1.EdgeClusterEventNodeLeft)
}

// A user who also applies a template label keeps it when the template drops it (shared
// ownership: server-side apply removes a field only when no other manager owns it).
func TestUserSetTemplateLabelSurvives(t *testing.T) {
	edgeNode(t, "shared-1", "shared", nil)
	newPool(t, "shared", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"tier": "edge"}}})
	waitForNode(t, "shared-1", "templated", func(n *corev1.Node) bool { return n.Labels["tier"] == "edge" })

	// The user applies the same label too (kubectl apply --server-side): both own it now.
	userApply := []byte(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"shared-1","labels":{"tier":"edge"}}}`)
	if err := k8s.Patch(ctxT(t), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "shared-1"}}, client.RawPatch(types.ApplyPatchType, userApply), client.FieldOwner("kubectl")); err != nil {
		t.Fatal(err)
	}
	updatePool(t, "shared", func(ec *v1alpha1.EdgeCluster) {
		ec.Spec.NodeTemplate = &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"other": "x"}}
	})
	n := waitForNode(t, "shared-1", "the new template", func(n *corev1.Node) bool { return n.Labels["other"] == "x" })
	if n.Labels["tier"] != "edge" {
		t.Errorf("the user's own tier label was removed: %v", n.Labels)
	}
}

// A node that lists an admin's taint in its own annotation of template taints cannot make
// edgeforge remove it: only taints the pool applied (status.appliedTaints) are ever removed.
func TestForgedTemplateTaintsAnnotation(t *testing.T) {
	quarantine := corev1.Taint{Key: "admin.example.com/quarantine", Value: "true", Effect: corev1.TaintEffectNoExecute}
	edgeNode(t, "forge-1", "forge", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{quarantine} })
	newPool(t, "forge", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{
		Taints: []v1alpha1.Taint{{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}}}})
	waitForNode(t, "forge-1", "the template taint", func(n *corev1.Node) bool { return len(taintKeys(n)) == 2 })
	waitForPool(t, "forge", "status.appliedTaints", func(ec *v1alpha1.EdgeCluster) bool {
		return reflect.DeepEqual(ec.Status.AppliedTaints, []string{"edgeforge.io/edge:NoSchedule"})
	})

	// The node claims edgeforge added the quarantine taint too.
	n := &corev1.Node{}
	if err := get(t, "", "forge-1", n); err != nil {
		t.Fatal(err)
	}
	orig := n.DeepCopy()
	n.Annotations[v1alpha1.AnnotationNodeTemplateTaints] = "admin.example.com/quarantine:NoExecute,edgeforge.io/edge:NoSchedule"
	if err := k8s.Patch(ctxT(t), n, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	// The template drops its taint: edgeforge removes its own, the quarantine stays.
	updatePool(t, "forge", func(ec *v1alpha1.EdgeCluster) { ec.Spec.NodeTemplate = nil })
	n = waitForNode(t, "forge-1", "the template taint removed", func(n *corev1.Node) bool {
		return !slices.Contains(taintKeys(n), "edgeforge.io/edge=true:NoSchedule")
	})
	if !reflect.DeepEqual(taintKeys(n), []string{"admin.example.com/quarantine=true:NoExecute"}) {
		t.Fatalf("taints %v: the admin's quarantine taint must stay", taintKeys(n))
	}
}
