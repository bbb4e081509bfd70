package appdeployment

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
)

// A new image for an app on an edge pool is first pulled onto the pool's Ready nodes (one Pod
// each, with the app's tolerations and pull Secrets); the Deployment keeps the old image until
// every node has the new one, then rolls out, and the pre-pull Pods go. A node that has not
// pulled by spec.strategy.prePullTimeout does not hold the rollout longer: status.prePull and a
// Warning event name it. (No kubelet here: the test writes what one would report.)
func TestPrePullBeforeTheSwitch(t *testing.T) {
	ns := namespace(t)
	pool := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "pp-" + ns},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}}}},
	}
	if err := k8s.Create(ctx(t), pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), pool) })
	member := map[string]string{v1alpha1.LabelEdgeClusterMember: pool.Name}
	ready := []string{ns + "-a", ns + "-b"}
	createNode(t, ready[0], member, true)
	createNode(t, ready[1], member, true)
	createNode(t, ns+"-down", member, false)                                                  // not Ready: nothing to pull onto
	createNode(t, ns+"-other", map[string]string{v1alpha1.LabelEdgeClusterMember: "x"}, true) // another pool

	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = "registry.example.com/web:1"
		a.Spec.ImagePullSecrets = []v1alpha1.LocalObjectReference{{Name: "regcred"}}
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool.Name}}
		a.Spec.Strategy = &v1alpha1.RolloutStrategy{PrePullTimeout: &metav1.Duration{Duration: time.Hour}}
	})
	key := client.ObjectKeyFromObject(a)
	// The first Deployment is not held: there is nothing older to keep serving.
	deployment(t, key, "the first image", runsImage("registry.example.com/web:1"))
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)

	const v2 = "registry.example.com/web:2"
	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = v2 })
	pods := prePullPods(t, ns, v2, ready)
	for _, p := range pods {
		if p.Spec.ImagePullSecrets[0].Name != "regcred" || p.Spec.Tolerations[0].Key != "edgeforge.io/edge" || !metav1.IsControlledBy(&p, a) {
			t.Errorf("pre-pull pod %s: pull secrets %v, tolerations %v, owners %v", p.Name, p.Spec.ImagePullSecrets, p.Spec.Tolerations, p.OwnerReferences)
		}
	}
	got := waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonPrePulling)
	if st := got.Status.PrePull; st == nil || st.Image != v2 || st.Nodes != 2 || st.CompletionTime != nil {
		t.Fatalf("status.prePull = %+v, want v2 onto 2 nodes, running", st)
	}
	hasEvent(t, key, "PrePullStarted", "onto 2 nodes")

	// One node has it: the Deployment still runs the old image.
	setPulled(t, &pods[0])
	eventually(t, "status.prePull.pulled 1", func() error {
		if st := getApp(t, key).Status.PrePull; st.Pulled != 1 {
			return fmt.Errorf("pulled %d", st.Pulled)
		}
		return nil
	})
	if d := deployment(t, key, "", func(*appsv1.Deployment) error { return nil }); app.RunningImage(d) != "registry.example.com/web:1" {
		t.Fatalf("the Deployment switched to %s before every node had it", app.RunningImage(d))
	}

	// Both have it: the rollout goes, the pre-pull Pods go.
	setPulled(t, &pods[1])
	deployment(t, key, "the new image once pulled everywhere", runsImage(v2))
	hasEvent(t, key, "PrePulled", "is on all 2 nodes")
	if st := getApp(t, key).Status.PrePull; st.CompletionTime == nil || st.Pulled != 2 || len(st.SlowNodes) != 0 {
		t.Errorf("status.prePull = %+v, want complete, 2 pulled, no slow nodes", st)
	}
	noPrePullPods(t, ns)
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)

	// A node that never pulls holds the rollout no longer than prePullTimeout.
	const v3 = "registry.example.com/web:3"
	updateApp(t, key, func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = v3
		a.Spec.Strategy.PrePullTimeout = &metav1.Duration{Duration: 3 * time.Second}
	})
	pods = prePullPods(t, ns, v3, ready)
	setPulled(t, &pods[0])
	deployment(t, key, "the new image after the timeout", runsImage(v3))
	hasEvent(t, key, "PrePullIncomplete", "Not yet on: "+ready[1]+" (still pulling)")
	if st := getApp(t, key).Status.PrePull; st.Image != v3 || st.Pulled != 1 || !slices.Equal(st.SlowNodes, ready[1:]) {
		t.Errorf("status.prePull = %+v, want v3, 1 pulled, slow %v", st, ready[1:])
	}
	noPrePullPods(t, ns)
}

// With spec.strategy.prePull false, a new image goes straight into the Deployment.
func TestPrePullOff(t *testing.T) {
	ns := namespace(t)
	pool := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: "ppoff-" + ns}}
	if err := k8s.Create(ctx(t), pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), pool) })
	createNode(t, ns+"-a", map[string]string{v1alpha1.LabelEdgeClusterMember: pool.Name}, true)
	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = "registry.example.com/web:1"
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool.Name}}
		a.Spec.Strategy = &v1alpha1.RolloutStrategy{PrePull: new(bool)}
	})
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "the first image", runsImage("registry.example.com/web:1"))
	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = "registry.example.com/web:2" })
	deployment(t, key, "the new image at once", runsImage("registry.example.com/web:2"))
	noPrePullPods(t, ns)
	if st := getApp(t, key).Status.PrePull; st != nil {
		t.Errorf("status.prePull = %+v with prePull off", st)
	}
}

// createNode creates a Node (deleted after the test) with the labels, Ready or not.
func createNode(t *testing.T, name string, labels map[string]string, ready bool) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(ctx(t), n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), n) })
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if err := k8s.Status().Update(ctx(t), n); err != nil {
		t.Fatal(err)
	}
	if ready {
		// The API server taints a new node not-ready (TaintNodesByCondition); kube-controller-
		// manager, which removes the taint once the node is Ready, does not run here.
		n.Spec.Taints = nil
		if err := k8s.Update(ctx(t), n); err != nil {
			t.Fatal(err)
		}
	}
}

// prePullPods waits for the pre-pull Pods of image, one on each of nodes (in that order).
func prePullPods(t *testing.T, ns, image string, nodes []string) []corev1.Pod {
	t.Helper()
	return wavePrePullPods(t, ns, image, 0, nodes)
}

// wavePrePullPods waits for the pre-pull Pods of image for a wave of spec.placement.rollout (0:
// the single Deployment), one on each of nodes (in that order).
func wavePrePullPods(t *testing.T, ns, image string, wave int32, nodes []string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	eventually(t, fmt.Sprintf("pre-pull pods of %s (wave %d) on %s", image, wave, strings.Join(nodes, ", ")), func() error {
		list := &corev1.PodList{}
		if err := k8s.List(ctx(t), list, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelPrePullImage: app.ImageHash(app.PrePullKey(image, wave))}); err != nil {
			return err
		}
		out = out[:0]
		for _, n := range nodes {
			i := slices.IndexFunc(list.Items, func(p corev1.Pod) bool { return p.Spec.NodeName == n })
			if i < 0 {
				return fmt.Errorf("none on %s; %d pods", n, len(list.Items))
			}
			if img := list.Items[i].Spec.Containers[0].Image; img != image {
				return fmt.Errorf("pod on %s pulls %s", n, img)
			}
			out = append(out, list.Items[i])
		}
		if len(list.Items) != len(nodes) {
			return fmt.Errorf("%d pods, want %d (one per Ready node of the pool)", len(list.Items), len(nodes))
		}
		return nil
	})
	return out
}

// setPulled writes what a kubelet reports once it pulled the pod's image: the container could
// not start (its command exists in no image).
func setPulled(t *testing.T, p *corev1.Pod) {
	t.Helper()
	eventually(t, "pod "+p.Name+" pulled", func() error {
		if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(p), p); err != nil {
			return err
		}
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: app.PrePullContainerName, Image: p.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", ExitCode: 128}}}}
		return k8s.Status().Update(ctx(t), p)
	})
}

// noPrePullPods waits until the namespace has no pre-pull Pod left (or only terminating ones).
func noPrePullPods(t *testing.T, ns string) {
	t.Helper()
	eventually(t, "no pre-pull pods", func() error {
		list := &corev1.PodList{}
		if err := k8s.List(ctx(t), list, client.InNamespace(ns), client.HasLabels{v1alpha1.LabelPrePull}); err != nil {
			return err
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				return fmt.Errorf("pod %s is left", p.Name)
			}
		}
		return nil
	})
}
