package imagebuild

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

const digest = "sha256:3f0c5e8d4b2a19f7c6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a291807"

// An inline build on an edge pool goes Pending → Building → Succeeded, with the Job, its
// ConfigMap and ServiceAccount owned by the ImageBuild, and then sits at rest without writes.
func TestBuildLifecycleSucceeds(t *testing.T) {
	ns := namespace(t)
	pool := uniquePool()
	create(t, dockerConfigSecret(ns, "regcred"))
	create(t, &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		}}},
	})
	ib := inlineBuild(ns, "web")
	ib.Spec.Output.PushSecretRef = &v1alpha1.LocalObjectReference{Name: "regcred"}
	ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}
	create(t, ib)

	job := waitForJob(t, ns, "web-1")
	// The operator's default build resources (flags) fill what spec.resources leaves unset.
	if res := job.Spec.Template.Spec.Containers[0].Resources; res.Requests.Cpu().String() != "500m" ||
		res.Requests.Memory().String() != "512Mi" || res.Limits.Memory().String() != "4Gi" {
		t.Errorf("build resources = %+v, want the defaults of --build-default-requests/--build-default-limits", res)
	}
	building := waitForStatus(t, ns, "web", "phase Building", phase(v1alpha1.BuildPhaseBuilding))
	if !isTrue(building, v1alpha1.ConditionReconciling) || building.Status.CurrentBuild == nil ||
		building.Status.CurrentBuild.Name != "web-1" || building.Status.BuildCount != 1 {
		t.Errorf("while building: %+v", building.Status)
	}
	waitForEvent(t, ns, "web", "BuildStarted")

	// The Job: what the executor is told, where it runs, what it may do.
	if !metav1.IsControlledBy(job, building) {
		t.Errorf("Job web-1 is not controlled by the ImageBuild: %v", job.OwnerReferences)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	for _, arg := range []string{"--context=dir:///workspace", "--dockerfile=/workspace/Dockerfile",
		"--destination=registry.example.com/team/web:1.0", "--digest-file=/dev/termination-log"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("executor args %v lack %s", c.Args, arg)
		}
	}
	if c.Image != testExecutor {
		t.Errorf("image = %s, want the operator's default %s", c.Image, testExecutor)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken || pod.ServiceAccountName != "web-builder" {
		t.Errorf("service account: %s, automount %v", pod.ServiceAccountName, pod.AutomountServiceAccountToken)
	}
	if pod.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "edgeforge.io/edge" {
		t.Errorf("placement: nodeSelector %v, tolerations %v", pod.NodeSelector, pod.Tolerations)
	}
	if job.Spec.Template.Labels[v1alpha1.LabelBuild] != "web-1" {
		t.Errorf("pod labels = %v", job.Spec.Template.Labels)
	}
	if *job.Spec.BackoffLimit != 0 || *pod.ActiveDeadlineSeconds != 1800 {
		t.Errorf("backoffLimit %d, activeDeadlineSeconds %d; want the defaults 0 and 30m", *job.Spec.BackoffLimit, *pod.ActiveDeadlineSeconds)
	}
	cm := &corev1.ConfigMap{}
	if err := get(t, ns, "web-build-context", cm); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(cm, building) || !strings.HasPrefix(cm.Data["Dockerfile"], "FROM nginx") || cm.Data["index.html"] != "<h1>hi</h1>" {
		t.Errorf("context ConfigMap: owners %v, data %v", cm.OwnerReferences, cm.Data)
	}
	sa := &corev1.ServiceAccount{}
	if err := get(t, ns, "web-builder", sa); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(sa, building) || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount: owners %v, automount %v", sa.OwnerReferences, sa.AutomountServiceAccountToken)
	}

	// A pod stuck pulling the executor shows in the status while the build runs.
	buildPod(t, job, "pulling", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "kaniko", Image: testExecutor,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
	}}})
	waitForStatus(t, ns, "web", "the waiting reason in Ready", func(ib *v1alpha1.ImageBuild) bool {
		c := condition(ib, v1alpha1.ConditionReady)
		return c != nil && strings.Contains(c.Message, "ImagePullBackOff")
	})

	succeeded := map[string]string{"namespace": ns, "result": resultSucceeded}
	before := counter(t, "edgeforge_imagebuild_builds_total", succeeded)
	succeed(t, job, digest)
	done := waitForStatus(t, ns, "web", "phase Succeeded and Ready", func(ib *v1alpha1.ImageBuild) bool {
		return phase(v1alpha1.BuildPhaseSucceeded)(ib) && isTrue(ib, v1alpha1.ConditionReady)
	})
	if done.Status.Digest != digest || done.Status.LatestImage != "registry.example.com/team/web@"+digest {
		t.Errorf("digest %q, latestImage %q", done.Status.Digest, done.Status.LatestImage)
	}
	if lb := done.Status.LastBuild; lb == nil || lb.Name != "web-1" || lb.Digest != digest || lb.Reason != v1alpha1.ImageBuildReasonBuildSucceeded ||
		lb.StartTime == nil || lb.CompletionTime == nil || lb.Generation != done.Generation {
		t.Errorf("lastBuild = %+v", lb)
	}
	if done.Status.CurrentBuild != nil || condition(done, v1alpha1.ConditionReconciling) != nil || condition(done, v1alpha1.ConditionStalled) != nil {
		t.Errorf("a finished build leaves no current build, Reconciling or Stalled: %+v", done.Status)
	}
	if note := waitForEvent(t, ns, "web", "BuildSucceeded"); !strings.Contains(note, digest) {
		t.Errorf("BuildSucceeded event says %q", note)
	}
	if got := counter(t, "edgeforge_imagebuild_builds_total", succeeded) - before; got != 1 {
		t.Errorf("builds_total{result=succeeded} grew by %v, want 1", got)
	}

	assertNoWritesAtRest(t, ns, "web")
	if err := get(t, ns, "web-2", &batchv1.Job{}); err == nil {
		t.Error("re-reconciling must not start another build")
	}
}
