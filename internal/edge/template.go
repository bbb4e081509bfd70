package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// NodeTemplatePlan is what to change on one Node so it carries its pool's template (or, for a
// node that left its pool, none).
//
// Labels and annotations are server-side applied under FieldManager: the apply configuration
// names exactly the template's entries, so entries dropped from the template are removed by the
// API server, and a label a user also set (under another manager) survives.
//
// Taints cannot work that way: Node.spec.taints is an atomic list (+listType=atomic), so whoever
// applies it owns, and replaces, all of it, including the taints users and the node lifecycle
// controller (node.kubernetes.io/not-ready...) put there. edgeforge therefore merges taints
// itself: it adds the template's taints, updates their values, removes the ones it added that
// the template no longer has, keeps every other taint in place, and remembers what it added in
// the AnnotationNodeTemplateTaints annotation (applied with the labels). The controller writes
// the merged list with an optimistic-lock patch, so a concurrent change of another writer is
// never lost.
//
// A kubelet may write its Node's annotations, so the annotation alone cannot decide what
// edgeforge removes: a node could list an admin's quarantine taint there. Only keys that the pool
// itself applied (its template's, now or before: EdgeCluster status.appliedTaints, which nodes
// cannot write) are taken from it.
type NodeTemplatePlan struct {
	// Apply is the server-side apply configuration of the node's labels and annotations; nil
	// when they are already as wanted.
	Apply *corev1ac.NodeApplyConfiguration
	// Taints is the node's new taint list; nil when the taints need no change.
	Taints []corev1.Taint
	// Owned are the taints ("key:Effect") edgeforge owns on the node once the plan is carried out.
	Owned []string
}

// Empty is true when the node needs no write.
func (p NodeTemplatePlan) Empty() bool { return p.Apply == nil && p.Taints == nil }

// PlanNodeTemplate decides how to make node carry the template of pool (tmpl may be nil). With
// pool == "" it removes whatever template edgeforge applied (the node left its pool, or its pool
// is being deleted).
// applied are the taints ("key:Effect") the pool has applied (EdgeCluster status.appliedTaints):
// of the node's own record of what edgeforge added, only those are believed.
func PlanNodeTemplate(pool string, tmpl *v1alpha1.NodeTemplate, node *corev1.Node, applied []string) NodeTemplatePlan {
	var want v1alpha1.NodeTemplate
	if pool != "" && tmpl != nil {
		want = *tmpl
	}
	owned := RecordedTaints(node, applied)
	for _, t := range want.Taints {
		if k := (taintKey{t.Key, t.Effect}); parseTaintKeys(node.Annotations[v1alpha1.AnnotationNodeTemplateTaints])[k] {
			owned[k] = true // the template's own taint, recorded as added by edgeforge
		}
	}
	taints, nowOwned, taintsChanged := mergeTaints(node.Spec.Taints, want.Taints, owned)

	plan := NodeTemplatePlan{Owned: sortedKeys(nowOwned)}
	if taintsChanged {
		plan.Taints = taints
		if plan.Taints == nil {
			plan.Taints = []corev1.Taint{}
		}
	}

	templated := pool != "" && (len(want.Labels) > 0 || len(want.Annotations) > 0 || len(nowOwned) > 0)
	_, hasMarker := node.Annotations[v1alpha1.AnnotationNodeTemplate]
	if !templated {
		if hasMarker || len(owned) > 0 {
			plan.Apply = corev1ac.Node(node.Name) // owns nothing: the API server drops what edgeforge set
		}
		return plan
	}

	labels := make(map[string]string, len(want.Labels))
	for k, v := range want.Labels {
		labels[k] = string(v)
	}
	annotations := make(map[string]string, len(want.Annotations)+3)
	for k, v := range want.Annotations {
		annotations[k] = v
	}
	hash := templateHash(labels, annotations)
	annotations[v1alpha1.AnnotationNodeTemplate] = pool
	annotations[v1alpha1.AnnotationNodeTemplateHash] = hash
	if len(nowOwned) > 0 {
		annotations[v1alpha1.AnnotationNodeTemplateTaints] = formatTaintKeys(nowOwned)
	}
	if node.Annotations[v1alpha1.AnnotationNodeTemplate] == pool &&
		node.Annotations[v1alpha1.AnnotationNodeTemplateHash] == hash &&
		node.Annotations[v1alpha1.AnnotationNodeTemplateTaints] == annotations[v1alpha1.AnnotationNodeTemplateTaints] &&
		contains(node.Labels, labels) && contains(node.Annotations, annotations) {
		return plan // applied before with the same content, and nobody removed an entry since
	}
	plan.Apply = corev1ac.Node(node.Name).WithLabels(labels).WithAnnotations(annotations)
	return plan
}

// templateHash identifies the set of labels and annotations a template applies: the same hash
// on the node means the last apply had exactly these keys (so none needs removing).
func templateHash(labels, annotations map[string]string) string {
	data, err := json.Marshal([]map[string]string{labels, annotations}) // maps marshal with sorted keys
	if err != nil {
		panic(fmt.Sprintf("marshalling labels: %v", err)) // only on programming errors
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

func contains(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// taintKey identifies a taint: a node has at most one taint per key and effect.
type taintKey struct {
	Key    string
	Effect corev1.TaintEffect
}

func (k taintKey) String() string { return k.Key + ":" + string(k.Effect) }

// RecordedTaints are the taints the node's annotation says edgeforge added, limited to those the
// pool applied (applied: "key:Effect").
func RecordedTaints(node *corev1.Node, applied []string) map[taintKey]bool {
	allowed := parseTaintKeys(strings.Join(applied, ","))
	out := map[taintKey]bool{}
	for k := range parseTaintKeys(node.Annotations[v1alpha1.AnnotationNodeTemplateTaints]) {
		if allowed[k] {
			out[k] = true
		}
	}
	return out
}

// AppliedTaints is the pool's new status.appliedTaints: its template's taints, and those it
// applied before (old) that a node of the pool still records as added by edgeforge (they are
// yet to be removed from it).
func AppliedTaints(tmpl *v1alpha1.NodeTemplate, old []string, nodes []corev1.Node) []string {
	keep := map[taintKey]bool{}
	if tmpl != nil {
		for _, t := range tmpl.Taints {
			keep[taintKey{t.Key, t.Effect}] = true
		}
	}
	for i := range nodes {
		for k := range RecordedTaints(&nodes[i], old) {
			keep[k] = true
		}
	}
	return sortedKeys(keep)
}

func sortedKeys(keys map[taintKey]bool) []string {
	if len(keys) == 0 {
		return nil
	}
	return strings.Split(formatTaintKeys(keys), ",")
}

func parseTaintKeys(s string) map[taintKey]bool {
	out := map[taintKey]bool{}
	for _, item := range strings.Split(s, ",") {
		if key, effect, ok := strings.Cut(strings.TrimSpace(item), ":"); ok && key != "" {
			out[taintKey{key, corev1.TaintEffect(effect)}] = true
		}
	}
	return out
}

func formatTaintKeys(keys map[taintKey]bool) string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// mergeTaints computes a node's taints with the template's: template taints are added (or their
// value updated), taints edgeforge added earlier that the template dropped are removed, every
// other taint stays where it is. A template taint the node already had with the same value,
// that edgeforge did not add, stays the user's: edgeforge will not remove it later. It returns
// the new list, the taints edgeforge now owns and whether the list changed.
func mergeTaints(current []corev1.Taint, want []v1alpha1.Taint, owned map[taintKey]bool) ([]corev1.Taint, map[taintKey]bool, bool) {
	wanted := make(map[taintKey]v1alpha1.Taint, len(want))
	for _, t := range want {
		wanted[taintKey{t.Key, t.Effect}] = t
	}
	nowOwned := map[taintKey]bool{}
	changed := false
	var out []corev1.Taint
	present := map[taintKey]bool{}
	for _, t := range current {
		k := taintKey{t.Key, t.Effect}
		w, isWanted := wanted[k]
		switch {
		case isWanted:
			present[k] = true
			if t.Value != w.Value {
				t.Value = w.Value
				t.TimeAdded = nil
				changed = true
				nowOwned[k] = true
			} else if owned[k] {
				nowOwned[k] = true
			}
			out = append(out, t)
		case owned[k]:
			changed = true // edgeforge added it; the template dropped it
		default:
			out = append(out, t)
		}
	}
	for _, t := range want { // in template order, after the node's own
		k := taintKey{t.Key, t.Effect}
		if present[k] {
			continue
		}
		out = append(out, corev1.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
		nowOwned[k] = true
		changed = true
	}
	return out, nowOwned, changed
}

// TemplatedNodeKeys are the keys under which edgeforge indexes Nodes for a pool: the pool it is
// a member of, the pool it claims by its own label (to be reported as not admitted) and the pool
// whose template it carries (maybe a former member).
func TemplatedNodeKeys(node *corev1.Node) []string {
	var keys []string
	for _, p := range []string{MemberOf(node), ClaimedPool(node), node.Annotations[v1alpha1.AnnotationNodeTemplate]} {
		if p != "" && !slices.Contains(keys, p) {
			keys = append(keys, p)
		}
	}
	return keys
}
