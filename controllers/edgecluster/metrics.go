package edgecluster

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// edgeNodes is edgeforge_edge_nodes{edge_cluster, ready}: member nodes per pool and readiness.
var edgeNodes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "edgeforge_edge_nodes",
	Help: "Member nodes of each EdgeCluster, by readiness (ready=\"true\" or \"false\").",
}, []string{"edge_cluster", "ready"})

func init() {
	metrics.Registry.MustRegister(edgeNodes)
}

func setNodeGauge(pool string, ready, notReady int32) {
	edgeNodes.WithLabelValues(pool, strconv.FormatBool(true)).Set(float64(ready))
	edgeNodes.WithLabelValues(pool, strconv.FormatBool(false)).Set(float64(notReady))
}

// forgetPool drops a deleted pool's series.
func forgetPool(pool string) {
	edgeNodes.DeletePartialMatch(prometheus.Labels{"edge_cluster": pool})
}
