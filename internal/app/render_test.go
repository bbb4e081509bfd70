package app

import (
	"bytes"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/testutil/golden"
)

const image = "registry.example.com/team/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// appDeployment is a minimal AppDeployment as the API server stores it (schema defaults applied).
func appDeployment(mutate func(*v1alpha1.AppDeployment)) *v1alpha1.AppDeployment {
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo", UID: "7d2f1c9e-3b6a-4e8d-9c51-2a4b6c8d0e1f", Generation: 3},
		Spec: v1alpha1.AppDeploymentSpec{
			Image:    "nginx:1.27",
			Replicas: ptr.To[int32](2),
			Ports:    []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			Service:  &v1alpha1.AppService{Type: v1alpha1.ServiceTypeClusterIP},
			Strategy: &v1alpha1.RolloutStrategy{ProgressDeadlineSeconds: ptr.To[int32](600)},
			Rollback: &v1alpha1.RollbackPolicy{Enabled: ptr.To(true)},
		},
	}
	if mutate != nil {
		mutate(app)
	}
	return app
}

func siteA() *v1alpha1.EdgeCluster {
	return &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "site-a"},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule},
			{Key: "site", Effect: corev1.TaintEffectPreferNoSchedule},
		}}},
	}
}

// Every option, alone or in the combinations that change each other's rendering.
var renderCases = []struct {
	name string
	app  *v1alpha1.AppDeployment
	pool *v1alpha1.EdgeCluster
}{
	{"minimal", appDeployment(nil), nil},
	{"no-ports-no-service", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Ports = nil }), nil},
	{"service-none", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Service.Type = v1alpha1.ServiceTypeNone }), nil},
	{"nodeport-two-ports", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Service = &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: ptr.To[int32](30080)}
		a.Spec.Ports = append(a.Spec.Ports, v1alpha1.AppPort{Name: "dns", ContainerPort: 5353, ServicePort: ptr.To[int32](53), Protocol: corev1.ProtocolUDP})
	}), nil},
	{"loadbalancer", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Service.Type = v1alpha1.ServiceTypeLoadBalancer }), nil},
	{"ingress-tls-class-port", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Ports = append(a.Spec.Ports, v1alpha1.AppPort{Name: "admin", ContainerPort: 9000, ServicePort: ptr.To[int32](80), Protocol: corev1.ProtocolTCP})
		a.Spec.Ingress = &v1alpha1.AppIngress{Host: "web.example.com", Path: "/shop", Port: "admin", ClassName: "nginx", TLSSecretName: "web-tls"}
	}), nil},
	{"ingress-any-host", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Ingress = &v1alpha1.AppIngress{Path: "/"}
	}), nil},
	{"autoscaling", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Autoscaling = &v1alpha1.Autoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](70)}
	}), nil},
	{"disruption-budget-min-available", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MinAvailable: ptr.To(intstr.FromInt32(1))}
	}), nil},
	{"disruption-budget-max-unavailable", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MaxUnavailable: ptr.To(intstr.FromString("50%"))}
	}), nil},
	{"placement-edge-cluster-spread", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{
			EdgeClusterRef:    &v1alpha1.EdgeClusterReference{Name: "site-a"},
			Tolerations:       []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			SpreadAcrossNodes: true,
		}
	}), siteA()},
	{"placement-node-selector", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{NodeSelector: map[string]string{"kubernetes.io/arch": "arm64", "disk": "ssd"}}
	}), nil},
	{"metrics", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Metrics = &v1alpha1.AppMetrics{Port: "http", Path: "/metrics", Interval: "15s"}
	}), nil},
	{"container-options-strategy", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Env = []corev1.EnvVar{
			{Name: "MODE", Value: "edge"},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}
		a.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}
		a.Spec.Command = []string{"/bin/web"}
		a.Spec.Args = []string{"--listen=:8080"}
		a.Spec.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.05"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		}
		a.Spec.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, PeriodSeconds: 20}
		a.Spec.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}}
		a.Spec.Strategy = &v1alpha1.RolloutStrategy{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0)), ProgressDeadlineSeconds: ptr.To[int32](120)}
	}), nil},
	{"replicas-zero", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Replicas = ptr.To[int32](0) }), nil},
	{"everything", appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Ingress = &v1alpha1.AppIngress{Host: "web.example.com", Path: "/"}
		a.Spec.Autoscaling = &v1alpha1.Autoscaling{MinReplicas: ptr.To[int32](1), MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To[int32](80)}
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MinAvailable: ptr.To(intstr.FromInt32(1))}
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}, SpreadAcrossNodes: true}
		a.Spec.Metrics = &v1alpha1.AppMetrics{Port: "http", Path: "/metrics"}
	}), siteA()},
}

// render is every child of app as one multi-document YAML, in a fixed order; an absent child is
// a comment line.
func render(t *testing.T, app *v1alpha1.AppDeployment, pool *v1alpha1.EdgeCluster) []byte {
	t.Helper()
	var buf bytes.Buffer
	add := func(kind string, obj any, present bool) {
		buf.WriteString("---\n")
		if !present {
			buf.WriteString("# no " + kind + "\n")
			return
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		buf.Write(data)
	}
	add("Deployment", DesiredDeployment(app, image, pool, nil), true)
	svc := DesiredService(app)
	add("Service", svc, svc != nil)
	ing := DesiredIngress(app)
	add("Ingress", ing, ing != nil)
	hpa := DesiredHPA(app)
	add("HorizontalPodAutoscaler", hpa, hpa != nil)
	pdb := DesiredPDB(app)
	add("PodDisruptionBudget", pdb, pdb != nil)
	sm := DesiredServiceMonitor(app)
	if sm != nil {
		add("ServiceMonitor", ServiceMonitorApplyConfiguration(sm).Object, true)
	} else {
		add("ServiceMonitor", nil, false)
	}
	return buf.Bytes()
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.app); err != nil {
				t.Fatalf("test case is not a valid spec: %v", err)
			}
			got := render(t, tc.app, tc.pool)
			// A non-deterministic render is a write at rest waiting to happen.
			for i := 0; i < 10; i++ {
				if again := render(t, tc.app, tc.pool); !bytes.Equal(got, again) {
					t.Fatalf("render %d differs from the first:\n%s\n---- vs ----\n%s", i, again, got)
				}
			}
			golden.Assert(t, tc.name+".yaml", got)
		})
	}
}

// The spec's defaults are applied by the schema; objects built in code without them render the
// same way as with them.
func TestRenderWithoutSchemaDefaults(t *testing.T) {
	bare := appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Replicas, a.Spec.Service, a.Spec.Strategy, a.Spec.Rollback = nil, nil, nil, nil
		a.Spec.Ports[0].Protocol = ""
	})
	defaulted := appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Replicas = ptr.To[int32](1)
		a.Spec.Strategy = nil
	})
	if got, want := render(t, bare, nil), render(t, defaulted, nil); !bytes.Equal(got, want) {
		t.Errorf("bare spec renders\n%s\nwant\n%s", got, want)
	}
}
