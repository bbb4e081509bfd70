package monitoring

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Filesystems that are not disks: left out of the filesystem alert and dashboard.
const realFilesystems = `fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs",mountpoint!=""`

func alert(name, expr, forDuration, severity, summary, description string) monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:  name,
		Expr:   intstr.FromString(expr),
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
		},
	}
	if forDuration != "" {
		r.For = ptr.To(monitoringv1.Duration(forDuration))
	}
	return r
}

// BuiltinRuleGroups are the alerts of spec.alerting.builtinRules. Every expression uses metrics
// that edgeforge's controllers, node-exporter or kube-state-metrics really export.
func BuiltinRuleGroups() []monitoringv1.RuleGroup {
	return []monitoringv1.RuleGroup{
		{
			Name: "edgeforge",
			Rules: []monitoringv1.Rule{
				alert("EdgeNodeNotReady",
					`sum by (edge_cluster) (edgeforge_edge_nodes{ready="false"}) > 0`,
					"5m", "warning",
					`Edge nodes of EdgeCluster {{ $labels.edge_cluster }} are not Ready`,
					`{{ $value }} node(s) of EdgeCluster {{ $labels.edge_cluster }} have not been Ready for 5 minutes. `+
						`Check "kubectl get nodes -l node-restriction.kubernetes.io/edge-cluster={{ $labels.edge_cluster }}" and the EdgeCluster's status.`),
				alert("ImageBuildFailed",
					`sum by (namespace) (increase(edgeforge_imagebuild_builds_total{result="failed"}[15m])) > 0`,
					"", "warning",
					`Image builds failed in namespace {{ $labels.namespace }}`,
					`{{ printf "%.0f" $value }} image build(s) failed in namespace {{ $labels.namespace }} in the last 15 minutes. `+
						`"kubectl get imagebuilds -n {{ $labels.namespace }}" shows which; status.lastBuild has the executor's message.`),
				alert("AppDeploymentDegraded",
					`(kube_deployment_spec_replicas - kube_deployment_status_replicas_available) > 0`+
						` and on (namespace, deployment) kube_deployment_labels{label_edgeforge_io_appdeployment!=""}`,
					"10m", "warning",
					`AppDeployment {{ $labels.namespace }}/{{ $labels.deployment }} has unavailable replicas`,
					`{{ $value }} replica(s) of the Deployment of AppDeployment {{ $labels.namespace }}/{{ $labels.deployment }} `+
						`have not been available for 10 minutes. "kubectl describe appdeployment -n {{ $labels.namespace }} {{ $labels.deployment }}" tells why.`),
				alert("AppPodCrashLooping",
					`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[15m]))`+
						` * on (namespace, pod) group_left (label_edgeforge_io_appdeployment) kube_pod_labels{label_edgeforge_io_appdeployment!=""} > 3`,
					"5m", "warning",
					`Pod {{ $labels.namespace }}/{{ $labels.pod }} of AppDeployment {{ $labels.label_edgeforge_io_appdeployment }} is restarting`,
					`Pod {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ printf "%.0f" $value }} times in 15 minutes. `+
						`"kubectl logs -n {{ $labels.namespace }} {{ $labels.pod }} --previous" shows the last crash.`),
			},
		},
		{
			Name: "edgeforge-nodes",
			Rules: []monitoringv1.Rule{
				alert("NodeFilesystemAlmostFull",
					`(node_filesystem_avail_bytes{`+realFilesystems+`} / node_filesystem_size_bytes{`+realFilesystems+`}) < 0.10`+
						` and node_filesystem_readonly{`+realFilesystems+`} == 0`,
					"15m", "warning",
					`File system {{ $labels.mountpoint }} on node {{ $labels.instance }} is almost full`,
					`File system {{ $labels.mountpoint }} ({{ $labels.device }}) on node {{ $labels.instance }} has {{ $value | humanizePercentage }} space left.`),
				alert("NodeHighCPU",
					`1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.90`,
					"15m", "warning",
					`Node {{ $labels.instance }} is CPU-saturated`,
					`The CPUs of node {{ $labels.instance }} have been {{ $value | humanizePercentage }} busy for 15 minutes.`),
				alert("NodeMemoryPressure",
					`node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.10`,
					"10m", "warning",
					`Node {{ $labels.instance }} is low on memory`,
					`Node {{ $labels.instance }} has had only {{ $value | humanizePercentage }} of its memory available for 10 minutes.`),
				alert("NodeExporterDown",
					`up{job="node-exporter"} == 0`,
					"5m", "warning",
					`node-exporter on node {{ $labels.instance }} cannot be scraped`,
					`Prometheus has not scraped node-exporter on node {{ $labels.instance }} for 5 minutes: the node's metrics and node alerts are blind there.`),
			},
		},
	}
}

// RuleFile renders rule groups in Prometheus' rule-file format (what promtool check rules reads).
func RuleFile(groups []monitoringv1.RuleGroup) ([]byte, error) {
	out, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		return nil, fmt.Errorf("rendering rule file: %w", err)
	}
	return out, nil
}

// prometheusRule is the PrometheusRule with the built-in alerts, picked by RuleSelector.
func prometheusRule(stack *v1alpha1.MonitoringStack) (runtime.ApplyConfiguration, error) {
	r := &monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: GVKPrometheusRule.GroupVersion().String(), Kind: GVKPrometheusRule.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:            NamesFor(stack).Rules(),
			Namespace:       stack.Namespace,
			Labels:          Labels(stack, ComponentRules),
			OwnerReferences: ownerRefs(stack),
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: BuiltinRuleGroups()},
	}
	return typedApply(r, GVKPrometheusRule, nil, nil)
}
