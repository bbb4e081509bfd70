package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// checkSampleDetails asserts what `make demo` promises beyond Ready, on the samples that
// TestSamplesBecomeReady brought up in namespace ns.
func checkSampleDetails(t *testing.T, ns string) {
	ctx := t.Context()
	latest := regexp.MustCompile(`^registry\.example\.com/team/web@sha256:[a-f0-9]{64}$`)

	t.Run("ImageBuild pushed a digest", func(t *testing.T) {
		ib := &v1alpha1.ImageBuild{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ib); err != nil {
			t.Fatal(err)
		}
		if ib.Status.Phase != v1alpha1.BuildPhaseSucceeded || !latest.MatchString(ib.Status.LatestImage) {
			t.Fatalf("phase %s, latestImage %q; want Succeeded and repo@sha256:…", ib.Status.Phase, ib.Status.LatestImage)
		}
		if !strings.HasSuffix(ib.Status.LatestImage, "@"+ib.Status.Digest) {
			t.Errorf("latestImage %q does not end in digest %q", ib.Status.LatestImage, ib.Status.Digest)
		}
		// The build ran on the pool it was asked to run on.
		pods := &corev1.PodList{}
		if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.HasLabels{v1alpha1.LabelBuild}); err != nil || len(pods.Items) == 0 {
			t.Fatalf("no build pods (%v)", err)
		}
		assertOnPool(t, pods.Items[0].Spec.NodeName)
	})

	t.Run("the git sample builds too", func(t *testing.T) {
		applyYAMLFileIn(t, filepath.Join(repoRoot, "config", "samples", "edgeforge_v1alpha1_imagebuild_git.yaml"), ns)
		ib := &v1alpha1.ImageBuild{}
		waitFor(t, 2*time.Minute, "ImageBuild api to succeed", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "api"}, ib); err != nil {
				return false, nil
			}
			return ib.Status.Phase == v1alpha1.BuildPhaseSucceeded, nil
		})
		if !regexp.MustCompile(`^registry\.example\.com/team/api@sha256:[a-f0-9]{64}$`).MatchString(ib.Status.LatestImage) {
			t.Errorf("latestImage %q", ib.Status.LatestImage)
		}
		// The executor got the repository as its git context, at the asked revision and directory.
		pods := &corev1.PodList{}
		if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelImageBuild: "api"}); err != nil || len(pods.Items) == 0 {
			t.Fatalf("no build pod for api (%v)", err)
		}
		args := strings.Join(pods.Items[0].Spec.Containers[0].Args, " ")
		for _, want := range []string{"git.example.com/team/api.git", "main", "app", "--destination=registry.example.com/team/api:1.0"} {
			if !strings.Contains(args, want) {
				t.Errorf("executor args lack %q: %s", want, args)
			}
		}
		// Deleting the ImageBuild removes its build Jobs (garbage collection of owned children).
		if err := k8sClient.Delete(ctx, ib); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "the build Jobs of api to be deleted with it", func(ctx context.Context) (bool, error) {
			jobs := &batchv1.JobList{}
			if err := k8sClient.List(ctx, jobs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelImageBuild: "api"}); err != nil {
				return false, err
			}
			return len(jobs.Items) == 0, nil
		})
	})

	t.Run("AppDeployment runs the built digest on the edge pool", func(t *testing.T) {
		ib := &v1alpha1.ImageBuild{}
		app := &v1alpha1.AppDeployment{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ib); err != nil {
			t.Fatal(err)
		}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, app); err != nil {
			t.Fatal(err)
		}
		if app.Status.Image != ib.Status.LatestImage || app.Status.Ready != "2/2" || app.Status.URL == "" {
			t.Fatalf("status image %q ready %q url %q; want %q, 2/2 and a URL", app.Status.Image, app.Status.Ready, app.Status.URL, ib.Status.LatestImage)
		}
		pods := runningPods(t, ns, "app.kubernetes.io/instance", "web")
		if len(pods) != 2 {
			t.Fatalf("%d running pods of web, want 2", len(pods))
		}
		for _, p := range pods {
			assertOnPool(t, p.Spec.NodeName)
			if img := p.Spec.Containers[0].Image; img != ib.Status.LatestImage {
				t.Errorf("pod %s runs %s, want %s", p.Name, img, ib.Status.LatestImage)
			}
		}
	})

	t.Run("MonitoringStack rolled out Prometheus and Grafana, for its namespace only", func(t *testing.T) {
		mon := &v1alpha1.MonitoringStack{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "main"}, mon); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("http://prometheus-main.%s.svc:9090", ns)
		if mon.Status.Prometheus == nil || mon.Status.Prometheus.URL != want || mon.Status.Grafana == nil || !mon.Status.Grafana.Ready {
			t.Fatalf("status %+v / %+v; want Prometheus at %s and Grafana ready", mon.Status.Prometheus, mon.Status.Grafana, want)
		}
		// The sample is a tenant's stack (scope Namespace): discovery through a Role in its
		// namespace, no cluster-wide exporter.
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "prometheus-main"}, &rbacv1.Role{}); err != nil {
			t.Fatalf("no Role for the sample's Prometheus: %v", err)
		}
		ds := &appsv1.DaemonSetList{}
		if err := k8sClient.List(ctx, ds, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelMonitoringStack: "main"}); err != nil || len(ds.Items) != 0 {
			t.Fatalf("a Namespace-scoped stack runs %d DaemonSets (%v)", len(ds.Items), err)
		}
	})

	t.Run("a new build rolls out by itself", func(t *testing.T) {
		ib := &v1alpha1.ImageBuild{}
		key := client.ObjectKey{Namespace: ns, Name: "web"}
		if err := k8sClient.Get(ctx, key, ib); err != nil {
			t.Fatal(err)
		}
		before := ib.Status.LatestImage
		patch := client.MergeFrom(ib.DeepCopy())
		ib.Annotations = map[string]string{v1alpha1.AnnotationRebuild: time.Now().Format(time.RFC3339Nano)}
		if err := k8sClient.Patch(ctx, ib, patch); err != nil {
			t.Fatal(err)
		}
		var after string
		waitFor(t, 2*time.Minute, "a new digest rolled out to AppDeployment web", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, key, ib); err != nil {
				return false, nil
			}
			after = ib.Status.LatestImage
			app := &v1alpha1.AppDeployment{}
			if after == before || k8sClient.Get(ctx, key, app) != nil {
				return false, nil
			}
			return app.Status.Image == after && app.Status.Ready == "2/2" && app.Status.ObservedGeneration == app.Generation, nil
		})
		waitFor(t, time.Minute, "the pods to run the new digest", func(ctx context.Context) (bool, error) {
			pods := runningPods(t, ns, "app.kubernetes.io/instance", "web")
			for _, p := range pods {
				if p.Spec.Containers[0].Image != after {
					return false, nil
				}
			}
			return len(pods) == 2, nil
		})
	})

	t.Run("a failed build says why and keeps the app running", func(t *testing.T) {
		key := client.ObjectKey{Namespace: ns, Name: "web"}
		ib := &v1alpha1.ImageBuild{}
		if err := k8sClient.Get(ctx, key, ib); err != nil {
			t.Fatal(err)
		}
		running := ib.Status.LatestImage
		patch := client.MergeFrom(ib.DeepCopy())
		// kwok fails build pods given this build argument (a new spec, so a new build)
		ib.Spec.BuildArgs = append(ib.Spec.BuildArgs, v1alpha1.BuildArg{Name: simulateBuildArg, Value: "fail"})
		if err := k8sClient.Patch(ctx, ib, patch); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the build to fail", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, key, ib); err != nil {
				return false, nil
			}
			return ib.Status.Phase == v1alpha1.BuildPhaseFailed, nil
		})
		if ib.Status.LastBuild == nil || !strings.Contains(ib.Status.LastBuild.Message, "simulated failure") {
			t.Errorf("lastBuild %+v does not carry the executor's message", ib.Status.LastBuild)
		}
		app := &v1alpha1.AppDeployment{}
		if err := k8sClient.Get(ctx, key, app); err != nil {
			t.Fatal(err)
		}
		if app.Status.Image != running {
			t.Errorf("app runs %q after a failed build, want the last good %q", app.Status.Image, running)
		}
	})
}

func runningPods(t *testing.T, ns, label, value string) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := k8sClient.List(t.Context(), pods, client.InNamespace(ns), client.MatchingLabels{label: value}); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func assertOnPool(t *testing.T, nodeName string) {
	t.Helper()
	node := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: nodeName}, node); err != nil {
		t.Fatalf("node %q: %v", nodeName, err)
	}
	if node.Labels[edgePoolLabel] != edgePool {
		t.Errorf("pod on node %s, which is not in pool %s", nodeName, edgePool)
	}
}
