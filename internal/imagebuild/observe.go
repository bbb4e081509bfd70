package imagebuild

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// MaxMessageLength bounds the messages copied from build pods into status (the end is kept:
// that is where the executor's error is).
const MaxMessageLength = 1024

// Observation is what a build Job and its pods say about one build.
type Observation struct {
	// Finished is true once the Job has completed or failed.
	Finished bool
	// Succeeded is true for a finished build that pushed an image and reported its digest.
	Succeeded bool
	// Attempt is the number of pods the Job has started.
	Attempt int32
	// StartTime and CompletionTime of the Job.
	StartTime, CompletionTime *metav1.Time
	// Digest pushed (sha256:…), when Succeeded.
	Digest string
	// Node the latest pod was scheduled to (on success: the pod that pushed); empty before that.
	Node string
	// Reason (CamelCase) and Message: the outcome of a finished build, or for a running one what
	// its pod is waiting for (empty while it simply runs).
	Reason, Message string
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ParseDigest reads the digest the executor wrote to its termination message.
func ParseDigest(msg string) (string, bool) {
	d := strings.TrimSpace(msg)
	return d, digestRE.MatchString(d)
}

// ImageWithDigest is the image reference by digest: the repository of image (registry and
// path, without the tag) and the digest, e.g. registry.example.com/team/web@sha256:….
func ImageWithDigest(image, digest string) string {
	repo := image
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i] // a tag, not a registry port
	}
	return repo + "@" + digest
}

// ObserveJob reads a build Job and its pods (those labelled edgeforge.io/build=<job name>).
func ObserveJob(job *batchv1.Job, pods []corev1.Pod) Observation {
	o := Observation{
		Attempt:   job.Status.Active + job.Status.Failed + job.Status.Succeeded,
		StartTime: job.Status.StartTime,
	}
	if n := int32(len(pods)); n > o.Attempt {
		o.Attempt = n
	}
	latest := latestPod(pods)
	if latest != nil {
		o.Node = latest.Spec.NodeName
	}
	if c := jobCondition(job, batchv1.JobComplete); c != nil {
		o.Finished = true
		o.CompletionTime = job.Status.CompletionTime
		if o.CompletionTime == nil {
			o.CompletionTime = &c.LastTransitionTime
		}
		o.observeSuccess(latestPod(filterPods(pods, corev1.PodSucceeded)))
		return o
	}
	if c := jobCondition(job, batchv1.JobFailed); c != nil {
		o.Finished = true
		o.CompletionTime = &c.LastTransitionTime
		failed := latestPod(filterPods(pods, corev1.PodFailed))
		if failed == nil {
			failed = latest
		}
		o.observeFailure(c, failed)
		return o
	}
	// Running (or about to): say what the pod is waiting for, or that an attempt failed and
	// the Job will retry it.
	if latest != nil {
		switch latest.Status.Phase {
		case corev1.PodPending:
			o.Reason, o.Message = podProblem(latest)
		case corev1.PodFailed:
			reason, msg := podProblem(latest)
			o.Reason = v1alpha1.ImageBuildReasonRetrying
			o.Message = fmt.Sprintf("attempt %d failed (%s): %s", max(job.Status.Failed, 1), reason, SummaryLine(msg))
		}
	}
	return o
}

// observeSuccess reads the pushed digest from the succeeded pod's termination message.
func (o *Observation) observeSuccess(pod *corev1.Pod) {
	if pod == nil {
		o.Reason = v1alpha1.ImageBuildReasonNoDigest
		o.Message = "the build Job completed but its pod is gone, so the pushed digest cannot be read"
		return
	}
	o.Node = pod.Spec.NodeName
	var msg string
	if t := terminated(pod); t != nil {
		msg = t.Message
	}
	d, ok := ParseDigest(msg)
	if !ok {
		o.Reason = v1alpha1.ImageBuildReasonNoDigest
		o.Message = "the executor exited successfully without writing a digest to its termination message"
		if m := clean(msg); m != "" {
			o.Message += ": " + m
		}
		return
	}
	o.Succeeded, o.Digest = true, d
	o.Reason = v1alpha1.ImageBuildReasonBuildSucceeded
	o.Message = "pushed " + d
}

// observeFailure says why a failed Job failed: its deadline, or what its last pod reported.
func (o *Observation) observeFailure(c *batchv1.JobCondition, failed *corev1.Pod) {
	reason, msg := podProblem(failed)
	if c.Reason == batchv1.JobReasonDeadlineExceeded {
		o.Reason = v1alpha1.ImageBuildReasonDeadlineExceeded
		o.Message = "the build did not finish in time (spec.timeout per attempt, for all attempts together)"
		if reason != "" {
			o.Message += "; the build pod was " + strings.ToLower(reason[:1]) + reason[1:] + ": " + msg
		}
		return
	}
	if reason == "" {
		reason, msg = c.Reason, c.Message
		if reason == "" {
			reason = v1alpha1.ImageBuildReasonBuildFailed
		}
	}
	o.Reason, o.Message = reason, msg
}

// podProblem says why a build pod failed or is stuck: its container's terminated or waiting
// state, its own failure reason (e.g. DeadlineExceeded, Evicted), or why it is not scheduled.
func podProblem(pod *corev1.Pod) (reason, message string) {
	if pod == nil {
		return "", ""
	}
	if t := terminated(pod); t != nil && (t.ExitCode != 0 || t.Reason == "OOMKilled") {
		m := clean(t.Message)
		switch t.Reason {
		case "OOMKilled":
			return v1alpha1.ImageBuildReasonOOMKilled,
				"the build container ran out of memory (exit code 137); give it more in spec.resources.limits.memory"
		case "", "Error":
			if m == "" {
				m = fmt.Sprintf("the executor exited with code %d", t.ExitCode)
			}
			return v1alpha1.ImageBuildReasonBuildFailed, m
		default:
			if m == "" {
				m = fmt.Sprintf("exit code %d", t.ExitCode)
			}
			return t.Reason, m
		}
	}
	if pod.Status.Reason != "" {
		return pod.Status.Reason, clean(pod.Status.Message)
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return w.Reason, clean(w.Message)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
			return c.Reason, clean(c.Message)
		}
	}
	return "", ""
}

// SummaryLine is the line of a (possibly multi-line) executor message worth a condition: the
// last one mentioning an error, else the last one.
func SummaryLine(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(lines[i]), "error") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

func terminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if (cs.Name == ContainerName || cs.Name == IndexContainerName) && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func filterPods(pods []corev1.Pod, phase corev1.PodPhase) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == phase {
			out = append(out, p)
		}
	}
	return out
}

// latestPod is the most recently created pod (by creation time, then name), or nil.
func latestPod(pods []corev1.Pod) *corev1.Pod {
	if len(pods) == 0 {
		return nil
	}
	sorted := append([]corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool {
		ti, tj := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return sorted[i].Name < sorted[j].Name
	})
	return &sorted[len(sorted)-1]
}

// clean makes a pod message fit for status: printable characters only, trimmed, and at most
// MaxMessageLength bytes (keeping the end).
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > MaxMessageLength {
		cut := len(s) - MaxMessageLength
		for cut < len(s) && !utf8RuneStart(s[cut]) {
			cut++
		}
		s = "…" + s[cut:]
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
