package edge

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A pool's workloads tolerate its template taints, except a control-plane taint: edgeforge never
// puts pods on a control plane unless the user's own tolerations say so.
func TestPoolTolerations(t *testing.T) {
	pool := &v1alpha1.EdgeCluster{Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
		{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		{Key: "site", Effect: corev1.TaintEffectPreferNoSchedule},
		{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule},
	}}}}
	want := []corev1.Toleration{
		{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule},
		{Key: "site", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule},
	}
	if got := PoolTolerations(pool); !reflect.DeepEqual(got, want) {
		t.Errorf("PoolTolerations = %+v, want %+v", got, want)
	}
	if got := PoolTolerations(nil); got != nil {
		t.Errorf("no pool: %+v", got)
	}
	if got := PoolTolerations(&v1alpha1.EdgeCluster{}); got != nil {
		t.Errorf("no template: %+v", got)
	}
}
