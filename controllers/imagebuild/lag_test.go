package imagebuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A Job seen Complete before its pod's termination message (they come by separate watches) is
// not a lost push: the controller reads the pods from the API server before calling it NoDigest.
// Here the pod never reaches the cache at all (it lacks the managed-by label the pod cache
// selects), the worst case of a lagging pod watch.
func TestCompleteJobAheadOfItsPodStillRecordsTheDigest(t *testing.T) {
	ns := namespace(t)
	create(t, inlineBuild(ns, "web"))
	job := waitForJob(t, ns, "web-1")
	uncached := job.DeepCopy()
	delete(uncached.Spec.Template.Labels, v1alpha1.LabelManagedBy)
	buildPod(t, uncached, "ok", terminatedPod(corev1.PodSucceeded, 0, "Completed", digest))
	finishJob(t, job, true)

	got := waitForStatus(t, ns, "web", "the build to end", func(ib *v1alpha1.ImageBuild) bool { return ib.Status.LastBuild != nil })
	if got.Status.Phase != v1alpha1.BuildPhaseSucceeded || got.Status.Digest != digest {
		t.Fatalf("phase %s, digest %q, last build %+v; want Succeeded with %s", got.Status.Phase, got.Status.Digest, got.Status.LastBuild, digest)
	}
}
