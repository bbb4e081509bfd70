package crd

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// TestSamplesAreAccepted creates every sample in config/samples for real.
func TestSamplesAreAccepted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, obj := range readObjects(t, f) {
			if obj.GetNamespace() == "" && obj.GetKind() != "EdgeCluster" {
				obj.SetNamespace("default")
			}
			if err := k8sClient.Create(ctx(t), obj); err != nil {
				t.Errorf("%s: %s %s rejected: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
				continue
			}
			kinds[obj.GetKind()] = true
			t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) }) // t.Context() is done by then
		}
	}
	for _, k := range []string{"ImageBuild", "AppDeployment", "EdgeCluster", "MonitoringStack"} {
		if !kinds[k] {
			t.Errorf("no accepted sample of kind %s in config/samples", k)
		}
	}
}

// TestDefaultsAreApplied creates minimal objects and reads back the schema defaults of API.md.
func TestDefaultsAreApplied(t *testing.T) {
	want := map[string]map[string]any{
		"ImageBuild": {
			"spec.dockerfile":                   "Dockerfile",
			"spec.timeout":                      "30m",
			"spec.retries":                      int64(0),
			"spec.successfulBuildsHistoryLimit": int64(3),
			"spec.failedBuildsHistoryLimit":     int64(3),
		},
		"AppDeployment": {
			"spec.replicas":                         int64(1),
			"spec.service.type":                     "ClusterIP",
			"spec.rollback.enabled":                 true,
			"spec.strategy.progressDeadlineSeconds": int64(600),
		},
		"EdgeCluster": {
			"spec.join.methods":                      []any{"kubeadm"},
			"spec.join.tokenTTL":                     "24h",
			"spec.autonomy.tolerateDisconnectionFor": "1h",
			"spec.autonomy.disconnectedThreshold":    int64(70),
			"spec.health.notReadyGracePeriod":        "5m",
			"spec.minReadyNodes":                     int64(1),
			"spec.approveServingCSRs":                nil, // off unless asked
			"spec.nodeTemplate":                      nil,
			"spec.join.apiServerEndpoint":            nil,
			"spec.expectedNodes":                     nil,
		},
		"MonitoringStack": {
			"spec.prometheus.replicas":               int64(1),
			"spec.prometheus.retention":              "24h",
			"spec.prometheus.scrapeInterval":         "30s",
			"spec.grafana.enabled":                   true,
			"spec.grafana.replicas":                  int64(1),
			"spec.grafana.allowEmbedding":            false,
			"spec.grafana.anonymous.enabled":         false,
			"spec.grafana.anonymous.role":            "Viewer",
			"spec.grafana.service.type":              "ClusterIP",
			"spec.scope":                             "Namespace",
			"spec.nodeExporter":                      nil, // the controller decides by scope
			"spec.kubeStateMetrics":                  nil,
			"spec.alerting.builtinRules":             true,
			"spec.dashboards.builtin":                true,
			"spec.prometheus.storage":                nil, // emptyDir unless asked
			"spec.grafana.adminCredentialsSecretRef": nil,
		},
	}
	for kind, fields := range want {
		t.Run(kind, func(t *testing.T) {
			// A fresh name per run: envtest runs no controller to remove finalizers a kind may add.
			obj := build(t, kind, `metadata: {name: defaults-`+strings.ToLower(rand.Text()[:8])+`}`)
			if kind == "AppDeployment" {
				// one port, so the defaulted protocol can be checked too
				obj.Object["spec"].(map[string]any)["ports"] = []any{map[string]any{"name": "http", "containerPort": int64(80)}}
			}
			if err := k8sClient.Create(ctx(t), obj); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) }) // t.Context() is done by then
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			for path, w := range fields {
				v, found, _ := unstructured.NestedFieldNoCopy(got.Object, strings.Split(path, ".")...)
				if w == nil {
					if found {
						t.Errorf("%s = %v, want unset", path, v)
					}
					continue
				}
				if !found || !reflect.DeepEqual(v, w) {
					t.Errorf("%s = %#v (found %v), want %#v", path, v, found, w)
				}
			}
			goDefaultsAgree(t, got)
			if kind == "AppDeployment" {
				ports, _, _ := unstructured.NestedSlice(got.Object, "spec", "ports")
				if p := ports[0].(map[string]any)["protocol"]; p != "TCP" {
					t.Errorf("spec.ports[0].protocol = %v, want TCP", p)
				}
			}
		})
	}
}

// goDefaultsAgree checks that what the controllers use for an unset field (v1alpha1's accessors,
// monitoring.Effective) is what the API server's defaulting stored in got.
func goDefaultsAgree(t *testing.T, got *unstructured.Unstructured) {
	t.Helper()
	switch got.GetKind() {
	case "ImageBuild":
		ib := &v1alpha1.ImageBuild{}
		fromUnstructured(t, got, ib)
		s, f := ib.Spec.HistoryLimits()
		ws, wf := (&v1alpha1.ImageBuildSpec{}).HistoryLimits()
		if s != ws || f != wf {
			t.Errorf("history limits: schema defaults %d/%d, Go defaults %d/%d", s, f, ws, wf)
		}
	case "EdgeCluster":
		ec := &v1alpha1.EdgeCluster{}
		fromUnstructured(t, got, ec)
		empty := &v1alpha1.EdgeClusterSpec{}
		if ec.Spec.TokenTTL() != empty.TokenTTL() {
			t.Errorf("token TTL: schema default %s, Go default %s", ec.Spec.TokenTTL(), empty.TokenTTL())
		}
		if got, want := ec.Spec.DisconnectedThreshold(), empty.DisconnectedThreshold(); got != want {
			t.Errorf("disconnected threshold: schema default %d, Go default %d", got, want)
		}
		if d, f := ec.Spec.DisconnectionTolerance(); d != v1alpha1.DefaultTolerateDisconnectionFor || f {
			t.Errorf("disconnection tolerance: schema default %s (forever %v), Go default %s", d, f, v1alpha1.DefaultTolerateDisconnectionFor)
		}
		if !reflect.DeepEqual(ec.Spec.JoinMethods(), empty.JoinMethods()) {
			t.Errorf("join methods: schema default %v, Go default %v", ec.Spec.JoinMethods(), empty.JoinMethods())
		}
	case "MonitoringStack":
		ms := &v1alpha1.MonitoringStack{}
		fromUnstructured(t, got, ms)
		want := monitoring.Effective(v1alpha1.MonitoringStackSpec{})
		// The exporters are the controller's decision (on in Cluster scope only); the schema
		// leaves them unset.
		if want.NodeExporter.Enabled || want.KubeStateMetrics.Enabled {
			t.Errorf("monitoring.Effective runs cluster-wide exporters in the default scope (Namespace)")
		}
		want.NodeExporter, want.KubeStateMetrics = nil, nil
		if !reflect.DeepEqual(ms.Spec, want) {
			t.Errorf("MonitoringStack defaults: schema\n%+v\nmonitoring.Effective\n%+v", ms.Spec, want)
		}
	}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}

func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(string(data), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}
