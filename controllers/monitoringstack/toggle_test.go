package monitoringstack

import (
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

func TestDisabledComponentsAreDeleted(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "main", nil)
	n := monitoring.NamesFor(s)
	waitExists(t, &appsv1.DaemonSet{}, ns, n.NodeExporter())
	waitExists(t, &monitoringv1.ServiceMonitor{}, ns, n.NodeExporter())
	waitExists(t, &appsv1.Deployment{}, ns, n.KubeStateMetrics())
	waitExists(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentKubeStateMetrics))
	waitExists(t, &monitoringv1.PrometheusRule{}, ns, n.Rules())
	waitExists(t, &corev1.ConfigMap{}, ns, n.GrafanaDashboards())

	ds := &appsv1.DaemonSet{}
	waitExists(t, ds, ns, n.NodeExporter())
	tol := ds.Spec.Template.Spec.Tolerations
	if len(tol) != 1 || tol[0].Operator != corev1.TolerationOpExists || tol[0].Key != "" || tol[0].Effect != "" {
		t.Fatalf("node-exporter must tolerate every taint (edge pools): %+v", tol)
	}
	if ds.Spec.Template.Spec.Containers[0].Image != testOptions.NodeExporterImage {
		t.Fatalf("node-exporter image %q, want the operator's flag", ds.Spec.Template.Spec.Containers[0].Image)
	}

	// node-exporter off.
	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.NodeExporter = &v1alpha1.Toggle{Enabled: false}
	})
	waitGone(t, &appsv1.DaemonSet{}, ns, n.NodeExporter())
	waitGone(t, &corev1.Service{}, ns, n.NodeExporter())
	waitGone(t, &monitoringv1.ServiceMonitor{}, ns, n.NodeExporter())

	// kube-state-metrics, built-in rules and dashboards off.
	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.KubeStateMetrics = &v1alpha1.Toggle{Enabled: false}
		s.Spec.Alerting.BuiltinRules = false
		s.Spec.Dashboards.Builtin = false
	})
	waitGone(t, &appsv1.Deployment{}, ns, n.KubeStateMetrics())
	waitGone(t, &corev1.ServiceAccount{}, ns, n.KubeStateMetrics())
	waitGone(t, &monitoringv1.ServiceMonitor{}, ns, n.KubeStateMetrics())
	waitGone(t, &rbacv1.ClusterRole{}, "", n.ClusterRole(monitoring.ComponentKubeStateMetrics))
	waitGone(t, &rbacv1.ClusterRoleBinding{}, "", n.ClusterRole(monitoring.ComponentKubeStateMetrics))
	waitGone(t, &monitoringv1.PrometheusRule{}, ns, n.Rules())
	waitGone(t, &corev1.ConfigMap{}, ns, n.GrafanaDashboards())
	waitGone(t, &corev1.ConfigMap{}, ns, n.GrafanaDashboardProvider())

	// Grafana off: its objects and the generated Secret go; Prometheus alone makes it Ready.
	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.Grafana.Enabled = false
	})
	waitGone(t, &appsv1.Deployment{}, ns, n.Grafana())
	waitGone(t, &corev1.Service{}, ns, n.Grafana())
	waitGone(t, &corev1.ConfigMap{}, ns, n.GrafanaConfig())
	waitGone(t, &corev1.Secret{}, ns, n.GrafanaAdminSecret())
	markPrometheusAvailable(t, ns, "main")
	s = waitCondition(t, ns, "main", v1alpha1.ConditionReady, "True", v1alpha1.MonitoringStackReasonReady)
	if s.Status.Grafana != nil {
		t.Fatalf("status.grafana with Grafana off: %+v", s.Status.Grafana)
	}

	// Back on: node-exporter returns.
	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.NodeExporter.Enabled = true
	})
	waitExists(t, &appsv1.DaemonSet{}, ns, n.NodeExporter())
	deleteStack(t, ns, "main")
}
