package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// Two operators split the work with --watch-label-selector (as Flux's sharding does): with only
// shard a's operator running, its AppDeployment and EdgeCluster are reconciled and shard b's
// are not touched, not even when a node event of b's pool reaches shard a's EdgeCluster
// controller; once shard b's operator starts, b's objects are reconciled too. Each shard has its
// own leader election lease.
func TestShards(t *testing.T) {
	testenv.SetLoggerIf("EDGEFORGE_TEST_LOG")
	env, err := testenv.Start(testenv.WithPrometheusOperatorCRDs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	k8s := env.Client
	ctx := testenv.Context(t, 3*time.Minute)
	const opNS, ns = "edgeforge-shards", "team"
	for _, n := range []string{opNS, ns} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	start := func(shard string) func() {
		t.Helper()
		sel, err := labels.Parse("edgeforge.io/shard=" + shard)
		if err != nil {
			t.Fatal(err)
		}
		by, err := CacheOptions()
		if err != nil {
			t.Fatal(err)
		}
		Shard(by, sel)
		opts := settings.Defaults()
		opts.Namespace, opts.Shard = opNS, sel
		stop, err := env.StartManager(func(mgr ctrl.Manager) error { return SetupWithManager(mgr, opts) },
			testenv.WithCache(cache.Options{ByObject: by}))
		if err != nil {
			t.Fatal(err)
		}
		return stop
	}
	shardOf := func(s string) map[string]string { return map[string]string{"edgeforge.io/shard": s} }
	app := func(name, shard string) *v1alpha1.AppDeployment {
		return &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: shardOf(shard)},
			Spec: v1alpha1.AppDeploymentSpec{Image: "registry.test/app:1", Replicas: ptr.To[int32](0)}}
	}
	pool := func(name, shard string) *v1alpha1.EdgeCluster {
		return &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: shardOf(shard)}}
	}
	// Shard b's objects first: they have had every chance to be (wrongly) reconciled by a.
	for _, o := range []client.Object{app("web-b", "b"), pool("pool-b", "b"), app("web-a", "a"), pool("pool-a", "a")} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, name := range []string{"pool-a", "pool-b"} {
			_ = k8s.Delete(context.Background(), &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
	stopA := start("a")
	defer stopA()

	reconciled := func(name string) bool {
		return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{}) == nil
	}
	pooled := func(name string) bool {
		ec := &v1alpha1.EdgeCluster{}
		return k8s.Get(ctx, client.ObjectKey{Name: name}, ec) == nil && slices.Contains(ec.Finalizers, v1alpha1.EdgeClusterFinalizer)
	}
	testenv.WaitFor(t, 30*time.Second, "shard a's objects reconciled", func() (bool, error) {
		return reconciled("web-a") && pooled("pool-a"), nil
	})
	// A node claiming pool b: the node watch of shard a's EdgeCluster controller enqueues pool-b.
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-b-1", Labels: map[string]string{v1alpha1.LabelEdgeCluster: "pool-b"}}}
	if err := k8s.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Poke(ctx, k8s, app("web-b", "b")); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // what shard a would do to b's objects, it has done by now
	webB := &v1alpha1.AppDeployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-b"}, webB); err != nil {
		t.Fatal(err)
	}
	if reconciled("web-b") || pooled("pool-b") || len(webB.Status.Conditions) > 0 {
		t.Fatalf("shard a's operator touched shard b's objects (Deployment %v, pool finalizer %v, app status %+v)",
			reconciled("web-b"), pooled("pool-b"), webB.Status)
	}

	stopB := start("b")
	defer stopB()
	testenv.WaitFor(t, 30*time.Second, "shard b's objects reconciled by its own operator", func() (bool, error) {
		return reconciled("web-b") && pooled("pool-b"), nil
	})
}

// Each shard elects its own leader.
func TestLeaderElectionID(t *testing.T) {
	a, b := labels.SelectorFromSet(labels.Set{"edgeforge.io/shard": "a"}), labels.SelectorFromSet(labels.Set{"edgeforge.io/shard": "b"})
	ids := []string{LeaderElectionID(nil), LeaderElectionID(labels.Everything()), LeaderElectionID(a), LeaderElectionID(b)}
	if ids[0] != "edgeforge.edgeforge.io" || ids[1] != ids[0] || ids[2] == ids[0] || ids[2] == ids[3] || ids[2] != LeaderElectionID(a) {
		t.Fatalf("leader election IDs %v: want the default for no shard, one per shard", ids)
	}
}
