package imagebuild

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestDue(t *testing.T) {
	rec := func(n, gen int64) *v1alpha1.BuildRecord {
		return &v1alpha1.BuildRecord{Name: "web-" + strconv.FormatInt(n, 10), Number: n, Generation: gen}
	}
	for _, tc := range []struct {
		name string
		gen  int64
		ann  string
		st   v1alpha1.ImageBuildStatus
		due  bool
	}{
		{"never built", 1, "", v1alpha1.ImageBuildStatus{}, true},
		{"running for this generation", 1, "", v1alpha1.ImageBuildStatus{BuildCount: 1, CurrentBuild: rec(1, 1)}, false},
		{"running for an older generation", 2, "", v1alpha1.ImageBuildStatus{BuildCount: 1, CurrentBuild: rec(1, 1)}, true},
		{"finished for this generation", 2, "", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2)}, false},
		{"finished for an older generation", 3, "", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2)}, true},
		{"superseded, replacement not started", 3, "", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2)}, true},
		{"new rebuild request", 2, "now", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2), ObservedRebuild: "before"}, true},
		{"rebuild request acted on", 2, "now", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2), ObservedRebuild: "now"}, false},
		{"annotation removed", 2, "", v1alpha1.ImageBuildStatus{BuildCount: 2, LastBuild: rec(2, 2), ObservedRebuild: "now"}, false},
		{"rebuild request while running", 2, "again", v1alpha1.ImageBuildStatus{BuildCount: 3, CurrentBuild: rec(3, 2), LastBuild: rec(2, 2), ObservedRebuild: "now"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Generation: tc.gen}, Status: tc.st}
			if tc.ann != "" {
				ib.Annotations = map[string]string{v1alpha1.AnnotationRebuild: tc.ann}
			}
			if got := Due(ib); got != tc.due {
				t.Errorf("Due = %v, want %v", got, tc.due)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		st     v1alpha1.ImageBuildStatus
		phase  v1alpha1.BuildPhase
		ready  metav1.ConditionStatus
		reason string
		msg    string
		recon  bool
	}{
		{"pending", v1alpha1.ImageBuildStatus{}, v1alpha1.BuildPhasePending, metav1.ConditionFalse, v1alpha1.ImageBuildReasonBuildPending, "Build 1 is about to start", true},
		{"building", v1alpha1.ImageBuildStatus{BuildCount: 1, CurrentBuild: &v1alpha1.BuildRecord{Name: "web-1", Number: 1, Generation: 1}},
			v1alpha1.BuildPhaseBuilding, metav1.ConditionFalse, v1alpha1.ImageBuildReasonBuilding, "Build web-1 is running", true},
		{"building but stuck", v1alpha1.ImageBuildStatus{BuildCount: 1, CurrentBuild: &v1alpha1.BuildRecord{Name: "web-1", Number: 1, Generation: 1, Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
			v1alpha1.BuildPhaseBuilding, metav1.ConditionFalse, v1alpha1.ImageBuildReasonBuilding, "running (ImagePullBackOff): Back-off pulling image", true},
		{"succeeded", v1alpha1.ImageBuildStatus{BuildCount: 1, LatestImage: "r/web@" + digest, LastBuild: &v1alpha1.BuildRecord{Name: "web-1", Number: 1, Generation: 1, Reason: v1alpha1.ImageBuildReasonBuildSucceeded}},
			v1alpha1.BuildPhaseSucceeded, metav1.ConditionTrue, v1alpha1.ImageBuildReasonBuildSucceeded, "Build web-1 pushed r/web@" + digest, false},
		{"failed", v1alpha1.ImageBuildStatus{BuildCount: 1, LastBuild: &v1alpha1.BuildRecord{Name: "web-1", Number: 1, Generation: 1, Reason: "OOMKilled", Message: "ran out of memory"}},
			v1alpha1.BuildPhaseFailed, metav1.ConditionFalse, "OOMKilled", "Build web-1 failed (OOMKilled): ran out of memory; fix the cause", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: tc.st}
			Summarize(ib)
			ready := meta.FindStatusCondition(ib.Status.Conditions, v1alpha1.ConditionReady)
			if ib.Status.Phase != tc.phase || ready == nil || ready.Status != tc.ready || ready.Reason != tc.reason || !strings.Contains(ready.Message, tc.msg) {
				t.Errorf("phase %s, Ready %+v; want %s, %s %s containing %q", ib.Status.Phase, ready, tc.phase, tc.ready, tc.reason, tc.msg)
			}
			if got := meta.IsStatusConditionTrue(ib.Status.Conditions, v1alpha1.ConditionReconciling); got != tc.recon {
				t.Errorf("Reconciling = %v, want %v", got, tc.recon)
			}
			before := append([]metav1.Condition(nil), ib.Status.Conditions...)
			Summarize(ib)
			if !reflect.DeepEqual(before, ib.Status.Conditions) {
				t.Error("summarizing twice changed the conditions")
			}
		})
	}
}

func TestPrune(t *testing.T) {
	mk := func(n int64, c batchv1.JobConditionType) batchv1.Job {
		j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "web-" + strconv.FormatInt(n, 10),
			Annotations: map[string]string{AnnotationBuildNumber: strconv.FormatInt(n, 10)}}}
		if c != "" {
			j.Status.Conditions = []batchv1.JobCondition{cond(c, "")}
		}
		return j
	}
	jobs := []batchv1.Job{
		mk(1, batchv1.JobComplete), mk(2, batchv1.JobFailed), mk(3, batchv1.JobComplete), mk(10, batchv1.JobComplete),
		mk(4, batchv1.JobFailed), mk(5, batchv1.JobFailed), mk(11, ""), mk(12, batchv1.JobFailed),
	}
	if got, want := Prune(jobs, 2, 1, 12), []string{"web-1", "web-2", "web-4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Prune(2, 1) = %v, want %v", got, want)
	}
	if got, want := Prune(jobs, 0, 0, 0), []string{"web-1", "web-10", "web-12", "web-2", "web-3", "web-4", "web-5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Prune(0, 0) = %v, want %v (running Jobs are kept)", got, want)
	}
	if got := Prune(jobs, 20, 20, 0); len(got) != 0 {
		t.Errorf("Prune(20, 20) = %v, want nothing", got)
	}

	// A multi-platform build is its platform Jobs and its index Job, kept or pruned together;
	// one failed Job makes the build failed; a build with a Job still running is kept.
	platform := func(n int64, arch string, c batchv1.JobConditionType) batchv1.Job {
		j := mk(n, c)
		j.Name += "-" + arch
		return j
	}
	multi := []batchv1.Job{
		platform(1, "amd64", batchv1.JobComplete), platform(1, "arm64", batchv1.JobComplete), mk(1, batchv1.JobComplete),
		platform(2, "amd64", batchv1.JobComplete), platform(2, "arm64", batchv1.JobFailed),
		platform(3, "amd64", batchv1.JobComplete), platform(3, "arm64", batchv1.JobComplete), mk(3, batchv1.JobComplete),
		platform(4, "amd64", batchv1.JobComplete), platform(4, "arm64", ""),
		platform(5, "amd64", ""),
	}
	if got, want := Prune(multi, 1, 0, 5), []string{"web-1", "web-1-amd64", "web-1-arm64", "web-2-amd64", "web-2-arm64"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Prune of multi-platform builds (1, 0) = %v, want %v", got, want)
	}
}
