package appdeployment

import (
	"context"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/app"
)

// selectorReferrer is the value of the EdgeCluster index for an app with an edgeClusterSelector
// entry in spec.placement.rollout: any pool's change may concern it ("*" is no object name).
const selectorReferrer = "*"

// resolveWaves reads the pools of spec.placement.rollout (named, or selected by label, that
// admit the app's namespace), puts them into waves (app.AssignWaves) and reads each one's
// Deployment <app>-<pool>. A named pool that is missing or does not admit the app stalls, as
// with spec.placement.edgeClusterRef; selected ones that do not admit it are left out. No pool
// at all stalls with NoPools.
func (r *Reconciler) resolveWaves(ctx context.Context, s *pass, ro *v1alpha1.WaveRollout) (skeleton.Result, error) {
	selected := make([][]string, len(ro.Pools))
	s.wavePools = map[string]*v1alpha1.EdgeCluster{}
	for i, e := range ro.Pools {
		var candidates []v1alpha1.EdgeCluster
		switch {
		case e.EdgeClusterRef != nil:
			ec := v1alpha1.EdgeCluster{}
			if err := r.Get(ctx, types.NamespacedName{Name: e.EdgeClusterRef.Name}, &ec); err != nil {
				if apierrors.IsNotFound(err) {
					return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonEdgeClusterNotFound,
						"EdgeCluster %s (spec.placement.rollout.pools[%d].edgeClusterRef) does not exist; create it or change spec.placement.rollout",
						e.EdgeClusterRef.Name, i)
				}
				return skeleton.Result{}, err
			}
			ok, why, err := pools.Admits(ctx, r.Client, &ec, s.app.Namespace)
			if err != nil {
				return skeleton.Result{}, err
			}
			if !ok {
				return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonPoolNotAllowed, "spec.placement.rollout.pools[%d]: %s", i, why)
			}
			candidates = append(candidates, ec)
		case e.EdgeClusterSelector != nil:
			sel, err := metav1.LabelSelectorAsSelector(e.EdgeClusterSelector)
			if err != nil {
				return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonInvalidSpec,
					"spec.placement.rollout.pools[%d].edgeClusterSelector: %v", i, err)
			}
			list := &v1alpha1.EdgeClusterList{}
			if err := r.List(ctx, list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
				return skeleton.Result{}, err
			}
			for _, ec := range list.Items {
				ok, _, err := pools.Admits(ctx, r.Client, &ec, s.app.Namespace)
				if err != nil {
					return skeleton.Result{}, err
				}
				if ok {
					candidates = append(candidates, ec)
				}
			}
		}
		for j := range candidates {
			ec := &candidates[j]
			if _, dup := s.wavePools[ec.Name]; !dup {
				s.wavePools[ec.Name] = ec
			}
			selected[i] = append(selected[i], ec.Name)
		}
	}
	assigned := app.AssignWaves(ro.Pools, selected)
	if len(assigned) == 0 {
		return skeleton.Result{}, skeleton.Stall(v1alpha1.AppDeploymentReasonNoPools,
			"spec.placement.rollout selects no EdgeCluster that admits namespace %s; label the pools or change the selectors", s.app.Namespace)
	}
	for _, a := range assigned {
		wp := app.WavePool{PoolAssignment: a,
			Disconnected: meta.IsStatusConditionTrue(s.wavePools[a.Pool].Status.Conditions, v1alpha1.ConditionDisconnected)}
		d := &appsv1.Deployment{}
		err := r.Get(ctx, types.NamespacedName{Namespace: s.app.Namespace, Name: app.PoolDeploymentName(s.app, a.Pool)}, d)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return skeleton.Result{}, err
		case metav1.IsControlledBy(d, s.app):
			wp.Deployment = d
		}
		if i := slices.IndexFunc(s.app.Status.Pools, func(p v1alpha1.PoolStatus) bool { return p.Name == a.Pool }); i >= 0 {
			wp.Last = &s.app.Status.Pools[i]
		}
		s.waves = append(s.waves, wp)
	}
	return skeleton.Result{}, nil
}

// applyWaves applies each pool's Deployment with the image app.PlanWaves gives it (none for a
// pool left as it is), the pools a wave switches to a new image once they have pulled it
// (prePullWave), and announces a wave that starts or is rolled back. It returns how long until
// the rolled-out wave has waited out pauseBetweenWaves, or the pre-pull times out.
func (r *Reconciler) applyWaves(ctx context.Context, s *pass) (time.Duration, error) {
	obj := s.app
	ro := app.Rollout(obj)
	s.plan = app.PlanWaves(app.WaveInput{
		Target:          s.target,
		RollbackEnabled: app.RollbackEnabled(obj),
		LastGoodImage:   obj.Status.LastGoodImage,
		FailedImage:     obj.Status.FailedImage,
		Pools:           s.waves,
		Pause:           app.PauseBetweenWaves(ro),
		Now:             r.clock().Now(),
	})
	wait, err := r.prePullWave(ctx, s)
	if err != nil {
		return 0, err
	}
	if s.plan.PauseLeft > 0 && (wait == 0 || s.plan.PauseLeft < wait) {
		wait = s.plan.PauseLeft
	}
	var started, rolledBack []string
	for i := range s.waves {
		p := &s.waves[i]
		image := s.plan.Pools[i].Image
		if image == "" {
			continue
		}
		desired := app.DesiredPoolDeployment(obj, image, s.wavePools[p.Pool], s.build, &ro.Pools[p.Entry])
		c := apply.Child{Live: &appsv1.Deployment{}, Key: types.NamespacedName{Namespace: obj.Namespace, Name: *desired.Name}, Desired: desired}
		applied, err := r.reconcileChild(ctx, obj, c)
		if err != nil {
			return 0, err
		}
		if !applied {
			continue
		}
		running := app.RunningImage(p.Deployment)
		if p.Deployment, err = asDeployment(desired); err != nil {
			return 0, err
		}
		switch {
		case running == image:
		case image == s.plan.Image:
			started = append(started, p.Pool)
		default:
			rolledBack = append(rolledBack, p.Pool)
		}
	}
	plan := s.plan
	switch {
	case plan.RolledBack:
		s.patcher.Announce(rollbacks.Inc)
		s.event(r.Recorder, corev1.EventTypeWarning, v1alpha1.AppDeploymentReasonRolledBack, "RollBack",
			"The rollout of %s failed in wave %d/%d (pool %s missed its progress deadline): rolled back %s to %s; the rollout stopped",
			plan.FailedImage, plan.FailedWave, plan.Waves, plan.FailedPool, strings.Join(rolledBack, ", "), obj.Status.LastGoodImage)
	case len(started) > 0:
		s.patcher.Announce(rollouts.Inc)
		s.event(r.Recorder, corev1.EventTypeNormal, "RolloutStarted", "RollOut", "Wave %d/%d: rolling out %s to %s",
			plan.Reached, plan.Waves, plan.Image, strings.Join(started, ", "))
	}
	return wait, nil
}

// pruneDeployments deletes the Deployments this AppDeployment controls that it no longer asks
// for: a pool that left spec.placement.rollout, the single Deployment after a switch to several
// pools, or the pools' Deployments after a switch back.
//
// An app in one place that never had several (no status.pools) has nothing to prune: the list
// is skipped, so the common case costs no scan of the namespace's Deployments.
func (r *Reconciler) pruneDeployments(ctx context.Context, s *pass) error {
	if s.waves == nil && len(s.app.Status.Pools) == 0 {
		return nil
	}
	keep := []string{s.app.Name}
	if s.waves != nil {
		keep = keep[:0]
		for _, p := range s.waves {
			keep = append(keep, app.PoolDeploymentName(s.app, p.Pool))
		}
	}
	list := &appsv1.DeploymentList{}
	if err := r.List(ctx, list, client.InNamespace(s.app.Namespace), client.MatchingLabels{v1alpha1.LabelAppDeployment: s.app.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		d := &list.Items[i]
		if slices.Contains(keep, d.Name) || !metav1.IsControlledBy(d, s.app) || d.DeletionTimestamp != nil {
			continue
		}
		if err := r.Delete(ctx, d, client.Preconditions{UID: &d.UID}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
