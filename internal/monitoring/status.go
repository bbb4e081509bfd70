package monitoring

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// Observed are the children whose state the stack's status reports.
type Observed struct {
	// Prometheus is the stack's Prometheus CR; nil when not found.
	Prometheus *monitoringv1.Prometheus
	// Grafana is Grafana's Deployment; nil when not found (or Grafana is off).
	Grafana *appsv1.Deployment
	// NodeExporter is node-exporter's DaemonSet; nil when not found (or node-exporter is off).
	NodeExporter *appsv1.DaemonSet
	// KubeStateMetrics is kube-state-metrics' Deployment; nil when not found (or it is off).
	KubeStateMetrics *appsv1.Deployment
	// Cluster is what the stack shares with the others (which stack runs node-exporter).
	Cluster Cluster
	// Monitors are the ServiceMonitors and PodMonitors in the stack's reach (its namespace, or
	// every namespace with scope Cluster). A stack's namespace selector is nil or {}, so their
	// namespaces' labels do not matter.
	Monitors []Monitor
}

// PrometheusReady reads prometheus-operator's verdict on the Prometheus CR: its Available
// condition, True when every replica of every shard is ready, for the CR's current generation.
// The CR's status is used rather than the StatefulSet prometheus-<name>: prometheus-operator
// owns that StatefulSet (one per shard, names it may change), and its Available condition is
// exactly "all pods ready"; watching the CR also needs no StatefulSet cache. The second result
// says why it is not ready.
func PrometheusReady(p *monitoringv1.Prometheus) (bool, string) {
	if p == nil {
		return false, "the Prometheus object does not exist yet"
	}
	for _, c := range p.Status.Conditions {
		if c.Type != monitoringv1.Available {
			continue
		}
		if c.ObservedGeneration != p.Generation {
			return false, fmt.Sprintf("prometheus-operator has not processed generation %d of Prometheus %s/%s yet", p.Generation, p.Namespace, p.Name)
		}
		if c.Status == monitoringv1.ConditionTrue {
			return true, ""
		}
		msg := fmt.Sprintf("Prometheus %s/%s is not available (%s", p.Namespace, p.Name, c.Status)
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		if c.Message != "" {
			msg += ", " + strings.TrimSuffix(c.Message, ".")
		}
		return false, msg + ")"
	}
	return false, fmt.Sprintf("prometheus-operator has not reported on Prometheus %s/%s yet: is prometheus-operator running?", p.Namespace, p.Name)
}

// DeploymentReady is true when the Deployment's current generation is rolled out: every
// replica updated and available, no old replica left.
func DeploymentReady(d *appsv1.Deployment) (bool, string) {
	if d == nil {
		return false, "the Deployment does not exist yet"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, fmt.Sprintf("Deployment %s/%s: the rollout of generation %d has not started", d.Namespace, d.Name, d.Generation)
	case s.UpdatedReplicas < want || s.Replicas > s.UpdatedReplicas || s.AvailableReplicas < want:
		return false, fmt.Sprintf("Deployment %s/%s: %d of %d replicas updated and available", d.Namespace, d.Name, min(s.UpdatedReplicas, s.AvailableReplicas), want)
	}
	return true, ""
}

// DaemonSetReady is true when the DaemonSet's current generation runs, updated and available, on
// every node it should run on.
func DaemonSetReady(ds *appsv1.DaemonSet) (bool, string) {
	if ds == nil {
		return false, "the DaemonSet does not exist yet"
	}
	s := ds.Status
	switch {
	case s.ObservedGeneration < ds.Generation:
		return false, fmt.Sprintf("DaemonSet %s/%s: the rollout of generation %d has not started", ds.Namespace, ds.Name, ds.Generation)
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled || s.NumberAvailable < s.DesiredNumberScheduled:
		return false, fmt.Sprintf("DaemonSet %s/%s: %d of %d pods updated and available", ds.Namespace, ds.Name,
			min(s.UpdatedNumberScheduled, s.NumberAvailable), s.DesiredNumberScheduled)
	}
	return true, ""
}

// Status computes status.prometheus and status.grafana from the observed children, whether
// the stack is ready, and if not, a message saying what it waits for.
func Status(stack *v1alpha1.MonitoringStack, obs Observed) (prom *v1alpha1.PrometheusStatus, graf *v1alpha1.ComponentStatus, ready bool, waiting string) {
	n := NamesFor(stack)
	var waits []string
	pReady, why := PrometheusReady(obs.Prometheus)
	if !pReady {
		waits = append(waits, "Prometheus: "+why)
	}
	ms := Monitors(stack, obs.Monitors, func(string) map[string]string { return nil })
	prom = &v1alpha1.PrometheusStatus{Ready: pReady, URL: n.PrometheusURL(),
		Monitors: ms.Selected, MonitorCount: ms.SelectedCount, IgnoredMonitors: ms.Ignored, IgnoredMonitorCount: ms.IgnoredCount}
	if Effective(stack.Spec).Grafana.Enabled {
		gReady, why := DeploymentReady(obs.Grafana)
		if !gReady {
			waits = append(waits, "Grafana: "+why)
		}
		graf = &v1alpha1.ComponentStatus{
			Ready:          gReady,
			URL:            n.GrafanaURL(),
			AdminSecretRef: &v1alpha1.LocalObjectReference{Name: AdminSecretName(stack)},
		}
	}
	// The exporters are part of what the stack shows: without them its dashboards are empty.
	eff := Effective(stack.Spec)
	if obs.Cluster.RunsNodeExporter(stack) {
		if ok, why := DaemonSetReady(obs.NodeExporter); !ok {
			waits = append(waits, "node-exporter: "+why)
		}
	}
	if eff.KubeStateMetrics.Enabled {
		if ok, why := DeploymentReady(obs.KubeStateMetrics); !ok {
			waits = append(waits, "kube-state-metrics: "+why)
		}
	}
	if len(waits) > 0 {
		return prom, graf, false, "Waiting for " + strings.Join(waits, "; ")
	}
	return prom, graf, true, ""
}

// Summarize writes status.prometheus and status.grafana from the observed children and decides
// Ready: True with both URLs once every component is ready (Prometheus, Grafana, node-exporter
// and kube-state-metrics, those that are enabled), otherwise Reconciling with what it waits for. It reports whether the stack is ready.
func Summarize(stack *v1alpha1.MonitoringStack, obs Observed) bool {
	p, g, ready, waiting := Status(stack, obs)
	stack.Status.Prometheus, stack.Status.Grafana = p, g
	if !ready {
		conditions.MarkReconciling(&stack.Status.Conditions, stack.Generation, v1alpha1.MonitoringStackReasonProgressing, waiting)
		return false
	}
	msg := "Prometheus is ready at " + p.URL
	if g != nil {
		msg += "; Grafana is ready at " + g.URL
	}
	if runner := obs.Cluster.NodeExporterRunner; Effective(stack.Spec).NodeExporter.Enabled && !obs.Cluster.RunsNodeExporter(stack) {
		msg += "; node-exporter is the one of MonitoringStack " + runner + " (one per cluster: it listens on every node's port 9100)"
	}
	if n := p.IgnoredMonitorCount; n > 0 {
		msg += fmt.Sprintf("; %d monitor(s) made by edgeforge are not selected (status.prometheus.ignoredMonitors)", n)
	}
	conditions.MarkReady(&stack.Status.Conditions, stack.Generation, v1alpha1.MonitoringStackReasonReady, msg)
	return true
}

// MarkApplyFailed records a transient failure of a pass (an API error, CRDs not served yet):
// Reconciling, with the error (the pass is retried with backoff).
func MarkApplyFailed(stack *v1alpha1.MonitoringStack, err error) {
	conditions.MarkReconciling(&stack.Status.Conditions, stack.Generation,
		v1alpha1.MonitoringStackReasonProgressing, "Retrying: "+err.Error())
}
