package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A WAN cut on the real tier (issues 13 and 15): the network of the pool's real nodes is cut
// (the host end of each node's veth goes down; kubelet, containerd and the pods keep running
// behind it) for longer than the node lifecycle controller's grace period, one node first, then
// all of them.
//   - One of two nodes cut: the pool is Degraded, not Disconnected (50% < the default 70%).
//   - All cut: the pool is Disconnected, with one Disconnected event for the site.
//   - Meanwhile the node lifecycle controller taints the nodes unreachable and evicts a control
//     pod on each node, which has the API server's default tolerations (30 s on the local
//     cluster): eviction is at work. The app's pods, which tolerate it for the pool's
//     spec.autonomy.tolerateDisconnectionFor (default 1h), are not evicted.
//   - Healed: the pool is Ready and no longer Disconnected, a Reconnected event and
//     status.lastDisconnection say how long it was away, and the app runs the very same pods: none
//     replaced, none duplicated.
func TestRealWANCut(t *testing.T) {
	requireRealTier(t)
	if realNodes < 2 {
		t.Skipf("cutting one node of several needs at least 2 real nodes, not %d", realNodes)
	}
	nodes := realNodeNames()
	ns := createNamespace(t, "e2e-real-cut")
	ctx := t.Context()
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "site"},
		Spec: v1alpha1.AppDeploymentSpec{
			Image:     realEnv["DEMOAPP_IMAGE"],
			Replicas:  ptr.To(int32(realNodes)),
			Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}, SpreadAcrossNodes: true},
		},
	}
	if err := k8sClient.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	// A control pod on each node, as any pod that edgeforge did not place: it tolerates the
	// unreachable and not-ready taints for the API server's default (30 s on the local cluster,
	// 300 s by default; the app's pods would get the same without the pool's autonomy).
	for _, n := range nodes {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "control-" + n, Labels: map[string]string{"role": "control"}},
			Spec: corev1.PodSpec{
				NodeName:   n,
				Containers: []corev1.Container{{Name: "web", Image: realEnv["DEMOAPP_IMAGE"]}},
				Tolerations: []corev1.Toleration{
					{Key: "edgeforge.io/real-node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
				},
			},
		}
		if err := k8sClient.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	waitForAppImage(t, ns, app.Name, app.Spec.Image, 3*time.Minute)
	waitFor(t, 2*time.Minute, "a control pod running on every real node", func(context.Context) (bool, error) {
		return len(runningPods(t, ns, "role", "control")) == len(nodes), nil
	})
	// The app's pods before the cut: one per node.
	before := map[types.UID]string{}
	for _, p := range runningPods(t, ns, "app.kubernetes.io/instance", app.Name) {
		before[p.UID] = p.Spec.NodeName
	}
	if len(before) != realNodes {
		t.Fatalf("%d app pods running before the cut, want %d: %v", len(before), realNodes, before)
	}

	cut := map[int]bool{}
	t.Cleanup(func() {
		for i := range cut {
			_ = clusterScript("node", "heal", fmt.Sprint(i))
		}
	})
	cutNode := func(i int) {
		if err := clusterScript("node", "cut", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		cut[i] = true
	}
	ec := &v1alpha1.EdgeCluster{}
	poolIs := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		waitFor(t, timeout, "EdgeCluster "+realPool()+" "+what, func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: realPool()}, ec); err != nil {
				return false, err
			}
			return ok(), nil
		})
	}
	// evicted waits until the control pod on node has been evicted (deletionTimestamp set; its
	// kubelet, cut off, cannot finish the deletion).
	evicted := func(node string) {
		t.Helper()
		waitFor(t, 3*time.Minute, "the control pod on "+node+" evicted", func(ctx context.Context) (bool, error) {
			p := &corev1.Pod{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "control-" + node}, p); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			return p.DeletionTimestamp != nil, nil
		})
	}
	// untouched: the app's pods are the same as before the cut, none being deleted.
	untouched := func(when string) {
		t.Helper()
		pods := &corev1.PodList{}
		if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": app.Name}); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			switch {
			case before[p.UID] == "":
				t.Errorf("%s: a new app pod %s on %q (a replacement or a duplicate)", when, p.Name, p.Spec.NodeName)
			case p.DeletionTimestamp != nil:
				t.Errorf("%s: app pod %s on %s is being deleted (evicted)", when, p.Name, p.Spec.NodeName)
			}
		}
		if len(pods.Items) != len(before) {
			t.Errorf("%s: %d app pods, want the %d from before the cut", when, len(pods.Items), len(before))
		}
	}

	// One node of two cut: Degraded, not Disconnected.
	started := time.Now()
	cutNode(realNodes)
	evicted(nodes[realNodes-1])
	poolIs("Degraded, not Disconnected, with one of its nodes cut off", 2*time.Minute, func() bool {
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionDegraded) &&
			!meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionDisconnected)
	})
	untouched("one node cut off")

	// All cut: the site is Disconnected, one event says so.
	for i := 1; i < realNodes; i++ {
		cutNode(i)
	}
	for _, n := range nodes[:realNodes-1] {
		evicted(n)
	}
	poolIs("Disconnected with every node cut off", 2*time.Minute, func() bool {
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionDisconnected) && ec.Status.DisconnectedSince != nil
	})
	wantMsg := fmt.Sprintf("%d of %d member node(s) unreachable", realNodes, realNodes)
	waitFor(t, 30*time.Second, "a Disconnected event for "+realPool(), func(ctx context.Context) (bool, error) {
		return poolEvent(ctx, v1alpha1.EdgeClusterEventDisconnected, wantMsg) != nil, nil
	})
	untouched("every node cut off")
	t.Logf("cut off for %s: control pods evicted, the app's pods kept", time.Since(started).Round(time.Second))

	// Healed: back to Ready, the same pods.
	for i := range cut {
		if err := clusterScript("node", "heal", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		delete(cut, i)
	}
	poolIs("Ready and connected again after the network came back", 3*time.Minute, func() bool {
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionReady) &&
			meta.IsStatusConditionFalse(ec.Status.Conditions, v1alpha1.ConditionDisconnected) &&
			ec.Status.ReadyNodes == int32(realNodes) && ec.Status.LastDisconnection != nil
	})
	if d := ec.Status.LastDisconnection; d.Duration == "" || !d.Until.After(d.Since.Time) || d.Since.Time.Before(started) {
		t.Errorf("status.lastDisconnection after the cut: %+v", d)
	} else {
		t.Logf("status.lastDisconnection: away %s", d.Duration)
	}
	if e := poolEvent(ctx, v1alpha1.EdgeClusterEventReconnected, "after"); e == nil {
		t.Errorf("no Reconnected event for %s", realPool())
	} else {
		t.Logf("Reconnected event: %s", e.Message)
	}
	waitForAppImage(t, ns, app.Name, app.Spec.Image, 2*time.Minute)
	waitFor(t, 2*time.Minute, "the evicted control pods gone once their kubelets are back", func(context.Context) (bool, error) {
		pods := &corev1.PodList{}
		if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"role": "control"}); err != nil {
			return false, err
		}
		return len(pods.Items) == 0, nil
	})
	untouched("after the network came back")
	if running := runningPods(t, ns, "app.kubernetes.io/instance", app.Name); len(running) != len(before) {
		t.Errorf("%d app pods running after the network came back, want %d", len(running), len(before))
	}
}

// poolEvent returns an event of the real pool with the reason whose message contains msg, or nil.
func poolEvent(ctx context.Context, reason, msg string) *corev1.Event {
	list := &corev1.EventList{}
	if err := k8sClient.List(ctx, list, client.MatchingFields{"involvedObject.name": realPool()}); err != nil {
		return nil
	}
	for i, e := range list.Items {
		if e.Reason == reason && strings.Contains(e.Message, msg) {
			return &list.Items[i]
		}
	}
	return nil
}
