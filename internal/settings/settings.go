// Package settings holds the operator-wide options every reconciler may need, and the pinned
// default images. main.go fills them from flags.
package settings

import "strings"

// Pinned default images. Operators override them with flags; an ImageBuild or a
// MonitoringStack can override some of them per object.
const (
	DefaultKanikoImage           = "ghcr.io/kaniko-build/dist/chainguard-dev-kaniko/executor:v1.25.5"
	DefaultGrafanaImage          = "docker.io/grafana/grafana:12.1.1"
	DefaultNodeExporterImage     = "quay.io/prometheus/node-exporter:v1.9.1"
	DefaultKubeStateMetricsImage = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0"
)

// FieldOwner is the server-side apply field manager of every object edgeforge writes.
const FieldOwner = "edgeforge"

// Options are the operator-wide settings.
type Options struct {
	// Namespace the operator runs in; it holds operator-owned objects such as join-command Secrets.
	Namespace string
	// KanikoImage is the default Kaniko executor image for build Jobs.
	KanikoImage string
	// GrafanaImage is the default Grafana image.
	GrafanaImage string
	// NodeExporterImage is the node-exporter image.
	NodeExporterImage string
	// KubeStateMetricsImage is the kube-state-metrics image.
	KubeStateMetricsImage string
	// PrometheusVersion is the Prometheus version of a MonitoringStack whose
	// spec.prometheus.version is empty; empty: prometheus-operator's own default.
	PrometheusVersion string
	// ClusterMonitoringNamespaces are the namespaces where a MonitoringStack may have scope
	// Cluster (--cluster-monitoring-namespaces; default: Namespace).
	ClusterMonitoringNamespaces []string
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

// Defaults returns Options with the pinned images and the edgeforge-system namespace.
func Defaults() Options {
	return Options{
		Namespace:             "edgeforge-system",
		KanikoImage:           DefaultKanikoImage,
		GrafanaImage:          DefaultGrafanaImage,
		NodeExporterImage:     DefaultNodeExporterImage,
		KubeStateMetricsImage: DefaultKubeStateMetricsImage,
	}
}
