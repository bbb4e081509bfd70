package imagebuild

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// A build in a namespace whose Pod Security level refuses Kaniko's pod stalls at once with the
// admission plugin's words, and no Job is made; the real API server's PodSecurity admission
// refuses that pod with the same violations. Relabelling the namespace baseline starts the build.
func TestPodSecurityRefusalIsReportedAtOnce(t *testing.T) {
	ns := namespace(t)
	setEnforce(t, ns, "restricted")
	ib := inlineBuild(ns, "strict")
	create(t, ib)

	st := waitForStatus(t, ns, "strict", "Stalled PodSecurityForbidden", stalledWith(v1alpha1.ImageBuildReasonPodSecurityForbidden))
	msg := condition(st, v1alpha1.ConditionStalled).Message
	if !strings.Contains(msg, `violates PodSecurity "restricted:latest"`) || !strings.Contains(msg, "runAsNonRoot") {
		t.Errorf("Stalled message = %q", msg)
	}
	if err := get(t, ns, "strict-1", &batchv1.Job{}); err == nil {
		t.Fatal("a Job was created although its pod cannot run")
	}

	// The real admission plugin agrees: the pod of the Job edgeforge would create, offered to
	// the API server (dry run), is refused with the violations the status names.
	job, err := imagebuild.RenderJob(st, imagebuild.JobInput{Number: 1, DefaultExecutorImage: testExecutor})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "strict-1-probe", Labels: job.Spec.Template.Labels},
		Spec: job.Spec.Template.Spec}
	err = k8s.Create(ctxT(t), pod, client.DryRunAll)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the API server's PodSecurity admission should refuse the build pod: %v", err)
	}
	why := imagebuild.PodSecurityProblem(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, job)
	if why == "" || !strings.Contains(err.Error(), why) || !strings.Contains(msg, why) {
		t.Errorf("admission says %q; edgeforge predicted %q and reported %q", err, why, msg)
	}

	setEnforce(t, ns, "baseline")
	waitForJob(t, ns, "strict-1")
}

func setEnforce(t *testing.T, ns, level string) {
	t.Helper()
	n := &corev1.Namespace{}
	if err := k8s.Get(ctxT(t), client.ObjectKey{Name: ns}, n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels["pod-security.kubernetes.io/enforce"] = level
	if err := k8s.Patch(ctxT(t), n, patch); err != nil {
		t.Fatal(err)
	}
}
