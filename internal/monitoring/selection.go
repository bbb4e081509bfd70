package monitoring

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Which monitors a stack's Prometheus scrapes.
//
// prometheus-operator gives a Prometheus one label selector for monitors and one for their
// namespaces, so "the stack's own monitors, plus what serviceMonitorSelector picks" cannot be
// two selectors. edgeforge writes the user's selector (default {}) as the Prometheus' selector
// and gives the stack's own monitors labels that satisfy it: they are always picked, and the
// selector is never replaced. The scope decides the namespaces: the stack's own (a nil
// namespace selector, prometheus-operator's "the Prometheus' namespace") or every namespace.

// ScopeOf is the stack's scope; Namespace unless spec.scope says Cluster.
func ScopeOf(stack *v1alpha1.MonitoringStack) v1alpha1.MonitoringScope {
	return cmp.Or(stack.Spec.Scope, v1alpha1.MonitoringScopeNamespace)
}

// ClusterScoped: the stack collects from the whole cluster.
func ClusterScoped(stack *v1alpha1.MonitoringStack) bool {
	return ScopeOf(stack) == v1alpha1.MonitoringScopeCluster
}

// MonitorSelector is the label selector of the stack's Prometheus for ServiceMonitors and
// PodMonitors: spec.prometheus.serviceMonitorSelector, or {} (every monitor of the scope).
func MonitorSelector(stack *v1alpha1.MonitoringStack) *metav1.LabelSelector {
	if p := stack.Spec.Prometheus; p != nil && p.ServiceMonitorSelector != nil {
		return p.ServiceMonitorSelector.DeepCopy()
	}
	return &metav1.LabelSelector{}
}

// monitorNamespaceSelector is the namespace selector of the stack's Prometheus: nil (its own
// namespace only) for Namespace scope, {} (every namespace) for Cluster scope.
func monitorNamespaceSelector(stack *v1alpha1.MonitoringStack) *metav1.LabelSelector {
	if ClusterScoped(stack) {
		return &metav1.LabelSelector{}
	}
	return nil
}

// OwnMonitorLabels are the labels of the stack's own ServiceMonitor of component: the
// component's labels and whatever spec.prometheus.serviceMonitorSelector requires, so that the
// selector picks them. It fails when the selector cannot pick them (it is invalid, or requires a
// value of a label edgeforge sets to something else).
func OwnMonitorLabels(stack *v1alpha1.MonitoringStack, component string) (map[string]string, error) {
	l := Labels(stack, component)
	sel := MonitorSelector(stack)
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return nil, fmt.Errorf("spec.prometheus.serviceMonitorSelector is not a valid label selector: %w", err)
	}
	conflict := func(key, want string) error {
		return fmt.Errorf("spec.prometheus.serviceMonitorSelector requires %s %s, which the stack's own "+
			"ServiceMonitors cannot carry (edgeforge sets %s=%s on them); select by another label", key, want, key, l[key])
	}
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		v := sel.MatchLabels[k]
		if have, ok := l[k]; ok && have != v {
			return nil, conflict(k, "="+v)
		}
		l[k] = v
	}
	for _, e := range sel.MatchExpressions {
		have, ok := l[e.Key]
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if ok && !slices.Contains(e.Values, have) {
				return nil, conflict(e.Key, "in ("+strings.Join(e.Values, ",")+")")
			}
			if !ok {
				l[e.Key] = e.Values[0]
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && slices.Contains(e.Values, have) {
				return nil, conflict(e.Key, "not in ("+strings.Join(e.Values, ",")+")")
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				l[e.Key] = "true"
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return nil, conflict(e.Key, "to be absent")
			}
		}
	}
	// Two expressions on one key can still contradict each other ({a In [x]}, {a NotIn [x]}).
	s, _ := metav1.LabelSelectorAsSelector(sel)
	if !s.Matches(labels.Set(l)) {
		return nil, fmt.Errorf("spec.prometheus.serviceMonitorSelector (%s) cannot select the stack's own ServiceMonitors", s)
	}
	return l, nil
}

// SpecProblem is why the spec cannot be carried out, or "": what admission could not judge
// (a selector's syntax and what it requires of the stack's own monitors) or did not judge (an
// exporter enabled in Namespace scope on an object stored before that rule existed).
func SpecProblem(stack *v1alpha1.MonitoringStack) string {
	if !ClusterScoped(stack) {
		for _, t := range []struct {
			field string
			on    *v1alpha1.Toggle
		}{{"nodeExporter", stack.Spec.NodeExporter}, {"kubeStateMetrics", stack.Spec.KubeStateMetrics}} {
			if t.on != nil && t.on.Enabled {
				return fmt.Sprintf("spec.%s.enabled needs spec.scope: Cluster: a stack of scope Namespace collects "+
					"nothing outside its namespace; disable it, or use a Cluster-scoped stack", t.field)
			}
		}
	}
	if _, err := OwnMonitorLabels(stack, ComponentPrometheus); err != nil {
		return err.Error()
	}
	return ""
}

// ScopeAllowed: the stack's scope is allowed in its namespace. Cluster scope is allowed only in
// the namespaces of --cluster-monitoring-namespaces.
func ScopeAllowed(stack *v1alpha1.MonitoringStack, clusterNamespaces []string) (bool, string) {
	if !ClusterScoped(stack) || slices.Contains(clusterNamespaces, stack.Namespace) {
		return true, ""
	}
	return false, fmt.Sprintf("spec.scope Cluster is allowed only in namespace(s) %s (the operator's "+
		"--cluster-monitoring-namespaces), not in %s: a Cluster-scoped stack reads every namespace "+
		"and node; use scope Namespace here", strings.Join(clusterNamespaces, ", "), stack.Namespace)
}

// LabelPodSecurityEnforce is the namespace label of Pod Security admission's enforced level.
const LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"

// NodeExporterForbidden says why the Pod Security level enforced in the stack's namespace
// (nsLabels) refuses node-exporter's pods, or "". node-exporter needs hostNetwork, hostPID and
// read-only hostPath mounts, which only the privileged level admits; without the label the
// cluster's default level applies (privileged unless an admin configured another).
func NodeExporterForbidden(stack *v1alpha1.MonitoringStack, nsLabels map[string]string) string {
	level := nsLabels[LabelPodSecurityEnforce]
	if level == "" || level == "privileged" {
		return ""
	}
	return fmt.Sprintf("node-exporter needs hostNetwork, hostPID and hostPath, which Pod Security level %q of namespace %s "+
		"(label %s) refuses; run the Cluster-scoped stack in a namespace whose level is privileged (and list it in the "+
		"operator's --cluster-monitoring-namespaces), or set spec.nodeExporter.enabled: false", level, stack.Namespace, LabelPodSecurityEnforce)
}
