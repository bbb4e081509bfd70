package imagebuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// A build on a pool of mixed architectures is pinned to the architecture most of its Ready
// nodes have, and status.platform records the platform of the node the build ran on.
func TestMixedPoolBuildIsPinnedAndRecordsItsPlatform(t *testing.T) {
	ns := namespace(t)
	pool := uniquePool()
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool}}
	create(t, ec)
	// What the EdgeCluster controller reports: two Ready arm64 members, one amd64.
	ec.Status.Nodes = []v1alpha1.EdgeNodeStatus{
		{Name: pool + "-a1", Ready: true, Arch: "arm64", OS: "linux"},
		{Name: pool + "-a2", Ready: true, Arch: "arm64", OS: "linux"},
		{Name: pool + "-x1", Ready: true, Arch: "amd64", OS: "linux"},
	}
	if err := k8s.Status().Update(ctxT(t), ec); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: pool + "-a1", Labels: map[string]string{
		corev1.LabelOSStable: "linux", corev1.LabelArchStable: "arm64", v1alpha1.LabelEdgeCluster: pool, v1alpha1.LabelEdgeClusterMember: pool}}}
	create(t, node)
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), node) })

	ib := inlineBuild(ns, "web")
	ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}
	create(t, ib)
	job := waitForJob(t, ns, "web-1")
	sel := job.Spec.Template.Spec.NodeSelector
	if sel[corev1.LabelArchStable] != "arm64" || sel[corev1.LabelOSStable] != "linux" || sel[v1alpha1.LabelEdgeClusterMember] != pool {
		t.Fatalf("build pod nodeSelector = %v, want the pool pinned to linux/arm64", sel)
	}
	if job.Annotations[imagebuild.AnnotationPlatform] != "linux/arm64" {
		t.Errorf("Job annotations = %v", job.Annotations)
	}

	// The build pod ran on the arm64 node and pushed.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1-ok", Labels: job.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = node.Name
	create(t, pod)
	pod.Status = terminatedPod(corev1.PodSucceeded, 0, "Completed", digest)
	if err := k8s.Status().Update(ctxT(t), pod); err != nil {
		t.Fatal(err)
	}
	finishJob(t, job, true)
	got := waitForStatus(t, ns, "web", "phase Succeeded", phase(v1alpha1.BuildPhaseSucceeded))
	if got.Status.Platform != "linux/arm64" || got.Status.LastBuild == nil || got.Status.LastBuild.Node != node.Name {
		t.Fatalf("status.platform %q, lastBuild %+v; want linux/arm64 on %s", got.Status.Platform, got.Status.LastBuild, node.Name)
	}
}
