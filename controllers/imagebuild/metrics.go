package imagebuild

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Build results, the value of the "result" label.
const (
	resultSucceeded  = "succeeded"
	resultFailed     = "failed"
	resultSuperseded = "superseded"
)

var (
	buildDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edgeforge_imagebuild_duration_seconds",
		Help: "Duration of finished image builds, from the build Job's start to its end, by result (succeeded, failed, superseded).",
		// 10s … ~2.8h
		Buckets: prometheus.ExponentialBuckets(10, 2, 11),
	}, []string{"namespace", "result"})
	buildsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeforge_imagebuild_builds_total",
		Help: "Image builds that ended, by result (succeeded, failed, superseded).",
	}, []string{"namespace", "result"})
)

func init() {
	metrics.Registry.MustRegister(buildDuration, buildsTotal)
}

// recordBuildEnd counts a build that ended and observes its duration when it is known.
func recordBuildEnd(ib *v1alpha1.ImageBuild, rec *v1alpha1.BuildRecord, result string) {
	buildsTotal.WithLabelValues(ib.Namespace, result).Inc()
	if rec.StartTime != nil && rec.CompletionTime != nil {
		if d := rec.CompletionTime.Sub(rec.StartTime.Time); d >= 0 {
			buildDuration.WithLabelValues(ib.Namespace, result).Observe(d.Seconds())
		}
	}
}
