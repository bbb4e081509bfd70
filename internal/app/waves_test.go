package app

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestAssignWaves(t *testing.T) {
	ref := v1alpha1.PoolWave{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "canary"}}
	sel := func(n int32) v1alpha1.PoolWave {
		w := v1alpha1.PoolWave{EdgeClusterSelector: &metav1.LabelSelector{}}
		if n > 0 {
			w.MaxConcurrentPools = ptr.To(n)
		}
		return w
	}
	for _, tc := range []struct {
		name     string
		entries  []v1alpha1.PoolWave
		selected [][]string
		want     []PoolAssignment
	}{
		{"canary then a region two at a time (sorted by name)",
			[]v1alpha1.PoolWave{ref, sel(2)}, [][]string{{"canary"}, {"ulsan", "busan", "daegu"}},
			[]PoolAssignment{{"canary", 1, 0}, {"busan", 2, 1}, {"daegu", 2, 1}, {"ulsan", 3, 1}}},
		{"selector without maxConcurrentPools: one wave",
			[]v1alpha1.PoolWave{sel(0)}, [][]string{{"b", "a", "c"}},
			[]PoolAssignment{{"a", 1, 0}, {"b", 1, 0}, {"c", 1, 0}}},
		{"a pool selected twice belongs to its first entry",
			[]v1alpha1.PoolWave{ref, sel(1)}, [][]string{{"canary"}, {"canary", "busan"}},
			[]PoolAssignment{{"canary", 1, 0}, {"busan", 2, 1}}},
		{"an entry without pools makes no wave",
			[]v1alpha1.PoolWave{sel(1), ref}, [][]string{nil, {"canary"}},
			[]PoolAssignment{{"canary", 1, 1}}},
		{"nothing selected", []v1alpha1.PoolWave{sel(0)}, [][]string{nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AssignWaves(tc.entries, tc.selected); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AssignWaves = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// threeWaves is canary (wave 1), busan and daegu (wave 2), ulsan (wave 3), with the given
// Deployments (nil: none yet).
func threeWaves(canary, busan, daegu, ulsan *WavePool) []WavePool {
	pools := []WavePool{
		{PoolAssignment: PoolAssignment{Pool: "canary", Wave: 1}},
		{PoolAssignment: PoolAssignment{Pool: "busan", Wave: 2, Entry: 1}},
		{PoolAssignment: PoolAssignment{Pool: "daegu", Wave: 2, Entry: 1}},
		{PoolAssignment: PoolAssignment{Pool: "ulsan", Wave: 3, Entry: 1}},
	}
	for i, p := range []*WavePool{canary, busan, daegu, ulsan} {
		if p != nil {
			pools[i].Deployment, pools[i].Disconnected, pools[i].Last = p.Deployment, p.Disconnected, p.Last
		}
	}
	return pools
}

var now = time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)

func on(img string, s depState) *WavePool { return &WavePool{Deployment: deployment(img, 2, s)} }

// since is a pool fully rolled out on img since the given time before now.
func since(img string, ago time.Duration) *WavePool {
	p := on(img, complete)
	p.Last = &v1alpha1.PoolStatus{Image: img, RolledOutAt: &metav1.Time{Time: now.Add(-ago)}}
	return p
}

func TestPlanWaves(t *testing.T) {
	pause := 5 * time.Minute
	type want struct {
		images    []string // per pool: canary, busan, daegu, ulsan
		reached   int
		failed    string
		wave      int
		rolled    bool
		pauseLeft time.Duration
		complete  bool
		states    []string
	}
	W, RO, OK, RB, F, D := v1alpha1.PoolStateWaiting, v1alpha1.PoolStateRollingOut, v1alpha1.PoolStateRolledOut,
		v1alpha1.PoolStateRolledBack, v1alpha1.PoolStateFailed, v1alpha1.PoolStateDisconnected
	for _, tc := range []struct {
		name     string
		lastGood string
		failed   string
		rollback bool
		pools    []WavePool
		want     want
	}{
		{"first image: only the first wave gets it", "", "", true, threeWaves(nil, nil, nil, nil),
			want{images: []string{next, "", "", ""}, reached: 1, states: []string{RO, W, W, W}}},
		{"new image: wave 1 rolls out, the others keep the last good image", good, "", true,
			threeWaves(on(good, complete), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, "", "", ""}, reached: 1, states: []string{RO, W, W, W}}},
		{"wave 1 rolled out but not yet for the pause", good, "", true,
			threeWaves(since(next, 2*time.Minute), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, "", "", ""}, reached: 1, pauseLeft: 3 * time.Minute, states: []string{OK, W, W, W}}},
		{"wave 1 just rolled out: the pause starts now", good, "", true,
			threeWaves(on(next, complete), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, "", "", ""}, reached: 1, pauseLeft: pause, states: []string{OK, W, W, W}}},
		{"wave 1 healthy for the pause: wave 2 gets it", good, "", true,
			threeWaves(since(next, 6*time.Minute), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, next, next, ""}, reached: 2, states: []string{OK, RO, RO, W}}},
		{"wave 2 half rolled out: wave 3 untouched", good, "", true,
			threeWaves(since(next, time.Hour), since(next, time.Hour), on(next, rolling), on(good, complete)),
			want{images: []string{next, next, next, ""}, reached: 2, states: []string{OK, OK, RO, W}}},
		{"wave 2 unhealthy again after it rolled out: wave 3 untouched", good, "", true,
			threeWaves(since(next, time.Hour), since(next, time.Hour), on(next, depState{observed: true, replicas: 2, updated: 2, available: 1}), on(good, complete)),
			want{images: []string{next, next, next, ""}, reached: 2, states: []string{OK, OK, RO, W}}},
		{"every wave rolled out: complete", good, "", true,
			threeWaves(since(next, time.Hour), since(next, time.Hour), since(next, time.Hour), on(next, complete)),
			want{images: []string{next, next, next, next}, reached: 3, complete: true, states: []string{OK, OK, OK, OK}}},
		{"wave 2 misses its deadline: it rolls back, wave 3 untouched", good, "", true,
			threeWaves(since(next, time.Hour), on(next, stuck), on(next, complete), on(good, complete)),
			want{images: []string{next, good, good, ""}, reached: 2, failed: next, wave: 2, rolled: true, states: []string{OK, F, RB, W}}},
		{"rolled back earlier: stays so, the failed pool still named", good, next, true,
			threeWaves(since(next, time.Hour), &WavePool{Deployment: deployment(good, 2, complete), Last: &v1alpha1.PoolStatus{State: F}},
				on(good, complete), on(good, complete)),
			want{images: []string{next, good, good, ""}, reached: 2, failed: next, wave: 2, states: []string{OK, F, RB, W}}},
		{"rolled back earlier, busan still seen on the new image (a stale cache): the status decides", good, next, true,
			threeWaves(since(next, time.Hour), &WavePool{Deployment: deployment(next, 2, stuck), Last: &v1alpha1.PoolStatus{State: F}},
				&WavePool{Deployment: deployment(good, 2, complete), Last: &v1alpha1.PoolStatus{State: RB}}, on(good, complete)),
			want{images: []string{next, good, good, ""}, reached: 2, failed: next, wave: 2, states: []string{OK, F, RB, W}}},
		{"rolled back earlier, status pools lost: the first wave not on the new image", good, next, true,
			threeWaves(since(next, time.Hour), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, good, good, ""}, reached: 2, failed: next, wave: 2, states: []string{OK, RB, RB, W}}},
		{"rolled back, then a new image: starts again at wave 1", good, bad, true,
			threeWaves(since(bad, time.Hour), on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{next, "", "", ""}, reached: 1, states: []string{RO, W, W, W}}},
		{"no rollback: the failed wave stays, the rollout stops", good, "", false,
			threeWaves(since(next, time.Hour), on(next, stuck), on(next, complete), on(good, complete)),
			want{images: []string{next, next, next, ""}, reached: 2, states: []string{OK, F, OK, W}}},
		{"a Disconnected pool of wave 1 is left alone and holds the rollout", good, "", true,
			threeWaves(&WavePool{Deployment: deployment(good, 2, complete), Disconnected: true}, on(good, complete), on(good, complete), on(good, complete)),
			want{images: []string{"", "", "", ""}, reached: 1, states: []string{D, W, W, W}}},
		{"a Disconnected pool of a later wave does not hold earlier ones", good, "", true,
			threeWaves(since(next, time.Hour), since(next, time.Hour), since(next, time.Hour), &WavePool{Deployment: deployment(good, 2, complete), Disconnected: true}),
			want{images: []string{next, next, next, ""}, reached: 3, states: []string{OK, OK, OK, D}}},
		{"a new pool in a waiting wave gets the last good image", good, "", true,
			threeWaves(on(next, rolling), on(good, complete), nil, on(good, complete)),
			want{images: []string{next, "", good, ""}, reached: 1, states: []string{RO, W, W, W}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanWaves(WaveInput{Target: next, RollbackEnabled: tc.rollback, LastGoodImage: tc.lastGood,
				FailedImage: tc.failed, Pools: tc.pools, Pause: pause, Now: now})
			var images, states []string
			for _, p := range plan.Pools {
				images, states = append(images, p.Image), append(states, p.State)
			}
			got := want{images: images, reached: plan.Reached, failed: plan.FailedImage, wave: plan.FailedWave,
				rolled: plan.RolledBack, pauseLeft: plan.PauseLeft, complete: plan.Complete, states: states}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PlanWaves:\n got %+v\nwant %+v", got, tc.want)
			}
			if plan.Waves != 3 {
				t.Errorf("Waves = %d, want 3", plan.Waves)
			}
		})
	}
}

func TestRolledOutAtKeepsItsTimeForTheSameImage(t *testing.T) {
	p := since(next, time.Hour).Deployment
	pools := threeWaves(&WavePool{Deployment: p, Last: &v1alpha1.PoolStatus{Image: next, RolledOutAt: &metav1.Time{Time: now.Add(-time.Hour)}}}, nil, nil, nil)
	plan := PlanWaves(WaveInput{Target: next, Pools: pools, Pause: time.Minute, Now: now})
	if got := plan.Pools[0].RolledOutAt; got == nil || !got.Time.Equal(now.Add(-time.Hour)) {
		t.Errorf("rolledOutAt = %v, want an hour ago", got)
	}
	pools[0].Last.Image = good // the time was about another image
	plan = PlanWaves(WaveInput{Target: next, Pools: pools, Pause: time.Minute, Now: now})
	if got := plan.Pools[0].RolledOutAt; got == nil || !got.Time.Equal(now) {
		t.Errorf("rolledOutAt = %v, want now", got)
	}
}

func TestDesiredPoolDeployment(t *testing.T) {
	a := appDeployment(nil)
	a.Spec.Replicas = ptr.To[int32](2)
	a.Spec.Env = []corev1.EnvVar{{Name: "SITE", Value: "any"}, {Name: "LOG", Value: "info"}}
	entry := &v1alpha1.PoolWave{
		Replicas: ptr.To[int32](5),
		Env:      []corev1.EnvVar{{Name: "SITE", Value: "busan"}, {Name: "EXTRA", Value: "1"}},
		Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("64Mi")}},
	}
	pool := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: "busan"}}
	d, err := asDeploymentForTest(DesiredPoolDeployment(a, good, pool, nil, entry))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "web-busan" {
		t.Errorf("name = %q, want web-busan", d.Name)
	}
	if got := d.Spec.Selector.MatchLabels[v1alpha1.LabelPool]; got != "busan" {
		t.Errorf("selector %s = %q, want busan", v1alpha1.LabelPool, got)
	}
	if got := d.Spec.Template.Labels[v1alpha1.LabelPool]; got != "busan" {
		t.Errorf("pod label %s = %q, want busan", v1alpha1.LabelPool, got)
	}
	if got := d.Spec.Template.Spec.NodeSelector[v1alpha1.LabelEdgeClusterMember]; got != "busan" {
		t.Errorf("node selector = %q, want the pool", got)
	}
	if *d.Spec.Replicas != 5 {
		t.Errorf("replicas = %d, want the pool's 5", *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	wantEnv := []corev1.EnvVar{{Name: "SITE", Value: "busan"}, {Name: "LOG", Value: "info"}, {Name: "EXTRA", Value: "1"}}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("env = %+v, want %+v", c.Env, wantEnv)
	}
	if got := c.Resources.Limits.Memory().String(); got != "64Mi" {
		t.Errorf("memory limit = %s, want 64Mi", got)
	}
	if len(a.Spec.Env) != 2 || a.Spec.Env[0].Value != "any" || *a.Spec.Replicas != 2 {
		t.Errorf("the app's own spec changed: %+v", a.Spec)
	}
	// Without overrides the pool's Deployment has the app's values.
	d, _ = asDeploymentForTest(DesiredPoolDeployment(a, good, pool, nil, &v1alpha1.PoolWave{}))
	if *d.Spec.Replicas != 2 || len(d.Spec.Template.Spec.Containers[0].Env) != 2 {
		t.Errorf("without overrides: replicas %d env %+v", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Env)
	}
}

func TestSummarizeWaves(t *testing.T) {
	for _, tc := range []struct {
		name           string
		pools          []WavePool
		failed         string
		reason, status string
		wave           string
		contains       string
	}{
		{"rolling out wave 2", threeWaves(since(next, time.Hour), on(next, rolling), on(next, rolling), on(good, complete)), "",
			v1alpha1.AppDeploymentReasonRollingOut, "False", "2/3", "wave 2/3 (busan, daegu)"},
		{"waiting for the pause", threeWaves(since(next, time.Minute), on(good, complete), on(good, complete), on(good, complete)), "",
			v1alpha1.AppDeploymentReasonWaitingForWave, "False", "1/3", "another 4m0s"},
		{"rolled back", threeWaves(since(next, time.Hour), on(next, stuck), on(next, complete), on(good, complete)), "",
			v1alpha1.AppDeploymentReasonRolledBack, "False", "2/3", "pool busan missed its progress deadline"},
		{"complete", threeWaves(since(next, time.Hour), since(next, time.Hour), since(next, time.Hour), on(next, complete)), "",
			v1alpha1.AppDeploymentReasonRolledOut, "True", "3/3", "all 4 pools (3 waves)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := appDeployment(nil)
			a.Status.LastGoodImage = good
			plan := PlanWaves(WaveInput{Target: next, RollbackEnabled: true, LastGoodImage: good, FailedImage: tc.failed,
				Pools: tc.pools, Pause: 5 * time.Minute, Now: now})
			SummarizeWaves(a, tc.pools, plan, nil)
			c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
			if c == nil || c.Reason != tc.reason || string(c.Status) != tc.status || !strings.Contains(c.Message, tc.contains) {
				t.Fatalf("Ready = %+v, want %s %s containing %q", c, tc.status, tc.reason, tc.contains)
			}
			if a.Status.Wave != tc.wave {
				t.Errorf("wave = %q, want %q", a.Status.Wave, tc.wave)
			}
			if len(a.Status.Pools) != 4 || a.Status.Pools[1].Name != "busan" || a.Status.Pools[1].Wave != 2 {
				t.Errorf("pools = %+v", a.Status.Pools)
			}
			if tc.reason == v1alpha1.AppDeploymentReasonRolledOut && a.Status.LastGoodImage != next {
				t.Errorf("lastGoodImage = %q, want %q", a.Status.LastGoodImage, next)
			}
			if tc.reason != v1alpha1.AppDeploymentReasonRolledOut && a.Status.LastGoodImage != good {
				t.Errorf("lastGoodImage = %q, want it kept at %q", a.Status.LastGoodImage, good)
			}
		})
	}
}

func asDeploymentForTest(ac any) (*appsv1.Deployment, error) {
	data, err := json.Marshal(ac)
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{}
	return d, json.Unmarshal(data, d)
}

func TestPoolPrePullWanted(t *testing.T) {
	onEdge := appDeployment(func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{Rollout: &v1alpha1.WaveRollout{}}
		a.Status.LastGoodImage = good
	})
	off := onEdge.DeepCopy()
	off.Spec.Strategy.PrePull = ptr.To(false)
	zero := deployment(good, 0, complete)
	for _, tc := range []struct {
		name    string
		app     *v1alpha1.AppDeployment
		planned string
		pool    WavePool
		want    bool
	}{
		{"a wave switches a running pool to the new image", onEdge, next, *on(good, complete), true},
		{"prePull: false", off, next, *on(good, complete), false},
		{"the pool is held or waiting (planned elsewhere)", onEdge, "", *on(good, complete), false},
		{"rolled back to the last good image", onEdge, good, *on(next, stuck), false},
		{"a new pool: nothing to keep serving", onEdge, next, WavePool{}, false},
		{"already runs it", onEdge, next, *on(next, rolling), false},
		{"scaled to zero", onEdge, next, WavePool{Deployment: zero}, false},
		{"Disconnected", onEdge, next, WavePool{Deployment: deployment(good, 2, complete), Disconnected: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PoolPrePullWanted(tc.app, tc.planned, next, tc.pool); got != tc.want {
				t.Errorf("PoolPrePullWanted = %v, want %v", got, tc.want)
			}
		})
	}
	if ImageHash(PrePullKey(next, 1)) == ImageHash(PrePullKey(next, 2)) || PrePullKey(next, 0) != next {
		t.Error("each wave's pre-pull Pods must carry their own label; the single Deployment's keep the image's")
	}
}
