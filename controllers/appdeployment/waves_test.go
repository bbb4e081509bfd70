package appdeployment

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// newPool creates an EdgeCluster with labels, removed after the test.
func newPool(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(ctx(t), ec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), ec) })
}

func noDeployment(t *testing.T, key client.ObjectKey) {
	t.Helper()
	if err := k8s.Get(ctx(t), key, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Deployment %s: want none, got err=%v", key, err)
	}
}

// poolState waits until status.pools lists pool in state.
func poolState(t *testing.T, key client.ObjectKey, pool, state string) {
	t.Helper()
	eventually(t, "status.pools["+pool+"].state "+state, func() error {
		a := getApp(t, key)
		for _, p := range a.Status.Pools {
			if p.Name == pool {
				if p.State != state {
					return fmt.Errorf("state %s", p.State)
				}
				return nil
			}
		}
		return fmt.Errorf("not in status.pools %+v", a.Status.Pools)
	})
}

// A rollout over three waves (a canary pool, then two selected pools one at a time): each wave
// gets the image only after the one before has rolled out and stayed healthy for the pause;
// per-pool overrides apply; a wave that misses its deadline is rolled back and the third wave
// is never touched; WAVE and status.pools say where it stands.
func TestRolloutInWaves(t *testing.T) {
	ns := namespace(t)
	id := strings.ToLower(rand.String(5))
	canary, busan, daegu := id+"-canary", id+"-busan", id+"-daegu"
	region := map[string]string{"region": "kr-south-" + id}
	newPool(t, canary, nil)
	newPool(t, busan, region)
	newPool(t, daegu, region)
	v1, v2 := digestImage('1'), digestImage('2')

	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = v1
		a.Spec.Replicas = ptr.To[int32](1)
		a.Spec.Placement = &v1alpha1.Placement{Rollout: &v1alpha1.WaveRollout{
			Pools: []v1alpha1.PoolWave{
				{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: canary}},
				{EdgeClusterSelector: &metav1.LabelSelector{MatchLabels: region}, MaxConcurrentPools: ptr.To[int32](1), Replicas: ptr.To[int32](3)},
			},
			PauseBetweenWaves: &metav1.Duration{Duration: 2e9},
		}}
	})
	key := client.ObjectKeyFromObject(a)
	dep := func(pool string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: "web-" + pool} }

	// The first image: wave 1 only, until it rolled out and the pause passed.
	deployment(t, dep(canary), "wave 1 runs v1", runsImage(v1))
	noDeployment(t, dep(busan))
	got := waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
	if got.Status.Wave != "1/3" {
		t.Errorf("wave %q, want 1/3", got.Status.Wave)
	}
	rollOut(t, dep(canary))
	b := deployment(t, dep(busan), "wave 2 runs v1 after the pause", runsImage(v1))
	if *b.Spec.Replicas != 3 || b.Spec.Selector.MatchLabels[v1alpha1.LabelPool] != busan ||
		b.Spec.Template.Spec.NodeSelector[v1alpha1.LabelEdgeClusterMember] != busan {
		t.Errorf("busan's Deployment: replicas %d, selector %v, node selector %v", *b.Spec.Replicas, b.Spec.Selector.MatchLabels, b.Spec.Template.Spec.NodeSelector)
	}
	noDeployment(t, dep(daegu))
	rollOut(t, dep(busan))
	deployment(t, dep(daegu), "wave 3 runs v1", runsImage(v1))
	rollOut(t, dep(daegu))
	got = waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)
	if got.Status.Wave != "3/3" || got.Status.LastGoodImage != v1 || len(got.Status.Pools) != 3 || got.Status.Ready != "7/7" {
		t.Errorf("rolled out: wave %q lastGood %q pools %+v ready %q", got.Status.Wave, got.Status.LastGoodImage, got.Status.Pools, got.Status.Ready)
	}
	daeguBefore := deployment(t, dep(daegu), "runs v1", runsImage(v1))

	// A new image: canary, then busan, which misses its deadline and rolls back; daegu untouched.
	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = v2 })
	deployment(t, dep(canary), "wave 1 runs v2", runsImage(v2))
	deployment(t, dep(busan), "wave 2 still runs v1", runsImage(v1))
	poolState(t, key, busan, v1alpha1.PoolStateWaiting)
	rollOut(t, dep(canary))
	deployment(t, dep(busan), "wave 2 runs v2", runsImage(v2))
	missDeadline(t, dep(busan))
	deployment(t, dep(busan), "wave 2 rolled back to v1", runsImage(v1))
	got = waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledBack)
	if msg := findReady(got).Message; !strings.Contains(msg, "failed in wave 2/3 ("+busan+"): pool "+busan+" missed its progress deadline") {
		t.Errorf("Ready message %q", msg)
	}
	if got.Status.FailedImage != v2 || got.Status.LastGoodImage != v1 || got.Status.Wave != "2/3" {
		t.Errorf("failedImage %q lastGood %q wave %q", got.Status.FailedImage, got.Status.LastGoodImage, got.Status.Wave)
	}
	hasEvent(t, key, v1alpha1.AppDeploymentReasonRolledBack, "failed in wave 2/3")
	poolState(t, key, busan, v1alpha1.PoolStateFailed) // rolled back with its wave
	poolState(t, key, daegu, v1alpha1.PoolStateWaiting)
	rollOut(t, dep(busan)) // v1 is healthy again: the rollout stays stopped
	touchDeployment(t, dep(canary))
	waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledBack)
	deployment(t, dep(canary), "wave 1 keeps v2", runsImage(v2))
	daeguAfter := deployment(t, dep(daegu), "wave 3 untouched", runsImage(v1))
	if daeguAfter.Generation != daeguBefore.Generation {
		t.Errorf("wave 3's Deployment changed (generation %d -> %d) while wave 2 was unhealthy", daeguBefore.Generation, daeguAfter.Generation)
	}
}

// Switching an app from one pool to a rollout over pools deletes its single Deployment, and a
// pool that leaves the rollout loses its Deployment; a rollout that selects no pool stalls.
func TestRolloutPoolsComeAndGo(t *testing.T) {
	ns := namespace(t)
	id := strings.ToLower(rand.String(5))
	one, two := id+"-one", id+"-two"
	newPool(t, one, nil)
	newPool(t, two, nil)
	a := newApp(t, ns, "shop", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = digestImage('3')
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: one}}
	})
	key := client.ObjectKeyFromObject(a)
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")

	updateApp(t, key, func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{Rollout: &v1alpha1.WaveRollout{Pools: []v1alpha1.PoolWave{
			{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: one}},
			{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: two}},
		}, PauseBetweenWaves: &metav1.Duration{}}}
	})
	// lastGoodImage exists: every pool gets it at once (nothing is new).
	deployment(t, client.ObjectKey{Namespace: ns, Name: "shop-" + one}, "pool one", runsImage(digestImage('3')))
	deployment(t, client.ObjectKey{Namespace: ns, Name: "shop-" + two}, "pool two", runsImage(digestImage('3')))
	eventually(t, "the single Deployment is deleted", func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), key, d); err == nil && d.DeletionTimestamp == nil {
			return fmt.Errorf("Deployment %s still there", key)
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Placement.Rollout.Pools = a.Spec.Placement.Rollout.Pools[:1] })
	eventually(t, "pool two's Deployment is deleted", func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "shop-" + two}, d); err == nil && d.DeletionTimestamp == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement.Rollout.Pools = []v1alpha1.PoolWave{{EdgeClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"none": id}}}}
	})
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonNoPools)
	if msg := findReady(got).Message; !strings.Contains(msg, "selects no EdgeCluster") {
		t.Errorf("Ready message %q", msg)
	}
}

// With spec.placement.rollout, pre-pull (on by default: edge pools) goes wave by wave: when a
// wave's turn comes, its pools' nodes pull the new image first and their Deployments keep the old
// one until then; the next wave's nodes are not pulled onto before its turn.
func TestPrePullWaveByWave(t *testing.T) {
	ns := namespace(t)
	one, two := "ppw1-"+ns, "ppw2-"+ns
	newPool(t, one, nil)
	newPool(t, two, nil)
	createNode(t, one+"-a", map[string]string{v1alpha1.LabelEdgeClusterMember: one}, true)
	createNode(t, two+"-a", map[string]string{v1alpha1.LabelEdgeClusterMember: two}, true)
	const v1, v2 = "registry.example.com/fleet:1", "registry.example.com/fleet:2"
	a := newApp(t, ns, "fleet", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = v1
		a.Spec.Placement = &v1alpha1.Placement{Rollout: &v1alpha1.WaveRollout{Pools: []v1alpha1.PoolWave{
			{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: one}},
			{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: two}},
		}, PauseBetweenWaves: &metav1.Duration{}}}
		a.Spec.Strategy = &v1alpha1.RolloutStrategy{PrePullTimeout: &metav1.Duration{Duration: time.Hour}}
	})
	key := client.ObjectKeyFromObject(a)
	dep := func(pool string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: "fleet-" + pool} }
	// First Deployments: nothing older to keep serving, no pre-pull.
	deployment(t, dep(one), "wave 1 runs v1", runsImage(v1))
	rollOut(t, dep(one))
	deployment(t, dep(two), "wave 2 runs v1", runsImage(v1))
	rollOut(t, dep(two))
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = v2 })
	first := wavePrePullPods(t, ns, v2, 1, []string{one + "-a"})
	got := waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonPrePulling)
	if st := got.Status.PrePull; st == nil || st.Image != v2 || st.Wave != 1 || st.Nodes != 1 {
		t.Fatalf("status.prePull = %+v, want v2 for wave 1 onto 1 node", st)
	}
	if msg := findReady(got).Message; !strings.Contains(msg, "wave 1/2 ("+one+")") {
		t.Errorf("Ready message %q does not name the wave", msg)
	}
	deployment(t, dep(one), "wave 1 held at v1 while it pulls", runsImage(v1))
	hasEvent(t, key, "PrePullStarted", "onto 1 nodes of wave 1")

	setPulled(t, &first[0])
	deployment(t, dep(one), "wave 1 runs v2 once pulled", runsImage(v2))
	deployment(t, dep(two), "wave 2 still runs v1", runsImage(v1))
	rollOut(t, dep(one))
	second := wavePrePullPods(t, ns, v2, 2, []string{two + "-a"})
	deployment(t, dep(two), "wave 2 held at v1 while it pulls", runsImage(v1))
	setPulled(t, &second[0])
	deployment(t, dep(two), "wave 2 runs v2 once pulled", runsImage(v2))
	rollOut(t, dep(two))
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)
	noPrePullPods(t, ns)
}
