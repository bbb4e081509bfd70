package appdeployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
)

// A pod of the rollout whose kubelet cannot pull the image makes the app Stalled with reason
// ImagePullFailed and the kubelet's message at once, not at the progress deadline; once the pull
// works the app goes back to rolling out, then Ready.
func TestImagePullFailureIsReportedAtOnce(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "private", nil)
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "the Deployment", func(*appsv1.Deployment) error { return nil })
	setDeploymentStatus(t, key, func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1}
	})
	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)

	// What the ReplicaSet controller and the kubelet would make of it.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "private-7c9f-x2", Labels: app.Labels(a)},
		Spec:       corev1.PodSpec{NodeName: "edge-1", Containers: []corev1.Container{{Name: app.ContainerName, Image: a.Spec.Image}}},
	}
	if err := k8s.Create(ctx(t), pod); err != nil {
		t.Fatal(err)
	}
	const kubelet = `failed to pull and unpack image "docker.io/library/nginx:1.27": 401 Unauthorized`
	setWaiting := func(reason, msg string) {
		t.Helper()
		eventually(t, "pod status "+reason, func() error {
			if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(pod), pod); err != nil {
				return err
			}
			st := corev1.ContainerStatus{Name: app.ContainerName, Image: a.Spec.Image}
			if reason == "" {
				st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Now()}
			} else {
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: msg}
			}
			pod.Status.Phase = corev1.PodPending
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{st}
			return k8s.Status().Update(ctx(t), pod)
		})
	}
	setWaiting("ErrImagePull", kubelet)

	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonImagePullFailed)
	ready := findCondition(got, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.AppDeploymentReasonImagePullFailed {
		t.Fatalf("Ready = %+v", ready)
	}
	for _, part := range []string{pod.Name, "edge-1", "nginx:1.27", "401 Unauthorized"} {
		if !strings.Contains(ready.Message, part) {
			t.Errorf("Ready's message %q lacks %q", ready.Message, part)
		}
	}
	hasEvent(t, key, v1alpha1.AppDeploymentReasonImagePullFailed, "401 Unauthorized")

	// The pull works (a fixed pull Secret, a pushed image): rolling out again, then Ready.
	setWaiting("", "")
	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)
}
