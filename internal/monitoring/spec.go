package monitoring

import (
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Effective returns spec with the schema's defaults filled in where a part is absent, so the
// render functions see the same values whether the object came through the API server (which
// defaults) or was built in Go.
func Effective(spec v1alpha1.MonitoringStackSpec) v1alpha1.MonitoringStackSpec {
	s := *spec.DeepCopy()
	if s.Prometheus == nil {
		s.Prometheus = &v1alpha1.PrometheusSpec{}
	}
	if s.Prometheus.Replicas == nil {
		s.Prometheus.Replicas = ptr.To[int32](1)
	}
	if s.Prometheus.Retention == "" {
		s.Prometheus.Retention = "24h"
	}
	if s.Prometheus.ScrapeInterval == "" {
		s.Prometheus.ScrapeInterval = "30s"
	}
	if s.Grafana == nil {
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true}
	}
	if s.Grafana.Replicas == nil {
		s.Grafana.Replicas = ptr.To[int32](1)
	}
	if s.Grafana.Anonymous == nil {
		s.Grafana.Anonymous = &v1alpha1.AnonymousAccess{}
	}
	if s.Grafana.Anonymous.Role == "" {
		s.Grafana.Anonymous.Role = v1alpha1.GrafanaRoleViewer
	}
	if s.Grafana.Service == nil {
		s.Grafana.Service = &v1alpha1.GrafanaService{}
	}
	if s.Grafana.Service.Type == "" {
		s.Grafana.Service.Type = "ClusterIP"
	}
	if s.Scope == "" {
		s.Scope = v1alpha1.MonitoringScopeNamespace
	}
	// The cluster-wide exporters: on by default in Cluster scope, never in Namespace scope
	// (SpecProblem stalls a stack that asks for them there).
	cluster := s.Scope == v1alpha1.MonitoringScopeCluster
	if s.NodeExporter == nil || !cluster {
		s.NodeExporter = &v1alpha1.Toggle{Enabled: cluster && (s.NodeExporter == nil || s.NodeExporter.Enabled)}
	}
	if s.KubeStateMetrics == nil || !cluster {
		s.KubeStateMetrics = &v1alpha1.Toggle{Enabled: cluster && (s.KubeStateMetrics == nil || s.KubeStateMetrics.Enabled)}
	}
	if s.Alerting == nil {
		s.Alerting = &v1alpha1.AlertingSpec{BuiltinRules: true}
	}
	if s.Dashboards == nil {
		s.Dashboards = &v1alpha1.DashboardsSpec{Builtin: true}
	}
	return s
}
