package app

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestPrePullEnabledAndWanted(t *testing.T) {
	onPool := &v1alpha1.AppDeployment{Spec: v1alpha1.AppDeploymentSpec{Placement: &v1alpha1.Placement{
		EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}}}}
	offPool := &v1alpha1.AppDeployment{}
	optedOut := onPool.DeepCopy()
	optedOut.Spec.Strategy = &v1alpha1.RolloutStrategy{PrePull: ptr.To(false)}
	optedIn := offPool.DeepCopy()
	optedIn.Spec.Strategy = &v1alpha1.RolloutStrategy{PrePull: ptr.To(true)}
	rolledBack := onPool.DeepCopy()
	rolledBack.Status.LastGoodImage = good

	for _, tc := range []struct {
		name    string
		app     *v1alpha1.AppDeployment
		dec     RolloutDecision
		running *appsv1.Deployment
		want    bool
	}{
		{"edge pool, new image over a running one", onPool, RolloutDecision{Image: next}, deployment(good, 2, complete), true},
		{"edge pool, first Deployment", onPool, RolloutDecision{Image: next}, nil, false},
		{"edge pool, image already running", onPool, RolloutDecision{Image: next}, deployment(next, 2, rolling), false},
		{"edge pool, scaled to zero", onPool, RolloutDecision{Image: next}, deployment(good, 0, complete), false},
		{"edge pool, pool disconnected", onPool, RolloutDecision{Image: good, Paused: true, Waiting: next}, deployment(good, 2, complete), false},
		{"edge pool, going back to the last good image", rolledBack, RolloutDecision{Image: good, FailedImage: bad, RolledBack: true}, deployment(bad, 2, stuck), false},
		{"edge pool, prePull: false", optedOut, RolloutDecision{Image: next}, deployment(good, 2, complete), false},
		{"no pool: off by default", offPool, RolloutDecision{Image: next}, deployment(good, 2, complete), false},
		{"no pool, prePull: true", optedIn, RolloutDecision{Image: next}, deployment(good, 2, complete), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PrePullWanted(tc.app, tc.dec, tc.running); got != tc.want {
				t.Errorf("PrePullWanted = %v, want %v", got, tc.want)
			}
		})
	}
	if got := PrePullTimeout(onPool); got != 10*time.Minute {
		t.Errorf("default timeout %s, want 10m", got)
	}
	optedIn.Spec.Strategy.PrePullTimeout = &metav1.Duration{Duration: 30 * time.Second}
	if got := PrePullTimeout(optedIn); got != 30*time.Second {
		t.Errorf("timeout %s, want 30s", got)
	}
}

func node(name string, ready bool, labels map[string]string, taints ...corev1.Taint) corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
}

func TestPrePullNodes(t *testing.T) {
	pool := map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", corev1.LabelArchStable: "arm64"}
	other := map[string]string{v1alpha1.LabelEdgeClusterMember: "site-b", corev1.LabelArchStable: "arm64"}
	amd := map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", corev1.LabelArchStable: "amd64"}
	edgeTaint := corev1.Taint{Key: "edgeforge.io/edge", Value: "site-a", Effect: corev1.TaintEffectNoSchedule}
	foreign := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute}
	soft := corev1.Taint{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}
	cordoned := node("e-cordoned", true, pool)
	cordoned.Spec.Unschedulable = true
	nodes := []corev1.Node{
		node("e-2", true, pool, edgeTaint),
		node("e-1", true, pool, soft),
		node("e-down", false, pool),
		node("e-gpu", true, pool, foreign),
		node("b-1", true, other),
		node("e-amd", true, amd),
		cordoned,
	}
	spec := &corev1.PodSpec{
		NodeSelector: map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a", corev1.LabelArchStable: "arm64"},
		Tolerations:  []corev1.Toleration{{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpEqual, Value: "site-a", Effect: corev1.TaintEffectNoSchedule}},
	}
	got := PrePullNodes(nodes, spec)
	if want := []string{"e-1", "e-2"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("PrePullNodes = %v, want %v (Ready, not cordoned, selected, taints tolerated; sorted)", got, want)
	}
	// A multi-platform image: the architectures come as a required node affinity.
	spec.NodeSelector = map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"}
	spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}}}}}}
	if got, want := PrePullNodes(nodes, spec), []string{"e-amd"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("PrePullNodes with an arch affinity = %v, want %v", got, want)
	}
}

func TestPrePullPod(t *testing.T) {
	a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"}}
	spec := &corev1.PodSpec{
		Tolerations:      []corev1.Toleration{{Key: "edgeforge.io/edge", Operator: corev1.TolerationOpExists}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
	}
	p := PrePullPod(a, spec, next, 0, "e-1", 5*time.Minute)
	switch {
	case p.Spec.NodeName != "e-1" || p.Namespace != "shop":
		t.Errorf("pod on %q in %q, want e-1 in shop", p.Spec.NodeName, p.Namespace)
	case p.Spec.Containers[0].Image != next || p.Spec.Containers[0].Command[0] != prePullCommand:
		t.Errorf("container %+v", p.Spec.Containers[0])
	case p.Spec.ImagePullSecrets[0].Name != "regcred" || len(p.Spec.Tolerations) != 1:
		t.Errorf("pull secrets %v, tolerations %v: want the app's", p.Spec.ImagePullSecrets, p.Spec.Tolerations)
	case p.Labels[v1alpha1.LabelAppDeployment] != "" || p.Labels[v1alpha1.LabelName] != "":
		t.Errorf("labels %v would put the pod behind the app's Service or into its status", p.Labels)
	case p.Labels[v1alpha1.LabelPrePull] != "web" || p.Labels[v1alpha1.LabelPrePullImage] != ImageHash(next) || p.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue:
		t.Errorf("labels %v", p.Labels)
	case *p.Spec.AutomountServiceAccountToken || *p.Spec.ActiveDeadlineSeconds != 360 || p.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("token %v, deadline %v, restart %s", *p.Spec.AutomountServiceAccountToken, *p.Spec.ActiveDeadlineSeconds, p.Spec.RestartPolicy)
	case !*p.Spec.SecurityContext.RunAsNonRoot || *p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation:
		t.Errorf("not restricted: %+v", p.Spec.SecurityContext)
	case len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != "u1" || !*p.OwnerReferences[0].Controller:
		t.Errorf("owner %+v", p.OwnerReferences)
	}
	if PrePullPodName(a, next, "e-1") == PrePullPodName(a, good, "e-1") || PrePullPodName(a, next, "e-1") == PrePullPodName(a, next, "e-2") {
		t.Error("pod names must differ per image and per node")
	}
}

func prePullPod(node, image string, st corev1.ContainerState) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p-" + node, Labels: map[string]string{v1alpha1.LabelPrePullImage: ImageHash(image)}},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: PrePullContainerName, State: st}}},
	}
}

var (
	startError = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", ExitCode: 128}}
	pulling    = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	backOff    = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}
	running    = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	configErr  = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError"}}
)

func TestPodPulled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   corev1.ContainerState
		pulled  bool
		errText string
	}{
		{"created, failed to start (real kubelet)", startError, true, ""},
		{"running (kwok)", running, true, ""},
		{"created only after the pull", configErr, true, ""},
		{"still pulling", pulling, false, ""},
		{"pull failing", backOff, false, "ImagePullBackOff: Back-off pulling image"},
		{"no status yet", corev1.ContainerState{}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := prePullPod("e-1", next, tc.state)
			pulled, why := PodPulled(&p)
			if pulled != tc.pulled || why != tc.errText {
				t.Errorf("PodPulled = %v, %q; want %v, %q", pulled, why, tc.pulled, tc.errText)
			}
		})
	}
}

func TestEvaluatePrePull(t *testing.T) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	st := v1alpha1.PrePullStatus{Image: next, StartTime: metav1.Time{Time: start}, Nodes: 3}
	timeout := 10 * time.Minute
	for _, tc := range []struct {
		name       string
		pods       []corev1.Pod
		at         time.Duration
		done       bool
		pulled     int32
		slowNodes  []string
		outcomeHas string
	}{
		{name: "two of three, before the timeout: hold", at: time.Minute, pulled: 2,
			pods: []corev1.Pod{prePullPod("e-1", next, startError), prePullPod("e-2", next, running), prePullPod("e-3", next, pulling)}},
		{name: "all three: go", at: 2 * time.Minute, done: true, pulled: 3, outcomeHas: "is on all 3 nodes after 2m0s",
			pods: []corev1.Pod{prePullPod("e-1", next, startError), prePullPod("e-2", next, running), prePullPod("e-3", next, startError)}},
		{name: "timeout: go, naming the slow nodes and their errors", at: timeout, done: true, pulled: 1, slowNodes: []string{"e-2", "e-3"},
			outcomeHas: "Not yet on: e-2 (ImagePullBackOff: Back-off pulling image) e-3 (still pulling)",
			pods:       []corev1.Pod{prePullPod("e-1", next, startError), prePullPod("e-2", next, backOff), prePullPod("e-3", next, pulling)}},
		{name: "pods of another image do not count", at: time.Minute, pulled: 0,
			pods: []corev1.Pod{prePullPod("e-1", good, startError), prePullPod("e-2", good, startError), prePullPod("e-3", good, startError)}},
		{name: "pods gone, timeout", at: timeout + time.Second, done: true, pulled: 0, outcomeHas: "pre-pull Pod is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := EvaluatePrePull(st, tc.pods, start.Add(tc.at), timeout)
			if p.Done != tc.done || p.Status.Pulled != tc.pulled || strings.Join(p.Status.SlowNodes, ",") != strings.Join(tc.slowNodes, ",") {
				t.Fatalf("done %v pulled %d slow %v; want %v %d %v", p.Done, p.Status.Pulled, p.Status.SlowNodes, tc.done, tc.pulled, tc.slowNodes)
			}
			if !tc.done {
				if p.Left != timeout-tc.at || p.Status.CompletionTime != nil {
					t.Errorf("left %s, completion %v; want %s and none", p.Left, p.Status.CompletionTime, timeout-tc.at)
				}
				return
			}
			if p.Status.CompletionTime == nil || !p.Status.CompletionTime.Time.Equal(start.Add(tc.at)) {
				t.Errorf("completion %v", p.Status.CompletionTime)
			}
			if got := PrePullOutcome(p); !strings.Contains(got, tc.outcomeHas) {
				t.Errorf("outcome %q does not say %q", got, tc.outcomeHas)
			}
		})
	}
}

func TestSummarizeWhilePrePulling(t *testing.T) {
	a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo", Generation: 2}}
	a.Status.PrePull = &v1alpha1.PrePullStatus{Image: next, Nodes: 3, Pulled: 1}
	dec := HoldForPrePull(RolloutDecision{Image: next}, good)
	if dec.Image != good || dec.Waiting != next || !dec.PrePulling {
		t.Fatalf("HoldForPrePull = %+v", dec)
	}
	Summarize(a, deployment(good, 2, complete), dec, nil)
	c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReconciling)
	if c == nil || c.Reason != v1alpha1.AppDeploymentReasonPrePulling || !strings.Contains(c.Message, "1 of 3 have it") {
		t.Errorf("Reconciling = %+v, want reason PrePulling with the counts", c)
	}
	if a.Status.Image != good {
		t.Errorf("status.image %q, want the running %q", a.Status.Image, good)
	}
}
