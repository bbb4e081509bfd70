package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The fake edge pool: Ready nodes labelled edgeforge.io/edge-cluster=site-a on two CPU archs.
func TestEdgeNodesReady(t *testing.T) {
	var nodes corev1.NodeList
	waitFor(t, time.Minute, "3 Ready edge nodes in "+edgePool, func(ctx context.Context) (bool, error) {
		if err := k8sClient.List(ctx, &nodes, client.MatchingLabels{edgePoolLabel: edgePool}); err != nil {
			return false, err
		}
		ready := 0
		for i := range nodes.Items {
			if nodeReady(&nodes.Items[i]) {
				ready++
			}
		}
		return ready >= 3 && ready == len(nodes.Items), nil
	})

	archs := map[string]int{}
	for _, n := range nodes.Items {
		arch := n.Labels[corev1.LabelArchStable]
		if n.Status.NodeInfo.Architecture != arch {
			t.Errorf("node %s: label %s=%s but status.nodeInfo.architecture=%s",
				n.Name, corev1.LabelArchStable, arch, n.Status.NodeInfo.Architecture)
		}
		if n.Labels[corev1.LabelOSStable] != "linux" {
			t.Errorf("node %s: %s=%q, want linux", n.Name, corev1.LabelOSStable, n.Labels[corev1.LabelOSStable])
		}
		if _, ok := n.Labels["node-role.kubernetes.io/edge"]; !ok {
			t.Errorf("node %s: no node-role.kubernetes.io/edge label", n.Name)
		}
		archs[arch]++
	}
	if archs["arm64"] < 1 || archs["amd64"] < 1 {
		t.Errorf("edge pool %s has archs %v, want both arm64 and amd64", edgePool, archs)
	}
}

// applyYAMLFile itself, on built-in kinds: multi-document files, default namespace, re-apply.
func TestApplyYAMLFile(t *testing.T) {
	ns := createNamespace(t, "e2e-apply")
	path := filepath.Join(t.TempDir(), "objects.yaml")
	manifest := `
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
data: {k: v1}
---
# a comment-only document and an empty one are skipped
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
  namespace: ` + ns + `
data: {k: v2}
`
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // applying twice is a no-op, not an error
		objs := applyYAMLFileIn(t, path, ns)
		if len(objs) != 2 {
			t.Fatalf("applied %d objects, want 2", len(objs))
		}
	}
	for _, name := range []string{"first", "second"} {
		var cm corev1.ConfigMap
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
			t.Fatalf("get ConfigMap %s: %v", name, err)
		}
		if owner := cm.ManagedFields[0].Manager; owner != fieldOwner {
			t.Errorf("ConfigMap %s managed by %q, want %q", name, owner, fieldOwner)
		}
	}
}

// A Job whose pods carry the build label completes like a Kaniko build: the pod's termination
// message is an image digest.
func TestBuildJobReportsDigest(t *testing.T) {
	ns := createNamespace(t, "e2e-build")
	job := buildJob(ns, "build-ok")
	if err := k8sClient.Create(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "build Job to complete", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		if jobCondition(job, batchv1.JobFailed) {
			t.Fatalf("build Job failed: %+v", job.Status.Conditions)
		}
		return jobCondition(job, batchv1.JobComplete), nil
	})

	pod := jobPod(t, job)
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod %s phase %s, want Succeeded", pod.Name, pod.Status.Phase)
	}
	term := terminated(t, pod)
	if term.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", term.ExitCode)
	}
	if !digestPattern.MatchString(term.Message) {
		t.Errorf("termination message %q does not match %s", term.Message, digestPattern)
	}
	t.Logf("pod %s on %s reported %s", pod.Name, pod.Spec.NodeName, term.Message)
}

// A build pod given --build-arg=EDGEFORGE_SIMULATE=fail fails like a broken build.
func TestBuildJobSimulatedFailure(t *testing.T) {
	ns := createNamespace(t, "e2e-build")
	job := buildJob(ns, "build-fail", "--build-arg="+simulateBuildArg+"=fail")
	if err := k8sClient.Create(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "build Job to fail", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		if jobCondition(job, batchv1.JobComplete) {
			t.Fatalf("build Job completed, want Failed")
		}
		return jobCondition(job, batchv1.JobFailed), nil
	})

	pod := jobPod(t, job)
	if pod.Status.Phase != corev1.PodFailed {
		t.Errorf("pod %s phase %s, want Failed", pod.Name, pod.Status.Phase)
	}
	term := terminated(t, pod)
	if term.ExitCode != 1 || term.Reason != "Error" || term.Message != "error building image: simulated failure" {
		t.Errorf("terminated = exit %d, reason %q, message %q; want 1, Error, simulated failure",
			term.ExitCode, term.Reason, term.Message)
	}
}

// A Deployment pinned to arm64 runs all replicas on the arm64 edge nodes.
func TestDeploymentOnArm64EdgeNodes(t *testing.T) {
	ns := createNamespace(t, "e2e-deploy")
	labels := map[string]string{"app": "hello"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{corev1.LabelArchStable: "arm64", edgePoolLabel: edgePool},
					Containers:   []corev1.Container{{Name: "hello", Image: "registry.local/hello:1"}},
				},
			},
		},
	}
	if err := k8sClient.Create(t.Context(), dep); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "3/3 replicas available", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err
		}
		return dep.Status.ObservedGeneration == dep.Generation && dep.Status.AvailableReplicas == 3, nil
	})

	var pods corev1.PodList
	if err := k8sClient.List(t.Context(), &pods, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		var node corev1.Node
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: p.Spec.NodeName}, &node); err != nil {
			t.Fatalf("pod %s: node %q: %v", p.Name, p.Spec.NodeName, err)
		}
		if arch := node.Labels[corev1.LabelArchStable]; arch != "arm64" {
			t.Errorf("pod %s on node %s with arch %s, want arm64", p.Name, node.Name, arch)
		}
		if p.Status.PodIP == "" {
			t.Errorf("pod %s has no pod IP", p.Name)
		}
	}
}

// buildJob is a Job shaped like an ImageBuild build Job: its pods carry the build label.
func buildJob(ns, name string, extraArgs ...string) *batchv1.Job {
	podLabels := map[string]string{buildLabel: name}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					Containers: []corev1.Container{{
						Name:  "kaniko",
						Image: "gcr.io/kaniko-project/executor:latest",
						Args: append([]string{"--dockerfile=Dockerfile", "--context=dir:///workspace",
							"--destination=registry.local/e2e/app:latest", "--digest-file=/dev/termination-log"}, extraArgs...),
					}},
				},
			},
		},
	}
}

// jobPod returns the single pod of job.
func jobPod(t *testing.T, job *batchv1.Job) *corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := k8sClient.List(t.Context(), &pods, client.InNamespace(job.Namespace),
		client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("Job %s has %d pods, want 1", job.Name, len(pods.Items))
	}
	return &pods.Items[0]
}

// terminated returns the terminated state of the pod's only container.
func terminated(t *testing.T, pod *corev1.Pod) *corev1.ContainerStateTerminated {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod %s: want one terminated container, got %+v", pod.Name, pod.Status.ContainerStatuses)
	}
	return pod.Status.ContainerStatuses[0].State.Terminated
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
