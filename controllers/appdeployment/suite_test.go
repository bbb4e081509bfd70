package appdeployment

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

var (
	env *testenv.Env
	// k8s is the tests' own client (its writes are not counted).
	k8s client.Client
	// managerWrites counts every write request of the manager running the controller.
	managerWrites *testenv.WriteCounter
)

// TestMain starts kube-apiserver and etcd with edgeforge's and prometheus-operator's CRDs (a start
// without the latter is tested in controllers/latecrds), and the AppDeployment controller
// in a manager configured like main.go: with CacheOptions. There is no kube-controller-manager:
// tests write Deployment status themselves.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// EDGEFORGE_TEST_LOG=1 shows the controller's logs.
	testenv.SetLoggerIf("EDGEFORGE_TEST_LOG")
	// The scheme of main.go: no apiextensions types.
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, monitoringv1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return testenv.RunWithManager(m, func(e *testenv.Env, w *testenv.WriteCounter) error {
		env, k8s, managerWrites = e, e.Client, w
		return e.InstallPrometheusOperatorCRDs()
	}, func(mgr ctrl.Manager) error {
		return SetupWithManager(mgr, settings.Defaults())
	}, testenv.WithScheme(scheme), testenv.WithCache(cache.Options{ByObject: CacheOptions()}))
}

const timeout = 20 * time.Second

// eventually retries f until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	testenv.Eventually(t, timeout, what, f)
}

func ctx(t *testing.T) context.Context { return testenv.Context(t, time.Minute) }

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-" + strings.ToLower(rand.String(8))}}
	if err := k8s.Create(ctx(t), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// newApp creates an AppDeployment running nginx with one port, after mutate.
func newApp(t *testing.T, ns, name string, mutate func(*v1alpha1.AppDeployment)) *v1alpha1.AppDeployment {
	t.Helper()
	a := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.AppDeploymentSpec{
			Image: "nginx:1.27",
			Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
		},
	}
	if mutate != nil {
		mutate(a)
	}
	if err := k8s.Create(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// updateApp changes an AppDeployment's spec (retrying on conflicts).
func updateApp(t *testing.T, key client.ObjectKey, mutate func(*v1alpha1.AppDeployment)) {
	t.Helper()
	eventually(t, "updating AppDeployment "+key.String(), func() error {
		a := &v1alpha1.AppDeployment{}
		if err := k8s.Get(ctx(t), key, a); err != nil {
			return err
		}
		mutate(a)
		return k8s.Update(ctx(t), a)
	})
}

func getApp(t *testing.T, key client.ObjectKey) *v1alpha1.AppDeployment {
	t.Helper()
	a := &v1alpha1.AppDeployment{}
	if err := k8s.Get(ctx(t), key, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// waitFor waits until the AppDeployment's condition has the status and reason (any reason when
// empty), for its current generation, and returns the AppDeployment.
func waitFor(t *testing.T, key client.ObjectKey, condType string, status metav1.ConditionStatus, reason string) *v1alpha1.AppDeployment {
	t.Helper()
	a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	testenv.WaitForCondition(t, k8s, a, testenv.Condition{Type: condType, Status: status, Reason: reason}, timeout)
	return a
}

// deployment waits for the app's Deployment to satisfy ok and returns it.
func deployment(t *testing.T, key client.ObjectKey, what string, ok func(*appsv1.Deployment) error) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	eventually(t, "Deployment "+key.String()+": "+what, func() error {
		d = &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), key, d); err != nil {
			return err
		}
		return ok(d)
	})
	return d
}

func runsImage(image string) func(*appsv1.Deployment) error {
	return func(d *appsv1.Deployment) error {
		if got := app.RunningImage(d); got != image {
			return fmt.Errorf("runs %q, want %q", got, image)
		}
		return nil
	}
}

// rollOut does what kube-controller-manager would: the Deployment's current template is fully
// rolled out (all replicas updated and available, Progressing=True NewReplicaSetAvailable).
func rollOut(t *testing.T, key client.ObjectKey) {
	t.Helper()
	testenv.RollOut(t, k8s, key, timeout)
}

// missDeadline does what kube-controller-manager does when a rollout is stuck: one new pod that
// never becomes available, the old ones still serving, Progressing=False ProgressDeadlineExceeded.
func missDeadline(t *testing.T, key client.ObjectKey) {
	t.Helper()
	setDeploymentStatus(t, key, func(d *appsv1.Deployment) {
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation,
			Replicas:           n + 1, UpdatedReplicas: 1, ReadyReplicas: n, AvailableReplicas: n, UnavailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
					Message: fmt.Sprintf("ReplicaSet %q has timed out progressing.", d.Name+"-7c5d8f"), LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			},
		}
	})
}

func setDeploymentStatus(t *testing.T, key client.ObjectKey, mutate func(*appsv1.Deployment)) {
	t.Helper()
	eventually(t, "setting the status of Deployment "+key.String(), func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), key, d); err != nil {
			return err
		}
		mutate(d)
		return k8s.Status().Update(ctx(t), d)
	})
}

// hasEvent waits for an event with the reason about the AppDeployment, whose note contains substr.
func hasEvent(t *testing.T, key client.ObjectKey, reason, substr string) {
	t.Helper()
	eventually(t, "event "+reason+" for "+key.String(), func() error {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctx(t), list, client.InNamespace(key.Namespace)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name == key.Name && e.Regarding.Kind == "AppDeployment" {
				if e.Reason == reason && strings.Contains(e.Note, substr) {
					return nil
				}
				seen = append(seen, e.Reason+": "+e.Note)
			}
		}
		return fmt.Errorf("not found; events: %q", seen)
	})
}

// controlledBy checks that obj has the AppDeployment as controller and edgeforge's labels.
func controlledBy(obj client.Object, a *v1alpha1.AppDeployment) error {
	if !metav1.IsControlledBy(obj, a) {
		return fmt.Errorf("%s is not controlled by AppDeployment %s (owners %+v)", obj.GetName(), a.Name, obj.GetOwnerReferences())
	}
	for k, v := range app.Labels(a) {
		if obj.GetLabels()[k] != v {
			return fmt.Errorf("%s: label %s=%q, want %q", obj.GetName(), k, obj.GetLabels()[k], v)
		}
	}
	return nil
}
