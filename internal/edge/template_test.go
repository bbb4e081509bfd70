package edge

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

var (
	edgeTaint = v1alpha1.Taint{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	userTaint = corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	lifecycle = corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute}
)

func node(labels, annotations map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-1", Labels: labels, Annotations: annotations}, Spec: corev1.NodeSpec{Taints: taints}}
}

// applied returns the node as it looks after the plan was carried out (what the API server
// would make of the apply, for the fields edgeforge owns), to check the plan converges.
func applied(n *corev1.Node, plan NodeTemplatePlan, previouslyApplied map[string]bool) *corev1.Node {
	out := n.DeepCopy()
	if plan.Taints != nil {
		out.Spec.Taints = plan.Taints
	}
	if plan.Apply != nil {
		for k := range previouslyApplied { // SSA drops what the manager owned and no longer applies
			if _, still := plan.Apply.Labels[k]; !still {
				delete(out.Labels, k)
			}
			if _, still := plan.Apply.Annotations[k]; !still {
				delete(out.Annotations, k)
			}
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		for k, v := range plan.Apply.Labels {
			out.Labels[k] = v
		}
		for k, v := range plan.Apply.Annotations {
			out.Annotations[k] = v
		}
	}
	return out
}

// poolApplied is the pool's status.appliedTaints in these tests: the template taint it applied.
var poolApplied = []string{"edgeforge.io/edge:NoSchedule"}

func TestPlanNodeTemplate(t *testing.T) {
	tmpl := &v1alpha1.NodeTemplate{
		Labels:      map[string]v1alpha1.LabelValue{"tier": "edge"},
		Annotations: map[string]string{"example.com/owner": "ops"},
		Taints:      []v1alpha1.Taint{edgeTaint},
	}
	member := map[string]string{v1alpha1.LabelEdgeCluster: "site-a", "user": "mine"}

	// First apply: labels, annotations and the taint, next to the user's taint and the lifecycle one.
	n := node(member, nil, userTaint, lifecycle)
	plan := PlanNodeTemplate("site-a", tmpl, n, poolApplied)
	if plan.Apply == nil || plan.Taints == nil {
		t.Fatalf("first plan applies nothing: %+v", plan)
	}
	wantTaints := []corev1.Taint{userTaint, lifecycle, {Key: edgeTaint.Key, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	if !reflect.DeepEqual(plan.Taints, wantTaints) {
		t.Errorf("taints = %+v, want %+v", plan.Taints, wantTaints)
	}
	if plan.Apply.Labels["tier"] != "edge" || len(plan.Apply.Labels) != 1 {
		t.Errorf("applied labels %v: only the template's", plan.Apply.Labels)
	}
	for k, v := range map[string]string{
		"example.com/owner":                   "ops",
		v1alpha1.AnnotationNodeTemplate:       "site-a",
		v1alpha1.AnnotationNodeTemplateTaints: "edgeforge.io/edge:NoSchedule",
	} {
		if plan.Apply.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, plan.Apply.Annotations[k], v)
		}
	}
	if again := PlanNodeTemplate("site-a", tmpl, n, poolApplied); !reflect.DeepEqual(again, plan) {
		t.Error("planning twice gives different plans")
	}

	// Carried out, the same template plans nothing: no writes at rest.
	owned := map[string]bool{"tier": true, "example.com/owner": true, v1alpha1.AnnotationNodeTemplate: true,
		v1alpha1.AnnotationNodeTemplateHash: true, v1alpha1.AnnotationNodeTemplateTaints: true}
	n = applied(n, plan, nil)
	if p := PlanNodeTemplate("site-a", tmpl, n, poolApplied); !p.Empty() {
		t.Errorf("converged node still planned: %+v", p)
	}

	// Someone removes a template label: it comes back.
	delete(n.Labels, "tier")
	if p := PlanNodeTemplate("site-a", tmpl, n, poolApplied); p.Apply == nil || p.Taints != nil {
		t.Errorf("a removed label is not re-applied: %+v", p)
	} else {
		n = applied(n, p, owned)
	}

	// A changed taint value is updated in place.
	tmpl2 := tmpl.DeepCopy()
	tmpl2.Taints[0].Value = "yes"
	p := PlanNodeTemplate("site-a", tmpl2, n, poolApplied)
	if p.Taints == nil || p.Taints[2].Value != "yes" || len(p.Taints) != 3 {
		t.Errorf("value change: %+v", p.Taints)
	}

	// Template entries removed: label, annotation and taint go, the user's stay.
	p = PlanNodeTemplate("site-a", &v1alpha1.NodeTemplate{}, n, poolApplied)
	if !reflect.DeepEqual(p.Taints, []corev1.Taint{userTaint, lifecycle}) {
		t.Errorf("taints after removal = %+v", p.Taints)
	}
	if p.Apply == nil || len(p.Apply.Labels) != 0 || len(p.Apply.Annotations) != 0 {
		t.Errorf("removal applies %+v, want an empty apply (drops every owned field)", p.Apply)
	}
	n = applied(n, p, owned)
	if n.Labels["user"] != "mine" || n.Labels["tier"] != "" || n.Annotations[v1alpha1.AnnotationNodeTemplate] != "" {
		t.Errorf("after removal: labels %v annotations %v", n.Labels, n.Annotations)
	}
	if p := PlanNodeTemplate("site-a", &v1alpha1.NodeTemplate{}, n, poolApplied); !p.Empty() {
		t.Errorf("a node without template still planned: %+v", p)
	}
}

func TestPlanNodeTemplateLeavingPool(t *testing.T) {
	tmpl := &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{edgeTaint}}
	n := node(map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}, nil)
	n = applied(n, PlanNodeTemplate("site-a", tmpl, n, poolApplied), nil)
	if n.Annotations[v1alpha1.AnnotationNodeTemplate] != "site-a" || len(n.Spec.Taints) != 1 {
		t.Fatalf("not applied: %+v", n)
	}
	// The pool label is removed (or the pool deleted): pool "" removes the template.
	p := PlanNodeTemplate("", tmpl, n, poolApplied)
	if p.Apply == nil || len(p.Taints) != 0 || p.Taints == nil {
		t.Errorf("leaving the pool: %+v", p)
	}
}

// A template taint the node already had (the user's) is not taken over: removing it from the
// template leaves it.
func TestTemplateTaintAlreadyPresent(t *testing.T) {
	mine := corev1.Taint{Key: edgeTaint.Key, Value: edgeTaint.Value, Effect: edgeTaint.Effect}
	n := node(map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}, nil, mine)
	p := PlanNodeTemplate("site-a", &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{edgeTaint}}, n, poolApplied)
	if p.Taints != nil {
		t.Errorf("taints rewritten: %+v", p.Taints)
	}
	if p.Apply != nil && p.Apply.Annotations[v1alpha1.AnnotationNodeTemplateTaints] != "" {
		t.Errorf("claims the user's taint: %v", p.Apply.Annotations)
	}
	n = applied(n, p, nil)
	if p := PlanNodeTemplate("site-a", nil, n, poolApplied); p.Taints != nil {
		t.Errorf("template removed: the user's taint is touched: %+v", p.Taints)
	}
}

func TestMergeTaintsTable(t *testing.T) {
	k := func(key string, e corev1.TaintEffect) taintKey { return taintKey{key, e} }
	cases := []struct {
		name        string
		current     []corev1.Taint
		want        []v1alpha1.Taint
		owned       map[taintKey]bool
		wantTaints  []corev1.Taint
		wantOwned   map[taintKey]bool
		wantChanged bool
	}{
		{"nothing", nil, nil, nil, nil, map[taintKey]bool{}, false},
		{"add", []corev1.Taint{userTaint}, []v1alpha1.Taint{edgeTaint}, nil,
			[]corev1.Taint{userTaint, {Key: edgeTaint.Key, Value: "true", Effect: "NoSchedule"}},
			map[taintKey]bool{k(edgeTaint.Key, "NoSchedule"): true}, true},
		{"same key, other effect is another taint", []corev1.Taint{{Key: edgeTaint.Key, Effect: "NoExecute"}}, []v1alpha1.Taint{edgeTaint}, nil,
			[]corev1.Taint{{Key: edgeTaint.Key, Effect: "NoExecute"}, {Key: edgeTaint.Key, Value: "true", Effect: "NoSchedule"}},
			map[taintKey]bool{k(edgeTaint.Key, "NoSchedule"): true}, true},
		{"owned and unchanged", []corev1.Taint{{Key: edgeTaint.Key, Value: "true", Effect: "NoSchedule"}}, []v1alpha1.Taint{edgeTaint},
			map[taintKey]bool{k(edgeTaint.Key, "NoSchedule"): true},
			[]corev1.Taint{{Key: edgeTaint.Key, Value: "true", Effect: "NoSchedule"}},
			map[taintKey]bool{k(edgeTaint.Key, "NoSchedule"): true}, false},
		{"owned, dropped from the template", []corev1.Taint{lifecycle, {Key: edgeTaint.Key, Value: "true", Effect: "NoSchedule"}}, nil,
			map[taintKey]bool{k(edgeTaint.Key, "NoSchedule"): true}, []corev1.Taint{lifecycle}, map[taintKey]bool{}, true},
		{"owned but already gone", []corev1.Taint{lifecycle}, nil, map[taintKey]bool{k("gone", "NoSchedule"): true},
			[]corev1.Taint{lifecycle}, map[taintKey]bool{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, owned, changed := mergeTaints(tc.current, tc.want, tc.owned)
			if !reflect.DeepEqual(got, tc.wantTaints) || !reflect.DeepEqual(owned, tc.wantOwned) || changed != tc.wantChanged {
				g, _ := json.Marshal(got)
				t.Errorf("got %s owned %v changed %v; want %v %v %v", g, owned, changed, tc.wantTaints, tc.wantOwned, tc.wantChanged)
			}
		})
	}
}

func TestTemplatedNodeKeys(t *testing.T) {
	n := node(map[string]string{v1alpha1.LabelEdgeCluster: "b"}, map[string]string{v1alpha1.AnnotationNodeTemplate: "a"})
	if got := TemplatedNodeKeys(n); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Errorf("keys %v", got)
	}
	n.Annotations[v1alpha1.AnnotationNodeTemplate] = "b"
	if got := TemplatedNodeKeys(n); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("keys %v", got)
	}
	if got := TemplatedNodeKeys(node(nil, nil)); len(got) != 0 {
		t.Errorf("keys %v", got)
	}
}

// A node cannot make edgeforge remove a taint it did not apply by listing it in the node's own
// annotation: only the pool's status.appliedTaints are believed.
func TestNodeCannotForgeTemplateTaints(t *testing.T) {
	quarantine := corev1.Taint{Key: "admin.example.com/quarantine", Value: "true", Effect: corev1.TaintEffectNoExecute}
	n := node(map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}, nil, quarantine)
	n.Annotations = map[string]string{
		v1alpha1.AnnotationNodeTemplate:       "site-a",
		v1alpha1.AnnotationNodeTemplateTaints: "admin.example.com/quarantine:NoExecute,edgeforge.io/edge:NoSchedule",
	}
	for _, pool := range []string{"site-a", ""} { // a member, and a node leaving the pool
		p := PlanNodeTemplate(pool, &v1alpha1.NodeTemplate{}, n, poolApplied)
		if p.Taints != nil && !slices.ContainsFunc(p.Taints, func(t corev1.Taint) bool { return t.Key == quarantine.Key }) {
			t.Errorf("pool %q: the admin's quarantine taint is removed: %+v", pool, p.Taints)
		}
	}
	// Had the pool applied it, it would go: the guard is the pool's record, not the node's.
	p := PlanNodeTemplate("site-a", &v1alpha1.NodeTemplate{}, n, append(poolApplied, "admin.example.com/quarantine:NoExecute"))
	if p.Taints == nil || slices.ContainsFunc(p.Taints, func(t corev1.Taint) bool { return t.Key == quarantine.Key }) {
		t.Errorf("a taint the pool applied is not removed: %+v", p.Taints)
	}
}

func TestAppliedTaints(t *testing.T) {
	tmpl := &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{edgeTaint}}
	old := []string{"edgeforge.io/edge:NoSchedule", "gone:NoSchedule", "stale:NoExecute"}
	still := node(nil, nil)
	still.Annotations = map[string]string{v1alpha1.AnnotationNodeTemplateTaints: "stale:NoExecute,forged:NoSchedule"}
	got := AppliedTaints(tmpl, old, []corev1.Node{*still})
	if want := []string{"edgeforge.io/edge:NoSchedule", "stale:NoExecute"}; !slices.Equal(got, want) {
		t.Fatalf("AppliedTaints = %v, want %v (the template's, and an old one a node still records; never a forged one)", got, want)
	}
}
