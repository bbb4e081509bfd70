package edge

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

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

// A pool's app pods ride out a lost link for spec.autonomy.tolerateDisconnectionFor, or for ever;
// a toleration the user wrote for those keys (or for every taint) wins.
func TestDisconnectionTolerations(t *testing.T) {
	pool := func(v string) *v1alpha1.EdgeCluster {
		ec := &v1alpha1.EdgeCluster{}
		if v != "" {
			ec.Spec.Autonomy = &v1alpha1.AutonomySpec{TolerateDisconnectionFor: v}
		}
		return ec
	}
	both := func(secs *int64) []corev1.Toleration {
		return []corev1.Toleration{
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs},
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs},
		}
	}
	userUnreachable := []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}}
	for _, tc := range []struct {
		name string
		pool *v1alpha1.EdgeCluster
		user []corev1.Toleration
		want []corev1.Toleration
	}{
		{"no pool: nothing", nil, nil, nil},
		{"default: an hour", pool(""), nil, both(ptr.To[int64](3600))},
		{"24h", pool("24h"), nil, both(ptr.To[int64](86400))},
		{"Forever: no limit", pool("Forever"), nil, both(nil)},
		{"the user's own toleration of unreachable wins", pool("24h"), userUnreachable, both(ptr.To[int64](86400))[1:]},
		{"the user tolerates everything", pool("24h"), []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, nil},
		{"a value admission would refuse reads as the default", pool("soon"), nil, both(ptr.To[int64](3600))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DisconnectionTolerations(tc.pool, tc.user); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DisconnectionTolerations = %+v, want %+v", got, tc.want)
			}
		})
	}
}
