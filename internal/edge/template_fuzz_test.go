package edge

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

var fuzzEffects = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}

// fuzzTaints reads "key[=value]" items separated by ','; the effect is chosen by the key's length.
func fuzzTaints(s string) []corev1.Taint {
	var out []corev1.Taint
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: fuzzEffects[len(k)%len(fuzzEffects)]})
	}
	return out
}

// Whatever the node writes in its taints record (the annotation), the template merge removes
// only taints the pool applied, and the pool's template taints end up on the node.
func FuzzPlanNodeTemplateTaints(f *testing.F) {
	f.Add("quarantine=yes,edge=true", "quarantine:NoExecute", "edge=true", "edge:NoSchedule")
	f.Add("a,b,c", "a:NoSchedule,b:NoExecute,,garbage", "", "")
	f.Add("", "", "x=1,x=2", "x:PreferNoSchedule")
	f.Fuzz(func(t *testing.T, nodeTaints, record, tmplTaints, applied string) {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-1",
			Labels:      map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"},
			Annotations: map[string]string{v1alpha1.AnnotationNodeTemplateTaints: record}},
			Spec: corev1.NodeSpec{Taints: fuzzTaints(nodeTaints)}}
		tmpl := &v1alpha1.NodeTemplate{}
		for _, tt := range fuzzTaints(tmplTaints) {
			tmpl.Taints = append(tmpl.Taints, v1alpha1.Taint{Key: tt.Key, Value: tt.Value, Effect: tt.Effect})
		}
		var appliedKeys []string
		for _, a := range strings.Split(applied, ",") {
			if a != "" {
				appliedKeys = append(appliedKeys, a)
			}
		}
		plan := PlanNodeTemplate("site-a", tmpl, node, appliedKeys)
		after := node.Spec.Taints
		if plan.Taints != nil {
			after = plan.Taints
		}
		has := func(key string, effect corev1.TaintEffect) bool {
			for _, x := range after {
				if x.Key == key && x.Effect == effect {
					return true
				}
			}
			return false
		}
		for _, nt := range node.Spec.Taints {
			inTemplate := false
			for _, tt := range tmpl.Taints {
				inTemplate = inTemplate || (tt.Key == nt.Key && tt.Effect == nt.Effect)
			}
			wasApplied := false
			for _, a := range appliedKeys {
				wasApplied = wasApplied || a == nt.Key+":"+string(nt.Effect)
			}
			if !inTemplate && !wasApplied && !has(nt.Key, nt.Effect) {
				t.Fatalf("taint %s:%s, which the pool never applied, was removed (record %q, applied %q)", nt.Key, nt.Effect, record, applied)
			}
		}
		for _, tt := range tmpl.Taints {
			if !has(tt.Key, tt.Effect) {
				t.Fatalf("the template's taint %s:%s is not on the node after the plan: %v", tt.Key, tt.Effect, after)
			}
		}
	})
}
