package edge

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

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

// disconnectionTaintKeys are the taints the node lifecycle controller puts on a node that stops
// reporting (unreachable) or reports NotReady; with NoExecute they evict pods that do not
// tolerate them (Kubernetes' default toleration: 5 minutes).
var disconnectionTaintKeys = []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady}

// DisconnectionTolerations keep the pool's app pods on their nodes through a lost link for
// spec.autonomy.tolerateDisconnectionFor (no limit for Forever), except for a key the user
// already tolerates (spec.placement.tolerations, given as user): the user's toleration wins.
func DisconnectionTolerations(pool *v1alpha1.EdgeCluster, user []corev1.Toleration) []corev1.Toleration {
	if pool == nil {
		return nil
	}
	d, forever := pool.Spec.DisconnectionTolerance()
	var out []corev1.Toleration
	for _, key := range disconnectionTaintKeys {
		if slices.ContainsFunc(user, func(t corev1.Toleration) bool {
			return t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)
		}) {
			continue
		}
		tol := corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
		if !forever {
			tol.TolerationSeconds = ptr.To(int64(d / time.Second))
		}
		out = append(out, tol)
	}
	return out
}
