package monitoring

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/internal/testutil/golden"
)

func stack(mutate func(*v1alpha1.MonitoringStackSpec)) *v1alpha1.MonitoringStack {
	s := &v1alpha1.MonitoringStack{
		ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: "monitoring", UID: "0d7c4c2e-8f5e-4b8e-9a57-2f3c1d6e7a90"},
		// The whole stack, exporters included, unless a case says otherwise.
		Spec: v1alpha1.MonitoringStackSpec{Scope: v1alpha1.MonitoringScopeCluster},
	}
	if mutate != nil {
		mutate(&s.Spec)
	}
	return s
}

var goldenCases = []struct {
	name   string
	mutate func(*v1alpha1.MonitoringStackSpec)
}{
	// The schema's default: scope Namespace (a Role, no exporters).
	{"default", func(s *v1alpha1.MonitoringStackSpec) { s.Scope = "" }},
	{"cluster", nil},
	{"namespace-selector", func(s *v1alpha1.MonitoringStackSpec) {
		s.Scope = v1alpha1.MonitoringScopeNamespace
		s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"team": "factory"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"edge", "core"}}},
		}}
	}},
	{"sample", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{ExternalLabels: map[string]string{"cluster": "factory-busan", "region": "kr-south"}}
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AllowEmbedding: true,
			Anonymous: &v1alpha1.AnonymousAccess{Enabled: true, Role: v1alpha1.GrafanaRoleViewer}}
	}},
	{"custom", func(s *v1alpha1.MonitoringStackSpec) {
		s.Prometheus = &v1alpha1.PrometheusSpec{
			Replicas:       ptr.To[int32](2),
			Retention:      "15d",
			ScrapeInterval: "1m",
			Storage:        &v1alpha1.StorageSpec{Size: resource.MustParse("20Gi"), StorageClassName: "fast"},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
			},
			ServiceMonitorSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "factory"}},
		}
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, Replicas: ptr.To[int32](2), Image: "grafana/grafana:12.0.0",
			AdminCredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "grafana-admin"},
			Anonymous:                 &v1alpha1.AnonymousAccess{Enabled: true, Role: v1alpha1.GrafanaRoleEditor},
			Service:                   &v1alpha1.GrafanaService{Type: corev1.ServiceTypeNodePort, NodePort: 30300}}
	}},
	{"minimal", func(s *v1alpha1.MonitoringStackSpec) {
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: false}
		s.NodeExporter = &v1alpha1.Toggle{Enabled: false}
		s.KubeStateMetrics = &v1alpha1.Toggle{Enabled: false}
		s.Alerting = &v1alpha1.AlertingSpec{BuiltinRules: false}
		s.Dashboards = &v1alpha1.DashboardsSpec{Builtin: false}
	}},
	{"no-dashboards", func(s *v1alpha1.MonitoringStackSpec) {
		s.Dashboards = &v1alpha1.DashboardsSpec{Builtin: false}
	}},
}

// render writes every desired object as a YAML stream; objects to delete are comment lines.
// The dashboards' JSON (committed in dashboards/) is replaced by its size and hash.
func render(t *testing.T, s *v1alpha1.MonitoringStack) []byte {
	t.Helper()
	objs, err := Desired(s, settings.Defaults(), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, o := range objs {
		if o.Apply == nil {
			fmt.Fprintf(&b, "# absent: %s\n", o.Key())
			continue
		}
		raw, err := json.Marshal(o.Apply)
		if err != nil {
			t.Fatalf("%s: %v", o.Key(), err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if o.GVK == GVKConfigMap && o.Name == NamesFor(s).GrafanaDashboards() {
			data := m["data"].(map[string]any)
			for k, v := range data {
				data[k] = fmt.Sprintf("<%d bytes, sha256 %x>", len(v.(string)), sha256.Sum256([]byte(v.(string))))
			}
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(out)
	}
	return b.Bytes()
}

func TestDesiredObjectsGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			first := render(t, stack(tc.mutate))
			// Determinism: a render that varies would be a write at rest.
			for i := 0; i < 5; i++ {
				if again := render(t, stack(tc.mutate)); !bytes.Equal(first, again) {
					t.Fatalf("render %d differs from the first: %s", i+2, golden.FirstDiff(string(first), string(again)))
				}
			}
			golden.Assert(t, "objects-"+tc.name+".yaml", first)
		})
	}
}

func TestGrafanaINIGolden(t *testing.T) {
	for _, tc := range []struct{ embed, https, anon bool }{
		{false, false, false}, {false, false, true}, {true, false, false}, {true, false, true}, {true, true, false},
	} {
		name := fmt.Sprintf("grafana-embedding-%t-anonymous-%t.ini", tc.embed, tc.anon)
		if tc.https {
			name = fmt.Sprintf("grafana-embedding-%t-https-anonymous-%t.ini", tc.embed, tc.anon)
		}
		t.Run(name, func(t *testing.T) {
			s := stack(func(s *v1alpha1.MonitoringStackSpec) {
				s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AllowEmbedding: tc.embed, ServedOverHTTPS: tc.https,
					Anonymous: &v1alpha1.AnonymousAccess{Enabled: tc.anon, Role: v1alpha1.GrafanaRoleViewer}}
			})
			ini := GrafanaINI(s)
			golden.Assert(t, name, []byte(ini))
			// The cookie is only made Secure where it can be: over HTTPS.
			if secure := strings.Contains(ini, "cookie_secure = true"); secure != (tc.embed && tc.https) {
				t.Errorf("cookie_secure set = %v, want %v", secure, tc.embed && tc.https)
			}
			if !strings.Contains(ini, "[snapshots]\nexternal_enabled = false") {
				t.Error("external snapshots are not off")
			}
		})
	}
}

func TestGeneratedAdminSecretGolden(t *testing.T) {
	out, err := yaml.Marshal(AdminSecret(stack(nil), "not-a-real-password"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "admin-secret.yaml", out)
}

func TestRuleFileGolden(t *testing.T) {
	out, err := RuleFile(BuiltinRuleGroups())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "rules.yaml", out)
}
