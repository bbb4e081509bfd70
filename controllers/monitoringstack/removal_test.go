package monitoringstack

import (
	"maps"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A key or list entry removed from the spec is removed from the child too: "already current" is
// decided from what edgeforge owns of the child, not from whether the child holds the render.
func TestRemovedSpecFieldsLeaveTheChildren(t *testing.T) {
	ns := newNamespace(t)
	tol := corev1.Toleration{Key: "edgeforge.io/real-node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	s := newStack(t, ns, "main", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{
			ExternalLabels: map[string]string{"cluster": "busan", "site": "line-3"},
			NodeSelector:   map[string]string{"edgeforge.io/edge-cluster": "site-a", "kubernetes.io/arch": "arm64"},
			Tolerations:    []corev1.Toleration{tol},
		}
	})
	key := types.NamespacedName{Namespace: ns, Name: monitoring.NamesFor(s).Prometheus()}
	prometheus := func(what string, ok func(*monitoringv1.Prometheus) bool) {
		t.Helper()
		eventually(t, what, func() error {
			p := &monitoringv1.Prometheus{}
			if err := k8s.Get(ctx(t), key, p); err != nil {
				return err
			}
			return testenv.Expect(ok(p), "externalLabels %v, nodeSelector %v, tolerations %v", p.Spec.ExternalLabels, p.Spec.NodeSelector, p.Spec.Tolerations)
		})
	}
	prometheus("the Prometheus with both labels, both selector keys and the toleration", func(p *monitoringv1.Prometheus) bool {
		return len(p.Spec.ExternalLabels) == 2 && len(p.Spec.NodeSelector) == 2 && len(p.Spec.Tolerations) == 1
	})

	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		delete(s.Spec.Prometheus.ExternalLabels, "site")
		delete(s.Spec.Prometheus.NodeSelector, "kubernetes.io/arch")
		s.Spec.Prometheus.Tolerations = nil
	})
	prometheus("the removed label, selector key and toleration gone", func(p *monitoringv1.Prometheus) bool {
		return maps.Equal(p.Spec.ExternalLabels, map[string]string{"cluster": "busan"}) &&
			maps.Equal(p.Spec.NodeSelector, map[string]string{"edgeforge.io/edge-cluster": "site-a"}) &&
			len(p.Spec.Tolerations) == 0
	})
	deleteStack(t, ns, "main")
}
