package monitoring

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// restrictedContainer is the container security context of every exporter and Grafana: no
// privilege escalation, no capabilities, read-only root file system.
func restrictedContainer() *corev1ac.SecurityContextApplyConfiguration {
	return corev1ac.SecurityContext().
		WithAllowPrivilegeEscalation(false).
		WithReadOnlyRootFilesystem(true).
		WithCapabilities(corev1ac.Capabilities().WithDrop("ALL"))
}

func nonRootPod(uid int64) *corev1ac.PodSecurityContextApplyConfiguration {
	return corev1ac.PodSecurityContext().
		WithRunAsNonRoot(true).
		WithRunAsUser(uid).
		WithRunAsGroup(uid).
		WithFSGroup(uid).
		WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))
}

func resources(cpu, memory, memoryLimit string) *corev1ac.ResourceRequirementsApplyConfiguration {
	return corev1ac.ResourceRequirements().
		WithRequests(corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse(memory),
		}).
		WithLimits(corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memoryLimit)})
}

// NodeExporterArgs are node-exporter's flags: host file systems mounted under /host, and the
// container and kubelet mounts that would double-count disks left out.
var NodeExporterArgs = []string{
	"--path.procfs=/host/proc",
	"--path.sysfs=/host/sys",
	"--path.rootfs=/host/root",
	"--web.listen-address=:9100",
	"--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+|var/lib/rancher/.+)($|/)",
	"--collector.netclass.ignored-devices=^(veth.*|cali.*|flannel.*|cni.*|docker.*)$",
	"--no-collector.wifi",
	"--no-collector.hwmon",
}

// nodeExporterDaemonSet runs node-exporter on every node. It tolerates every taint
// (operator Exists), so tainted edge pools are covered; it needs the host's network and PID
// namespaces to report the node's own interfaces and processes, and reads /proc, /sys and /
// read-only. It talks to no API, so it gets no service-account token.
func nodeExporterDaemonSet(stack *v1alpha1.MonitoringStack, image string) *appsv1ac.DaemonSetApplyConfiguration {
	n := NamesFor(stack)
	hostPath := func(name, path string) *corev1ac.VolumeApplyConfiguration {
		return corev1ac.Volume().WithName(name).WithHostPath(corev1ac.HostPathVolumeSource().WithPath(path))
	}
	return appsv1ac.DaemonSet(n.NodeExporter(), stack.Namespace).
		WithLabels(Labels(stack, ComponentNodeExporter)).
		WithOwnerReferences(ownerRef(stack)).
		WithSpec(appsv1ac.DaemonSetSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(stack, ComponentNodeExporter))).
			WithUpdateStrategy(appsv1ac.DaemonSetUpdateStrategy().
				WithType("RollingUpdate").
				WithRollingUpdate(appsv1ac.RollingUpdateDaemonSet().WithMaxUnavailable(intstr.FromString("10%")))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(Labels(stack, ComponentNodeExporter)).
				WithSpec(corev1ac.PodSpec().
					WithAutomountServiceAccountToken(false).
					WithHostNetwork(true).
					WithHostPID(true).
					WithNodeSelector(map[string]string{corev1.LabelOSStable: "linux"}).
					WithTolerations(corev1ac.Toleration().WithOperator(corev1.TolerationOpExists)).
					WithSecurityContext(nonRootPod(65534)).
					WithContainers(corev1ac.Container().
						WithName(ComponentNodeExporter).
						WithImage(image).
						WithArgs(NodeExporterArgs...).
						WithPorts(corev1ac.ContainerPort().WithName("metrics").WithContainerPort(NodeExporterPort).WithProtocol(corev1.ProtocolTCP)).
						WithResources(resources("10m", "32Mi", "128Mi")).
						WithSecurityContext(restrictedContainer()).
						WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/").WithPort(intstr.FromString("metrics")))).
						WithVolumeMounts(
							corev1ac.VolumeMount().WithName("proc").WithMountPath("/host/proc").WithReadOnly(true),
							corev1ac.VolumeMount().WithName("sys").WithMountPath("/host/sys").WithReadOnly(true),
							corev1ac.VolumeMount().WithName("root").WithMountPath("/host/root").WithReadOnly(true).
								WithMountPropagation(corev1.MountPropagationHostToContainer),
						)).
					WithVolumes(hostPath("proc", "/proc"), hostPath("sys", "/sys"), hostPath("root", "/")))))
}

// exporterService is the headless Service a ServiceMonitor finds an exporter's pods through.
func exporterService(stack *v1alpha1.MonitoringStack, component, name string, ports ...*corev1ac.ServicePortApplyConfiguration) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(name, stack.Namespace).
		WithLabels(Labels(stack, component)).
		WithOwnerReferences(ownerRef(stack)).
		WithSpec(corev1ac.ServiceSpec().
			WithClusterIP(corev1.ClusterIPNone).
			WithSelector(SelectorLabels(stack, component)).
			WithPorts(ports...))
}

func servicePort(name string, port int32) *corev1ac.ServicePortApplyConfiguration {
	return corev1ac.ServicePort().WithName(name).WithPort(port).WithTargetPort(intstr.FromString(name)).WithProtocol(corev1.ProtocolTCP)
}

// nodeRelabel sets instance and node to the node's name, so dashboards and alerts name nodes,
// not host IPs.
func nodeRelabel() []monitoringv1.RelabelConfig {
	return []monitoringv1.RelabelConfig{
		{SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}, TargetLabel: "instance", Action: "replace"},
		{SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}, TargetLabel: "node", Action: "replace"},
	}
}

// KubeStateMetricsResources are the kinds kube-state-metrics exports (--resources); its
// ClusterRole lists and watches exactly these (no Secrets, no ConfigMaps).
var KubeStateMetricsResources = []struct{ Group, Resource, Flag string }{
	{"", "nodes", "nodes"},
	{"", "pods", "pods"},
	{"", "namespaces", "namespaces"},
	{"", "services", "services"},
	{"", "persistentvolumeclaims", "persistentvolumeclaims"},
	{"apps", "deployments", "deployments"},
	{"apps", "replicasets", "replicasets"},
	{"apps", "daemonsets", "daemonsets"},
	{"apps", "statefulsets", "statefulsets"},
	{"batch", "jobs", "jobs"},
	{"autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers"},
	{"policy", "poddisruptionbudgets", "poddisruptionbudgets"},
}

// KubeStateMetricsLabelsAllowlist exports the edgeforge labels of Deployments and pods as
// kube_deployment_labels{label_edgeforge_io_appdeployment=...} and kube_pod_labels{...}: the
// built-in AppDeploymentDegraded alert and the apps dashboard join on them.
const KubeStateMetricsLabelsAllowlist = "deployments=[" + v1alpha1.LabelAppDeployment + "],pods=[" + v1alpha1.LabelAppDeployment + "]"

// KubeStateMetricsRules lets kube-state-metrics list and watch what it exports, nothing more.
func KubeStateMetricsRules() []*rbacv1ac.PolicyRuleApplyConfiguration {
	byGroup := map[string][]string{}
	for _, r := range KubeStateMetricsResources {
		byGroup[r.Group] = append(byGroup[r.Group], r.Resource)
	}
	var rules []*rbacv1ac.PolicyRuleApplyConfiguration
	for _, g := range sortedKeys(byGroup) {
		rules = append(rules, rbacv1ac.PolicyRule().WithAPIGroups(g).WithResources(byGroup[g]...).WithVerbs("list", "watch"))
	}
	return rules
}

func kubeStateMetricsArgs() []string {
	flags := ""
	for i, r := range KubeStateMetricsResources {
		if i > 0 {
			flags += ","
		}
		flags += r.Flag
	}
	return []string{
		"--port=8080",
		"--telemetry-port=8081",
		"--resources=" + flags,
		"--metric-labels-allowlist=" + KubeStateMetricsLabelsAllowlist,
	}
}

func kubeStateMetricsServiceAccount(stack *v1alpha1.MonitoringStack) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(NamesFor(stack).KubeStateMetrics(), stack.Namespace).
		WithLabels(Labels(stack, ComponentKubeStateMetrics)).
		WithOwnerReferences(ownerRef(stack))
}

func kubeStateMetricsClusterRole(stack *v1alpha1.MonitoringStack) *rbacv1ac.ClusterRoleApplyConfiguration {
	return rbacv1ac.ClusterRole(NamesFor(stack).ClusterRole(ComponentKubeStateMetrics)).
		WithLabels(ClusterLabels(stack, ComponentKubeStateMetrics)).
		WithRules(KubeStateMetricsRules()...)
}

func kubeStateMetricsDeployment(stack *v1alpha1.MonitoringStack, image string) *appsv1ac.DeploymentApplyConfiguration {
	n := NamesFor(stack)
	return appsv1ac.Deployment(n.KubeStateMetrics(), stack.Namespace).
		WithLabels(Labels(stack, ComponentKubeStateMetrics)).
		WithOwnerReferences(ownerRef(stack)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(1).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(stack, ComponentKubeStateMetrics))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(Labels(stack, ComponentKubeStateMetrics)).
				WithSpec(corev1ac.PodSpec().
					WithServiceAccountName(n.KubeStateMetrics()).
					WithNodeSelector(map[string]string{corev1.LabelOSStable: "linux"}).
					WithSecurityContext(nonRootPod(65534)).
					WithContainers(corev1ac.Container().
						WithName(ComponentKubeStateMetrics).
						WithImage(image).
						WithArgs(kubeStateMetricsArgs()...).
						WithPorts(
							corev1ac.ContainerPort().WithName("http-metrics").WithContainerPort(KubeStateMetricsPort).WithProtocol(corev1.ProtocolTCP),
							corev1ac.ContainerPort().WithName("telemetry").WithContainerPort(KubeStateMetricsTelemetryPort).WithProtocol(corev1.ProtocolTCP),
						).
						WithResources(resources("10m", "64Mi", "256Mi")).
						WithSecurityContext(restrictedContainer()).
						WithLivenessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/livez").WithPort(intstr.FromString("http-metrics"))).
							WithInitialDelaySeconds(5).WithTimeoutSeconds(5)).
						WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/readyz").WithPort(intstr.FromString("telemetry"))).
							WithInitialDelaySeconds(5).WithTimeoutSeconds(5))))))
}
