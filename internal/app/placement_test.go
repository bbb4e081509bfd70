package app

import (
	"maps"
	"slices"
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
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"}},
		{"pool narrowed by the selector", &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"},
			NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"}}, pool,
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", "kubernetes.io/arch": "arm64"}},
		{"the pool label wins over a contradicting selector", &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"},
			NodeSelector: map[string]string{v1alpha1.LabelEdgeClusterMember: "site-b"}}, pool,
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"}},
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

// An app following an ImageBuild runs on the platform its image was built for.
func TestPlacementFollowsTheBuildPlatform(t *testing.T) {
	pool := &v1alpha1.EdgeCluster{}
	pool.Name = "site-a"
	built := &v1alpha1.ImageBuild{Status: v1alpha1.ImageBuildStatus{LatestImage: "reg/web@sha256:1", Platform: "linux/arm64"}}
	onPool := &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}}
	for _, tc := range []struct {
		name  string
		image string
		build *v1alpha1.ImageBuild
		pl    *v1alpha1.Placement
		want  map[string]string
	}{
		{"pinned to the build's platform", "reg/web@sha256:1", built, onPool,
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", "kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}},
		{"the platform wins over a contradicting selector", "reg/web@sha256:1", built,
			&v1alpha1.Placement{NodeSelector: map[string]string{"kubernetes.io/arch": "amd64"}},
			map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}},
		{"an older image (rolled back) is not pinned to the latest build's platform", "reg/web@sha256:0", built, onPool,
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"}},
		{"platform unknown", "reg/web@sha256:1", &v1alpha1.ImageBuild{Status: v1alpha1.ImageBuildStatus{LatestImage: "reg/web@sha256:1"}}, onPool,
			map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1alpha1.AppDeployment{Spec: v1alpha1.AppDeploymentSpec{
				ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}}, Placement: tc.pl}}
			var p *v1alpha1.EdgeCluster
			if tc.pl != nil && tc.pl.EdgeClusterRef != nil {
				p = pool
			}
			got := DesiredDeployment(a, tc.image, p, tc.build).Spec.Template.Spec.NodeSelector
			if !maps.Equal(got, tc.want) {
				t.Errorf("nodeSelector = %v, want %v", got, tc.want)
			}
		})
	}
}

// An app following a multi-platform build (an image index) runs on a node of any of its
// architectures: a required node affinity on kubernetes.io/arch, the os in the selector.
func TestPlacementFollowsTheIndexPlatforms(t *testing.T) {
	pool := &v1alpha1.EdgeCluster{}
	pool.Name = "site-a"
	built := &v1alpha1.ImageBuild{Status: v1alpha1.ImageBuildStatus{LatestImage: "reg/web@sha256:1",
		Platforms: []v1alpha1.PlatformImage{{Platform: "linux/arm64", Digest: "sha256:a"}, {Platform: "linux/amd64", Digest: "sha256:b"}}}}
	a := &v1alpha1.AppDeployment{Spec: v1alpha1.AppDeploymentSpec{
		ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}},
		Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}}}}
	spec := DesiredDeployment(a, "reg/web@sha256:1", pool, built).Spec.Template.Spec
	if want := map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", "kubernetes.io/os": "linux"}; !maps.Equal(spec.NodeSelector, want) {
		t.Errorf("nodeSelector = %v, want %v", spec.NodeSelector, want)
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("affinity = %+v, want a required node affinity", spec.Affinity)
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 {
		t.Fatalf("terms = %+v", terms)
	}
	e := terms[0].MatchExpressions[0]
	if *e.Key != "kubernetes.io/arch" || *e.Operator != "In" || !slices.Equal(e.Values, []string{"amd64", "arm64"}) {
		t.Errorf("requirement = %+v, want kubernetes.io/arch In [amd64 arm64]", e)
	}
	// An older image (rolled back to) is not bound to the index's platforms.
	if spec := DesiredDeployment(a, "reg/web@sha256:0", pool, built).Spec.Template.Spec; spec.Affinity != nil {
		t.Errorf("a rolled-back image got affinity %+v", spec.Affinity)
	}
}
