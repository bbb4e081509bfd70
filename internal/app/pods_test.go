package app

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func pod(name, image, waiting, msg string, init bool) corev1.Pod {
	st := corev1.ContainerStatus{Name: ContainerName, Image: image}
	if waiting != "" {
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting, Message: msg}
	} else {
		st.State.Running = &corev1.ContainerStateRunning{}
	}
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: "edge-1"}}
	if init {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{st}
	} else {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	}
	return p
}

func TestFindStartFailure(t *testing.T) {
	const denied = `failed to pull and unpack image "` + next + `": 401 Unauthorized`
	deleted := pod("web-b", next, "ErrImagePull", denied, false)
	deleted.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name       string
		pods       []corev1.Pod
		wantPod    string
		wantReason string
	}{
		{"none", nil, "", ""},
		{"running", []corev1.Pod{pod("web-a", next, "", "", false)}, "", ""},
		{"creating is no failure", []corev1.Pod{pod("web-a", next, "ContainerCreating", "", false)}, "", ""},
		{"ErrImagePull", []corev1.Pod{pod("web-a", next, "ErrImagePull", denied, false)}, "web-a", "ErrImagePull"},
		{"back-off", []corev1.Pod{pod("web-a", next, "ImagePullBackOff", "Back-off pulling image", false)}, "web-a", "ImagePullBackOff"},
		{"invalid name", []corev1.Pod{pod("web-a", next, "InvalidImageName", "bad", false)}, "web-a", "InvalidImageName"},
		{"init container", []corev1.Pod{pod("web-a", next, "ErrImagePull", denied, true)}, "web-a", "ErrImagePull"},
		{"an old image's pod is not the rollout's", []corev1.Pod{pod("web-a", good, "ErrImagePull", denied, false)}, "", ""},
		{"a deleted pod is not looked at", []corev1.Pod{deleted}, "", ""},
		{"first by name", []corev1.Pod{pod("web-c", next, "ErrImagePull", denied, false), pod("web-a", next, "ImagePullBackOff", "", false)}, "web-a", "ImagePullBackOff"},
		{"runs as root", []corev1.Pod{pod("web-a", next, "CreateContainerConfigError", "container has runAsNonRoot and image will run as root", false)}, "web-a", "CreateContainerConfigError"},
		{"crash loop is the deadline's business", []corev1.Pod{pod("web-a", next, "CrashLoopBackOff", "", false)}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FindStartFailure(tc.pods, next)
			switch {
			case tc.wantPod == "" && got != nil:
				t.Fatalf("got %+v, want none", got)
			case tc.wantPod != "" && (got == nil || got.Pod != tc.wantPod || got.Reason != tc.wantReason || got.Node != "edge-1"):
				t.Fatalf("got %+v, want pod %s, reason %s", got, tc.wantPod, tc.wantReason)
			case got != nil:
				want := v1alpha1.AppDeploymentReasonImagePullFailed
				if strings.HasPrefix(got.Reason, "CreateContainer") {
					want = v1alpha1.AppDeploymentReasonContainerConfigFailed
				}
				if got.Condition != want {
					t.Fatalf("condition %s, want %s", got.Condition, want)
				}
			}
		})
	}
}

func TestStartFailing(t *testing.T) {
	for _, tc := range []struct {
		pod  corev1.Pod
		want bool
	}{
		{pod("a", next, "", "", false), false},
		{pod("a", next, "ContainerCreating", "", false), false},
		{pod("a", next, "CrashLoopBackOff", "", false), false},
		{pod("a", next, "ErrImagePull", "", false), true},
		{pod("a", next, "ImagePullBackOff", "", true), true},
		{pod("a", next, "ErrImageNeverPull", "", false), true},
		{pod("a", next, "CreateContainerConfigError", "", false), true},
	} {
		if got := StartFailing(&tc.pod); got != tc.want {
			t.Errorf("StartFailing(%+v) = %v, want %v", tc.pod.Status, got, tc.want)
		}
	}
}

// A pod of the rollout that cannot pull makes the app Stalled with the kubelet's message at once;
// a complete rollout, a missed deadline or a rollback still say what they said before.
func TestSummarizePullFailure(t *testing.T) {
	pull := &StartFailure{Pod: "web-7c9-x2", Node: "edge-1", Image: next, Reason: "ErrImagePull", Message: "401 Unauthorized", Condition: v1alpha1.AppDeploymentReasonImagePullFailed}
	for _, tc := range []struct {
		name   string
		d      depState
		dec    RolloutDecision
		reason string
	}{
		{"rolling", rolling, RolloutDecision{Image: next}, v1alpha1.AppDeploymentReasonImagePullFailed},
		{"complete wins", complete, RolloutDecision{Image: next}, v1alpha1.AppDeploymentReasonRolledOut},
		{"deadline wins", stuck, RolloutDecision{Image: next}, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded},
		{"rollback wins", complete, RolloutDecision{Image: good, FailedImage: next}, v1alpha1.AppDeploymentReasonRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := appDeployment(nil)
			img := tc.dec.Image
			Summarize(app, deployment(img, 2, tc.d), tc.dec, pull)
			ready := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || ready.Reason != tc.reason {
				t.Fatalf("Ready = %+v, want reason %s", ready, tc.reason)
			}
			if tc.reason != v1alpha1.AppDeploymentReasonImagePullFailed {
				return
			}
			stalled := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionStalled)
			if ready.Status != metav1.ConditionFalse || stalled == nil || stalled.Status != metav1.ConditionTrue {
				t.Fatalf("Ready %+v, Stalled %+v", ready, stalled)
			}
			for _, part := range []string{"web-7c9-x2", "edge-1", next, "ErrImagePull", "401 Unauthorized", "spec.imagePullSecrets"} {
				if !strings.Contains(ready.Message, part) {
					t.Errorf("message %q lacks %q", ready.Message, part)
				}
			}
		})
	}
}

// A container the kubelet cannot create (the default runAsNonRoot with an image that runs as
// root) stalls the app at once with reason ContainerConfigFailed and says how to fix it.
func TestSummarizeContainerConfigFailure(t *testing.T) {
	f := &StartFailure{Pod: "web-7c9-x2", Node: "edge-1", Image: next, Reason: "CreateContainerConfigError",
		Message: "container has runAsNonRoot and image will run as root", Condition: v1alpha1.AppDeploymentReasonContainerConfigFailed}
	a := appDeployment(nil)
	Summarize(a, deployment(next, 2, rolling), RolloutDecision{Image: next}, f)
	c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil || c.Reason != v1alpha1.AppDeploymentReasonContainerConfigFailed || !strings.Contains(c.Message, "runAsNonRoot and image will run as root") ||
		!strings.Contains(c.Message, "spec.securityContext.runAsUser") {
		t.Fatalf("Ready = %+v", c)
	}
}
