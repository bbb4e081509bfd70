package monitoringstack

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

const timeout = 30 * time.Second

var (
	env    *testenv.Env
	k8s    client.Client // the test's own client: its writes are not counted
	writes *testenv.WriteCounter
	nsSeq  atomic.Int64
)

var testOptions = settings.Options{
	GrafanaImage:          "registry.test/grafana:1",
	NodeExporterImage:     "registry.test/node-exporter:1",
	KubeStateMetricsImage: "registry.test/kube-state-metrics:1",
	// newNamespace's namespaces may hold Cluster-scoped stacks; others (scope_test.go) may not.
	ClusterMonitoringNamespaces: func() []string {
		var ns []string
		for i := 1; i <= 200; i++ {
			ns = append(ns, fmt.Sprintf("mon-%d", i))
		}
		return ns
	}(),
}

// TestMain starts a real API server with prometheus-operator's CRDs (a start without them is
// tested in controllers/latecrds) and the MonitoringStack controller in a manager whose write
// requests are counted.
func TestMain(m *testing.M) {
	testenv.SetLoggerIf("EDGEFORGE_TEST_LOG")
	os.Exit(testenv.RunWithManager(m, func(e *testenv.Env, w *testenv.WriteCounter) error {
		env, k8s, writes = e, e.Client, w
		return e.InstallPrometheusOperatorCRDs()
	}, func(mgr ctrl.Manager) error { return SetupWithManager(mgr, testOptions) }))
}

func ctx(t *testing.T) context.Context { return testenv.Context(t, 2*timeout) }

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("mon-%d", nsSeq.Add(1))
	if err := k8s.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

func newStack(t *testing.T, ns, name string, mutate func(*v1alpha1.MonitoringStackSpec)) *v1alpha1.MonitoringStack {
	t.Helper()
	// The whole stack (exporters included) unless mutate says otherwise.
	s := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.MonitoringStackSpec{Scope: v1alpha1.MonitoringScopeCluster}}
	if mutate != nil {
		mutate(&s.Spec)
	}
	if err := k8s.Create(ctx(t), s); err != nil {
		t.Fatal(err)
	}
	// Stacks share node-exporter cluster-wide: none may outlive its test.
	t.Cleanup(func() { deleteStack(t, ns, name) })
	return s
}

// eventually retries f until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	testenv.Eventually(t, timeout, what, f)
}

func getStack(t *testing.T, ns, name string) *v1alpha1.MonitoringStack {
	t.Helper()
	s := &v1alpha1.MonitoringStack{}
	if err := k8s.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitCondition waits for condition condType of the stack to have status and reason.
func waitCondition(t *testing.T, ns, name, condType string, status metav1.ConditionStatus, reason string) *v1alpha1.MonitoringStack {
	t.Helper()
	s := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	testenv.WaitForCondition(t, k8s, s, testenv.Condition{Type: condType, Status: status, Reason: reason}, timeout)
	return s
}

// exists reports whether the object exists (and is not being deleted).
func exists(t *testing.T, obj client.Object, ns, name string) bool {
	t.Helper()
	err := k8s.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, obj)
	if err != nil {
		if client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
		return false
	}
	return obj.GetDeletionTimestamp() == nil
}

func waitExists(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s to exist", obj, ns, name), func() error {
		return testenv.Expect(exists(t, obj, ns, name), "absent")
	})
}

func waitGone(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s to be deleted", obj, ns, name), func() error {
		return testenv.Expect(!exists(t, obj, ns, name), "still there")
	})
}

// markPrometheusAvailable plays prometheus-operator: Available=True for the current generation.
func markPrometheusAvailable(t *testing.T, ns, stack string) {
	t.Helper()
	name := monitoring.NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: stack}}).Prometheus()
	eventually(t, "marking Prometheus available", func() error {
		p := &monitoringv1.Prometheus{}
		if err := k8s.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		p.Status.Replicas, p.Status.AvailableReplicas, p.Status.UpdatedReplicas = 1, 1, 1
		p.Status.Conditions = []monitoringv1.Condition{{
			Type: monitoringv1.Available, Status: monitoringv1.ConditionTrue, Reason: "AllPodsReady",
			ObservedGeneration: p.Generation, LastTransitionTime: metav1.Now(),
		}}
		if err := k8s.Status().Update(ctx(t), p); err != nil {
			return err
		}
		return nil
	})
}

// markStackParts plays prometheus-operator and kube-controller-manager for every enabled part of
// a stack: Prometheus available, Grafana and kube-state-metrics rolled out, node-exporter on
// two nodes.
func markStackParts(t *testing.T, ns, stack string) {
	t.Helper()
	n := monitoring.NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: stack}})
	markPrometheusAvailable(t, ns, stack)
	for _, d := range []string{n.Grafana(), n.KubeStateMetrics()} {
		if exists(t, &appsv1.Deployment{}, ns, d) {
			markDeploymentReady(t, ns, d)
		}
	}
	if exists(t, &appsv1.DaemonSet{}, ns, n.NodeExporter()) {
		markDaemonSetReady(t, ns, n.NodeExporter(), 2)
	}
}

// markDaemonSetReady plays kube-controller-manager: the DaemonSet runs on nodes nodes.
func markDaemonSetReady(t *testing.T, ns, name string, nodes int32) {
	t.Helper()
	eventually(t, "marking DaemonSet "+name+" ready", func() error {
		ds := &appsv1.DaemonSet{}
		if err := k8s.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, ds); err != nil {
			return err
		}
		ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: nodes,
			CurrentNumberScheduled: nodes, UpdatedNumberScheduled: nodes, NumberReady: nodes, NumberAvailable: nodes}
		return k8s.Status().Update(ctx(t), ds)
	})
}

// markDeploymentReady plays kube-controller-manager: every replica updated and available.
func markDeploymentReady(t *testing.T, ns, name string) {
	t.Helper()
	testenv.RollOut(t, k8s, types.NamespacedName{Namespace: ns, Name: name}, timeout)
}

// reconciles is the number of MonitoringStack reconciles that have finished.
func reconciles(t *testing.T) float64 {
	t.Helper()
	return testenv.Reconciles(t, "monitoringstack")
}

// deleteStack deletes a stack and waits until its finalizer has run.
func deleteStack(t *testing.T, ns, name string) {
	t.Helper()
	s := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := k8s.Delete(ctx(t), s); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	eventually(t, "the finalizer to let "+ns+"/"+name+" go", func() error {
		err := k8s.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, &v1alpha1.MonitoringStack{})
		return testenv.Expect(apierrors.IsNotFound(err), "still there: %v", err)
	})
}

// stayQuiet watches for d that the controller neither reconciles (beyond one pass already under
// way) nor writes: proof of the absence of a loop needs a window of time.
func stayQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	r0, w0 := reconciles(t), writes.Count()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if r := reconciles(t); r > r0+1 {
			t.Fatalf("%v reconciles while nothing changed", r-r0)
		}
	}
	if w := writes.Count(); w != w0 {
		t.Fatalf("%d writes while nothing changed: %q", w-w0, writes.Since(w0))
	}
}

// updateStack changes the stack's spec, retrying on conflicts with the controller's writes.
func updateStack(t *testing.T, ns, name string, mutate func(*v1alpha1.MonitoringStack)) {
	t.Helper()
	eventually(t, "updating "+ns+"/"+name, func() error {
		s := getStack(t, ns, name)
		mutate(s)
		if err := k8s.Update(ctx(t), s); err != nil {
			return err
		}
		return nil
	})
}

// readyGauge is edgeforge_monitoringstack_ready for a stack; nil when not exported.
func readyGauge(t *testing.T, ns, name string) *float64 {
	t.Helper()
	v, ok := testenv.GaugeValue(t, "edgeforge_monitoringstack_ready", map[string]string{"namespace": ns, "name": name})
	if !ok {
		return nil
	}
	return &v
}
