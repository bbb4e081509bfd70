// Package settings holds the operator-wide options every reconciler may need, and the pinned
// default images. main.go fills them from flags.
package settings

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

// Pinned default images. Operators override them with flags; an ImageBuild or a
// MonitoringStack can override some of them per object.
const (
	DefaultKanikoImage           = "ghcr.io/kaniko-build/dist/chainguard-dev-kaniko/executor:v1.25.5"
	DefaultGrafanaImage          = "docker.io/grafana/grafana:12.1.1"
	DefaultNodeExporterImage     = "quay.io/prometheus/node-exporter:v1.9.1"
	DefaultKubeStateMetricsImage = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0"
)

// Default resources of a build container whose ImageBuild does not set them (the
// --build-default-requests and --build-default-limits flags). Kaniko unpacks the base image and
// runs RUN steps in its own container: half a core and 512Mi start it, and a memory limit keeps
// one build from taking a whole edge node.
const (
	DefaultBuildRequests = "cpu=500m,memory=512Mi"
	DefaultBuildLimits   = "memory=4Gi"
)

// FieldOwner is the server-side apply field manager of every object edgeforge writes.
const FieldOwner = "edgeforge"

// Options are the operator-wide settings.
type Options struct {
	// Namespace the operator runs in; it holds operator-owned objects such as join-command Secrets.
	Namespace string
	// KanikoImage is the default Kaniko executor image for build Jobs.
	KanikoImage string
	// IndexImage is the image of the Job that pushes a multi-platform build's image index: one
	// holding this repository's edgeforge-index tool (the operator's own image has it).
	IndexImage string
	// GrafanaImage is the default Grafana image.
	GrafanaImage string
	// NodeExporterImage is the node-exporter image.
	NodeExporterImage string
	// KubeStateMetricsImage is the kube-state-metrics image.
	KubeStateMetricsImage string
	// PrometheusVersion is the Prometheus version of a MonitoringStack whose
	// spec.prometheus.version is empty; empty: prometheus-operator's own default.
	PrometheusVersion string
	// BuildRequests and BuildLimits are given to a build container for each resource its
	// ImageBuild's spec.resources leaves unset (--build-default-requests/--build-default-limits).
	BuildRequests, BuildLimits corev1.ResourceList
	// ClusterMonitoringNamespaces are the namespaces where a MonitoringStack may have scope
	// Cluster (--cluster-monitoring-namespaces; default: Namespace).
	ClusterMonitoringNamespaces []string
	// Shard selects the edgeforge objects this operator reconciles (--watch-label-selector): its
	// shard of them when several operators split the work. nil: all of them.
	Shard labels.Selector
}

// NamespaceList splits a comma-separated flag value into namespaces; empty: def alone.
func NamespaceList(flagValue, def string) []string {
	var out []string
	for _, ns := range strings.Split(flagValue, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	if len(out) == 0 {
		return []string{def}
	}
	return out
}

// ClusterMonitoring is ClusterMonitoringNamespaces, or Namespace when that is unset.
func (o Options) ClusterMonitoring() []string {
	if len(o.ClusterMonitoringNamespaces) == 0 {
		return []string{o.Namespace}
	}
	return o.ClusterMonitoringNamespaces
}

// Defaults returns Options with the pinned images, the default build resources and the
// edgeforge-system namespace.
func Defaults() Options {
	return Options{
		Namespace:             "edgeforge-system",
		KanikoImage:           DefaultKanikoImage,
		GrafanaImage:          DefaultGrafanaImage,
		NodeExporterImage:     DefaultNodeExporterImage,
		KubeStateMetricsImage: DefaultKubeStateMetricsImage,
		BuildRequests:         mustResourceList(DefaultBuildRequests),
		BuildLimits:           mustResourceList(DefaultBuildLimits),
	}
}

// ParseResourceList reads a flag value such as "cpu=500m,memory=1Gi"; empty: none.
func ParseResourceList(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%q: want name=quantity, e.g. cpu=500m,memory=1Gi", kv)
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", kv, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%q: a quantity cannot be negative", kv)
		}
		out[corev1.ResourceName(strings.TrimSpace(name))] = q
	}
	return out, nil
}

func mustResourceList(s string) corev1.ResourceList {
	l, err := ParseResourceList(s)
	if err != nil {
		panic(err) // the constants above
	}
	return l
}
