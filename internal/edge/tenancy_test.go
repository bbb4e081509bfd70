package edge

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestNamespaceAllowed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		selector *metav1.LabelSelector
		labels   map[string]string
		want     bool
	}{
		{"unset: every namespace", nil, nil, true},
		{"matching label", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, map[string]string{"team": "a"}, true},
		{"another team", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, map[string]string{"team": "b"}, false},
		{"no labels", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, nil, false},
		{"by name", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"shop", "lab"}}}},
			map[string]string{"kubernetes.io/metadata.name": "lab"}, true},
		{"empty selector: every namespace", &metav1.LabelSelector{}, nil, true},
		{"invalid: none", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := NamespaceAllowed(pool(func(ec *v1alpha1.EdgeCluster) { ec.Spec.AllowedNamespaces = tc.selector }), "shop", tc.labels)
			if ok != tc.want {
				t.Fatalf("allowed = %v, want %v (%s)", ok, tc.want, why)
			}
			if !ok && !strings.Contains(why, "site-a") {
				t.Errorf("the reason does not name the pool: %s", why)
			}
		})
	}
}
