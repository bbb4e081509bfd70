package app

import (
	"maps"
	"testing"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestPlacementNodeSelector(t *testing.T) {
	pool := &v1alpha1.EdgeCluster{}
	pool.Name = "site-a"
	for _, tc := range []struct {
		name      string
		placement *v1alpha1.Placement
		pool      *v1alpha1.EdgeCluster
		want      map[string]string
	}{
		{"none", nil, nil, nil},
		{"selector only", &v1alpha1.Placement{NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"}}, nil,
			map[string]string{"kubernetes.io/arch": "arm64"}},
		{"pool only", &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}}, pool,
			map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}},
		{"pool narrowed by the selector", &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"},
			NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"}}, pool,
			map[string]string{v1alpha1.LabelEdgeCluster: "site-a", "kubernetes.io/arch": "arm64"}},
		{"the pool label wins over a contradicting selector", &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"},
			NodeSelector: map[string]string{v1alpha1.LabelEdgeCluster: "site-b"}}, pool,
			map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1alpha1.AppDeployment{Spec: v1alpha1.AppDeploymentSpec{Image: "web", Placement: tc.placement}}
			got := DesiredDeployment(a, "web", tc.pool, nil).Spec.Template.Spec.NodeSelector
			if !maps.Equal(got, tc.want) {
				t.Errorf("nodeSelector = %v, want %v", got, tc.want)
			}
		})
	}
}
