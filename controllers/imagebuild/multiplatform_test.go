package imagebuild

import (
	"errors"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

const (
	digestAMD   = "sha256:aaaa5e8d4b2a19f7c6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a291807"
	digestARM   = "sha256:bbbb5e8d4b2a19f7c6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a291807"
	digestIndex = "sha256:cccc5e8d4b2a19f7c6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a291807"
)

func multiPlatform(ns string) *v1alpha1.ImageBuild {
	ib := inlineBuild(ns, "web")
	ib.Spec.Platforms = []string{"linux/amd64", "linux/arm64"}
	ib.Spec.Output.PushSecretRef = &v1alpha1.LocalObjectReference{Name: "push"}
	return ib
}

// indexPodStatus is what the kubelet reports for the index tool's container.
func indexPodStatus(phase corev1.PodPhase, exit int32, msg string) corev1.PodStatus {
	st := terminatedPod(phase, exit, "Completed", msg)
	st.ContainerStatuses[0].Name = "index"
	return st
}

// spec.platforms: one Kaniko Job per platform, pinned to its architecture and pushing to
// <tag>-<arch>; the index Job only once both pushed; then latestImage is the index and
// status.platforms each platform's image.
func TestMultiPlatformBuildPushesAnIndex(t *testing.T) {
	ns := namespace(t)
	create(t, dockerConfigSecret(ns, "push"))
	create(t, multiPlatform(ns))

	amd, arm := waitForJob(t, ns, "web-1-amd64"), waitForJob(t, ns, "web-1-arm64")
	for _, tc := range []struct {
		job  *batchv1.Job
		arch string
	}{{amd, "amd64"}, {arm, "arm64"}} {
		spec := tc.job.Spec.Template.Spec
		if spec.NodeSelector[corev1.LabelArchStable] != tc.arch {
			t.Errorf("%s nodeSelector %v, want kubernetes.io/arch=%s", tc.job.Name, spec.NodeSelector, tc.arch)
		}
		if want := "--destination=registry.example.com/team/web:1.0-" + tc.arch; !slices.Contains(spec.Containers[0].Args, want) {
			t.Errorf("%s args %v, want %s", tc.job.Name, spec.Containers[0].Args, want)
		}
	}
	got := waitForStatus(t, ns, "web", "the build's platforms recorded", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.CurrentBuild != nil && len(ib.Status.CurrentBuild.Platforms) == 2
	})
	if cur := got.Status.CurrentBuild; cur.Name != "web-1" || cur.Platforms[0].Job != "web-1-amd64" || cur.Platforms[1].Job != "web-1-arm64" {
		t.Errorf("currentBuild = %+v", cur)
	}

	// One platform pushed: no index yet.
	succeed(t, amd, digestAMD)
	waitForStatus(t, ns, "web", "amd64's digest recorded", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.CurrentBuild != nil && ib.Status.CurrentBuild.Platforms[0].Digest == digestAMD
	})
	if err := get(t, ns, "web-1", &batchv1.Job{}); err == nil {
		t.Fatal("the index Job started before every platform pushed")
	}

	// Both pushed: the index Job lists both images by digest.
	succeed(t, arm, digestARM)
	index := waitForJob(t, ns, "web-1")
	c := index.Spec.Template.Spec.Containers[0]
	for _, want := range []string{
		"--destination=registry.example.com/team/web:1.0",
		"--manifest=linux/amd64=registry.example.com/team/web@" + digestAMD,
		"--manifest=linux/arm64=registry.example.com/team/web@" + digestARM,
	} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("index args %v, want %s", c.Args, want)
		}
	}
	if c.Image != testIndexImage || index.Spec.Template.Spec.Volumes[0].Secret.SecretName != "push" {
		t.Errorf("index image %s volumes %+v", c.Image, index.Spec.Template.Spec.Volumes)
	}
	waitForEvent(t, ns, "web", "IndexStarted")

	buildPod(t, index, "ok", indexPodStatus(corev1.PodSucceeded, 0, digestIndex))
	finishJob(t, index, true)
	got = waitForStatus(t, ns, "web", "phase Succeeded", phase(v1alpha1.BuildPhaseSucceeded))
	if want := "registry.example.com/team/web@" + digestIndex; got.Status.LatestImage != want || got.Status.Digest != digestIndex {
		t.Errorf("latestImage %s digest %s, want the index %s", got.Status.LatestImage, got.Status.Digest, want)
	}
	if ps := got.Status.Platforms; len(ps) != 2 || ps[0].Platform != "linux/amd64" || ps[0].Digest != digestAMD ||
		ps[1].Platform != "linux/arm64" || ps[1].Digest != digestARM || got.Status.Platform != "" {
		t.Errorf("status.platforms %+v, platform %q", ps, got.Status.Platform)
	}
	if !isTrue(got, v1alpha1.ConditionReady) {
		t.Errorf("Ready is not True: %+v", got.Status.Conditions)
	}
}

// A platform that fails ends the build, says which platform, and the other platform's Job still
// running is deleted; no index is pushed.
func TestMultiPlatformBuildFailsWithItsPlatform(t *testing.T) {
	ns := namespace(t)
	create(t, dockerConfigSecret(ns, "push"))
	create(t, multiPlatform(ns))
	waitForJob(t, ns, "web-1-amd64")
	arm := waitForJob(t, ns, "web-1-arm64")
	fail(t, arm, 1, "Error", "error building image: exec format error")

	got := waitForStatus(t, ns, "web", "phase Failed", phase(v1alpha1.BuildPhaseFailed))
	last := got.Status.LastBuild
	if last == nil || last.Name != "web-1" || !strings.Contains(last.Message, "linux/arm64 (Job web-1-arm64): ") ||
		!strings.Contains(last.Message, "exec format error") {
		t.Errorf("lastBuild = %+v, want web-1 failed naming linux/arm64 and the executor's error", last)
	}
	if c := condition(got, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "linux/arm64") {
		t.Errorf("Ready = %+v, want False naming the platform", c)
	}
	waitForNoJob(t, ns, "web-1-amd64")
	if err := get(t, ns, "web-1", &batchv1.Job{}); err == nil {
		t.Error("an index Job was created for a failed build")
	}
}

// An operator without --index-image stalls a multi-platform ImageBuild with NoIndexImage before
// it creates any Job (its own Reconciler: the suite's has an index image).
func TestMultiPlatformWithoutIndexImageStalls(t *testing.T) {
	ns := namespace(t)
	create(t, dockerConfigSecret(ns, "push"))
	ib := multiPlatform(ns)
	ib.Labels = map[string]string{ownReconcilerLabel: "no-index-image"}
	create(t, ib)
	r := &Reconciler{Client: testMgr.GetClient(), APIReader: testMgr.GetAPIReader(),
		Recorder: testMgr.GetEventRecorder("edgeforge-imagebuild-test"), ExecutorImage: testExecutor,
		Shard: labels.SelectorFromSet(ib.Labels)}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "web"}}
	waitFor(t, "Stalled NoIndexImage", func() (bool, error) {
		// A stall is a terminal error (no retry), written to the status first.
		if _, err := r.Reconcile(ctxT(t), req); err != nil && !errors.Is(err, reconcile.TerminalError(nil)) {
			return false, nil // e.g. a conflict with a stale cached copy: reconcile again
		}
		got := &v1alpha1.ImageBuild{}
		if err := get(t, ns, "web", got); err != nil {
			return false, err
		}
		c := condition(got, v1alpha1.ConditionStalled)
		return stalledWith(v1alpha1.ImageBuildReasonNoIndexImage)(got) && strings.Contains(c.Message, "--index-image"), nil
	})
	jobs := &batchv1.JobList{}
	if err := k8s.List(ctxT(t), jobs, client.InNamespace(ns)); err != nil || len(jobs.Items) != 0 {
		t.Errorf("Jobs %v (%v), want none", jobs.Items, err)
	}
}
