package monitoringstack

import (
	"os"
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// config/prometheus/monitor.yaml is accepted by prometheus-operator's CRD, scrapes the port of
// config/default/metrics_service.yaml, and is picked by a stack's default selector.
func TestOperatorServiceMonitor(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "prometheus", "monitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sm := &monitoringv1.ServiceMonitor{}
	if err := yaml.UnmarshalStrict(raw, sm); err != nil {
		t.Fatalf("monitor.yaml: %v", err)
	}
	sm.Namespace = newNamespace(t)
	if err := k8s.Create(ctx(t), sm, client.DryRunAll); err != nil {
		t.Fatalf("prometheus-operator's CRD rejects monitor.yaml: %v", err)
	}
	if ep := sm.Spec.Endpoints; len(ep) != 1 || ep[0].Port != "https-metrics" || ep[0].Scheme == nil || string(*ep[0].Scheme) != "https" {
		t.Fatalf("want one https endpoint on port https-metrics: %+v", ep)
	}
	sel, err := metav1.LabelSelectorAsSelector(monitoring.MonitorSelector(&v1alpha1.MonitoringStack{}))
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(sm.Labels)) {
		t.Fatalf("the default serviceMonitorSelector does not pick the operator's monitor (labels %v)", sm.Labels)
	}
	svc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "default", "metrics_service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var service struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Ports []struct {
				Name string `json:"name"`
			} `json:"ports"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(svc, &service); err != nil {
		t.Fatal(err)
	}
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(service.Metadata.Labels)) ||
		len(service.Spec.Ports) == 0 || service.Spec.Ports[0].Name != "https-metrics" {
		t.Fatalf("monitor.yaml does not select the metrics Service of config/default: %+v", service)
	}
}
