package imagebuild

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

var (
	t0     = metav1.NewTime(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	t1     = metav1.NewTime(t0.Add(90 * time.Second))
	digest = "sha256:" + strings.Repeat("0123456789abcdef", 4)
)

func job(conds ...batchv1.JobCondition) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}}
	j.Status.StartTime = &t0
	j.Status.Conditions = conds
	return j
}

func cond(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: "job says " + reason, LastTransitionTime: t1}
}

func pod(name string, created time.Duration, phase corev1.PodPhase, state corev1.ContainerState) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(created))},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: ContainerName, State: state}}},
	}
}

func term(exit int32, reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason, Message: msg}}
}

func waiting(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

func TestObserveJob(t *testing.T) {
	completed := job(cond(batchv1.JobSuccessCriteriaMet, ""), cond(batchv1.JobComplete, ""))
	completed.Status.CompletionTime = &t1
	completed.Status.Succeeded = 1

	for _, tc := range []struct {
		name     string
		job      *batchv1.Job
		pods     []corev1.Pod
		finished bool
		ok       bool
		reason   string
		msg      string
		attempt  int32
	}{
		{"running", job(), []corev1.Pod{pod("p1", 0, corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})},
			false, false, "", "", 1},
		{"no pod yet", job(), nil, false, false, "", "", 0},
		{"image pull backoff", job(), []corev1.Pod{pod("p1", 0, corev1.PodPending, waiting("ImagePullBackOff", "Back-off pulling image \"kaniko\""))},
			false, false, "ImagePullBackOff", "Back-off pulling image", 1},
		{"attempt failed, retry pending", func() *batchv1.Job { j := job(); j.Status.Failed = 1; return j }(),
			[]corev1.Pod{pod("p1", 0, corev1.PodFailed, term(1, "Error", "INFO x\nerror building image: flaky network"))},
			false, false, v1alpha1.ImageBuildReasonRetrying, "attempt 1 failed (BuildFailed): error building image: flaky network", 1},
		{"container creating is not news", job(), []corev1.Pod{pod("p1", 0, corev1.PodPending, waiting("ContainerCreating", ""))},
			false, false, "", "", 1},
		{"unschedulable", job(), []corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Name: "p1"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
			}}},
		}}, false, false, "Unschedulable", "didn't match", 1},
		{"succeeded with digest", completed, []corev1.Pod{pod("p1", 0, corev1.PodSucceeded, term(0, "Completed", digest+"\n"))},
			true, true, v1alpha1.ImageBuildReasonBuildSucceeded, digest, 1},
		{"succeeded after a retry", completed, []corev1.Pod{
			pod("p1", 0, corev1.PodFailed, term(1, "Error", "error building image: flaky")),
			pod("p2", time.Second, corev1.PodSucceeded, term(0, "Completed", digest)),
		}, true, true, v1alpha1.ImageBuildReasonBuildSucceeded, digest, 2},
		{"succeeded without digest", completed, []corev1.Pod{pod("p1", 0, corev1.PodSucceeded, term(0, "Completed", ""))},
			true, false, v1alpha1.ImageBuildReasonNoDigest, "without writing a digest", 1},
		{"succeeded, pod gone", completed, nil, true, false, v1alpha1.ImageBuildReasonNoDigest, "pod is gone", 1},
		{"failed: executor error", job(cond(batchv1.JobFailureTarget, "BackoffLimitExceeded"), cond(batchv1.JobFailed, "BackoffLimitExceeded")),
			[]corev1.Pod{pod("p1", 0, corev1.PodFailed, term(1, "Error",
				"INFO[0001] Retrieving image manifest nginx:1.27\nerror building image: parsing dockerfile: unknown instruction: FORM"))},
			true, false, v1alpha1.ImageBuildReasonBuildFailed, "unknown instruction: FORM", 1},
		{"failed: exit code only", job(cond(batchv1.JobFailed, "BackoffLimitExceeded")),
			[]corev1.Pod{pod("p1", 0, corev1.PodFailed, term(2, "Error", ""))},
			true, false, v1alpha1.ImageBuildReasonBuildFailed, "exited with code 2", 1},
		{"failed: OOMKilled", job(cond(batchv1.JobFailed, "BackoffLimitExceeded")),
			[]corev1.Pod{pod("p1", 0, corev1.PodFailed, term(137, "OOMKilled", ""))},
			true, false, v1alpha1.ImageBuildReasonOOMKilled, "spec.resources.limits.memory", 1},
		{"failed: pod deadline", job(cond(batchv1.JobFailed, "BackoffLimitExceeded")),
			[]corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Status: corev1.PodStatus{
				Phase: corev1.PodFailed, Reason: "DeadlineExceeded", Message: "Pod was active on the node longer than the specified deadline"}}},
			true, false, "DeadlineExceeded", "longer than the specified deadline", 1},
		{"failed: job deadline while pulling", job(cond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)),
			[]corev1.Pod{pod("p1", 0, corev1.PodPending, waiting("ImagePullBackOff", "Back-off pulling image"))},
			true, false, v1alpha1.ImageBuildReasonDeadlineExceeded, "was imagePullBackOff: Back-off pulling image", 1},
		{"failed: no pods left", job(cond(batchv1.JobFailed, "BackoffLimitExceeded")), nil,
			true, false, "BackoffLimitExceeded", "job says BackoffLimitExceeded", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ObserveJob(tc.job, tc.pods)
			if o.Finished != tc.finished || o.Succeeded != tc.ok || o.Reason != tc.reason || !strings.Contains(o.Message, tc.msg) {
				t.Errorf("got finished=%v ok=%v %s: %q; want finished=%v ok=%v %s containing %q",
					o.Finished, o.Succeeded, o.Reason, o.Message, tc.finished, tc.ok, tc.reason, tc.msg)
			}
			if o.Attempt != tc.attempt {
				t.Errorf("attempt = %d, want %d", o.Attempt, tc.attempt)
			}
			if tc.ok && o.Digest != digest {
				t.Errorf("digest = %q", o.Digest)
			}
			if tc.finished && (o.CompletionTime == nil || !o.CompletionTime.Equal(&t1)) {
				t.Errorf("completion time = %v, want %v", o.CompletionTime, t1)
			}
		})
	}
}

func TestParseDigest(t *testing.T) {
	for in, ok := range map[string]bool{
		digest: true, " " + digest + "\n": true, "sha256:abc": false, "": false,
		strings.ToUpper(digest): false, "error building image: x": false, digest + "x": false,
	} {
		if _, got := ParseDigest(in); got != ok {
			t.Errorf("ParseDigest(%q) = %v, want %v", in, got, ok)
		}
	}
}

func TestMessagesAreBoundedAndClean(t *testing.T) {
	long := strings.Repeat("x", 5000) + "\x1b[31m error building image: the end"
	got := clean(long)
	if len(got) > MaxMessageLength+len("…") || !strings.HasSuffix(got, "error building image: the end") || strings.ContainsRune(got, '\x1b') {
		t.Errorf("clean: %d bytes, suffix %q", len(got), got[len(got)-40:])
	}
	if got := SummaryLine("INFO one\nerror building image: boom\nINFO cleanup"); got != "error building image: boom" {
		t.Errorf("SummaryLine = %q", got)
	}
	if got := SummaryLine("just one line"); got != "just one line" {
		t.Errorf("SummaryLine = %q", got)
	}
}

// The build records the node it ran on: the latest pod's, or on success the pod that pushed.
func TestObserveJobNode(t *testing.T) {
	onNode := func(p corev1.Pod, node string) corev1.Pod { p.Spec.NodeName = node; return p }
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	for _, tc := range []struct {
		name string
		job  *batchv1.Job
		pods []corev1.Pod
		want string
	}{
		{"not scheduled yet", job(), []corev1.Pod{pod("web-1-a", 0, corev1.PodPending, corev1.ContainerState{})}, ""},
		{"running", job(), []corev1.Pod{onNode(pod("web-1-a", 0, corev1.PodRunning, running), "edge-1")}, "edge-1"},
		{"retry on another node", job(), []corev1.Pod{
			onNode(pod("web-1-a", 0, corev1.PodFailed, term(1, "Error", "boom")), "edge-1"),
			onNode(pod("web-1-b", time.Minute, corev1.PodRunning, running), "edge-2")}, "edge-2"},
		{"success: the pod that pushed", job(cond(batchv1.JobComplete, "")), []corev1.Pod{
			onNode(pod("web-1-a", 0, corev1.PodFailed, term(1, "Error", "boom")), "edge-1"),
			onNode(pod("web-1-b", time.Minute, corev1.PodSucceeded, term(0, "Completed", digest)), "edge-2")}, "edge-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ObserveJob(tc.job, tc.pods).Node; got != tc.want {
				t.Errorf("Node = %q, want %q", got, tc.want)
			}
		})
	}
}
