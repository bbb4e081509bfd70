package imagebuild

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestBuildPlatform(t *testing.T) {
	onPool := func(platform string) *v1alpha1.ImageBuild {
		return imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}, Platform: platform}
		})
	}
	tie := edgeCluster()
	tie.Status.Nodes = []v1alpha1.EdgeNodeStatus{{Name: "a", Ready: true, Arch: "arm64"}, {Name: "b", Ready: true, Arch: "amd64"}}
	// A large pool lists only its NotReady nodes; status.platforms counts them all.
	large := edgeCluster()
	large.Status.Nodes = []v1alpha1.EdgeNodeStatus{{Name: "down-1", Arch: "amd64"}, {Name: "down-2", Arch: "amd64"}}
	large.Status.NodesOmitted = 4998
	large.Status.Platforms = []v1alpha1.PlatformCount{{Platform: "linux/amd64", Nodes: 1000, ReadyNodes: 998}, {Platform: "linux/arm64", Nodes: 4000, ReadyNodes: 4000}}
	for _, tc := range []struct {
		name string
		ib   *v1alpha1.ImageBuild
		pool *v1alpha1.EdgeCluster
		want string
	}{
		{"no runOn: the node decides", imageBuild(nil), nil, ""},
		{"spec.runOn.platform", onPool("linux/arm/v7"), mixedPool(), "linux/arm/v7"},
		{"mixed pool: most Ready nodes", onPool(""), mixedPool(), "linux/arm64"},
		{"a tie: by name", onPool(""), tie, "linux/amd64"},
		{"a large pool: status.platforms", onPool(""), large, "linux/arm64"},
		{"pool without nodes", onPool(""), edgeCluster(), ""},
		{"pool not found", onPool(""), nil, ""},
		{"platform without a pool", imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.RunOn = &v1alpha1.BuildPlacement{Platform: "linux/amd64"}
		}), nil, "linux/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BuildPlatform(tc.ib, tc.pool); got != tc.want {
				t.Fatalf("BuildPlatform = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlatformNodeSelector(t *testing.T) {
	for p, want := range map[string]map[string]string{
		"":             nil,
		"linux/amd64":  {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
		"linux/arm/v7": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm"},
	} {
		if got := PlatformNodeSelector(p); !reflect.DeepEqual(got, want) {
			t.Errorf("PlatformNodeSelector(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestNodePlatform(t *testing.T) {
	node := func(arch string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": arch}}}
	}
	for _, tc := range []struct {
		name string
		node *corev1.Node
		want string
	}{
		{"the node's labels", node("arm64"), "linux/arm64"},
		{"an arm node", node("arm"), "linux/arm"},
		{"node gone", nil, ""},
		{"no arch label", &corev1.Node{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NodePlatform(tc.node); got != tc.want {
				t.Fatalf("NodePlatform = %q, want %q", got, tc.want)
			}
		})
	}
}
