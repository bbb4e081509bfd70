package imagebuild

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// PlatformNodeSelector is the node selector of a platform "os/arch[/variant]": kubernetes.io/os
// and kubernetes.io/arch (nodes carry no variant label); nil for "".
func PlatformNodeSelector(platform string) map[string]string {
	if platform == "" {
		return nil
	}
	parts := strings.SplitN(platform, "/", 3)
	sel := map[string]string{corev1.LabelOSStable: parts[0]}
	if len(parts) > 1 {
		sel[corev1.LabelArchStable] = parts[1]
	}
	return sel
}

// BuildPlatform is the platform a build is pinned to: spec.runOn.platform; else, on an edge pool,
// the architecture most of the pool's Ready nodes have (ties: by name), so a build on a mixed
// pool never lands on an architecture by chance; else "" (not pinned: the node decides).
func BuildPlatform(ib *v1alpha1.ImageBuild, pool *v1alpha1.EdgeCluster) string {
	on := ib.Spec.RunOn
	switch {
	case on == nil:
		return ""
	case on.Platform != "":
		return on.Platform
	case on.EdgeClusterRef == nil || pool == nil:
		return ""
	}
	count := map[string]int{}
	for _, p := range pool.Status.Platforms {
		count[p.Platform] = int(p.ReadyNodes)
	}
	if len(pool.Status.Platforms) == 0 { // written before status.platforms existed
		for _, n := range pool.Status.Nodes {
			if n.Ready && n.Arch != "" {
				count[cmp.Or(n.OS, "linux")+"/"+n.Arch]++
			}
		}
	}
	var best string
	for _, p := range slices.Sorted(maps.Keys(count)) {
		if count[p] > count[best] {
			best = p
		}
	}
	return best
}

// NodePlatform is where a build ran: the node's kubernetes.io/os (default linux) and
// kubernetes.io/arch labels; "" without the node or its arch label. (A build pinned to a
// platform records the pin instead, variant included: its node is not read.)
func NodePlatform(node *corev1.Node) string {
	if node == nil || node.Labels[corev1.LabelArchStable] == "" {
		return ""
	}
	return cmp.Or(node.Labels[corev1.LabelOSStable], "linux") + "/" + node.Labels[corev1.LabelArchStable]
}

// IndexNodeRequirement is where the images of an image index (status.platforms) can run: their
// operating system (kubernetes.io/os; every platform edgeforge builds is linux) and their
// architectures (kubernetes.io/arch values, sorted, without duplicates: arm/v6 and arm/v7 are
// both arm). Empty for no platforms.
func IndexNodeRequirement(platforms []v1alpha1.PlatformImage) (os string, archs []string) {
	for _, p := range platforms {
		sel := PlatformNodeSelector(p.Platform)
		os = cmp.Or(os, sel[corev1.LabelOSStable])
		if a := sel[corev1.LabelArchStable]; a != "" && !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	slices.Sort(archs)
	return os, archs
}
