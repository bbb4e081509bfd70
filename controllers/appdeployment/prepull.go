package appdeployment

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
)

// The pre-pull Pods are created (one per node) and deleted by the controller; the nodes an app
// may run on are listed when a pre-pull starts.
// +kubebuilder:rbac:groups="",resources=pods,verbs=create;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list

// prePull runs before the Deployment is applied (spec.strategy.prePull, internal/app/prepull.go).
// When the decided image must first be pulled onto the app's nodes, it holds the decision at the
// running image until pullFirst lets it go. It returns how long until the timeout while it holds.
func (r *Reconciler) prePull(ctx context.Context, s *pass) (time.Duration, error) {
	image := s.decision.Image
	wanted := app.PrePullWanted(s.app, s.decision, s.deployment)
	hold, left, err := r.pullFirst(ctx, s, wanted, image, 0, func() ([]*appsv1ac.DeploymentApplyConfiguration, error) {
		return []*appsv1ac.DeploymentApplyConfiguration{app.DesiredDeployment(s.app, image, s.pool, s.build)}, nil
	})
	if hold {
		s.decision = app.HoldForPrePull(s.decision, app.RunningImage(s.deployment))
	}
	return left, err
}

// prePullWave is prePull for spec.placement.rollout: the pools whose Deployments this pass's
// plan switches to the new image pull it first (their wave's turn), and are held (left as they
// are) until pullFirst lets them go.
func (r *Reconciler) prePullWave(ctx context.Context, s *pass) (time.Duration, error) {
	obj := s.app
	ro := app.Rollout(obj)
	var switching []int
	wave := 0
	for i, p := range s.waves {
		if app.PoolPrePullWanted(obj, s.plan.Pools[i].Image, s.target, p) {
			switching = append(switching, i)
			wave = max(wave, p.Wave)
		}
	}
	hold, left, err := r.pullFirst(ctx, s, len(switching) > 0, s.target, int32(wave), func() ([]*appsv1ac.DeploymentApplyConfiguration, error) {
		var out []*appsv1ac.DeploymentApplyConfiguration
		for _, i := range switching {
			p := s.waves[i]
			out = append(out, app.DesiredPoolDeployment(obj, s.target, s.wavePools[p.Pool], s.build, &ro.Pools[p.Entry]))
		}
		return out, nil
	})
	if hold {
		for _, i := range switching {
			s.plan.Pools[i].Image = ""
		}
		s.plan.PrePulling = true
	}
	return left, err
}

// pullFirst runs the pre-pull of image (for wave; 0: the single Deployment) when wanted: it
// starts it (one Pod per node the pods of the rendered Deployments may run on), follows it, and
// reports hold until every node has the image or prePullTimeout passed; then the status and an
// event say which nodes were slow. Pre-pull Pods nothing waits for any more are deleted. left is
// how long until the timeout while it holds.
func (r *Reconciler) pullFirst(ctx context.Context, s *pass, wanted bool, image string, wave int32,
	render func() ([]*appsv1ac.DeploymentApplyConfiguration, error)) (hold bool, left time.Duration, err error) {
	a := s.app
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(a.Namespace), client.MatchingLabels{v1alpha1.LabelPrePull: a.Name}); err != nil {
		return false, 0, err
	}
	if !wanted || app.PrePullDone(a.Status.PrePull, image, wave) {
		return false, 0, r.deletePrePullPods(ctx, pods.Items, "")
	}
	timeout := app.PrePullTimeout(a)
	now := r.clock().Now()
	if st := a.Status.PrePull; st == nil || st.Image != image || st.Wave != wave {
		desired, err := render()
		if err != nil {
			return false, 0, err
		}
		started, err := r.startPrePull(ctx, s, desired, image, wave, timeout)
		if err != nil {
			return false, 0, err
		}
		a.Status.PrePull = &v1alpha1.PrePullStatus{Image: image, Wave: wave, StartTime: metav1.Time{Time: now}, Nodes: int32(started)}
		onto := fmt.Sprintf("%d nodes", started)
		if wave > 0 {
			onto += fmt.Sprintf(" of wave %d", wave)
		}
		s.event(r.Recorder, corev1.EventTypeNormal, "PrePullStarted", "PrePull",
			"Pulling %s onto %s before the rollout (at most %s)", image, onto, timeout)
	}
	if err := r.deletePrePullPods(ctx, pods.Items, app.ImageHash(app.PrePullKey(image, wave))); err != nil {
		return false, 0, err
	}
	p := app.EvaluatePrePull(*a.Status.PrePull, pods.Items, now, timeout)
	a.Status.PrePull = &p.Status
	if !p.Done {
		return true, p.Left, nil
	}
	if p.Status.Pulled >= p.Status.Nodes {
		s.event(r.Recorder, corev1.EventTypeNormal, "PrePulled", "PrePull", "%s", app.PrePullOutcome(p))
	} else {
		s.event(r.Recorder, corev1.EventTypeWarning, "PrePullIncomplete", "PrePull", "%s", app.PrePullOutcome(p))
	}
	return false, 0, nil
}

// startPrePull creates a pre-pull Pod of image on every node the pods of the desired
// Deployments may run on now and returns how many nodes that is.
func (r *Reconciler) startPrePull(ctx context.Context, s *pass, desired []*appsv1ac.DeploymentApplyConfiguration, image string, wave int32, timeout time.Duration) (int, error) {
	seen := map[string]bool{}
	for _, ac := range desired {
		d, err := asDeployment(ac)
		if err != nil {
			return 0, err
		}
		spec := &d.Spec.Template.Spec
		nodes := &corev1.NodeList{}
		if err := r.reader().List(ctx, nodes, client.MatchingLabels(spec.NodeSelector)); err != nil {
			return 0, err
		}
		for _, node := range app.PrePullNodes(nodes.Items, spec) {
			if seen[node] {
				continue
			}
			seen[node] = true
			pod := app.PrePullPod(s.app, spec, image, wave, node, timeout)
			if err := r.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
				return 0, err
			}
		}
	}
	return len(seen), nil
}

// deletePrePullPods deletes the pre-pull Pods except those of the image hash keep ("": all).
func (r *Reconciler) deletePrePullPods(ctx context.Context, pods []corev1.Pod, keep string) error {
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || (keep != "" && p.Labels[v1alpha1.LabelPrePullImage] == keep) {
			continue
		}
		if err := r.Delete(ctx, p, client.Preconditions{UID: &p.UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

func (r *Reconciler) reader() client.Reader {
	if r.APIReader == nil {
		return r.Client
	}
	return r.APIReader
}

// prePullPodToApp maps a pre-pull Pod to its AppDeployment (label edgeforge.io/prepull).
func prePullPodToApp(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[v1alpha1.LabelPrePull]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// prePullChanged passes a pre-pull Pod's events when it comes, goes, or gets the image.
func prePullChanged() predicate.Predicate {
	pulled := func(o client.Object) bool {
		p, ok := o.(*corev1.Pod)
		if !ok {
			return false
		}
		done, _ := app.PodPulled(p)
		return done
	}
	isPrePull := func(o client.Object) bool { return o.GetLabels()[v1alpha1.LabelPrePull] != "" }
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return isPrePull(e.Object) },
		DeleteFunc: func(e event.DeleteEvent) bool { return isPrePull(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return isPrePull(e.ObjectNew) && pulled(e.ObjectOld) != pulled(e.ObjectNew)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
