// Package monitoring decides what a MonitoringStack turns into: a prometheus-operator Prometheus
// with its ServiceAccount, RBAC and Service; node-exporter and kube-state-metrics with their
// ServiceMonitors; a PrometheusRule with the built-in alerts; Grafana with grafana.ini, a
// datasource wired to Prometheus and the built-in dashboards. It also computes the stack's
// status from the objects observed. Pure functions: no client, no context.
package monitoring

import (
	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// LabelStackNamespace marks the cluster-scoped objects of a stack (ClusterRoles and
// ClusterRoleBindings) with the stack's namespace; together with v1alpha1.LabelMonitoringStack
// it names the stack they belong to.
const LabelStackNamespace = "edgeforge.io/monitoringstack-namespace"

// AnnotationConfigChecksum on Grafana's pod template changes whenever grafana.ini, the
// datasources or the dashboards change, so Grafana rolls.
const AnnotationConfigChecksum = "edgeforge.io/config-checksum"

// Component names: the app.kubernetes.io/name label and the prefix of the child objects' names.
const (
	ComponentPrometheus       = "prometheus"
	ComponentGrafana          = "grafana"
	ComponentNodeExporter     = "node-exporter"
	ComponentKubeStateMetrics = "kube-state-metrics"
	ComponentRules            = "edgeforge-rules"
)

// Ports.
const (
	PrometheusPort                = 9090
	GrafanaPort                   = 3000
	NodeExporterPort              = 9100
	KubeStateMetricsPort          = 8080
	KubeStateMetricsTelemetryPort = 8081
)

// Grafana admin Secret keys (the same as Grafana's Helm chart).
const (
	AdminUserKey     = "admin-user"
	AdminPasswordKey = "admin-password"
)

// DatasourceUID is the uid of the provisioned Prometheus datasource; the built-in dashboards
// refer to it.
const DatasourceUID = "prometheus"

// Names of a stack's children. All are deterministic, so a crash between two steps never makes
// a second object.
type Names struct {
	stack, namespace string
}

// NamesFor returns the names of the children of stack.
func NamesFor(stack *v1alpha1.MonitoringStack) Names {
	return Names{stack: stack.Name, namespace: stack.Namespace}
}

// Prometheus is the name of the Prometheus CR. prometheus-operator names its StatefulSet
// prometheus-<this> and its pods prometheus-<this>-<n>.
func (n Names) Prometheus() string { return n.stack }

// PrometheusService is the Service in front of Prometheus (and its ServiceAccount and ServiceMonitor).
func (n Names) PrometheusService() string { return ComponentPrometheus + "-" + n.stack }

// Grafana is the name of Grafana's Deployment, Service and ServiceAccount.
func (n Names) Grafana() string { return ComponentGrafana + "-" + n.stack }

// GrafanaConfig is the ConfigMap with grafana.ini.
func (n Names) GrafanaConfig() string { return n.Grafana() + "-config" }

// GrafanaDatasources is the ConfigMap with the datasource provisioning file.
func (n Names) GrafanaDatasources() string { return n.Grafana() + "-datasources" }

// GrafanaDashboardProvider is the ConfigMap with the dashboard provider provisioning file.
func (n Names) GrafanaDashboardProvider() string { return n.Grafana() + "-dashboard-provider" }

// GrafanaDashboards is the ConfigMap with the built-in dashboards' JSON.
func (n Names) GrafanaDashboards() string { return n.Grafana() + "-dashboards" }

// GrafanaAdminSecret is the generated admin Secret (when spec.grafana.adminCredentialsSecretRef is absent).
func (n Names) GrafanaAdminSecret() string { return n.Grafana() + "-admin" }

// NodeExporter names node-exporter's DaemonSet, Service and ServiceMonitor.
func (n Names) NodeExporter() string { return ComponentNodeExporter + "-" + n.stack }

// KubeStateMetrics names kube-state-metrics' Deployment, Service, ServiceAccount and ServiceMonitor.
func (n Names) KubeStateMetrics() string { return ComponentKubeStateMetrics + "-" + n.stack }

// Rules names the PrometheusRule with the built-in alerts.
func (n Names) Rules() string { return ComponentRules + "-" + n.stack }

// ClusterRole names the cluster-scoped ClusterRole and ClusterRoleBinding of a component
// (prometheus or kube-state-metrics): unique across namespaces.
//
// The parts are joined with ':', which no namespace or object name contains, so two stacks'
// names never collide (with '-', namespace a-prometheus and stack x would collide with namespace
// a and stack prometheus-x).
func (n Names) ClusterRole(component string) string {
	return "edgeforge:" + n.namespace + ":" + n.stack + ":" + component
}

// LegacyClusterRole is the name releases before the ':' names used; objects of that name that
// belong to the stack are deleted.
func (n Names) LegacyClusterRole(component string) string {
	return "edgeforge-" + n.namespace + "-" + component + "-" + n.stack
}

// PrometheusURL is Prometheus' in-cluster URL.
func (n Names) PrometheusURL() string {
	return "http://" + n.PrometheusService() + "." + n.namespace + ".svc:9090"
}

// GrafanaURL is Grafana's in-cluster URL.
func (n Names) GrafanaURL() string {
	return "http://" + n.Grafana() + "." + n.namespace + ".svc:3000"
}

// Labels are the labels of a component's objects.
func Labels(stack *v1alpha1.MonitoringStack, component string) map[string]string {
	return map[string]string{
		v1alpha1.LabelName:            component,
		v1alpha1.LabelInstance:        stack.Name,
		v1alpha1.LabelManagedBy:       v1alpha1.ManagedByValue,
		v1alpha1.LabelMonitoringStack: stack.Name,
	}
}

// SelectorLabels select a component's pods (immutable in Deployments and DaemonSets).
func SelectorLabels(stack *v1alpha1.MonitoringStack, component string) map[string]string {
	return map[string]string{
		v1alpha1.LabelName:     component,
		v1alpha1.LabelInstance: stack.Name,
	}
}

// ClusterLabels are the labels of a component's cluster-scoped objects: they also carry the
// stack's namespace.
func ClusterLabels(stack *v1alpha1.MonitoringStack, component string) map[string]string {
	l := Labels(stack, component)
	l[LabelStackNamespace] = stack.Namespace
	return l
}
