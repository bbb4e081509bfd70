package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// PollInterval is how often Poll, WaitFor and Eventually try their condition again.
const PollInterval = 50 * time.Millisecond

// RunWithManager is the body of a controller suite's TestMain: it starts an Env, calls prepare
// (to keep the Env and the counter of the manager's write requests in the package's variables,
// create what the controller needs before it starts...), starts a manager on a config whose
// writes are counted with setup (the controllers under test) and opts, runs the tests, then
// stops the manager and the Env. It returns the exit code for os.Exit: m.Run's, or 1 when
// something could not start (said on stderr).
func RunWithManager(m *testing.M, prepare func(*Env, *WriteCounter) error, setup func(ctrl.Manager) error, opts ...ManagerOption) int {
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	cfg, writes := CountWrites(env.Config)
	if prepare != nil {
		if err := prepare(env, writes); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	stop, err := env.StartManager(setup, append([]ManagerOption{WithConfig(cfg)}, opts...)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// SetVerboseLogger sets controller-runtime's logger to a development zap logger on stderr that
// shows errors only, or everything when TEST_VERBOSE is set.
func SetVerboseLogger() {
	level := zapcore.ErrorLevel
	if os.Getenv("TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr), zap.Level(level)))
}

// SetLoggerIf sets controller-runtime's logger to a development zap logger on stderr when the
// environment variable is set, and discards the logs otherwise.
func SetLoggerIf(envVar string) {
	if os.Getenv(envVar) != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		ctrl.SetLogger(logr.Discard())
	}
}

// Context returns a context that times out after d and is cancelled when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Poll calls cond every PollInterval until it returns true or timeout has passed since the
// first call (cond runs at least once), and reports whether it returned true.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
}

// WaitFor polls cond until it returns true with no error, failing the test after timeout with
// the last error.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	if !Poll(timeout, func() bool {
		ok, err := cond()
		if ok && err == nil {
			return true
		}
		last = err
		return false
	}) {
		t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
	}
}

// Eventually retries f until it returns nil, failing the test after timeout with its last error.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	var last error
	if !Poll(timeout, func() bool { last = f(); return last == nil }) {
		t.Fatalf("%s: still failing after %s: %v", what, timeout, last)
	}
}

// series returns the series of a metric of controller-runtime's metrics registry whose labels
// include the given ones.
func series(t testing.TB, name string, labels map[string]string) []*dto.Metric {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			matched := 0
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
					matched++
				}
			}
			if matched == len(labels) {
				found = append(found, m)
			}
		}
	}
	return found
}

// CounterValue sums a counter of controller-runtime's metrics registry over the series whose
// labels include the given ones.
func CounterValue(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range series(t, name, labels) {
		total += m.GetCounter().GetValue()
	}
	return total
}

// GaugeValue is the value of the first series of a gauge of controller-runtime's metrics
// registry whose labels include the given ones; false when there is none.
func GaugeValue(t testing.TB, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	found := series(t, name, labels)
	if len(found) == 0 {
		return 0, false
	}
	return found[0].GetGauge().GetValue(), true
}

// Reconciles is how many reconciles the named controller has finished in this process.
func Reconciles(t testing.TB, controller string) float64 {
	t.Helper()
	return CounterValue(t, "controller_runtime_reconcile_total", map[string]string{"controller": controller})
}

// Poke changes a test annotation of obj (found by its name and namespace) with a merge patch:
// the controller reconciles it again though nothing it acts on changed. obj is filled with the
// object as patched.
func Poke(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["test.edgeforge.io/poke"] = fmt.Sprint(time.Now().UnixNano())
	obj.SetAnnotations(annotations)
	return c.Patch(ctx, obj, patch)
}

// AssertNoWritesAtRest pokes an object (poke, e.g. with Poke), waits until the controller has
// reconciled again (and then for settle, so a requeued follow-up can finish too), and fails the
// test unless that made no write. In-flight work (events, status patches) may still write at
// first, so it tries up to four times before failing.
func AssertNoWritesAtRest(t testing.TB, writes *WriteCounter, controller, kind string, settle time.Duration, poke func()) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		before, n := writes.Count(), Reconciles(t, controller)
		poke()
		WaitFor(t, 30*time.Second, "a reconcile after the poke", func() (bool, error) { return Reconciles(t, controller) > n, nil })
		if settle > 0 {
			time.Sleep(settle)
		}
		if got := writes.Count() - before; got == 0 {
			return
		} else if attempt == 3 {
			t.Fatalf("re-reconciling an unchanged %s made %d write(s)", kind, got)
		}
	}
}

// Conditioned is an edgeforge object: its status has conditions and an observedGeneration.
type Conditioned interface {
	client.Object
	StatusConditions() *[]metav1.Condition
	GetObservedGeneration() int64
}

// Condition is a condition a test waits for: its type, status and, unless empty, reason.
type Condition struct {
	Type   string
	Status metav1.ConditionStatus
	Reason string
}

// Ready is Ready=True.
var Ready = Condition{Type: "Ready", Status: metav1.ConditionTrue}

func (c Condition) String() string {
	if c.Reason == "" {
		return fmt.Sprintf("%s=%s", c.Type, c.Status)
	}
	return fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Reason)
}

// Current reports, as an error saying what it found, whether obj's status describes its
// current generation: status.observedGeneration is metadata.generation. This is what
// `kubectl wait`, Flux and Argo CD read as "the controller has seen this spec".
func Current(obj Conditioned) error {
	if g := obj.GetObservedGeneration(); g != obj.GetGeneration() {
		return fmt.Errorf("status describes generation %d, the object is at %d", g, obj.GetGeneration())
	}
	return nil
}

// CheckCondition reports, as an error saying what it found, whether obj has the condition for
// its current generation (Current, and the condition's own observedGeneration).
func CheckCondition(obj Conditioned, want Condition) error {
	c := meta.FindStatusCondition(*obj.StatusConditions(), want.Type)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition; conditions: %+v", want.Type, *obj.StatusConditions())
	case c.Status != want.Status || (want.Reason != "" && c.Reason != want.Reason):
		return fmt.Errorf("%s=%s (%s): %s", c.Type, c.Status, c.Reason, c.Message)
	case c.ObservedGeneration != obj.GetGeneration():
		return fmt.Errorf("%s is for generation %d, the object is at %d", c.Type, c.ObservedGeneration, obj.GetGeneration())
	}
	return Current(obj)
}

// HasCondition reports whether obj has a condition of that type and status (any generation).
func HasCondition(obj Conditioned, condType string, status metav1.ConditionStatus) bool {
	c := meta.FindStatusCondition(*obj.StatusConditions(), condType)
	return c != nil && c.Status == status
}

// WaitForCondition reads obj (by its name and namespace) until CheckCondition passes, failing
// the test after timeout with what it last found. obj holds the object as last read.
func WaitForCondition(t testing.TB, c client.Reader, obj Conditioned, want Condition, timeout time.Duration) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	Eventually(t, timeout, fmt.Sprintf("%s on %T %s", want, obj, key), func() error {
		if err := c.Get(context.Background(), key, obj); err != nil {
			return err
		}
		return CheckCondition(obj, want)
	})
}

// WaitForStatus reads obj (by its name and namespace) until its status describes its current
// generation (Current) and ok, which looks at obj, returns nil. It fails the test after timeout
// with what it last found; obj holds the object as last read.
func WaitForStatus(t testing.TB, c client.Reader, obj Conditioned, timeout time.Duration, what string, ok func() error) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	Eventually(t, timeout, fmt.Sprintf("%s (%T %s)", what, obj, key), func() error {
		if err := c.Get(context.Background(), key, obj); err != nil {
			return err
		}
		if err := Current(obj); err != nil {
			return err
		}
		return ok()
	})
}

// Expect is nil when ok holds, and otherwise an error saying what was seen (format and args):
// a verdict for Eventually.
func Expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// RollOut plays kube-controller-manager for a Deployment (found by key): its current generation
// observed, every replica updated, ready and available, Available and Progressing True.
func RollOut(t testing.TB, c client.Client, key client.ObjectKey, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, "rolling out Deployment "+key.String(), func() error {
		d := &appsv1.Deployment{}
		if err := c.Get(context.Background(), key, d); err != nil {
			return err
		}
		n := int32(1)
		if d.Spec.Replicas != nil {
			n = *d.Spec.Replicas
		}
		now := metav1.Now()
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
			},
		}
		return c.Status().Update(context.Background(), d)
	})
}
