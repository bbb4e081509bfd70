package imagebuild

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// A Job that the controller created but never recorded (a crash between create and status
// write) is adopted, not duplicated; a stranger's Job with the next build's name stalls.
func TestExistingJobIsAdoptedOrConflicts(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "crash")
	ib.Spec.Output.PushSecretRef = &v1alpha1.LocalObjectReference{Name: "regcred"}
	create(t, ib)
	ib = waitForStatus(t, ns, "crash", "Stalled", stalledWith(v1alpha1.ImageBuildReasonPushSecretNotFound))

	// What the controller would have created for build 1, as if it crashed right after.
	job, err := imagebuild.RenderJob(ib, imagebuild.JobInput{Number: 1, DefaultExecutorImage: testExecutor})
	if err != nil {
		t.Fatal(err)
	}
	create(t, job)
	create(t, dockerConfigSecret(ns, "regcred"))
	poke(t, ib)
	st := waitForStatus(t, ns, "crash", "build 1 adopted", phase(v1alpha1.BuildPhaseBuilding))
	if st.Status.CurrentBuild.Name != "crash-1" || st.Status.BuildCount != 1 {
		t.Errorf("status = %+v", st.Status)
	}
	assertNoWritesAtRest(t, ns, "crash")
	if err := get(t, ns, "crash-2", &batchv1.Job{}); err == nil {
		t.Error("the adopted build must not be duplicated")
	}

	stranger := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other-1"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
		}}, BackoffLimit: ptr.To(int32(0))},
	}
	create(t, stranger)
	create(t, inlineBuild(ns, "other"))
	waitForStatus(t, ns, "other", "Stalled JobNameConflict", stalledWith(v1alpha1.ImageBuildReasonJobNameConflict))
}
