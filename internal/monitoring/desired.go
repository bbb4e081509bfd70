package monitoring

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Desired returns every child of the stack in apply order: the objects to apply, and (with a
// nil Apply) those of disabled components, to delete if present. The generated Grafana admin
// Secret is not among the objects to apply: it is created once (see AdminSecret), never
// applied; it is listed for deletion when Grafana is off or the user names their own Secret.
//
// cluster says what the stack shares with the others: node-exporter runs in one stack only.
func Desired(stack *v1alpha1.MonitoringStack, opts settings.Options, cluster Cluster) ([]Object, error) {
	spec := Effective(stack.Spec)
	n := NamesFor(stack)
	ns := stack.Namespace
	var out []Object
	add := func(gvk schema.GroupVersionKind, namespace, name string, apply runtime.ApplyConfiguration, want bool) {
		if !want {
			apply = nil
		}
		out = append(out, Object{GVK: gvk, Namespace: namespace, Name: name, Apply: apply})
	}
	var firstErr error
	typed := func(ac runtime.ApplyConfiguration, err error) runtime.ApplyConfiguration {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return ac
	}

	// Cluster-scoped RBAC under the names of earlier releases: removed (only when it is the
	// stack's: ownership is checked by label).
	for _, c := range []string{ComponentPrometheus, ComponentKubeStateMetrics} {
		add(GVKClusterRole, "", n.LegacyClusterRole(c), nil, false)
		add(GVKClusterRoleBinding, "", n.LegacyClusterRole(c), nil, false)
	}

	// Prometheus: always; its discovery RBAC cluster-wide only in Cluster scope.
	clusterWide := ClusterScoped(stack)
	add(GVKServiceAccount, ns, n.PrometheusService(), prometheusServiceAccount(stack), true)
	add(GVKClusterRole, "", n.ClusterRole(ComponentPrometheus), prometheusClusterRole(stack), clusterWide)
	add(GVKClusterRoleBinding, "", n.ClusterRole(ComponentPrometheus), clusterRoleBinding(stack, ComponentPrometheus, n.PrometheusService()), clusterWide)
	add(GVKRole, ns, n.PrometheusService(), prometheusRole(stack), !clusterWide)
	add(GVKRoleBinding, ns, n.PrometheusService(), prometheusRoleBinding(stack), !clusterWide)
	add(GVKService, ns, n.PrometheusService(), prometheusService(stack), true)
	add(GVKPrometheus, ns, n.Prometheus(), typed(prometheusApply(stack, opts.PrometheusVersion)), true)
	add(GVKServiceMonitor, ns, n.PrometheusService(), typed(serviceMonitor(stack, ComponentPrometheus, n.PrometheusService(), "web", false, nil)), true)

	// node-exporter: one per cluster (it listens on every node's port 9100).
	ne := cluster.RunsNodeExporter(stack)
	add(GVKDaemonSet, ns, n.NodeExporter(), nodeExporterDaemonSet(stack, opts.NodeExporterImage), ne)
	add(GVKService, ns, n.NodeExporter(), exporterService(stack, ComponentNodeExporter, n.NodeExporter(), servicePort("metrics", NodeExporterPort)), ne)
	add(GVKServiceMonitor, ns, n.NodeExporter(), typed(serviceMonitor(stack, ComponentNodeExporter, n.NodeExporter(), "metrics", false, nodeRelabel())), ne)

	// kube-state-metrics.
	ksm := spec.KubeStateMetrics.Enabled
	add(GVKServiceAccount, ns, n.KubeStateMetrics(), kubeStateMetricsServiceAccount(stack), ksm)
	add(GVKClusterRole, "", n.ClusterRole(ComponentKubeStateMetrics), kubeStateMetricsClusterRole(stack), ksm)
	add(GVKClusterRoleBinding, "", n.ClusterRole(ComponentKubeStateMetrics), clusterRoleBinding(stack, ComponentKubeStateMetrics, n.KubeStateMetrics()), ksm)
	add(GVKDeployment, ns, n.KubeStateMetrics(), kubeStateMetricsDeployment(stack, opts.KubeStateMetricsImage), ksm)
	add(GVKService, ns, n.KubeStateMetrics(), exporterService(stack, ComponentKubeStateMetrics, n.KubeStateMetrics(),
		servicePort("http-metrics", KubeStateMetricsPort), servicePort("telemetry", KubeStateMetricsTelemetryPort)), ksm)
	// honorLabels: kube-state-metrics' namespace/pod labels describe the objects, not the exporter.
	add(GVKServiceMonitor, ns, n.KubeStateMetrics(), typed(serviceMonitor(stack, ComponentKubeStateMetrics, n.KubeStateMetrics(), "http-metrics", true, nil)), ksm)

	// Built-in alerts.
	add(GVKPrometheusRule, ns, n.Rules(), typed(prometheusRule(stack)), spec.Alerting.BuiltinRules)

	// Grafana.
	g := spec.Grafana.Enabled
	cms := grafanaConfigMaps(stack)
	for _, name := range []string{n.GrafanaConfig(), n.GrafanaDatasources(), n.GrafanaDashboardProvider(), n.GrafanaDashboards()} {
		data, ok := cms[name]
		add(GVKConfigMap, ns, name, configMap(stack, name, data), g && ok)
	}
	adminSecret := AdminSecretName(stack)
	if !g || spec.Grafana.AdminCredentialsSecretRef != nil {
		// Not wanted: delete the generated Secret if present. When wanted it is created once
		// by the controller (AdminSecret), never applied.
		add(GVKSecret, ns, n.GrafanaAdminSecret(), nil, false)
	}
	add(GVKDeployment, ns, n.Grafana(), grafanaDeployment(stack, GrafanaImage(stack, opts.GrafanaImage), adminSecret, ConfigChecksum(cms, adminSecret)), g)
	add(GVKService, ns, n.Grafana(), grafanaService(stack), g)

	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
