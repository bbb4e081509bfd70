package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// DefaultPauseBetweenWaves is spec.placement.rollout.pauseBetweenWaves when unset.
const DefaultPauseBetweenWaves = 5 * time.Minute

// Rollout is spec.placement.rollout, nil when the app runs in one place.
func Rollout(app *v1alpha1.AppDeployment) *v1alpha1.WaveRollout {
	if pl := app.Spec.Placement; pl != nil {
		return pl.Rollout
	}
	return nil
}

// PauseBetweenWaves reads spec.placement.rollout.pauseBetweenWaves (default 5m).
func PauseBetweenWaves(r *v1alpha1.WaveRollout) time.Duration {
	if r == nil || r.PauseBetweenWaves == nil {
		return DefaultPauseBetweenWaves
	}
	return r.PauseBetweenWaves.Duration
}

// PoolAssignment is one pool of a multi-pool app and the wave it belongs to.
type PoolAssignment struct {
	// Pool is the EdgeCluster's name.
	Pool string
	// Wave, from 1.
	Wave int
	// Entry is the index of the spec.placement.rollout.pools entry that placed it.
	Entry int
}

// AssignWaves turns the entries of spec.placement.rollout.pools into waves. selected[i] holds
// the pools entry i names or selects (that admit the app). An entry with edgeClusterRef is one
// wave; an entry with edgeClusterSelector is its pools sorted by name, maxConcurrentPools per
// wave (default: all in one). A pool already placed by an earlier entry is skipped, and an entry
// without pools makes no wave. The result is in wave order, by name within a wave.
func AssignWaves(entries []v1alpha1.PoolWave, selected [][]string) []PoolAssignment {
	var out []PoolAssignment
	seen := map[string]bool{}
	wave := 0
	for i, e := range entries {
		if i >= len(selected) {
			break
		}
		var names []string
		for _, n := range selected[i] {
			if !seen[n] && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		size := len(names)
		if e.MaxConcurrentPools != nil && *e.MaxConcurrentPools > 0 {
			size = int(*e.MaxConcurrentPools)
		}
		for start := 0; start < len(names); start += size {
			wave++
			for _, n := range names[start:min(start+size, len(names))] {
				seen[n] = true
				out = append(out, PoolAssignment{Pool: n, Wave: wave, Entry: i})
			}
		}
	}
	return out
}

// WavePool is what PlanWaves knows of one pool.
type WavePool struct {
	PoolAssignment
	// Deployment is the pool's live Deployment (<app>-<pool>), nil before it exists.
	Deployment *appsv1.Deployment
	// Disconnected: the pool's EdgeCluster is Disconnected (its Deployment is left as it is).
	Disconnected bool
	// Last is the pool's entry of the previous status.pools (for rolledOutAt), nil if none.
	Last *v1alpha1.PoolStatus
}

// WaveInput is what PlanWaves looks at.
type WaveInput struct {
	// Target is the image the spec asks for.
	Target string
	// RollbackEnabled is spec.rollback.enabled; LastGoodImage and FailedImage are the status fields.
	RollbackEnabled            bool
	LastGoodImage, FailedImage string
	// Pools in wave order (AssignWaves), with what is known of each.
	Pools []WavePool
	// Pause is spec.placement.rollout.pauseBetweenWaves.
	Pause time.Duration
	// Now is the time of this pass.
	Now time.Time
}

// PoolPlan is what happens to one pool in this pass.
type PoolPlan struct {
	// Image to apply to the pool's Deployment; "" leaves it as it is (or uncreated).
	Image string
	// State for status.pools[].state.
	State string
	// RolledOutAt for status.pools[].rolledOutAt: since when the Deployment runs its image fully.
	RolledOutAt *metav1.Time
}

// WavePlan is PlanWaves' answer.
type WavePlan struct {
	// Pools, in the order of WaveInput.Pools.
	Pools []PoolPlan
	// Waves is the number of waves; Reached how many have been given the rollout's image (the
	// failed wave, after a failure).
	Waves, Reached int
	// Image is the image the rollout moves: Target, or LastGoodImage in the wave rolled back.
	Image string
	// FailedImage is the new status.failedImage; RolledBack is true on the pass that rolls back;
	// FailedWave is the wave rolled back (0: none), FailedPool the pool whose rollout failed.
	FailedImage string
	RolledBack  bool
	FailedWave  int
	FailedPool  string
	// PauseLeft is how long the reached wave must still stay healthy before the next one starts.
	PauseLeft time.Duration
	// Complete: every pool runs Target, fully rolled out.
	Complete bool
	// PrePulling: the pools this plan switches to Target are held while they pull it first
	// (set by the controller, spec.strategy.prePull); status.prePull says how far.
	PrePulling bool
}

// PlanWaves decides, for a multi-pool app, which image each pool's Deployment gets:
//   - The first wave gets Target at once. Wave n+1 gets it once every pool of waves 1..n runs
//     Target fully rolled out (all replicas updated and available) and the last of them has
//     done so for at least Pause; a pool that stops being healthy starts its clock again.
//   - A pool of a reached wave that misses its progress deadline on Target fails the rollout:
//     with rollback enabled and a last good image to go back to, its whole wave goes back to
//     LastGoodImage (FailedImage = Target) and no later wave gets Target; earlier waves keep it.
//     While Target stays the failed image this holds: the failed wave is the one the previous
//     status marks (failedWave). Without a rollback the rollout just stops at that wave.
//   - Pools of waves not reached keep what they run; one without a Deployment gets
//     LastGoodImage (nothing before the first image rolled out).
//   - A Disconnected pool is left as it is, and its wave does not count as rolled out.
func PlanWaves(in WaveInput) WavePlan {
	plan := WavePlan{Pools: make([]PoolPlan, len(in.Pools)), Image: in.Target, FailedImage: in.FailedImage}
	for i, p := range in.Pools {
		plan.Waves = max(plan.Waves, p.Wave)
		plan.Pools[i].RolledOutAt = rolledOutAt(p, in.Now)
	}
	canRollBack := in.RollbackEnabled && in.LastGoodImage != "" && in.Target != in.LastGoodImage
	if !canRollBack || in.FailedImage != in.Target {
		plan.FailedImage = ""
	}
	if plan.FailedImage != "" {
		plan.FailedWave, plan.FailedPool = failedWave(in, plan.Waves)
	}

	plan.Reached = 1
	for w := 1; w <= plan.Waves && plan.FailedWave == 0; w++ {
		done, latest := true, time.Time{}
		for i, p := range in.Pools {
			if p.Wave != w {
				continue
			}
			prog := Progress(p.Deployment)
			onTarget := RunningImage(p.Deployment) == in.Target
			switch {
			case !p.Disconnected && onTarget && prog.Observed && prog.DeadlineExceeded:
				if canRollBack {
					plan.FailedWave, plan.FailedPool, plan.FailedImage, plan.RolledBack = w, p.Pool, in.Target, true
				}
				done = false
			case !p.Disconnected && onTarget && prog.Complete:
				if t := plan.Pools[i].RolledOutAt; t != nil && t.After(latest) {
					latest = t.Time
				}
			default: // rolling out, not yet given Target, or Disconnected
				done = false
			}
		}
		if plan.FailedWave != 0 || !done || w == plan.Waves {
			break
		}
		if left := in.Pause - in.Now.Sub(latest); left > 0 {
			plan.PauseLeft = left
			break
		}
		plan.Reached = w + 1
	}
	if plan.FailedWave != 0 {
		plan.Reached = plan.FailedWave
	}

	plan.Complete = plan.FailedWave == 0 && len(in.Pools) > 0
	for i, p := range in.Pools {
		pp := &plan.Pools[i]
		running := RunningImage(p.Deployment)
		prog := Progress(p.Deployment)
		switch {
		case p.Disconnected:
			pp.State = v1alpha1.PoolStateDisconnected
		case plan.FailedWave != 0 && p.Wave == plan.FailedWave:
			pp.Image, pp.State = in.LastGoodImage, v1alpha1.PoolStateRolledBack
			if p.Pool == plan.FailedPool {
				pp.State = v1alpha1.PoolStateFailed // missed its deadline; rolled back with its wave
			}
		case p.Wave <= plan.Reached && plan.FailedWave == 0 || p.Wave < plan.FailedWave:
			pp.Image = in.Target
			pp.State = stateOf(running == in.Target, prog)
		default:
			pp.State = v1alpha1.PoolStateWaiting
			if p.Deployment == nil {
				pp.Image = in.LastGoodImage
			}
		}
		if running != in.Target || !prog.Complete || p.Disconnected {
			plan.Complete = false
		}
	}
	return plan
}

// failedWave finds the wave rolled back earlier (and the pool that failed) from the previous
// status, written with failedImage: its pools are Failed or RolledBack. Without it (the status
// was lost) it is the first wave with a pool not running Target. What runs is not asked first: a
// Deployment read from a cache that has not yet seen the rollback still runs Target.
func failedWave(in WaveInput, waves int) (wave int, pool string) {
	for _, p := range in.Pools {
		if l := p.Last; l != nil && (l.State == v1alpha1.PoolStateFailed || l.State == v1alpha1.PoolStateRolledBack) {
			if wave == 0 {
				wave = p.Wave
			}
			if p.Wave == wave && l.State == v1alpha1.PoolStateFailed {
				pool = p.Pool
			}
		}
	}
	if wave != 0 {
		return wave, pool
	}
	for _, p := range in.Pools {
		if RunningImage(p.Deployment) != in.Target {
			return p.Wave, ""
		}
	}
	return waves, ""
}

// stateOf is the state of a pool of a reached wave.
func stateOf(onTarget bool, prog RolloutProgress) string {
	switch {
	case onTarget && prog.Observed && prog.DeadlineExceeded:
		return v1alpha1.PoolStateFailed
	case onTarget && prog.Complete:
		return v1alpha1.PoolStateRolledOut
	default:
		return v1alpha1.PoolStateRollingOut
	}
}

// rolledOutAt is since when the pool's Deployment runs its image fully: the previous status'
// time if it was about the same image, else now; nil while it is not fully rolled out.
func rolledOutAt(p WavePool, now time.Time) *metav1.Time {
	if p.Disconnected || !Progress(p.Deployment).Complete {
		return nil
	}
	if l := p.Last; l != nil && l.RolledOutAt != nil && l.Image == RunningImage(p.Deployment) {
		return l.RolledOutAt.DeepCopy()
	}
	return &metav1.Time{Time: now.Truncate(time.Second)}
}

// WavePools lists the pools of a wave, for messages: "busan, daegu".
func WavePools(pools []WavePool, wave int) string {
	var names []string
	for _, p := range pools {
		if p.Wave == wave {
			names = append(names, p.Pool)
		}
	}
	return strings.Join(names, ", ")
}

// WaveString is status.wave: "reached/waves".
func WaveString(plan WavePlan) string {
	if plan.Waves == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", plan.Reached, plan.Waves)
}

// SummarizeWaves writes the status of a multi-pool app after this pass: pools as they are now
// (their Deployments after this pass's applies), plan this pass's decisions, pull a pod of the
// rollout that cannot pull its image or start.
func SummarizeWaves(app *v1alpha1.AppDeployment, pools []WavePool, plan WavePlan, pull *StartFailure) {
	st, gen := &app.Status, app.Generation
	st.URL = URL(app)
	st.FailedImage = plan.FailedImage
	st.Wave = WaveString(plan)
	st.Pools = make([]v1alpha1.PoolStatus, 0, len(pools))
	st.Replicas, st.ReadyReplicas, st.UpdatedReplicas, st.AvailableReplicas = 0, 0, 0, 0
	var desired int32
	st.Image = ""
	for i, p := range pools {
		d := p.Deployment
		ps := v1alpha1.PoolStatus{Name: p.Pool, Wave: int32(p.Wave), State: plan.Pools[i].State,
			RolledOutAt: plan.Pools[i].RolledOutAt}
		if d != nil {
			ps.Deployment = d.Name
			ps.Image = RunningImage(d)
			ps.Replicas = Progress(d).Desired
			ps.ReadyReplicas = d.Status.ReadyReplicas
			st.Replicas += d.Status.Replicas
			st.ReadyReplicas += d.Status.ReadyReplicas
			st.UpdatedReplicas += d.Status.UpdatedReplicas
			st.AvailableReplicas += d.Status.AvailableReplicas
			desired += ps.Replicas
			if st.Image == "" && p.Wave == plan.Reached {
				st.Image = ps.Image
			}
		}
		st.Pools = append(st.Pools, ps)
	}
	st.Ready = fmt.Sprintf("%d/%d", st.AvailableReplicas, desired)
	if plan.Complete {
		st.LastGoodImage = plan.Image
	}

	waveOf := func(w int) string { return fmt.Sprintf("wave %d/%d (%s)", w, plan.Waves, WavePools(pools, w)) }
	if plan.FailedImage != "" {
		msg := fmt.Sprintf("The rollout of %s failed in %s", plan.FailedImage, waveOf(plan.FailedWave))
		if plan.FailedPool != "" {
			msg += fmt.Sprintf(": pool %s missed its progress deadline", plan.FailedPool)
		}
		msg += fmt.Sprintf("; that wave is rolled back to %s and the rollout stopped (earlier waves keep %s, later ones what they ran). "+
			"It is not tried again until a different image is asked for (a new spec.image or a new build)", st.LastGoodImage, plan.FailedImage)
		conditions.Set(&st.Conditions, v1alpha1.ConditionRolledBack, metav1.ConditionTrue, gen, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded, msg)
		conditions.MarkStalled(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRolledBack, msg)
		return
	}
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionRolledBack)
	failed := slices.IndexFunc(plan.Pools, func(p PoolPlan) bool { return p.State == v1alpha1.PoolStateFailed })
	disconnected := slices.IndexFunc(pools, func(p WavePool) bool { return p.Disconnected && p.Wave <= plan.Reached })
	switch {
	case plan.Complete:
		conditions.MarkReady(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRolledOut,
			fmt.Sprintf("%s runs in all %d pools (%d waves): %s replicas available", plan.Image, len(pools), plan.Waves, st.Ready))
	case failed >= 0:
		p := pools[failed]
		conditions.MarkStalled(&st.Conditions, gen, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded,
			fmt.Sprintf("The rollout of %s in pool %s (%s) made no progress for its deadline; not rolled back: %s. "+
				"The rollout stopped there: check the pods of Deployment %s and fix the spec or the image",
				plan.Image, p.Pool, waveOf(p.Wave), noRollbackReason(app), PoolDeploymentName(app, p.Pool)))
	case pull != nil:
		conditions.MarkStalled(&st.Conditions, gen, pull.Condition, StartFailureMessage(pull))
	case disconnected >= 0:
		p := pools[disconnected]
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonPoolDisconnected,
			fmt.Sprintf("EdgeCluster %s is Disconnected: its Deployment is left as it is, and the rollout of %s waits at %s until it reconnects",
				p.Pool, plan.Image, waveOf(p.Wave)))
	case plan.PrePulling && st.PrePull != nil:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonPrePulling,
			fmt.Sprintf("%s: %s", waveOf(int(st.PrePull.Wave)), PrePullMessage(st.PrePull, PrePullTimeout(app))))
	case plan.PauseLeft > 0:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonWaitingForWave,
			fmt.Sprintf("%s is rolled out in %s; %s gets it once that has stayed healthy for another %s (pauseBetweenWaves)",
				plan.Image, waveOf(plan.Reached), waveOf(plan.Reached+1), plan.PauseLeft.Round(time.Second)))
	default:
		conditions.MarkReconciling(&st.Conditions, gen, v1alpha1.AppDeploymentReasonRollingOut,
			fmt.Sprintf("Rolling out %s in %s: %d of %d replicas updated, %d available (all pools)",
				plan.Image, waveOf(plan.Reached), st.UpdatedReplicas, desired, st.AvailableReplicas))
	}
}

// noRollbackReason says why a failed rollout was not rolled back.
func noRollbackReason(app *v1alpha1.AppDeployment) string {
	switch {
	case !RollbackEnabled(app):
		return "rollback is disabled (spec.rollback.enabled)"
	case app.Status.LastGoodImage == "":
		return "no earlier image rolled out completely, so there is none to roll back to"
	default:
		return "it is the last good image itself, so there is nothing to roll back to"
	}
}
