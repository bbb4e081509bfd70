package edge

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// controlPlaneTaintKeys are the taints that keep workloads off control-plane nodes (kubeadm's,
// and the older master one). edgeforge never tolerates them on its own: only a toleration the
// user wrote (spec.placement.tolerations, spec.runOn.tolerations) lets a pod onto a control plane.
var controlPlaneTaintKeys = []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}

// PoolTolerations tolerate the taints of the pool's node template, so its workloads run on its
// members: the same key, value and effect (any value when the taint has none). A template taint
// of a control-plane key gets no toleration (the user must ask for that one).
func PoolTolerations(pool *v1alpha1.EdgeCluster) []corev1.Toleration {
	if pool == nil || pool.Spec.NodeTemplate == nil {
		return nil
	}
	var out []corev1.Toleration
	for _, t := range pool.Spec.NodeTemplate.Taints {
		if slices.Contains(controlPlaneTaintKeys, t.Key) {
			continue
		}
		tol := corev1.Toleration{Key: t.Key, Effect: t.Effect, Operator: corev1.TolerationOpEqual, Value: t.Value}
		if t.Value == "" {
			tol.Operator, tol.Value = corev1.TolerationOpExists, ""
		}
		out = append(out, tol)
	}
	return out
}
