package edgecluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

const (
	operatorNamespace = "edgeforge-test"
	timeout           = 30 * time.Second
)

var (
	env    *testenv.Env
	k8s    client.Client // the test's own client: its writes are not counted
	writes *testenv.WriteCounter
	// clk is the controller's clock: tests move it to reach token rotation and grace periods,
	// then poke the pool (an annotation) so it is reconciled at the new time.
	clk = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
)

// TestMain starts a real API server and the EdgeCluster controller with a fake clock, in a
// manager whose requests are counted (to prove there are no writes at rest).
func TestMain(m *testing.M) {
	testenv.SetVerboseLogger()
	os.Exit(testenv.RunWithManager(m, func(e *testenv.Env, w *testenv.WriteCounter) error {
		env, k8s, writes = e, e.Client, w
		return k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})
	}, func(mgr ctrl.Manager) error {
		return setup(mgr, settings.Options{Namespace: operatorNamespace}, clk)
	}))
}

func ctxT(t *testing.T) context.Context { return testenv.Context(t, 2*timeout) }

// waitFor polls cond until it returns true, failing the test after the timeout.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, cond)
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(ctxT(t), obj); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, ns, name string, obj client.Object) error {
	return k8s.Get(ctxT(t), types.NamespacedName{Namespace: ns, Name: name}, obj)
}

// newPool creates an EdgeCluster and deletes it (waiting until it is gone) when the test ends.
func newPool(t *testing.T, name string, spec v1alpha1.EdgeClusterSpec) *v1alpha1.EdgeCluster {
	t.Helper()
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	create(t, ec)
	t.Cleanup(func() { deletePool(t, name) })
	return ec
}

func deletePool(t *testing.T, name string) {
	t.Helper()
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Delete(context.Background(), ec); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting EdgeCluster %s: %v", name, err)
		return
	}
	waitFor(t, "EdgeCluster "+name+" to be gone", func() (bool, error) {
		err := get(t, "", name, &v1alpha1.EdgeCluster{})
		return apierrors.IsNotFound(err), nil
	})
}

// waitForPool waits until the pool's status (for its current generation) satisfies cond.
func waitForPool(t *testing.T, name, what string, cond func(*v1alpha1.EdgeCluster) bool) *v1alpha1.EdgeCluster {
	t.Helper()
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	testenv.WaitForStatus(t, k8s, ec, timeout, what, func() error {
		if !cond(ec) {
			return fmt.Errorf("status: %+v", ec.Status)
		}
		return nil
	})
	return ec
}

func condition(ec *v1alpha1.EdgeCluster, typ string) *metav1.Condition {
	return meta.FindStatusCondition(ec.Status.Conditions, typ)
}

func condIs(ec *v1alpha1.EdgeCluster, typ string, status metav1.ConditionStatus) bool {
	return testenv.HasCondition(ec, typ, status)
}

// poke changes an annotation of the pool, which makes the controller reconcile it (at the
// fake clock's current time) without changing its spec.
func poke(t *testing.T, name string) {
	t.Helper()
	if err := testenv.Poke(ctxT(t), k8s, &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// edgeNode creates a Ready member node of pool (pool "" for no pool) and deletes it at the end.
func edgeNode(t *testing.T, name, pool string, mutate func(*corev1.Node)) *corev1.Node {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelArchStable: "arm64", corev1.LabelOSStable: "linux", corev1.LabelHostname: name,
	}}}
	if pool != "" {
		// As an admin admits a node: the claim and the membership label.
		n.Labels[v1alpha1.LabelEdgeCluster] = pool
		n.Labels[v1alpha1.LabelEdgeClusterMember] = pool
	}
	if mutate != nil {
		mutate(n)
	}
	status := n.Status
	create(t, n)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}) })
	if status.Conditions == nil {
		status = readyStatus(name, "10.0.0.5", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
	}
	// A patch, not an update: the controller may already have labelled the new node.
	orig := n.DeepCopy()
	n.Status = status
	if err := k8s.Status().Patch(ctxT(t), n, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	return n
}

func readyStatus(name, ip string, ready corev1.ConditionStatus, since time.Time) corev1.NodeStatus {
	return corev1.NodeStatus{
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}},
		NodeInfo:  corev1.NodeSystemInfo{Architecture: "arm64", OperatingSystem: "linux", KubeletVersion: "v1.37.2"},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "Test",
			LastTransitionTime: metav1.NewTime(since), LastHeartbeatTime: metav1.NewTime(clk.Now())}},
	}
}

// setReady changes a node's Ready condition (as a kubelet or the node lifecycle controller does).
func setReady(t *testing.T, name string, ready corev1.ConditionStatus, since time.Time) {
	t.Helper()
	n := &corev1.Node{}
	if err := get(t, "", name, n); err != nil {
		t.Fatal(err)
	}
	ip := "10.0.0.5"
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	n.Status = readyStatus(name, ip, ready, since)
	if err := k8s.Status().Update(ctxT(t), n); err != nil {
		t.Fatal(err)
	}
}

// heartbeat renews a node's Ready heartbeat (as a kubelet does every few seconds) and nothing
// else; it fails unless the API server recorded a change.
func heartbeat(t *testing.T, name string) {
	t.Helper()
	n := &corev1.Node{}
	if err := get(t, "", name, n); err != nil {
		t.Fatal(err)
	}
	rv := n.ResourceVersion
	for i := range n.Status.Conditions {
		if c := &n.Status.Conditions[i]; c.Type == corev1.NodeReady {
			c.LastHeartbeatTime = metav1.NewTime(c.LastHeartbeatTime.Add(10 * time.Second))
		}
	}
	if err := k8s.Status().Update(ctxT(t), n); err != nil {
		t.Fatal(err)
	}
	if n.ResourceVersion == rv {
		t.Fatalf("the heartbeat of %s changed nothing", name)
	}
}

// poolEvents returns the notes of the events with reason about the pool.
func poolEvents(t *testing.T, pool, reason string) []string {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := k8s.List(ctxT(t), list); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Reason == reason && e.Regarding.Name == pool && e.Regarding.Kind == "EdgeCluster" {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func waitForEvent(t *testing.T, pool, reason string) []string {
	t.Helper()
	var notes []string
	waitFor(t, "event "+reason, func() (bool, error) {
		notes = poolEvents(t, pool, reason)
		return len(notes) > 0, nil
	})
	return notes
}

// reconciles is how many times the controller has finished a reconcile.
func reconciles(t *testing.T) float64 {
	t.Helper()
	return testenv.Reconciles(t, "edgecluster")
}

// quiet waits until the controller has not reconciled for two NodeEventWindows: coalesced node
// events of earlier steps (of this test or another) have been handled.
func quiet(t *testing.T) {
	t.Helper()
	waitFor(t, "the controller to be quiet", func() (bool, error) {
		n := reconciles(t)
		time.Sleep(2 * NodeEventWindow)
		return reconciles(t) == n, nil
	})
}

// assertNoWritesAtRest pokes the pool and checks the reconcile that follows writes nothing.
func assertNoWritesAtRest(t *testing.T, name string) {
	t.Helper()
	// 100ms: let a requeued follow-up (if any) finish too.
	testenv.AssertNoWritesAtRest(t, writes, "edgecluster", "EdgeCluster", 100*time.Millisecond, func() { poke(t, name) })
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// updatePool changes the pool's spec, retrying when the controller wrote it in between.
func updatePool(t *testing.T, name string, mutate func(*v1alpha1.EdgeCluster)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ec := &v1alpha1.EdgeCluster{}
		if err := get(t, "", name, ec); err != nil {
			return err
		}
		mutate(ec)
		return k8s.Update(ctxT(t), ec)
	})
	if err != nil {
		t.Fatal(err)
	}
}
