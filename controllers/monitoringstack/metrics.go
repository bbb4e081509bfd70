package monitoringstack

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// stackReady is 1 while a MonitoringStack is Ready, 0 otherwise (Stalled or in progress).
var stackReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "edgeforge_monitoringstack_ready",
	Help: "Whether a MonitoringStack is Ready (1) or not (0): Prometheus and, when enabled, Grafana are ready.",
}, []string{"namespace", "name"})

func init() {
	metrics.Registry.MustRegister(stackReady)
}

func recordReady(stack *v1alpha1.MonitoringStack, ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	stackReady.WithLabelValues(stack.Namespace, stack.Name).Set(v)
}

func forgetStack(stack *v1alpha1.MonitoringStack) {
	stackReady.DeleteLabelValues(stack.Namespace, stack.Name)
}
