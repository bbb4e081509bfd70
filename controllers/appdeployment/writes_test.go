package appdeployment

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// An AppDeployment at rest, with every child and option, is re-reconciled without a single write
// request: no apply (a server-side apply is a PATCH even when it changes nothing), no status
// patch, no event. Checked twice: through the running manager (cache reads) after a watch event,
// and by calling Reconcile directly with a client that counts its writes (live reads).
func TestNoWritesAtRest(t *testing.T) {
	ns := namespace(t)
	pool := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "rest-" + ns},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}}}},
	}
	if err := k8s.Create(ctx(t), pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), pool) })
	ib := newImageBuild(t, ns, "rest")
	setBuildStatus(t, client.ObjectKeyFromObject(ib), v1alpha1.BuildPhaseSucceeded, digestImage('9'))

	a := newApp(t, ns, "rest", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = ""
		a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "rest"}}
		a.Spec.Ports = append(a.Spec.Ports, v1alpha1.AppPort{Name: "metrics", ContainerPort: 9090, ServicePort: ptr.To[int32](19090)})
		a.Spec.Service = &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort}
		a.Spec.Ingress = &v1alpha1.AppIngress{Host: "rest.example.com", ClassName: "nginx", TLSSecretName: "rest-tls"}
		a.Spec.Env = []corev1.EnvVar{{Name: "MODE", Value: "edge"},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}
		a.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		a.Spec.Command, a.Spec.Args = []string{"/web"}, []string{"--v=2"}
		a.Spec.Resources = corev1.ResourceRequirements{ // not in canonical form on purpose
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.05"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("0.125Gi")},
		}
		a.Spec.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}}
		a.Spec.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 5}
		a.Spec.Autoscaling = &v1alpha1.Autoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MinAvailable: ptr.To(intstr.FromString("50%"))}
		a.Spec.Strategy = &v1alpha1.RolloutStrategy{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromString("0%"))}
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool.Name}, SpreadAcrossNodes: true,
			Tolerations: []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}}
		a.Spec.Metrics = &v1alpha1.AppMetrics{Port: "metrics", Interval: "15s"}
	})
	key := client.ObjectKeyFromObject(a)
	newPrometheus(t, a.Namespace, "p", &metav1.LabelSelector{})
	deployment(t, key, "exists", func(*appsv1.Deployment) error { return nil })
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")
	waitFor(t, key, v1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue, "")

	t.Run("manager", func(t *testing.T) {
		w0 := settledWrites(t)
		r0 := reconciles(t)
		touchDeployment(t, key)
		eventually(t, "a reconcile after the Deployment event", func() error {
			if n := reconciles(t); n <= r0 {
				return fmt.Errorf("%v reconciles, had %v", n, r0)
			}
			return nil
		})
		if w := settledWrites(t); w != w0 {
			t.Errorf("re-reconciling an unchanged AppDeployment made %d write requests: %q", w-w0, managerWrites.Since(w0))
		}
	})

	t.Run("direct", func(t *testing.T) {
		cfg, counter := testenv.CountWrites(env.Config)
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			return rtFunc(func(r *http.Request) (*http.Response, error) {
				if r.Method != http.MethodGet {
					t.Logf("write: %s %s", r.Method, r.URL)
				}
				return rt.RoundTrip(r)
			})
		})
		c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		r := &Reconciler{Client: c, RESTMapper: c.RESTMapper(), Recorder: events.NewFakeRecorder(10)}
		for i := 0; i < 3; i++ {
			if _, err := r.Reconcile(ctx(t), ctrl.Request{NamespacedName: key}); err != nil {
				t.Fatal(err)
			}
		}
		if n := counter.Count(); n != 0 {
			t.Errorf("3 reconciles of an unchanged AppDeployment made %d write requests: %q", n, counter.Since(0))
		}
	})
}

// reconciles is how many reconciles the appdeployment controller has finished.
func reconciles(t *testing.T) float64 {
	t.Helper()
	return testenv.Reconciles(t, "appdeployment")
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// settledWrites waits until the manager has made no write for 700 ms and returns its write count.
func settledWrites(t *testing.T) int64 {
	t.Helper()
	return managerWrites.Settle(t, 700*time.Millisecond, time.Minute)
}
