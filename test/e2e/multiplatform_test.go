package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A multi-platform ImageBuild on the kwok pool of two architectures: each platform's build runs
// on a node of its architecture, the index Job runs after both, latestImage is the index and
// status.platforms each platform's build; an AppDeployment following it runs on nodes of both
// architectures.
func TestMultiPlatformBuildOnTwoArchitectures(t *testing.T) {
	ns := createNamespace(t, "e2e-multi")
	ctx := t.Context()
	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.ImageBuildSpec{
			Source:    v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM busybox\n"}},
			Output:    v1alpha1.BuildOutput{Image: "registry.example.com/" + ns + "/web:1.0"},
			RunOn:     &v1alpha1.BuildPlacement{NodeSelector: map[string]string{edgePoolLabel: edgePool}},
			Platforms: []string{"linux/amd64", "linux/arm64"},
		},
	}
	if err := k8sClient.Create(ctx, ib); err != nil {
		t.Fatal(err)
	}
	ib = waitForBuild(t, ns, "web", 1)
	if !strings.HasPrefix(ib.Status.LatestImage, "registry.example.com/"+ns+"/web@sha256:") || !strings.HasSuffix(ib.Status.LatestImage, ib.Status.Digest) {
		t.Errorf("latestImage %q, digest %q", ib.Status.LatestImage, ib.Status.Digest)
	}
	if len(ib.Status.Platforms) != 2 {
		t.Fatalf("status.platforms = %+v, want two", ib.Status.Platforms)
	}
	for _, p := range ib.Status.Platforms {
		node := &corev1.Node{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: p.Node}, node); err != nil {
			t.Fatalf("platform %s built on node %q: %v", p.Platform, p.Node, err)
		}
		if arch := node.Labels[corev1.LabelArchStable]; "linux/"+arch != p.Platform || !digestPattern.MatchString(p.Digest) || p.Digest == ib.Status.Digest {
			t.Errorf("platform %s: built on %s (arch %s), digest %s (index %s)", p.Platform, p.Node, arch, p.Digest, ib.Status.Digest)
		}
	}
	// The index pod is the build's own (web-1) and listed both platform images.
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelBuild: "web-1"}); err != nil || len(pods.Items) != 1 {
		t.Fatalf("index pods: %v (%v)", pods.Items, err)
	}
	args := pods.Items[0].Spec.Containers[0].Args
	for _, p := range ib.Status.Platforms {
		if want := "--manifest=" + p.Platform + "=registry.example.com/" + ns + "/web@" + p.Digest; !slices.Contains(args, want) {
			t.Errorf("index args %v lack %s", args, want)
		}
	}

	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.AppDeploymentSpec{
			ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}},
			Replicas:  ptr.To[int32](4),
			Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Placement: &v1alpha1.Placement{SpreadAcrossNodes: true},
		},
	}
	if err := k8sClient.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{}
	waitFor(t, 2*time.Minute, "4 pods of the index available", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(app), d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == 4 && d.Status.AvailableReplicas == 4, nil
	})
	archs := map[string]bool{}
	for _, p := range runningPods(t, ns, "app.kubernetes.io/instance", "web") {
		node := &corev1.Node{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: p.Spec.NodeName}, node); err != nil {
			t.Fatal(err)
		}
		archs[node.Labels[corev1.LabelArchStable]] = true
		if p.Spec.Containers[0].Image != ib.Status.LatestImage {
			t.Errorf("pod %s runs %s, want the index %s", p.Name, p.Spec.Containers[0].Image, ib.Status.LatestImage)
		}
	}
	if !archs["amd64"] || !archs["arm64"] || len(archs) != 2 {
		t.Errorf("the app's pods run on archs %v, want both amd64 and arm64 (affinity %+v)", archs, d.Spec.Template.Spec.Affinity)
	}
}
