package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
)

// A three-wave rollout over three kwok pools, with the real kube-controller-manager and
// scheduler: a canary pool, then two pools of a region one at a time. The first image reaches
// every pool wave by wave. The second image rolls out on the canary; the second wave cannot
// (its only node is cordoned, so the new pod stays Pending and kube-controller-manager reports
// the missed progress deadline): that wave is rolled back and the third wave's Deployment is never
// touched. kubectl get appd shows WAVE 2/3.
func TestRolloutInWavesAcrossPools(t *testing.T) {
	ns := createNamespace(t, "e2e-waves")
	ctx := t.Context()
	id := strings.ToLower(rand.String(4))
	canary, busan, daegu := "w"+id+"-canary", "w"+id+"-busan", "w"+id+"-daegu"
	region := map[string]string{"region": "kr-south-" + id}
	for _, p := range []struct {
		name   string
		labels map[string]string
	}{{canary, nil}, {busan, region}, {daegu, region}} {
		ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: p.labels}}
		if err := k8sClient.Create(ctx, ec); err != nil {
			t.Fatal(err)
		}
		deleteOnCleanup(t, ec)
		benchNodes(t, p.name, 1, true)
	}
	v1, v2 := "registry.local/e2e/waves:1", "registry.local/e2e/waves:2"
	a := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.AppDeploymentSpec{
			Image:    v1,
			Replicas: ptr.To[int32](1),
			Ports:    []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Strategy: &v1alpha1.RolloutStrategy{ProgressDeadlineSeconds: ptr.To[int32](15)},
			Placement: &v1alpha1.Placement{Rollout: &v1alpha1.WaveRollout{
				Pools: []v1alpha1.PoolWave{
					{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: canary}},
					{EdgeClusterSelector: &metav1.LabelSelector{MatchLabels: region}, MaxConcurrentPools: ptr.To[int32](1),
						Env: []corev1.EnvVar{{Name: "REGION", Value: "kr-south"}}},
				},
				PauseBetweenWaves: &metav1.Duration{Duration: 5 * time.Second},
			}},
		},
	}
	if err := k8sClient.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(a)
	dep := func(pool string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: "web-" + pool} }

	waitForApp(t, key, "v1 rolled out in all three waves", func(a *v1alpha1.AppDeployment) bool {
		return meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionReady) && a.Status.Wave == "3/3"
	})
	got := getAppDeployment(t, key)
	for i, want := range []struct {
		name string
		wave int32
	}{{canary, 1}, {busan, 2}, {daegu, 3}} {
		if p := got.Status.Pools[i]; p.Name != want.name || p.Wave != want.wave || p.Image != v1 || p.ReadyReplicas != 1 || p.RolledOutAt == nil {
			t.Errorf("status.pools[%d] = %+v, want %s in wave %d running %s", i, p, want.name, want.wave, v1)
		}
	}
	// Each wave started only after the one before had been rolled out for the pause.
	for i := 1; i < 3; i++ {
		before, after := got.Status.Pools[i-1].RolledOutAt.Time, got.Status.Pools[i].RolledOutAt.Time
		if after.Sub(before) < 5*time.Second {
			t.Errorf("pool %s rolled out at %s, only %s after wave %d (pause 5s)", got.Status.Pools[i].Name, after, after.Sub(before), i)
		}
	}
	// The pool entry's env override is in the region's pods, not the canary's.
	for pool, want := range map[string]bool{canary: false, busan: true, daegu: true} {
		d := getDeployment(t, dep(pool))
		has := false
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			has = has || e.Name == "REGION"
		}
		if has != want {
			t.Errorf("Deployment of %s: REGION set %v, want %v", pool, has, want)
		}
	}
	third := getDeployment(t, dep(daegu))

	// busan's only node takes no new pod: its wave cannot roll out v2.
	cordon(t, busan+"-00000")
	updateAppDeployment(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = v2 })
	waitForApp(t, key, "wave 2 rolled back", func(a *v1alpha1.AppDeployment) bool {
		return meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionRolledBack)
	})
	got = getAppDeployment(t, key)
	if msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "failed in wave 2/3") || !strings.Contains(msg, "pool "+busan) {
		t.Errorf("Ready message %q", msg)
	}
	if got.Status.Wave != "2/3" || got.Status.FailedImage != v2 || got.Status.LastGoodImage != v1 {
		t.Errorf("wave %q failedImage %q lastGoodImage %q", got.Status.Wave, got.Status.FailedImage, got.Status.LastGoodImage)
	}
	// Pre-pull (on by default for pools) went wave by wave: the last was wave 2's, onto no node
	// (busan's only node is cordoned: nothing can run there).
	if st := got.Status.PrePull; st == nil || st.Image != v2 || st.Wave != 2 || st.Nodes != 0 || st.CompletionTime == nil {
		t.Errorf("status.prePull = %+v, want wave 2's pre-pull of %s, done, onto 0 nodes", st, v2)
	}
	if img := app.RunningImage(getDeployment(t, dep(canary))); img != v2 {
		t.Errorf("the canary runs %s, want %s (earlier waves keep the new image)", img, v2)
	}
	waitFor(t, time.Minute, "busan back on v1 and available", func(ctx context.Context) (bool, error) {
		d := getDeployment(t, dep(busan))
		return app.RunningImage(d) == v1 && d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 1, nil
	})
	// Give the rollout every chance to (wrongly) move on, then check the third wave.
	time.Sleep(10 * time.Second)
	if d := getDeployment(t, dep(daegu)); d.Generation != third.Generation || app.RunningImage(d) != v1 {
		t.Errorf("the third wave was touched while the second was unhealthy: generation %d -> %d, image %s",
			third.Generation, d.Generation, app.RunningImage(d))
	}
	for _, p := range runningPods(t, ns, v1alpha1.LabelPool, daegu) {
		if p.Spec.Containers[0].Image != v1 {
			t.Errorf("pod %s of the third wave runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}

	// The way a user sees it.
	kubectl := filepath.Join(controlPlaneBin(t), "kubectl")
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfigPath, "-n", ns, "get", "appd", "web").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "WAVE") || !strings.Contains(string(out), "2/3") {
		t.Errorf("kubectl get appd: %v\n%s", err, out)
	}
}

func getAppDeployment(t *testing.T, key client.ObjectKey) *v1alpha1.AppDeployment {
	t.Helper()
	a := &v1alpha1.AppDeployment{}
	if err := k8sClient.Get(t.Context(), key, a); err != nil {
		t.Fatal(err)
	}
	return a
}

func getDeployment(t *testing.T, key client.ObjectKey) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(t.Context(), key, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func waitForApp(t *testing.T, key client.ObjectKey, what string, cond func(*v1alpha1.AppDeployment) bool) {
	t.Helper()
	waitFor(t, 3*time.Minute, what, func(ctx context.Context) (bool, error) {
		a := &v1alpha1.AppDeployment{}
		if err := k8sClient.Get(ctx, key, a); err != nil {
			return false, err
		}
		return cond(a), nil
	})
}

func updateAppDeployment(t *testing.T, key client.ObjectKey, mutate func(*v1alpha1.AppDeployment)) {
	t.Helper()
	waitFor(t, 30*time.Second, "updating "+key.String(), func(ctx context.Context) (bool, error) {
		a := &v1alpha1.AppDeployment{}
		if err := k8sClient.Get(ctx, key, a); err != nil {
			return false, err
		}
		mutate(a)
		return k8sClient.Update(ctx, a) == nil, nil
	})
}

// cordon marks a node unschedulable, as kubectl cordon does.
func cordon(t *testing.T, name string) {
	t.Helper()
	node := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: name}, node); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(node.DeepCopy())
	node.Spec.Unschedulable = true
	if err := k8sClient.Patch(t.Context(), node, patch); err != nil {
		t.Fatal(fmt.Errorf("cordoning %s: %w", name, err))
	}
}
