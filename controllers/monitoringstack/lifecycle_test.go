package monitoringstack

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A stack deploys its parts, each owned by it, and is Ready once prometheus-operator and
// Grafana report; deleting it removes its cluster-scoped RBAC. (A stack created before
// prometheus-operator's CRDs exist: controllers/latecrds.)
func TestStackDeploysItsPartsAndBecomesReady(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "main", nil)

	n := monitoring.NamesFor(s)
	waitExists(t, &monitoringv1.Prometheus{}, ns, n.Prometheus())
	for _, sm := range []string{n.PrometheusService(), n.NodeExporter(), n.KubeStateMetrics()} {
		waitExists(t, &monitoringv1.ServiceMonitor{}, ns, sm)
	}
	waitExists(t, &monitoringv1.PrometheusRule{}, ns, n.Rules())
	waitExists(t, &appsv1.Deployment{}, ns, n.Grafana())
	waitExists(t, &corev1.Service{}, ns, n.Grafana())
	waitExists(t, &corev1.Service{}, ns, n.PrometheusService())
	for _, cm := range []string{n.GrafanaConfig(), n.GrafanaDatasources(), n.GrafanaDashboardProvider(), n.GrafanaDashboards()} {
		waitExists(t, &corev1.ConfigMap{}, ns, cm)
	}
	waitExists(t, &corev1.Secret{}, ns, n.GrafanaAdminSecret())
	waitExists(t, &appsv1.DaemonSet{}, ns, n.NodeExporter())
	waitExists(t, &appsv1.Deployment{}, ns, n.KubeStateMetrics())
	waitExists(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentPrometheus))
	waitExists(t, &rbacv1.ClusterRoleBinding{}, "", n.ClusterRole(monitoring.ComponentKubeStateMetrics))

	// Waiting for prometheus-operator and Grafana to report.
	s = waitCondition(t, ns, "main", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonProgressing)
	if meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionStalled) != nil {
		t.Fatalf("still Stalled: %+v", s.Status.Conditions)
	}

	// The objects are what internal/monitoring renders, accepted by prometheus-operator's CRDs.
	p := &monitoringv1.Prometheus{}
	waitExists(t, p, ns, n.Prometheus())
	if p.Spec.ServiceAccountName != n.PrometheusService() || p.Spec.ServiceMonitorNamespaceSelector == nil ||
		p.Spec.RuleSelector.MatchLabels[v1alpha1.LabelMonitoringStack] != "main" || p.Spec.Storage.EmptyDir == nil {
		t.Fatalf("unexpected Prometheus spec: %+v", p.Spec)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != s.UID {
		t.Fatalf("Prometheus is not owned by the stack: %+v", p.OwnerReferences)
	}
	rule := &monitoringv1.PrometheusRule{}
	waitExists(t, rule, ns, n.Rules())
	if len(rule.Spec.Groups) != len(monitoring.BuiltinRuleGroups()) {
		t.Fatalf("PrometheusRule has %d groups", len(rule.Spec.Groups))
	}

	// Ready once prometheus-operator says Prometheus is available, Grafana rolled out, and the
	// exporters run: without them the dashboards would be empty.
	markPrometheusAvailable(t, ns, "main")
	markDeploymentReady(t, ns, n.Grafana())
	s = waitCondition(t, ns, "main", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonProgressing)
	if msg := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "node-exporter") || !strings.Contains(msg, "kube-state-metrics") {
		t.Fatalf("Ready's message does not say it waits for the exporters: %s", msg)
	}
	markDaemonSetReady(t, ns, n.NodeExporter(), 2)
	eventually(t, "Ready's message to wait for kube-state-metrics alone", func() error {
		s = waitCondition(t, ns, "main", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonProgressing)
		msg := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady).Message
		return testenv.Expect(strings.HasPrefix(msg, "Waiting for kube-state-metrics: "), "Ready: %s", msg)
	})
	markDeploymentReady(t, ns, n.KubeStateMetrics())
	s = waitCondition(t, ns, "main", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonReady)
	if s.Status.Prometheus == nil || !s.Status.Prometheus.Ready || s.Status.Prometheus.URL != "http://prometheus-main."+ns+".svc:9090" {
		t.Fatalf("status.prometheus: %+v", s.Status.Prometheus)
	}
	if s.Status.Grafana == nil || !s.Status.Grafana.Ready || s.Status.Grafana.URL != "http://grafana-main."+ns+".svc:3000" ||
		s.Status.Grafana.AdminSecretRef == nil || s.Status.Grafana.AdminSecretRef.Name != n.GrafanaAdminSecret() {
		t.Fatalf("status.grafana: %+v", s.Status.Grafana)
	}
	if s.Status.ObservedGeneration != s.Generation {
		t.Fatalf("observedGeneration %d, generation %d", s.Status.ObservedGeneration, s.Generation)
	}

	if v := readyGauge(t, ns, "main"); v == nil || *v != 1 {
		t.Fatalf("edgeforge_monitoringstack_ready = %v, want 1", v)
	}

	deleteStack(t, ns, "main")
	if v := readyGauge(t, ns, "main"); v != nil {
		t.Fatalf("edgeforge_monitoringstack_ready still exported for a deleted stack: %v", *v)
	}
	waitGone(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentPrometheus))
	waitGone(t, &rbacv1.ClusterRoleBinding{}, "", n.ClusterRole(monitoring.ComponentPrometheus))
	waitGone(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentKubeStateMetrics))
}
