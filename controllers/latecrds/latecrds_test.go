package latecrds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers"
	"github.com/edgeforge/edgeforge/controllers/appdeployment"
	"github.com/edgeforge/edgeforge/controllers/monitoringstack"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

const timeout = 30 * time.Second

// An AppDeployment with spec.metrics and a MonitoringStack, created while prometheus-operator's
// CRDs are absent: the app is Ready and says the ServiceMonitor cannot exist yet; the stack is
// Stalled, says what to install, deploys nothing and does not loop. Once the CRDs are installed,
// neither needs a touch: the ServiceMonitor appears and the stack deploys.
func TestPrometheusOperatorCRDsArriveLater(t *testing.T) {
	testenv.SetLoggerIf("EDGEFORGE_TEST_LOG")
	env, err := testenv.Start() // without prometheus-operator's CRDs
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	byObject, err := controllers.CacheOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts := settings.Defaults()
	opts.GrafanaImage, opts.NodeExporterImage, opts.KubeStateMetricsImage = "registry.test/grafana:1", "registry.test/node-exporter:1", "registry.test/ksm:1"
	stop, err := env.StartManager(func(mgr ctrl.Manager) error {
		if err := appdeployment.SetupWithManager(mgr, opts); err != nil {
			return err
		}
		return monitoringstack.SetupWithManager(mgr, opts)
	}, testenv.WithCache(cache.Options{ByObject: byObject}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	k8s := env.Client
	ctx := testenv.Context(t, 3*time.Minute)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "late-" + rand.String(6)}}
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "metered"},
		Spec: v1alpha1.AppDeploymentSpec{
			Image:   "nginx:1.27",
			Ports:   []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Metrics: &v1alpha1.AppMetrics{Port: "http", Path: "/metrics", Interval: "30s"},
		},
	}
	stack := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "main"}}
	for _, obj := range []client.Object{ns, app, stack} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	// Before: the app works without its ServiceMonitor; the stack stalls, saying what is missing.
	testenv.WaitForCondition(t, k8s, app, testenv.Condition{Type: v1alpha1.ConditionServiceMonitorReady,
		Status: metav1.ConditionFalse, Reason: v1alpha1.AppDeploymentReasonCRDNotInstalled}, timeout)
	testenv.RollOut(t, k8s, client.ObjectKeyFromObject(app), timeout)
	testenv.WaitForCondition(t, k8s, app, testenv.Ready, timeout)

	testenv.WaitForCondition(t, k8s, stack, testenv.Condition{Type: v1alpha1.ConditionStalled,
		Status: metav1.ConditionTrue, Reason: v1alpha1.MonitoringStackReasonPrometheusOperatorMissing}, timeout)
	ready := meta.FindStatusCondition(stack.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "prometheuses.monitoring.coreos.com") ||
		!strings.Contains(ready.Message, "Install prometheus-operator") {
		t.Fatalf("Ready should be False and say what to install: %+v", ready)
	}
	names := monitoring.NamesFor(stack)
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: names.Grafana()}, &appsv1.Deployment{}); err == nil {
		t.Fatal("Grafana was deployed while the stack is stalled")
	}
	// No error loop: while stalled, nothing reconciles the stack again by itself.
	before := testenv.Reconciles(t, "monitoringstack")
	time.Sleep(2 * time.Second)
	if n := testenv.Reconciles(t, "monitoringstack") - before; n > 1 {
		t.Fatalf("%v reconciles of a stalled stack while nothing changed", n)
	}

	if err := env.InstallPrometheusOperatorCRDs(); err != nil {
		t.Fatal(err)
	}

	// After: both notice by themselves.
	testenv.WaitForCondition(t, k8s, app, testenv.Condition{Type: v1alpha1.ConditionServiceMonitorReady,
		Status: metav1.ConditionTrue, Reason: v1alpha1.AppDeploymentReasonServiceMonitorApplied}, timeout)
	sm := &monitoringv1.ServiceMonitor{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(app), sm); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(sm, app) || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("ServiceMonitor %+v (owners %v)", sm.Spec.Endpoints, sm.OwnerReferences)
	}

	testenv.WaitForCondition(t, k8s, stack, testenv.Condition{Type: v1alpha1.ConditionReconciling,
		Status: metav1.ConditionTrue, Reason: v1alpha1.MonitoringStackReasonProgressing}, timeout)
	if c := meta.FindStatusCondition(stack.Status.Conditions, v1alpha1.ConditionStalled); c != nil {
		t.Fatalf("still Stalled: %+v", c)
	}
	for _, obj := range []client.Object{&monitoringv1.Prometheus{}, &appsv1.Deployment{}} {
		name := names.Prometheus()
		if _, ok := obj.(*appsv1.Deployment); ok {
			name = names.Grafana()
		}
		testenv.Eventually(t, timeout, fmt.Sprintf("%T %s", obj, name), func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: name}, obj)
		})
	}
}
