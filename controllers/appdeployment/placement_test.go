package appdeployment

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// An app placed on a missing EdgeCluster stalls; once the pool exists its pods select the pool's
// nodes, tolerate its taints (and follow changes of them) and spread over hostnames.
func TestPlacementOnEdgeCluster(t *testing.T) {
	ns := namespace(t)
	pool := "pool-" + strings.ToLower(rand.String(6))
	a := newApp(t, ns, "edge", func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{
			EdgeClusterRef:    &v1alpha1.EdgeClusterReference{Name: pool},
			Tolerations:       []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}},
			SpreadAcrossNodes: true,
		}
	})
	key := client.ObjectKeyFromObject(a)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonEdgeClusterNotFound)
	if msg := findReady(got).Message; !strings.Contains(msg, "EdgeCluster "+pool+" (spec.placement.edgeClusterRef) does not exist") {
		t.Errorf("Ready message %q", msg)
	}

	ec := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		}}},
	}
	if err := k8s.Create(ctx(t), ec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), ec) })

	// The pool's autonomy (default 1h): its pods stay through a lost link that long.
	disconnection := []corev1.Toleration{
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](3600)},
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](3600)},
	}
	wantTolerations := func(taintTolerations ...corev1.Toleration) func(*appsv1.Deployment) error {
		return func(d *appsv1.Deployment) error {
			ps := d.Spec.Template.Spec
			if ps.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool {
				return fmt.Errorf("nodeSelector %v", ps.NodeSelector)
			}
			// The pool's taints, its autonomy, then the user's own.
			want := slices.Concat(taintTolerations, disconnection, []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}})
			if !reflect.DeepEqual(ps.Tolerations, want) {
				return fmt.Errorf("tolerations %+v, want %+v", ps.Tolerations, want)
			}
			if len(ps.TopologySpreadConstraints) != 1 || ps.TopologySpreadConstraints[0].TopologyKey != corev1.LabelHostname ||
				ps.TopologySpreadConstraints[0].WhenUnsatisfiable != corev1.ScheduleAnyway || ps.TopologySpreadConstraints[0].MaxSkew != 1 {
				return fmt.Errorf("topologySpreadConstraints %+v", ps.TopologySpreadConstraints)
			}
			return nil
		}
	}
	deployment(t, key, "placed on the pool", wantTolerations(
		corev1.Toleration{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}))
	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)

	// The pool's taints change: the tolerations follow.
	eventually(t, "changing the pool's taints", func() error {
		if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(ec), ec); err != nil {
			return err
		}
		ec.Spec.NodeTemplate.Taints = append(ec.Spec.NodeTemplate.Taints, v1alpha1.Taint{Key: "site", Effect: corev1.TaintEffectNoExecute})
		return k8s.Update(ctx(t), ec)
	})
	deployment(t, key, "tolerates the new taint", wantTolerations(
		corev1.Toleration{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule},
		corev1.Toleration{Key: "site", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}))

	// The pool rides out any disconnection: no limit on the tolerations.
	eventually(t, "making the pool autonomous for ever", func() error {
		if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(ec), ec); err != nil {
			return err
		}
		ec.Spec.Autonomy = &v1alpha1.AutonomySpec{TolerateDisconnectionFor: v1alpha1.DisconnectionForever}
		return k8s.Update(ctx(t), ec)
	})
	disconnection[0].TolerationSeconds, disconnection[1].TolerationSeconds = nil, nil
	deployment(t, key, "tolerates a lost link for ever", wantTolerations(
		corev1.Toleration{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule},
		corev1.Toleration{Key: "site", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}))
}

// While the app's pool is Disconnected, its Deployment is left as it is: a new image waits (the
// status says so) and rolls out once the pool reconnects.
func TestRolloutPausesWhileThePoolIsDisconnected(t *testing.T) {
	ns := namespace(t)
	pool := "pool-" + strings.ToLower(rand.String(6))
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool}}
	if err := k8s.Create(ctx(t), ec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), ec) })
	a := newApp(t, ns, "site", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = "registry.test/web:1"
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}
	})
	key := client.ObjectKeyFromObject(a)
	testenv.RollOut(t, k8s, key, timeout)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)

	setDisconnected := func(status metav1.ConditionStatus) {
		t.Helper()
		eventually(t, "the pool's Disconnected condition "+string(status), func() error {
			if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(ec), ec); err != nil {
				return err
			}
			meta.SetStatusCondition(&ec.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionDisconnected, Status: status,
				Reason: v1alpha1.EdgeClusterReasonNodesUnreachable, Message: "test", ObservedGeneration: ec.Generation})
			return k8s.Status().Update(ctx(t), ec)
		})
	}
	setDisconnected(metav1.ConditionTrue)
	eventually(t, "a new image", func() error {
		if err := k8s.Get(ctx(t), key, a); err != nil {
			return err
		}
		a.Spec.Image = "registry.test/web:2"
		return k8s.Update(ctx(t), a)
	})
	got := waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonPoolDisconnected)
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReconciling); !strings.Contains(c.Message, "then registry.test/web:2 rolls out") {
		t.Errorf("Reconciling message %q does not say what waits", c.Message)
	}
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx(t), key, d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.test/web:1" {
		t.Fatalf("the Deployment of an app on a disconnected pool changed to %s", img)
	}

	setDisconnected(metav1.ConditionFalse)
	deployment(t, key, "the new image once the pool is back", func(d *appsv1.Deployment) error {
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.test/web:2" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})
}
