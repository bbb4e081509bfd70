package imagebuild

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Finished build Jobs beyond the history limits are deleted: succeeded and failed apart.
func TestHistoryIsPruned(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "hist")
	ib.Spec.SuccessfulBuildsHistoryLimit = ptr.To(int32(1))
	ib.Spec.FailedBuildsHistoryLimit = ptr.To(int32(1))
	create(t, ib)

	finish := func(n int, ok bool) {
		t.Helper()
		name := "hist-" + string(rune('0'+n))
		job := waitForJob(t, ns, name)
		if ok {
			succeed(t, job, "sha256:"+strings.Repeat(string(rune('0'+n)), 64))
		} else {
			fail(t, job, 1, "Error", "error building image: boom")
		}
		waitForStatus(t, ns, "hist", name+" finished", func(ib *v1alpha1.ImageBuild) bool {
			return ib.Status.LastBuild != nil && ib.Status.LastBuild.Name == name
		})
		patchAnnotation(t, ns, "hist", v1alpha1.AnnotationRebuild, name)
	}
	finish(1, true)
	finish(2, false)
	waitForJob(t, ns, "hist-1") // one of each kind is kept
	finish(3, true)
	waitForNoJob(t, ns, "hist-1")
	finish(4, false)
	waitForNoJob(t, ns, "hist-2")
	waitForJob(t, ns, "hist-3")
	waitForJob(t, ns, "hist-4")
	waitForJob(t, ns, "hist-5") // the running build
	st := waitForStatus(t, ns, "hist", "build 5 running", phase(v1alpha1.BuildPhaseBuilding))
	if st.Status.LatestImage != "registry.example.com/team/hist@sha256:"+strings.Repeat("3", 64) {
		t.Errorf("latestImage = %q, want build 3's", st.Status.LatestImage)
	}
}

// The pass that records a build's end writes the status first and prunes a moment later
// (pruneAfter), so an ImageBuild that builds no more still ends within its history limits.
func TestHistoryIsPrunedAfterTheLastBuild(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "last")
	ib.Spec.SuccessfulBuildsHistoryLimit = ptr.To(int32(1))
	create(t, ib)

	succeed(t, waitForJob(t, ns, "last-1"), "sha256:"+strings.Repeat("1", 64))
	waitForStatus(t, ns, "last", "build 1 succeeded", phase(v1alpha1.BuildPhaseSucceeded))
	patchAnnotation(t, ns, "last", v1alpha1.AnnotationRebuild, "again")
	// The pod first, then the Job's end alone: one event, one pass, which records the end.
	job := waitForJob(t, ns, "last-2")
	buildPod(t, job, "ok", terminatedPod(corev1.PodSucceeded, 0, "Completed", "sha256:"+strings.Repeat("2", 64)))
	time.Sleep(time.Second) // the pod's pass is over (not a timing assertion: the order of events)
	finishJob(t, job, true)
	waitForStatus(t, ns, "last", "build 2 succeeded", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.LastBuild != nil && ib.Status.LastBuild.Name == "last-2" && ib.Status.Phase == v1alpha1.BuildPhaseSucceeded
	})
	waitForNoJob(t, ns, "last-1")
	waitForJob(t, ns, "last-2")
}
