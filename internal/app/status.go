package app

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// ObserveDeployment copies a Deployment's replica counts and running image into the status,
// with the READY column as "available/desired". A nil Deployment leaves them as they are.
func ObserveDeployment(st *v1alpha1.AppDeploymentStatus, d *appsv1.Deployment) {
	if d == nil {
		return
	}
	p := Progress(d)
	st.Replicas = d.Status.Replicas
	st.ReadyReplicas = d.Status.ReadyReplicas
	st.UpdatedReplicas = d.Status.UpdatedReplicas
	st.AvailableReplicas = d.Status.AvailableReplicas
	st.Ready = fmt.Sprintf("%d/%d", d.Status.AvailableReplicas, p.Desired)
	st.Image = RunningImage(d)
}

// URL is where the app is reachable: http(s)://<ingress host><path> when spec.ingress has a
// host (https with tlsSecretName), else the Service's cluster DNS name and the port the Ingress
// routes to (the first port without an Ingress), else "" (no Service).
func URL(app *v1alpha1.AppDeployment) string {
	if !HasService(app) {
		return ""
	}
	in := app.Spec.Ingress
	if in != nil && in.Host != "" {
		scheme := "http"
		if in.TLSSecretName != "" {
			scheme = "https"
		}
		path := in.Path
		if path == "" {
			path = "/"
		}
		return scheme + "://" + in.Host + path
	}
	portName := ""
	if in != nil {
		portName = in.Port
	}
	p, ok := port(app, portName)
	if !ok {
		return ""
	}
	return "http://" + app.Name + "." + app.Namespace + ".svc:" + strconv.Itoa(int(servicePort(p)))
}

// Summarize writes the status of an AppDeployment whose children were applied in this pass:
// d is the Deployment as it is now (after the apply) and dec the image decision.
//
//   - Rolled back (dec.FailedImage set): RolledBack=True, and Stalled=True/Ready=False with reason
//     RolledBack: the app serves lastGoodImage, but what was asked for is not running, and only a
//     new image can change that.
//   - The Deployment missed its progress deadline and could not be rolled back: Stalled, reason
//     ProgressDeadlineExceeded, with why no rollback happened.
//   - Every replica of the current template updated and available: Ready=True, and lastGoodImage
//     becomes the running image.
//   - A pod of the rollout cannot pull the image (pull, from FindStartFailure): Stalled, reason
//     ImagePullFailed, with the kubelet's message, instead of waiting for the progress deadline.
//   - The new image is being pulled onto the nodes first (dec.PrePulling): Reconciling, reason
//     PrePulling, with how many nodes have it.
//   - Otherwise: Reconciling, reason RollingOut, with the counts.
func Summarize(app *v1alpha1.AppDeployment, d *appsv1.Deployment, dec RolloutDecision, pull *StartFailure) {
	st, gen := &app.Status, app.Generation
	st.URL = URL(app)
	st.FailedImage = dec.FailedImage
	st.Pools, st.Wave = nil, "" // only for spec.placement.rollout
	ObserveDeployment(st, d)

	p := Progress(d)
	current := d != nil && p.Observed && RunningImage(d) == dec.Image
	if current && p.Complete {
		st.LastGoodImage = dec.Image
	}
	if dec.FailedImage != "" {
		msg := RolledBackMessage(dec.FailedImage, dec.Image)
		conditions.Set(&st.Conditions, v1alpha1.ConditionRolledBack, metav1.ConditionTrue, gen, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded, msg)
		conditions.MarkStalled(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRolledBack, msg)
		return
	}
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionRolledBack)
	switch {
	case dec.Paused && (dec.Waiting != "" || !p.Complete):
		msg := fmt.Sprintf("EdgeCluster %s is Disconnected: the Deployment is left as it is (running %s) until the pool reconnects", PoolName(app), dec.Image)
		if dec.Waiting != "" {
			msg += fmt.Sprintf("; then %s rolls out", dec.Waiting)
		}
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonPoolDisconnected, msg)
	case dec.PrePulling && app.Status.PrePull != nil:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonPrePulling, PrePullMessage(app.Status.PrePull, PrePullTimeout(app)))
	case d == nil || !p.Observed:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRollingOut,
			fmt.Sprintf("Waiting for the Deployment controller to pick up the new template of Deployment %s (image %s)", app.Name, dec.Image))
	case current && p.DeadlineExceeded:
		conditions.MarkStalled(&st.Conditions, gen, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded,
			deadlineMessage(app, d, dec.Image, p))
	case current && p.Complete:
		conditions.MarkReady(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRolledOut,
			fmt.Sprintf("%d/%d replicas of %s are updated and available", p.Desired, p.Desired, dec.Image))
	case pull != nil:
		conditions.MarkStalled(&st.Conditions, gen, pull.Condition, StartFailureMessage(pull))
	default:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRollingOut,
			fmt.Sprintf("Rolling out %s: %d of %d replicas updated, %d available", dec.Image,
				d.Status.UpdatedReplicas, p.Desired, d.Status.AvailableReplicas))
	}
}

// StartFailureMessage says which pod cannot pull what, and why (the kubelet's words).
func StartFailureMessage(f *StartFailure) string {
	msg := fmt.Sprintf("Pod %s", f.Pod)
	if f.Node != "" {
		msg += " on node " + f.Node
	}
	if f.Condition == v1alpha1.AppDeploymentReasonContainerConfigFailed {
		msg += fmt.Sprintf(" cannot start a container of %s (%s)", f.Image, f.Reason)
	} else {
		msg += fmt.Sprintf(" cannot pull %s (%s)", f.Image, f.Reason)
	}
	if f.Message != "" {
		msg += ": " + f.Message
	}
	if f.Condition == v1alpha1.AppDeploymentReasonContainerConfigFailed {
		return msg + ". Pods run as non-root by default: give the image a numeric USER, or set spec.securityContext.runAsUser " +
			"(or runAsNonRoot: false); check that referenced ConfigMaps and Secrets have the keys named"
	}
	return msg + ". Check that the image exists and that spec.imagePullSecrets (or the ImageBuild's push Secret) can read it"
}

func deadlineMessage(app *v1alpha1.AppDeployment, d *appsv1.Deployment, image string, p RolloutProgress) string {
	seconds := int32(600)
	if d.Spec.ProgressDeadlineSeconds != nil {
		seconds = *d.Spec.ProgressDeadlineSeconds
	}
	why := noRollbackReason(app)
	msg := fmt.Sprintf("The rollout of %s made no progress for %ds", image, seconds)
	if p.DeadlineMessage != "" {
		msg += " (" + p.DeadlineMessage + ")"
	}
	return msg + "; not rolled back: " + why + ". Check the pods (image, probes, resources, placement) and fix the spec or the image"
}

// PoolName is the app's pool (spec.placement.edgeClusterRef), "" when it has none.
func PoolName(app *v1alpha1.AppDeployment) string {
	if pl := app.Spec.Placement; pl != nil && pl.EdgeClusterRef != nil {
		return pl.EdgeClusterRef.Name
	}
	return ""
}
