package appdeployment

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// When the decided image must first be pulled onto the app's nodes, it starts the pre-pull (one
// Pod per node), follows it, and holds the decision at the running image until every node has
// the new one or prePullTimeout passed; then the rollout goes and the status and an event say
// which nodes were slow. Pre-pull Pods nothing waits for any more are deleted. It returns how
// long until the timeout while it holds.
func (r *Reconciler) prePull(ctx context.Context, s *pass) (time.Duration, error) {
	a := s.app
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(a.Namespace), client.MatchingLabels{v1alpha1.LabelPrePull: a.Name}); err != nil {
		return 0, err
	}
	running := app.RunningImage(s.deployment)
	image := s.decision.Image
	if !app.PrePullWanted(a, s.decision, s.deployment) || app.PrePullDone(a.Status.PrePull, image) {
		return 0, r.deletePrePullPods(ctx, pods.Items, "")
	}
	timeout := app.PrePullTimeout(a)
	now := r.clock().Now()
	if st := a.Status.PrePull; st == nil || st.Image != image {
		started, err := r.startPrePull(ctx, s, image, timeout)
		if err != nil {
			return 0, err
		}
		a.Status.PrePull = &v1alpha1.PrePullStatus{Image: image, StartTime: metav1.Time{Time: now}, Nodes: int32(started)}
		s.event(r.Recorder, corev1.EventTypeNormal, "PrePullStarted", "PrePull",
			"Pulling %s onto %d nodes before the rollout (at most %s)", image, started, timeout)
	}
	if err := r.deletePrePullPods(ctx, pods.Items, app.ImageHash(image)); err != nil {
		return 0, err
	}
	p := app.EvaluatePrePull(*a.Status.PrePull, pods.Items, now, timeout)
	a.Status.PrePull = &p.Status
	if !p.Done {
		s.decision = app.HoldForPrePull(s.decision, running)
		return p.Left, nil
	}
	if p.Status.Pulled >= p.Status.Nodes {
		s.event(r.Recorder, corev1.EventTypeNormal, "PrePulled", "PrePull", "%s", app.PrePullOutcome(p))
	} else {
		s.event(r.Recorder, corev1.EventTypeWarning, "PrePullIncomplete", "PrePull", "%s", app.PrePullOutcome(p))
	}
	return 0, nil
}

// startPrePull creates a pre-pull Pod of image on every node the app's pods may run on now and
// returns how many nodes that is.
func (r *Reconciler) startPrePull(ctx context.Context, s *pass, image string, timeout time.Duration) (int, error) {
	desired, err := asDeployment(app.DesiredDeployment(s.app, image, s.pool, s.build))
	if err != nil {
		return 0, err
	}
	spec := &desired.Spec.Template.Spec
	nodes := &corev1.NodeList{}
	if err := r.reader().List(ctx, nodes, client.MatchingLabels(spec.NodeSelector)); err != nil {
		return 0, err
	}
	targets := app.PrePullNodes(nodes.Items, spec)
	for _, node := range targets {
		pod := app.PrePullPod(s.app, spec, image, node, timeout)
		if err := r.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, err
		}
	}
	return len(targets), nil
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
