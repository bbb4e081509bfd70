package imagebuild

import (
	"fmt"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// Due reports whether an ImageBuild needs a new build: none was started yet, the latest one
// was started for an older generation, or the edgeforge.io/rebuild annotation has a value not
// yet acted on. A running build that is no longer what is due is superseded.
func Due(ib *v1alpha1.ImageBuild) bool {
	st := &ib.Status
	latest := LatestStarted(st)
	if latest == nil || latest.Generation != ib.Generation {
		return true
	}
	v := ib.Annotations[v1alpha1.AnnotationRebuild]
	return v != "" && v != st.ObservedRebuild
}

// LatestStarted is the record of the most recently started build (number status.buildCount),
// running or finished, or nil when there is none.
func LatestStarted(st *v1alpha1.ImageBuildStatus) *v1alpha1.BuildRecord {
	if st.BuildCount == 0 {
		return nil
	}
	for _, r := range []*v1alpha1.BuildRecord{st.CurrentBuild, st.LastBuild} {
		if r != nil && r.Number == st.BuildCount {
			return r
		}
	}
	return nil
}

// Summarize sets status.phase and the Ready/Reconciling conditions from the build records.
// The controller calls it at the end of every reconcile that did not stall (a stall sets
// Stalled with its own reason instead).
func Summarize(ib *v1alpha1.ImageBuild) {
	st, gen := &ib.Status, ib.Generation
	switch last := st.LastBuild; {
	case st.CurrentBuild != nil:
		cur := st.CurrentBuild
		st.Phase = v1alpha1.BuildPhaseBuilding
		msg := fmt.Sprintf("Build %s is running", cur.Name)
		if cur.Message != "" {
			msg = fmt.Sprintf("Build %s is running (%s): %s", cur.Name, cur.Reason, SummaryLine(cur.Message))
		}
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.ImageBuildReasonBuilding, msg)
	case Due(ib):
		st.Phase = v1alpha1.BuildPhasePending
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.ImageBuildReasonBuildPending,
			fmt.Sprintf("Build %d is about to start for generation %d", st.BuildCount+1, gen))
	case last.Reason == v1alpha1.ImageBuildReasonBuildSucceeded:
		st.Phase = v1alpha1.BuildPhaseSucceeded
		conditions.MarkReady(&st.Conditions, gen, v1alpha1.ImageBuildReasonBuildSucceeded,
			fmt.Sprintf("Build %s pushed %s", last.Name, st.LatestImage))
	default:
		st.Phase = v1alpha1.BuildPhaseFailed
		msg := fmt.Sprintf("Build %s failed (%s)", last.Name, last.Reason)
		if last.Message != "" {
			msg += ": " + SummaryLine(last.Message)
		}
		msg += "; fix the cause, then change the spec or set a new value of the " + v1alpha1.AnnotationRebuild + " annotation to build again"
		conditions.MarkNotReady(&st.Conditions, gen, last.Reason, msg)
	}
}

// Prune returns the names of finished build Jobs beyond the history limits. Jobs are judged by
// build (their build number): a multi-platform build is several Jobs, which stay or go together.
// A build failed when any of its Jobs failed and succeeded when all of them completed; the newest
// keepSucceeded succeeded and keepFailed failed builds are kept, and running builds and build
// number current are never pruned.
func Prune(jobs []batchv1.Job, keepSucceeded, keepFailed int, current int64) []string {
	builds := map[string][]batchv1.Job{} // by build number (by name when it has none)
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		key := j.Name
		if n := buildNumber(&j); n > 0 {
			if n == current {
				continue
			}
			key = strconv.FormatInt(n, 10)
		}
		builds[key] = append(builds[key], j)
	}
	var succeeded, failed [][]batchv1.Job
	for _, b := range builds {
		complete, anyFailed := 0, false
		for i := range b {
			switch {
			case jobCondition(&b[i], batchv1.JobFailed) != nil:
				anyFailed = true
			case jobCondition(&b[i], batchv1.JobComplete) != nil:
				complete++
			}
		}
		switch {
		case anyFailed:
			failed = append(failed, b)
		case complete == len(b):
			succeeded = append(succeeded, b)
		}
	}
	var out []string
	for _, g := range []struct {
		builds [][]batchv1.Job
		keep   int
	}{{succeeded, keepSucceeded}, {failed, keepFailed}} {
		sort.Slice(g.builds, func(i, k int) bool { return buildNumber(&g.builds[i][0]) > buildNumber(&g.builds[k][0]) })
		for i := max(g.keep, 0); i < len(g.builds); i++ {
			for _, j := range g.builds[i] {
				out = append(out, j.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// buildNumber is the build number of a Job from its annotation (0 when unreadable).
func buildNumber(j *batchv1.Job) int64 {
	n, _ := strconv.ParseInt(j.Annotations[AnnotationBuildNumber], 10, 64)
	return n
}

// BuildNumber is the build number and generation recorded on a build Job.
func BuildNumber(j *batchv1.Job) (number, generation int64) {
	g, _ := strconv.ParseInt(j.Annotations[AnnotationGeneration], 10, 64)
	return buildNumber(j), g
}
