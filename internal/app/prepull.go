package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// Pre-pull (spec.strategy.prePull): before the Deployment's image changes, one Pod per node the
// app may run on pulls the new image there. The Pod's container is never meant to run: its
// command is a path no image has, so once the kubelet has pulled the image the container fails to
// start (StartError) and the Pod ends. What counts is that the kubelet got past the pull.
//
// The controller keeps the Deployment at its running image while the pre-pull runs
// (RolloutDecision.PrePulling), lets the rollout go once every node has the image or
// spec.strategy.prePullTimeout passed, and records which nodes were slow.

// DefaultPrePullTimeout is spec.strategy.prePullTimeout's default.
const DefaultPrePullTimeout = 10 * time.Minute

// PrePullContainerName is the name of the pre-pull Pod's container.
const PrePullContainerName = "pull"

// prePullCommand is the pre-pull container's command: a path no image has, so the container never
// runs anything of the image.
const prePullCommand = "/.edgeforge-prepull-runs-nothing"

// maxSlowNodes bounds status.prePull.slowNodes (the API's MaxItems).
const maxSlowNodes = 20

// PrePullEnabled reads spec.strategy.prePull: default true for an app on edge pools
// (spec.placement.edgeClusterRef or spec.placement.rollout), false otherwise.
func PrePullEnabled(app *v1alpha1.AppDeployment) bool {
	if s := app.Spec.Strategy; s != nil && s.PrePull != nil {
		return *s.PrePull
	}
	return PoolName(app) != "" || Rollout(app) != nil
}

// PrePullTimeout reads spec.strategy.prePullTimeout (default 10m).
func PrePullTimeout(app *v1alpha1.AppDeployment) time.Duration {
	if s := app.Spec.Strategy; s != nil && s.PrePullTimeout != nil && s.PrePullTimeout.Duration > 0 {
		return s.PrePullTimeout.Duration
	}
	return DefaultPrePullTimeout
}

// PrePullWanted reports whether the image decided for the Deployment d must be pulled onto the
// nodes first: pre-pull is on, d runs another image with at least one replica (the first
// Deployment of an app has nothing to keep serving meanwhile, one scaled to zero nothing to
// serve), the pool is not Disconnected, and the decided image is not the last good one (a
// rollback goes back at once to an image the nodes had).
func PrePullWanted(app *v1alpha1.AppDeployment, dec RolloutDecision, d *appsv1.Deployment) bool {
	running := RunningImage(d)
	return PrePullEnabled(app) && !dec.Paused && running != "" && dec.Image != running &&
		dec.Image != app.Status.LastGoodImage && (d.Spec.Replicas == nil || *d.Spec.Replicas > 0)
}

// PoolPrePullWanted is PrePullWanted for one pool of spec.placement.rollout: planned is the
// image PlanWaves gives its Deployment, target the image the spec asks for. Only a switch of a
// running, connected Deployment with replicas to target, a new image, is pulled first.
func PoolPrePullWanted(app *v1alpha1.AppDeployment, planned, target string, p WavePool) bool {
	running := RunningImage(p.Deployment)
	return PrePullEnabled(app) && planned == target && !p.Disconnected && running != "" && running != target &&
		target != app.Status.LastGoodImage && (p.Deployment.Spec.Replicas == nil || *p.Deployment.Spec.Replicas > 0)
}

// PrePullDone reports whether the pre-pull of image (for wave, 0 for the single Deployment) was
// already let go (status.prePull).
func PrePullDone(st *v1alpha1.PrePullStatus, image string, wave int32) bool {
	return st != nil && st.Image == image && st.Wave == wave && st.CompletionTime != nil
}

// PrePullKey is what a pre-pull is of: the image, and with spec.placement.rollout the wave (each
// wave pulls onto its own pools' nodes). Its ImageHash labels the pre-pull Pods.
func PrePullKey(image string, wave int32) string {
	if wave == 0 {
		return image
	}
	return fmt.Sprintf("%s\x00wave %d", image, wave)
}

// HoldForPrePull turns a decision into one that keeps the Deployment at running while image is
// pulled onto the nodes.
func HoldForPrePull(dec RolloutDecision, running string) RolloutDecision {
	dec.Waiting, dec.Image, dec.PrePulling = dec.Image, running, true
	return dec
}

// ImageHash is the value of the LabelPrePullImage label of image's pre-pull Pods.
func ImageHash(image string) string {
	sum := sha256.Sum256([]byte(image))
	return hex.EncodeToString(sum[:])[:16]
}

// PrePullPodName names the pre-pull Pod of image on node: the app's name and a hash of both, so
// a new image never meets the Pod of an older one.
func PrePullPodName(app *v1alpha1.AppDeployment, image, node string) string {
	sum := sha256.Sum256([]byte(image + "\x00" + node))
	return app.Name + "-prepull-" + hex.EncodeToString(sum[:])[:10]
}

// PrePullNodes returns the names of the nodes, sorted, that a pod of spec could run on now:
// Ready, not cordoned, carrying the labels of spec.nodeSelector, without a NoSchedule or
// NoExecute taint spec does not tolerate, matching its required node affinity (e.g. the
// architectures of a multi-platform image).
func PrePullNodes(nodes []corev1.Node, spec *corev1.PodSpec) []string {
	selector := nodeaffinity.GetRequiredNodeAffinity(&corev1.Pod{Spec: *spec})
	scheduling := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	var out []string
	for i := range nodes {
		n := &nodes[i]
		if n.DeletionTimestamp != nil || n.Spec.Unschedulable || !edge.NodeReady(n) || !matches(selector, n) {
			continue
		}
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, spec.Tolerations, scheduling, false); untolerated {
			continue
		}
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// matches reports whether node n meets a pod's required node affinity and selector.
func matches(a nodeaffinity.RequiredNodeAffinity, n *corev1.Node) bool {
	ok, err := a.Match(n)
	return ok && err == nil
}

// PrePullPod is the Pod that pulls image onto node for the app whose pods run with spec (the
// rendered pod template: its tolerations and image pull Secrets). It runs nothing, holds no
// credential, and is gone by itself after timeout (activeDeadlineSeconds) should the controller
// not delete it first.
func PrePullPod(app *v1alpha1.AppDeployment, spec *corev1.PodSpec, image string, wave int32, node string, timeout time.Duration) *corev1.Pod {
	key := PrePullKey(image, wave)
	lbl := map[string]string{
		v1alpha1.LabelManagedBy:    v1alpha1.ManagedByValue,
		v1alpha1.LabelPrePull:      app.Name,
		v1alpha1.LabelPrePullImage: ImageHash(key),
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: PrePullPodName(app, key, node), Namespace: app.Namespace, Labels: lbl,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(app, v1alpha1.GroupVersion.WithKind("AppDeployment"))},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr.To(int64(timeout.Seconds()) + 60),
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Tolerations:                   slices.Clone(spec.Tolerations),
			ImagePullSecrets:              slices.Clone(spec.ImagePullSecrets),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](65534),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            PrePullContainerName,
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{prePullCommand},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// pastPullReasons are waiting reasons the kubelet gives only after the image is on the node.
var pastPullReasons = map[string]bool{
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"CrashLoopBackOff":           true,
}

// PodPulled reports whether a pre-pull Pod's kubelet has the image: its container was created
// (running, or terminated, e.g. StartError), or waits for a reason that comes after the pull.
// Otherwise lastError is the kubelet's pull error, if any (ErrImagePull: ...).
func PodPulled(p *corev1.Pod) (pulled bool, lastError string) {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name != PrePullContainerName {
			continue
		}
		switch {
		case c.State.Running != nil || c.State.Terminated != nil || c.LastTerminationState.Terminated != nil:
			return true, ""
		case c.State.Waiting != nil && pastPullReasons[c.State.Waiting.Reason]:
			return true, ""
		case c.State.Waiting != nil && startFailureReasons[c.State.Waiting.Reason] == v1alpha1.AppDeploymentReasonImagePullFailed:
			return false, strings.TrimSpace(c.State.Waiting.Reason + ": " + c.State.Waiting.Message)
		}
	}
	if p.Status.Phase == corev1.PodFailed && p.Status.Reason != "" {
		return false, p.Status.Reason + ": " + p.Status.Message // e.g. evicted, deadline exceeded
	}
	return false, ""
}

// PrePullProgress is how a running pre-pull stands.
type PrePullProgress struct {
	// Status is the new status.prePull.
	Status v1alpha1.PrePullStatus
	// Done: every node has the image, or the timeout passed; the rollout goes.
	Done bool
	// Slow maps each node without the image to its kubelet's last pull error ("" if none).
	Slow map[string]string
	// Left is how long until the timeout (0 when Done).
	Left time.Duration
}

// EvaluatePrePull judges the pre-pull st (started for st.Image onto st.Nodes nodes) from its
// Pods: done when every node's Pod has the image or timeout passed since st.StartTime.
func EvaluatePrePull(st v1alpha1.PrePullStatus, pods []corev1.Pod, now time.Time, timeout time.Duration) PrePullProgress {
	hash := ImageHash(PrePullKey(st.Image, st.Wave))
	slow := map[string]string{}
	var pulled int32
	for i := range pods {
		p := &pods[i]
		if p.Labels[v1alpha1.LabelPrePullImage] != hash || p.DeletionTimestamp != nil {
			continue
		}
		if ok, why := PodPulled(p); ok {
			pulled++
		} else {
			slow[p.Spec.NodeName] = why
		}
	}
	st.Pulled = min(pulled, st.Nodes)
	left := st.StartTime.Add(timeout).Sub(now)
	if st.Pulled < st.Nodes && left > 0 {
		return PrePullProgress{Status: st, Slow: slow, Left: left}
	}
	st.CompletionTime = &metav1.Time{Time: now}
	st.SlowNodes = nil
	if st.Pulled < st.Nodes {
		names := slices.Sorted(maps.Keys(slow))
		st.SlowNodes = names[:min(len(names), maxSlowNodes)]
	}
	return PrePullProgress{Status: st, Done: true, Slow: slow}
}

// PrePullMessage is the Reconciling message while the pre-pull runs.
func PrePullMessage(st *v1alpha1.PrePullStatus, timeout time.Duration) string {
	return fmt.Sprintf("Pulling %s onto the app's nodes before the rollout: %d of %d have it; the rollout starts when all do, or at the latest %s after %s (spec.strategy.prePullTimeout)",
		st.Image, st.Pulled, st.Nodes, timeout, st.StartTime.UTC().Format(time.RFC3339))
}

// PrePullOutcome is the event message when the pre-pull is let go: how long it took and, when
// some nodes did not have the image by then, which (with the kubelet's last pull error).
func PrePullOutcome(p PrePullProgress) string {
	st := p.Status
	took := st.CompletionTime.Sub(st.StartTime.Time).Round(time.Second)
	if st.Nodes == 0 {
		return fmt.Sprintf("No Ready node the app may run on to pull %s onto; rolling out", st.Image)
	}
	if st.Pulled >= st.Nodes {
		return fmt.Sprintf("%s is on all %d nodes after %s; rolling out", st.Image, st.Nodes, took)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is on %d of %d nodes after %s (spec.strategy.prePullTimeout); rolling out anyway. Not yet on:", st.Image, st.Pulled, st.Nodes, took)
	if len(p.Slow) == 0 {
		b.WriteString(" nodes whose pre-pull Pod is gone")
	}
	for i, n := range slices.Sorted(maps.Keys(p.Slow)) {
		if i == maxSlowNodes {
			fmt.Fprintf(&b, " and %d more", len(p.Slow)-maxSlowNodes)
			break
		}
		why := p.Slow[n]
		if why == "" {
			why = "still pulling"
		}
		fmt.Fprintf(&b, " %s (%s)", n, why)
	}
	return b.String()
}
