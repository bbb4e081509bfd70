package app

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// ReasonProgressDeadlineExceeded is the reason of a Deployment's Progressing=False condition
// once a rollout made no progress for progressDeadlineSeconds.
const ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"

// RolloutInput is what DecideRollout looks at.
type RolloutInput struct {
	// Target is the image the spec asks for: spec.image, or the latestImage of spec.imageFrom's ImageBuild.
	Target string
	// RollbackEnabled is spec.rollback.enabled.
	RollbackEnabled bool
	// LastGoodImage and FailedImage are the AppDeployment's status fields.
	LastGoodImage, FailedImage string
	// Deployment is the live Deployment, nil before it was created.
	Deployment *appsv1.Deployment
	// PoolDisconnected: the app's pool (spec.placement.edgeClusterRef) is Disconnected.
	PoolDisconnected bool
}

// RolloutDecision says which image the Deployment runs.
type RolloutDecision struct {
	// Image to put into the Deployment's pod template.
	Image string
	// FailedImage is the new status.failedImage: the image rolled back from, or "" when running Target.
	FailedImage string
	// RolledBack is true on the one pass that rolls back (for the event and the metric).
	RolledBack bool
	// Paused: the app's pool is Disconnected, so the Deployment is left as it is (no rollout,
	// no rollback) until it reconnects; Waiting is the image that would roll out ("" when it
	// already runs).
	Paused  bool
	Waiting string
	// PrePulling: Waiting is being pulled onto the app's nodes (spec.strategy.prePull), so the
	// Deployment is left at Image, the image it runs, until that is done (HoldForPrePull).
	PrePulling bool
}

// RollbackEnabled reads spec.rollback.enabled (default true).
func RollbackEnabled(app *v1alpha1.AppDeployment) bool {
	return app.Spec.Rollback == nil || app.Spec.Rollback.Enabled == nil || *app.Spec.Rollback.Enabled
}

// DecideRollout picks the image to run:
//   - the Deployment missed its progress deadline on Target, Target is not the last good image,
//     and rollback is enabled with a last good image to go back to: roll back (run lastGoodImage,
//     remember Target as failedImage);
//   - Target is the image rolled back from earlier (failedImage): stay on lastGoodImage, so the
//     controller does not flip back to a known-bad image; a new Target (new spec.image, new
//     build digest) ends this;
//   - otherwise: run Target.
//
// While the app's pool is Disconnected and a Deployment runs, nothing changes: its nodes could
// pull no new image and report no progress, and a rollback on a missed deadline would be a
// rollback of an unobservable site.
func DecideRollout(in RolloutInput) RolloutDecision {
	if running := RunningImage(in.Deployment); in.PoolDisconnected && in.Deployment != nil {
		dec := RolloutDecision{Image: running, FailedImage: in.FailedImage, Paused: true}
		if running != in.Target {
			dec.Waiting = in.Target
		}
		return dec
	}
	canRollBack := in.RollbackEnabled && in.LastGoodImage != "" && in.Target != in.LastGoodImage
	switch {
	case !canRollBack:
		return RolloutDecision{Image: in.Target}
	case in.FailedImage != "" && in.FailedImage == in.Target:
		return RolloutDecision{Image: in.LastGoodImage, FailedImage: in.FailedImage}
	case RunningImage(in.Deployment) == in.Target && Progress(in.Deployment).DeadlineExceeded:
		return RolloutDecision{Image: in.LastGoodImage, FailedImage: in.Target, RolledBack: true}
	default:
		return RolloutDecision{Image: in.Target}
	}
}

// RunningImage is the image of the app container in a Deployment's pod template ("" for nil).
func RunningImage(d *appsv1.Deployment) string {
	if d == nil {
		return ""
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == ContainerName {
			return c.Image
		}
	}
	return ""
}

// RolloutProgress is how far a Deployment has rolled out its current pod template.
type RolloutProgress struct {
	// Observed: the Deployment controller has seen the current generation (its status is about it).
	Observed bool
	// Desired replicas (spec.replicas of the live Deployment: the HPA's choice when autoscaled).
	Desired int32
	// Complete: every desired replica runs the current template and is available, and no old
	// replica is left.
	Complete bool
	// DeadlineExceeded: the Deployment reports Progressing=False, reason ProgressDeadlineExceeded.
	DeadlineExceeded bool
	// DeadlineMessage is the message of that condition.
	DeadlineMessage string
}

// Progress reads a Deployment's status. A nil Deployment has made no progress.
func Progress(d *appsv1.Deployment) RolloutProgress {
	if d == nil {
		return RolloutProgress{}
	}
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	st := d.Status
	p := RolloutProgress{Observed: st.ObservedGeneration >= d.Generation, Desired: desired}
	if !p.Observed {
		return p
	}
	p.Complete = st.UpdatedReplicas == desired && st.AvailableReplicas == desired && st.Replicas == desired
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == ReasonProgressDeadlineExceeded {
			p.DeadlineExceeded, p.DeadlineMessage = true, c.Message
		}
	}
	return p
}

// RolledBackMessage is the message of the RolledBack condition (and event).
func RolledBackMessage(failed, lastGood string) string {
	return fmt.Sprintf("The rollout of %s missed its progress deadline; rolled back to %s. "+
		"It is not tried again until a different image is asked for (a new spec.image or a new build)", failed, lastGood)
}
