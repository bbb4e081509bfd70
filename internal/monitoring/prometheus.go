package monitoring

import (
	"cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// RuleSelector picks the stack's PrometheusRules in its namespace: the built-in one, and any
// PrometheusRule a user labels edgeforge.io/monitoringstack=<stack name>.
func RuleSelector(stack *v1alpha1.MonitoringStack) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelMonitoringStack: stack.Name}}
}

// PrometheusCR is the prometheus-operator Prometheus of the stack. defaultVersion (the operator's
// --prometheus-version) is the Prometheus version unless spec.prometheus.version is set; with
// neither, prometheus-operator runs its own default.
func PrometheusCR(stack *v1alpha1.MonitoringStack, defaultVersion string) *monitoringv1.Prometheus {
	spec := Effective(stack.Spec).Prometheus
	n := NamesFor(stack)
	storage := &monitoringv1.StorageSpec{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	if spec.Storage != nil {
		pvc := monitoringv1.EmbeddedPersistentVolumeClaim{
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: spec.Storage.Size},
				},
			},
		}
		if spec.Storage.StorageClassName != "" {
			pvc.Spec.StorageClassName = ptr.To(spec.Storage.StorageClassName)
		}
		storage = &monitoringv1.StorageSpec{VolumeClaimTemplate: pvc}
	}
	p := &monitoringv1.Prometheus{
		TypeMeta: metav1.TypeMeta{APIVersion: GVKPrometheus.GroupVersion().String(), Kind: GVKPrometheus.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      n.Prometheus(),
			Namespace: stack.Namespace,
			Labels:    Labels(stack, ComponentPrometheus),
		},
		Spec: monitoringv1.PrometheusSpec{
			CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				PodMetadata: &monitoringv1.EmbeddedObjectMetadata{
					Labels: map[string]string{v1alpha1.LabelMonitoringStack: stack.Name},
				},
				Replicas:           ptr.To(*spec.Replicas),
				ScrapeInterval:     monitoringv1.Duration(spec.ScrapeInterval),
				ExternalLabels:     spec.ExternalLabels,
				Resources:          *spec.Resources.DeepCopy(),
				ServiceAccountName: n.PrometheusService(),
				// The scope's monitors (selection.go); the stack's own always match.
				ServiceMonitorSelector:          MonitorSelector(stack),
				ServiceMonitorNamespaceSelector: monitorNamespaceSelector(stack),
				PodMonitorSelector:              MonitorSelector(stack),
				PodMonitorNamespaceSelector:     monitorNamespaceSelector(stack),
				// A ServiceMonitor (anyone's, in a namespace the stack selects) must not make
				// Prometheus read files of its own pod: no bearerTokenFile, no TLS files from disk.
				ArbitraryFSAccessThroughSMs: monitoringv1.ArbitraryFSAccessThroughSMsConfig{Deny: true},
				// Targets from EndpointSlices (the Endpoints API is deprecated, and capped at
				// 1,000 addresses): every address of a Service, also those an EndpointSlice
				// lists that its controller did not make (a Service fronting something outside
				// the cluster). The discovery RBAC above covers endpointslices.
				ServiceDiscoveryRole: ptr.To(monitoringv1.EndpointSliceRole),
				Storage:              storage,
				Version:              cmp.Or(spec.Version, defaultVersion),
				NodeSelector:         spec.NodeSelector,
				Tolerations:          spec.Tolerations,
				SecurityContext: &corev1.PodSecurityContext{
					RunAsNonRoot:   ptr.To(true),
					RunAsUser:      ptr.To[int64](65534),
					FSGroup:        ptr.To[int64](65534),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			},
			Retention:    monitoringv1.Duration(spec.Retention),
			RuleSelector: RuleSelector(stack),
		},
	}
	p.OwnerReferences = ownerRefs(stack)
	return p
}

// prometheusApply is PrometheusCR as an apply configuration.
func prometheusApply(stack *v1alpha1.MonitoringStack, defaultVersion string) (runtime.ApplyConfiguration, error) {
	p := PrometheusCR(stack, defaultVersion)
	var drop [][]string
	if p.Spec.Storage.EmptyDir != nil {
		drop = append(drop, []string{"spec", "storage", "volumeClaimTemplate"})
	} else {
		drop = append(drop, []string{"spec", "storage", "volumeClaimTemplate", "status"})
	}
	return typedApply(p, GVKPrometheus, drop, [][]string{
		{"spec", "arbitraryFSAccessThroughSMs"}, {"spec", "rules", "alert"}, {"spec", "rules"}, {"spec", "resources"},
		{"spec", "storage", "volumeClaimTemplate", "metadata"},
	})
}

// prometheusServiceAccount is the identity Prometheus discovers and scrapes targets with.
func prometheusServiceAccount(stack *v1alpha1.MonitoringStack) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(NamesFor(stack).PrometheusService(), stack.Namespace).
		WithLabels(Labels(stack, ComponentPrometheus)).
		WithOwnerReferences(ownerRef(stack))
}

// PrometheusRules is what Prometheus needs to discover targets through monitors: read-only,
// nothing else. A Cluster-scoped stack's Prometheus gets them cluster-wide (a ClusterRole) and
// may also read kubelets' metrics; a Namespace-scoped one gets only the discovery rules, in its
// namespace (a Role).
func PrometheusRules(clusterScope bool) []*rbacv1ac.PolicyRuleApplyConfiguration {
	rules := []*rbacv1ac.PolicyRuleApplyConfiguration{
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("services", "endpoints", "pods").WithVerbs("get", "list", "watch"),
		rbacv1ac.PolicyRule().WithAPIGroups("discovery.k8s.io").WithResources("endpointslices").WithVerbs("get", "list", "watch"),
	}
	if clusterScope {
		rules = append(rules, rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("nodes/metrics").WithVerbs("get"))
	}
	return rules
}

func prometheusClusterRole(stack *v1alpha1.MonitoringStack) *rbacv1ac.ClusterRoleApplyConfiguration {
	return rbacv1ac.ClusterRole(NamesFor(stack).ClusterRole(ComponentPrometheus)).
		WithLabels(ClusterLabels(stack, ComponentPrometheus)).
		WithRules(PrometheusRules(true)...)
}

// prometheusRole is the Namespace-scoped stack's Prometheus' discovery, in its namespace.
func prometheusRole(stack *v1alpha1.MonitoringStack) *rbacv1ac.RoleApplyConfiguration {
	return rbacv1ac.Role(NamesFor(stack).PrometheusService(), stack.Namespace).
		WithLabels(Labels(stack, ComponentPrometheus)).
		WithOwnerReferences(ownerRef(stack)).
		WithRules(PrometheusRules(false)...)
}

func prometheusRoleBinding(stack *v1alpha1.MonitoringStack) *rbacv1ac.RoleBindingApplyConfiguration {
	name := NamesFor(stack).PrometheusService()
	return rbacv1ac.RoleBinding(name, stack.Namespace).
		WithLabels(Labels(stack, ComponentPrometheus)).
		WithOwnerReferences(ownerRef(stack)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName(name)).
		WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName(name).WithNamespace(stack.Namespace))
}

func clusterRoleBinding(stack *v1alpha1.MonitoringStack, component, serviceAccount string) *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	name := NamesFor(stack).ClusterRole(component)
	return rbacv1ac.ClusterRoleBinding(name).
		WithLabels(ClusterLabels(stack, component)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(name)).
		WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName(serviceAccount).WithNamespace(stack.Namespace))
}

// prometheusService is the stable in-cluster address of Prometheus (status.prometheus.url and
// Grafana's datasource). prometheus-operator also makes the headless "prometheus-operated".
func prometheusService(stack *v1alpha1.MonitoringStack) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(NamesFor(stack).PrometheusService(), stack.Namespace).
		WithLabels(Labels(stack, ComponentPrometheus)).
		WithOwnerReferences(ownerRef(stack)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(map[string]string{
				v1alpha1.LabelName:            "prometheus",
				"operator.prometheus.io/name": NamesFor(stack).Prometheus(),
			}).
			WithPorts(corev1ac.ServicePort().WithName("web").WithPort(PrometheusPort).
				WithTargetPort(intstr.FromString("web")).WithProtocol(corev1.ProtocolTCP)))
}

// serviceMonitor scrapes the Service of a component on the named port. The job label is the
// component name (jobLabel app.kubernetes.io/name), which the built-in alerts rely on. Its
// labels satisfy the stack's serviceMonitorSelector (OwnMonitorLabels).
func serviceMonitor(stack *v1alpha1.MonitoringStack, component, name, port string, honorLabels bool,
	relabel []monitoringv1.RelabelConfig) (runtime.ApplyConfiguration, error) {
	l, err := OwnMonitorLabels(stack, component)
	if err != nil {
		return nil, err
	}
	sm := &monitoringv1.ServiceMonitor{
		TypeMeta: metav1.TypeMeta{APIVersion: GVKServiceMonitor.GroupVersion().String(), Kind: GVKServiceMonitor.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       stack.Namespace,
			Labels:          l,
			OwnerReferences: ownerRefs(stack),
		},
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel: v1alpha1.LabelName,
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{
				v1alpha1.LabelName:            component,
				v1alpha1.LabelInstance:        stack.Name,
				v1alpha1.LabelMonitoringStack: stack.Name,
			}},
			Endpoints: []monitoringv1.Endpoint{{
				Port:           port,
				Path:           "/metrics",
				HonorLabels:    honorLabels,
				RelabelConfigs: relabel,
			}},
		},
	}
	return typedApply(sm, GVKServiceMonitor, nil, [][]string{{"spec", "namespaceSelector"}})
}
