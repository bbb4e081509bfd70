package appdeployment

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
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

	wantTolerations := func(taintTolerations ...corev1.Toleration) func(*appsv1.Deployment) error {
		return func(d *appsv1.Deployment) error {
			ps := d.Spec.Template.Spec
			if ps.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool {
				return fmt.Errorf("nodeSelector %v", ps.NodeSelector)
			}
			want := append(taintTolerations, corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})
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
}
