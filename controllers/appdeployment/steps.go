package appdeployment

import (
	"context"
	"encoding/json"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// observeDeployment reads the live Deployment (if this AppDeployment controls one) and copies
// its replica counts into the status, so they stay true even when a later step stalls.
func (r *Reconciler) observeDeployment(ctx context.Context, s *pass) (skeleton.Result, error) {
	if app.Rollout(s.app) != nil {
		return skeleton.Result{}, nil // one Deployment per pool: resolveWaves reads them
	}
	d := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKeyFromObject(s.app), d)
	switch {
	case apierrors.IsNotFound(err):
		return skeleton.Result{}, nil
	case err != nil:
		return skeleton.Result{}, err
	case metav1.IsControlledBy(d, s.app):
		s.deployment = d
		app.ObserveDeployment(&s.app.Status, d)
	}
	return skeleton.Result{}, nil
}

// validate stalls on what admission should have rejected (objects stored before a rule existed).
func (r *Reconciler) validate(_ context.Context, s *pass) (skeleton.Result, error) {
	if err := app.Validate(s.app); err != nil {
		return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonInvalidSpec, "Invalid spec: %v", err)
	}
	return skeleton.Result{}, nil
}

// resolveImage finds the image the spec asks for: spec.image, or the latest image of
// spec.imageFrom's ImageBuild. Before that ImageBuild's first success nothing is applied
// (Reconciling while it builds, Stalled once it failed), and a missing ImageBuild stalls; the
// ImageBuild watch brings the AppDeployment back in either case.
func (r *Reconciler) resolveImage(ctx context.Context, s *pass) (skeleton.Result, error) {
	from := s.app.Spec.ImageFrom
	if from == nil {
		s.target = s.app.Spec.Image
		return skeleton.Result{}, nil
	}
	ib := &v1alpha1.ImageBuild{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: s.app.Namespace, Name: from.ImageBuildRef.Name}, ib); err != nil {
		if apierrors.IsNotFound(err) {
			return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonImageBuildNotFound,
				"ImageBuild %s/%s (spec.imageFrom.imageBuildRef) does not exist; create it or change spec.imageFrom",
				s.app.Namespace, from.ImageBuildRef.Name)
		}
		return skeleton.Result{}, err
	}
	s.build = ib
	image, wait, failed := app.BuildImage(ib)
	switch {
	case image != "":
		s.target = image
		return skeleton.Result{}, nil
	case failed:
		return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonWaitingForBuild, "%s", wait)
	default:
		conditions.MarkReconciling(&s.app.Status.Conditions, s.app.Generation, v1alpha1.AppDeploymentReasonWaitingForBuild, wait)
		return skeleton.Result{Stop: true}, nil
	}
}

// resolvePlacement reads the EdgeCluster of spec.placement.edgeClusterRef (its taints become
// tolerations). A missing one stalls; the EdgeCluster watch brings the AppDeployment back.
func (r *Reconciler) resolvePlacement(ctx context.Context, s *pass) (skeleton.Result, error) {
	pl := s.app.Spec.Placement
	if ro := app.Rollout(s.app); ro != nil {
		return r.resolveWaves(ctx, s, ro)
	}
	if pl == nil || pl.EdgeClusterRef == nil {
		return skeleton.Result{}, nil
	}
	ec := &v1alpha1.EdgeCluster{}
	if err := r.Get(ctx, types.NamespacedName{Name: pl.EdgeClusterRef.Name}, ec); err != nil {
		if apierrors.IsNotFound(err) {
			return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonEdgeClusterNotFound,
				"EdgeCluster %s (spec.placement.edgeClusterRef) does not exist; create it or change spec.placement",
				pl.EdgeClusterRef.Name)
		}
		return skeleton.Result{}, err
	}
	ok, why, err := pools.Admits(ctx, r.Client, ec, s.app.Namespace)
	if err != nil {
		return skeleton.Result{}, err
	}
	if !ok {
		// Nothing of the pool (placement, tolerations) is applied.
		return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonPoolNotAllowed, "%s", why)
	}
	s.pool = ec
	return skeleton.Result{}, nil
}

// applyWorkload decides which image runs (following the spec, or rolling back), then applies
// the Deployment, Service, Ingress, HPA and PDB the spec asks for and deletes those it no longer
// asks for. A child that already carries everything edgeforge would apply is left alone. While
// the app's pool is Disconnected, the Deployment is left as it is (app.DecideRollout), and while
// a new image is pulled onto the nodes first (prePull) it keeps running the old one.
func (r *Reconciler) applyWorkload(ctx context.Context, s *pass) (skeleton.Result, error) {
	obj := s.app
	var wait time.Duration
	if s.waves != nil {
		var err error
		if wait, err = r.applyWaves(ctx, s); err != nil {
			return skeleton.Result{}, err
		}
	} else if err := r.applySingle(ctx, s, &wait); err != nil {
		return skeleton.Result{}, err
	}
	if err := r.pruneDeployments(ctx, s); err != nil {
		return skeleton.Result{}, err
	}

	for _, c := range []apply.Child{
		child(obj, &corev1.Service{}, app.DesiredService(obj)),
		child(obj, &networkingv1.Ingress{}, app.DesiredIngress(obj)),
		child(obj, &autoscalingv2.HorizontalPodAutoscaler{}, app.DesiredHPA(obj)),
		child(obj, &policyv1.PodDisruptionBudget{}, app.DesiredPDB(obj)),
	} {
		if _, err := r.reconcileChild(ctx, obj, c); err != nil {
			return skeleton.Result{}, err
		}
	}
	return skeleton.Result{RequeueAfter: wait}, nil
}

// applySingle decides the image of the app's one Deployment (following the spec, rolling back,
// paused while its pool is Disconnected, held while the image is pre-pulled) and applies it;
// wait is how long until the pre-pull times out while it holds.
func (r *Reconciler) applySingle(ctx context.Context, s *pass, wait *time.Duration) error {
	obj := s.app
	s.decision = app.DecideRollout(app.RolloutInput{
		Target:           s.target,
		RollbackEnabled:  app.RollbackEnabled(obj),
		LastGoodImage:    obj.Status.LastGoodImage,
		FailedImage:      obj.Status.FailedImage,
		Deployment:       s.deployment,
		PoolDisconnected: s.pool != nil && meta.IsStatusConditionTrue(s.pool.Status.Conditions, v1alpha1.ConditionDisconnected),
	})
	var err error
	if *wait, err = r.prePull(ctx, s); err != nil {
		return err
	}
	if !s.decision.Paused && !s.decision.PrePulling {
		return r.applyDeployment(ctx, s)
	}
	return nil
}

// applyDeployment applies the Deployment of the decided image (handing replicas over to an HPA
// first, when autoscaling was just turned on) and records a rollout that began.
func (r *Reconciler) applyDeployment(ctx context.Context, s *pass) error {
	obj := s.app
	if err := r.handOverReplicas(ctx, s); err != nil {
		return err
	}
	running := app.RunningImage(s.deployment)
	desired := app.DesiredDeployment(obj, s.decision.Image, s.pool, s.build)
	applied, err := r.reconcileChild(ctx, obj, child(obj, &appsv1.Deployment{}, desired))
	if err != nil || !applied {
		return err
	}
	// The apply response (now in desired) is the Deployment as it is after this apply.
	d, err := asDeployment(desired)
	if err != nil {
		return err
	}
	s.deployment = d
	if running != s.decision.Image {
		r.recordRollout(s, running)
	}
	return nil
}

// handOverReplicas runs once when spec.autoscaling is turned on for a running Deployment. The
// next apply leaves replicas out for the HPA; were edgeforge the field's only owner, server-side
// apply would remove it and the Deployment would drop to 1 replica until the HPA acts. So the
// current value is first co-owned by a second field manager (the "transferring ownership" recipe
// of the server-side apply docs), and stays until the HPA changes it.
func (r *Reconciler) handOverReplicas(ctx context.Context, s *pass) error {
	d := s.deployment
	if s.app.Spec.Autoscaling == nil || d == nil || d.Spec.Replicas == nil {
		return nil
	}
	ours, err := appsv1ac.ExtractDeployment(d, fieldOwner)
	if err != nil || ours.Spec == nil || ours.Spec.Replicas == nil {
		return err // edgeforge does not own replicas (any more): nothing to hand over
	}
	handover := appsv1ac.Deployment(d.Name, d.Namespace).
		WithSpec(appsv1ac.DeploymentSpec().WithReplicas(*d.Spec.Replicas))
	return r.Apply(ctx, handover, client.FieldOwner(handoverFieldOwner))
}

// asDeployment converts an applied Deployment apply configuration (holding the API server's
// response) into a Deployment.
func asDeployment(ac *appsv1ac.DeploymentApplyConfiguration) (*appsv1.Deployment, error) {
	data, err := json.Marshal(ac)
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{}
	return d, json.Unmarshal(data, d)
}

// recordRollout counts and announces a new image in the Deployment.
// Both are announced once the status is written.
func (r *Reconciler) recordRollout(s *pass, from string) {
	dec := s.decision
	switch {
	case dec.RolledBack:
		s.patcher.Announce(rollbacks.Inc)
		s.event(r.Recorder, corev1.EventTypeWarning, v1alpha1.AppDeploymentReasonRolledBack, "RollBack", "%s",
			app.RolledBackMessage(dec.FailedImage, dec.Image))
	case from == "":
		s.patcher.Announce(rollouts.Inc)
		s.event(r.Recorder, corev1.EventTypeNormal, "RolloutStarted", "RollOut", "Rolling out %s", dec.Image)
	default:
		s.patcher.Announce(rollouts.Inc)
		s.event(r.Recorder, corev1.EventTypeNormal, "RolloutStarted", "RollOut", "Rolling out %s (was %s)", dec.Image, from)
	}
}

// observePods looks for a pod of the rollout whose kubelet cannot pull the image or create the
// container, so the status
// says so at once instead of at the progress deadline.
func (r *Reconciler) observePods(ctx context.Context, s *pass) (skeleton.Result, error) {
	image := s.decision.Image
	if s.waves != nil {
		image = s.target
	} else if s.deployment == nil {
		return skeleton.Result{}, nil
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(s.app.Namespace), client.MatchingLabels{v1alpha1.LabelAppDeployment: s.app.Name}); err != nil {
		return skeleton.Result{}, err
	}
	s.pull = app.FindStartFailure(pods.Items, image)
	return skeleton.Result{}, nil
}

// summarize writes the status from the Deployment as it is after this pass, and announces a
// completed rollout and an image that cannot be pulled.
func (r *Reconciler) summarize(_ context.Context, s *pass) (skeleton.Result, error) {
	before := s.app.Status.LastGoodImage
	wasReason := readyReason(s.app)
	if s.waves != nil {
		app.SummarizeWaves(s.app, s.waves, s.plan, s.pull)
	} else {
		app.Summarize(s.app, s.deployment, s.decision, s.pull)
	}
	if s.pull != nil && readyReason(s.app) == s.pull.Condition && wasReason != s.pull.Condition {
		s.event(r.Recorder, corev1.EventTypeWarning, s.pull.Condition, "RollOut", "%s", app.StartFailureMessage(s.pull))
	}
	if lg := s.app.Status.LastGoodImage; lg != before && lg != "" {
		s.event(r.Recorder, corev1.EventTypeNormal, v1alpha1.AppDeploymentReasonRolledOut, "RollOut",
			"%s is rolled out: %s replicas available", lg, s.app.Status.Ready)
	}
	return skeleton.Result{}, nil
}

func readyReason(a *v1alpha1.AppDeployment) string {
	if c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}
