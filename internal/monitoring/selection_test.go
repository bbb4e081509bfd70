package monitoring

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// The stack's own ServiceMonitors satisfy whatever serviceMonitorSelector asks (it adds to them,
// never replaces them), or the spec is refused with a message naming the field.
func TestOwnMonitorLabels(t *testing.T) {
	expr := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	for _, tc := range []struct {
		name    string
		sel     *metav1.LabelSelector
		wantErr string
	}{
		{"absent", nil, ""},
		{"empty", &metav1.LabelSelector{}, ""},
		{"matchLabels", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, ""},
		{"In", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", metav1.LabelSelectorOpIn, "edge", "core")}}, ""},
		{"Exists", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("scraped", metav1.LabelSelectorOpExists)}}, ""},
		{"NotIn on another key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", metav1.LabelSelectorOpNotIn, "x")}}, ""},
		{"DoesNotExist on another key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("skip", metav1.LabelSelectorOpDoesNotExist)}}, ""},
		{"an edgeforge label with another value", &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelManagedBy: "helm"}},
			"requires app.kubernetes.io/managed-by =helm"},
		{"In without edgeforge's value", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(v1alpha1.LabelName, metav1.LabelSelectorOpIn, "web")}},
			"app.kubernetes.io/name in (web)"},
		{"NotIn edgeforge's value", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(v1alpha1.LabelManagedBy, metav1.LabelSelectorOpNotIn, "edgeforge")}},
			"not in (edgeforge)"},
		{"DoesNotExist on an edgeforge label", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(v1alpha1.LabelMonitoringStack, metav1.LabelSelectorOpDoesNotExist)}},
			"to be absent"},
		{"contradiction", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			expr("tier", metav1.LabelSelectorOpIn, "edge"), expr("tier", metav1.LabelSelectorOpNotIn, "edge")}}, "tier not in (edge)"},
		{"invalid", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", "Near", "x")}}, "not a valid label selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stack(func(s *v1alpha1.MonitoringStackSpec) {
				s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: tc.sel}
			})
			for _, component := range []string{ComponentPrometheus, ComponentNodeExporter, ComponentKubeStateMetrics} {
				l, err := OwnMonitorLabels(s, component)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "spec.prometheus.serviceMonitorSelector") {
						t.Fatalf("err = %v, want one naming the field and containing %q", err, tc.wantErr)
					}
					if SpecProblem(s) == "" {
						t.Fatal("SpecProblem does not refuse the stack")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				sel, _ := metav1.LabelSelectorAsSelector(MonitorSelector(s))
				if !sel.Matches(labels.Set(l)) {
					t.Fatalf("the selector %s does not pick the %s monitor (labels %v)", sel, component, l)
				}
				for k, v := range Labels(s, component) {
					if l[k] != v {
						t.Fatalf("label %s = %q, want edgeforge's %q", k, l[k], v)
					}
				}
			}
		})
	}
}

func TestScope(t *testing.T) {
	ns := stack(func(s *v1alpha1.MonitoringStackSpec) { s.Scope = "" })
	if ClusterScoped(ns) || Effective(ns.Spec).NodeExporter.Enabled || Effective(ns.Spec).KubeStateMetrics.Enabled {
		t.Fatal("the default scope must be Namespace, without cluster-wide exporters")
	}
	if sel := monitorNamespaceSelector(ns); sel != nil {
		t.Fatalf("a Namespace-scoped Prometheus looks in other namespaces: %v", sel)
	}
	ns.Spec.NodeExporter = &v1alpha1.Toggle{Enabled: true}
	if why := SpecProblem(ns); !strings.Contains(why, "spec.nodeExporter.enabled needs spec.scope: Cluster") {
		t.Fatalf("SpecProblem = %q", why)
	}
	cl := stack(nil)
	if !Effective(cl.Spec).NodeExporter.Enabled || !Effective(cl.Spec).KubeStateMetrics.Enabled || SpecProblem(cl) != "" {
		t.Fatal("a Cluster-scoped stack runs both exporters by default")
	}
	if sel := monitorNamespaceSelector(cl); sel == nil || len(sel.MatchLabels)+len(sel.MatchExpressions) != 0 {
		t.Fatalf("a Cluster-scoped Prometheus must look in every namespace: %v", sel)
	}
	if ok, _ := ScopeAllowed(cl, []string{"monitoring"}); !ok {
		t.Fatal("Cluster scope refused in a listed namespace")
	}
	if ok, why := ScopeAllowed(cl, []string{"edgeforge-system"}); ok || !strings.Contains(why, "--cluster-monitoring-namespaces") {
		t.Fatalf("Cluster scope allowed outside the listed namespaces (%q)", why)
	}
	if ok, _ := ScopeAllowed(ns, nil); !ok {
		t.Fatal("Namespace scope is allowed everywhere")
	}
}
