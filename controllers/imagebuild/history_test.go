package imagebuild

import (
	"strings"
	"testing"

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
