package appdeployment

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	rollouts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeforge_appdeployment_rollouts_total",
		Help: "Rollouts of a new image started by AppDeployments (including the first one of each), rollbacks excluded.",
	})
	rollbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeforge_appdeployment_rollbacks_total",
		Help: "Rollouts that missed their progress deadline and were rolled back to the last good image.",
	})
)

func init() {
	metrics.Registry.MustRegister(rollouts, rollbacks)
}
