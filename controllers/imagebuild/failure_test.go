package imagebuild

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A build whose pod is OOMKilled ends Failed with the reason and an actionable message, and a
// new value of the rebuild annotation starts build 2.
func TestBuildFailsThenRebuilds(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "api")
	create(t, ib)
	job := waitForJob(t, ns, "api-1")

	fail(t, job, 137, "OOMKilled", "")
	failed := waitForStatus(t, ns, "api", "phase Failed", phase(v1alpha1.BuildPhaseFailed))
	ready := condition(failed, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != "False" || ready.Reason != v1alpha1.ImageBuildReasonOOMKilled || !strings.Contains(ready.Message, "spec.resources.limits.memory") {
		t.Errorf("Ready = %+v", ready)
	}
	if lb := failed.Status.LastBuild; lb == nil || lb.Reason != v1alpha1.ImageBuildReasonOOMKilled || lb.Attempt != 1 || lb.CompletionTime == nil {
		t.Errorf("lastBuild = %+v", lb)
	}
	if failed.Status.LatestImage != "" || condition(failed, v1alpha1.ConditionStalled) != nil {
		t.Errorf("a failed build pushes nothing and is not Stalled: %+v", failed.Status)
	}
	if note := waitForEvent(t, ns, "api", "BuildFailed"); !strings.Contains(note, "OOMKilled") {
		t.Errorf("BuildFailed event says %q", note)
	}

	patchAnnotation(t, ns, "api", v1alpha1.AnnotationRebuild, "retry-1")
	job2 := waitForJob(t, ns, "api-2")
	rebuilding := waitForStatus(t, ns, "api", "build 2 running", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.Phase == v1alpha1.BuildPhaseBuilding && ib.Status.ObservedRebuild == "retry-1"
	})
	if rebuilding.Status.BuildCount != 2 || rebuilding.Status.LastBuild.Name != "api-1" {
		t.Errorf("status while rebuilding: %+v", rebuilding.Status)
	}

	// The executor's own error, from its termination message.
	fail(t, job2, 1, "Error", "INFO[0000] Retrieving image manifest nginx:1.27\nerror building image: parsing dockerfile: unknown instruction: FORM")
	failed = waitForStatus(t, ns, "api", "build 2 failed", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.Phase == v1alpha1.BuildPhaseFailed && ib.Status.LastBuild.Name == "api-2"
	})
	if c := condition(failed, v1alpha1.ConditionReady); c.Reason != v1alpha1.ImageBuildReasonBuildFailed ||
		!strings.Contains(c.Message, "error building image: parsing dockerfile: unknown instruction: FORM") || strings.Contains(c.Message, "INFO") {
		t.Errorf("Ready = %+v", c)
	}
	if !strings.Contains(failed.Status.LastBuild.Message, "Retrieving image manifest") {
		t.Errorf("lastBuild.message should keep the executor's message: %q", failed.Status.LastBuild.Message)
	}
	// Setting the same value again is not a new request.
	patchAnnotation(t, ns, "api", v1alpha1.AnnotationRebuild, "retry-1")
	assertNoWritesAtRest(t, ns, "api")
	if err := get(t, ns, "api-3", &batchv1.Job{}); client.IgnoreNotFound(err) != nil || err == nil {
		t.Errorf("no build 3 expected, got err=%v", err)
	}
}

func patchAnnotation(t *testing.T, ns, name, key, value string) {
	t.Helper()
	ib := &v1alpha1.ImageBuild{}
	if err := get(t, ns, name, ib); err != nil {
		t.Fatal(err)
	}
	p := client.MergeFrom(ib.DeepCopy())
	if ib.Annotations == nil {
		ib.Annotations = map[string]string{}
	}
	ib.Annotations[key] = value
	if err := k8s.Patch(ctxT(t), ib, p); err != nil {
		t.Fatal(err)
	}
}
