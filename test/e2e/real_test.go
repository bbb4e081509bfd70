package e2e

// The real tier: every outcome here is judged by a real component — kubelet and containerd on
// the real nodes, the real Kaniko executor, the registry (distribution v3) and, through the
// Service, kube-proxy. Nothing is played by kwok.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// requireRealTier skips a test only when the run was asked for no real nodes
// (EDGEFORGE_E2E_REAL_NODES=0); `make test` always runs them.
func requireRealTier(t *testing.T) {
	t.Helper()
	if realNodes == 0 {
		t.Skip("EDGEFORGE_E2E_REAL_NODES=0: no real nodes in this run")
	}
}

func realPool() string { return realEnv["REAL_POOL"] }

// realNodeNames are the real nodes, as hack/realtier.sh names them.
func realNodeNames() []string {
	var names []string
	for i := 1; i <= realNodes; i++ {
		names = append(names, fmt.Sprintf("edge-real-%d", i))
	}
	return names
}

// Two (or more) real nodes joined through the EdgeCluster's join Secret only: their client
// certificates came from bootstrap-token CSRs, their serving certificates were approved by
// edgeforge, the pool's template is on them and the pool counts them Ready.
func TestRealNodesJoined(t *testing.T) {
	requireRealTier(t)
	ec := &v1alpha1.EdgeCluster{}
	waitFor(t, 2*time.Minute, "EdgeCluster "+realPool()+" Ready with every real node", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: realPool()}, ec); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionReady) &&
			ec.Status.ReadyNodes == int32(realNodes) && ec.Status.TotalNodes == int32(realNodes), nil
	})
	for _, n := range realNodeNames() {
		node := &corev1.Node{}
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: n}, node); err != nil {
			t.Fatal(err)
		}
		if rt := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(rt, "containerd://") {
			t.Errorf("node %s runs %q, want a real containerd", n, rt)
		}
		if node.Labels[edgePoolLabel] != realPool() || node.Labels["tier"] != "real-edge" {
			t.Errorf("node %s labels %v: want %s=%s and the template's tier=real-edge", n, node.Labels, edgePoolLabel, realPool())
		}
		if _, ok := node.Annotations[kwokAnnotation]; ok {
			t.Errorf("node %s is a kwok node", n)
		}
	}
	// The kubelets ask for serving certificates once registered; edgeforge approves them.
	var missing []string
	bootstrap := 0
	waitFor(t, time.Minute, "approved kubelet-serving CSRs of every real node", func(ctx context.Context) (bool, error) {
		csrs := &certificatesv1.CertificateSigningRequestList{}
		if err := k8sClient.List(ctx, csrs); err != nil {
			return false, err
		}
		serving := map[string]bool{}
		bootstrap = 0
		for _, c := range csrs.Items {
			approved := false
			for _, cond := range c.Status.Conditions {
				approved = approved || (cond.Type == certificatesv1.CertificateApproved && cond.Status == corev1.ConditionTrue)
			}
			switch {
			case c.Spec.SignerName == certificatesv1.KubeletServingSignerName && approved && len(c.Status.Certificate) > 0:
				serving[strings.TrimPrefix(c.Spec.Username, "system:node:")] = true
			case c.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName &&
				strings.HasPrefix(c.Spec.Username, "system:bootstrap:") && len(c.Status.Certificate) > 0:
				// Approved by edgeforge (a new node's name), not by kube-controller-manager.
				if c.Status.Conditions[0].Reason == edge.ClientApprovalReason {
					bootstrap++
				}
			}
		}
		missing = nil
		for _, n := range realNodeNames() {
			if !serving[n] {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0, nil
	})
	if bootstrap < realNodes {
		t.Errorf("%d node client CSRs from bootstrap tokens approved by edgeforge and signed, want at least %d", bootstrap, realNodes)
	}
}

// The whole chain on real parts: a Kaniko build on a real node pushes to the authenticated
// registry; the digest in status is the registry's; an AppDeployment following the build pulls
// it with the build's push Secret and serves it through kube-proxy; a new build rolls out by
// itself; a build that crashes misses its progress deadline and is rolled back.
func TestRealBuildAndRun(t *testing.T) {
	requireRealTier(t)
	ns := createNamespace(t, "e2e-real")
	createRegistrySecret(t, ns, "regcred", realEnv["REGISTRY_PASSWORD"])
	token := randomHex(6)
	repo := realEnv["REGISTRY"] + "/" + ns + "/web"

	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.ImageBuildSpec{
			Source:  v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: webDockerfile(""), Files: map[string]string{"index.html": "v1 " + token}}},
			Output:  v1alpha1.BuildOutput{Image: repo + ":1", PushSecretRef: &v1alpha1.LocalObjectReference{Name: "regcred"}, Insecure: true},
			RunOn:   &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
			Retries: 0,
			Timeout: &metav1.Duration{Duration: 5 * time.Minute},
		},
	}
	if err := k8sClient.Create(t.Context(), ib); err != nil {
		t.Fatal(err)
	}
	ib = waitForBuild(t, ns, "web", 1)
	checkPushedDigest(t, ib, repo+":1")
	checkBuildPodOnRealNode(t, ns, ib)
	// status.platform is the real node's os/arch, as its kubelet reported them.
	builtOn := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: ib.Status.LastBuild.Node}, builtOn); err != nil {
		t.Fatal(err)
	}
	if want := "linux/" + builtOn.Labels[corev1.LabelArchStable]; ib.Status.Platform != want || builtOn.Labels[corev1.LabelArchStable] == "" {
		t.Errorf("status.platform = %q, want %q (node %s)", ib.Status.Platform, want, builtOn.Name)
	}

	nodePort := int32(30000 + time.Now().UnixNano()%2000)
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.AppDeploymentSpec{
			ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}},
			Replicas:  ptr.To[int32](2),
			Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Service:   &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: &nodePort},
			Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}, SpreadAcrossNodes: true},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/index.html", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
			Strategy: &v1alpha1.RolloutStrategy{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0)),
				ProgressDeadlineSeconds: ptr.To[int32](30)},
		},
	}
	if err := k8sClient.Create(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	waitForAppImage(t, ns, "web", ib.Status.LatestImage, 3*time.Minute)
	checkAppPods(t, ns, "web", ib.Status.Digest)
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(t.Context(), client.ObjectKeyFromObject(app), d); err != nil {
		t.Fatal(err)
	}
	if arch := d.Spec.Template.Spec.NodeSelector[corev1.LabelArchStable]; "linux/"+arch != ib.Status.Platform {
		t.Errorf("the app is pinned to arch %q, the build ran on %s", arch, ib.Status.Platform)
	}
	svc := &corev1.Service{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
		t.Fatal(err)
	}
	expectServed(t, svc, nodePort, "/index.html", "v1 "+token)
	expectServed(t, svc, nodePort, "/built.txt", "built by kaniko")

	t.Run("without the push Secret the real kubelet cannot pull", func(t *testing.T) {
		// The registry really refuses anonymous pulls: the same build, usePushSecret false.
		nopull := &v1alpha1.AppDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nopull"},
			Spec: v1alpha1.AppDeploymentSpec{
				ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}, UsePushSecret: ptr.To(false)},
				Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
				Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
			},
		}
		if err := k8sClient.Create(t.Context(), nopull); err != nil {
			t.Fatal(err)
		}
		var why string
		waitFor(t, 2*time.Minute, "the kubelet to report the refused pull", func(ctx context.Context) (bool, error) {
			pods := &corev1.PodList{}
			if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "nopull"}); err != nil {
				return false, err
			}
			for _, p := range pods.Items {
				for _, cs := range p.Status.ContainerStatuses {
					if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
						why = w.Reason + ": " + w.Message
						return true, nil
					}
				}
			}
			return false, nil
		})
		if !strings.Contains(why, "401") && !strings.Contains(strings.ToLower(why), "authoriz") {
			t.Errorf("pull refused for another reason than authorization: %s", why)
		}
		// The AppDeployment says so at once, in the kubelet's words, not at the progress deadline.
		a := &v1alpha1.AppDeployment{}
		waitFor(t, time.Minute, "AppDeployment nopull Stalled with reason ImagePullFailed", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(nopull), a); err != nil {
				return false, err
			}
			c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.AppDeploymentReasonImagePullFailed &&
				meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionStalled), nil
		})
		ready := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
		if !strings.Contains(ready.Message, "401") && !strings.Contains(strings.ToLower(ready.Message), "authoriz") {
			t.Errorf("Ready's message does not carry the kubelet's reason: %s", ready.Message)
		}
		t.Logf("Ready=False ImagePullFailed: %s", ready.Message)
		if err := k8sClient.Delete(t.Context(), nopull); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the real kubelet enforces the default runAsNonRoot", func(t *testing.T) {
		// The served pods above run as the image's USER 65534 under the restricted default. The
		// same image asked to run as root (runAsUser 0, runAsNonRoot left at its default) is
		// refused by the kubelet, and the AppDeployment says so at once.
		root := &v1alpha1.AppDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "asroot"},
			Spec: v1alpha1.AppDeploymentSpec{
				ImageFrom:       &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}},
				Ports:           []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
				Placement:       &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
				SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)},
			},
		}
		if err := k8sClient.Create(t.Context(), root); err != nil {
			t.Fatal(err)
		}
		a := &v1alpha1.AppDeployment{}
		waitFor(t, 2*time.Minute, "AppDeployment asroot Stalled with reason ContainerConfigFailed", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(root), a); err != nil {
				return false, err
			}
			c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.AppDeploymentReasonContainerConfigFailed, nil
		})
		ready := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
		if !strings.Contains(ready.Message, "non-root") {
			t.Errorf("Ready's message does not carry the kubelet's reason: %s", ready.Message)
		}
		t.Logf("Ready=False ContainerConfigFailed: %s", ready.Message)
		if err := k8sClient.Delete(t.Context(), root); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a new build rolls out by itself", func(t *testing.T) {
		setInline(t, ns, "web", webDockerfile(""), "v2 "+token)
		ib2 := waitForBuild(t, ns, "web", 2)
		if ib2.Status.Digest == ib.Status.Digest {
			t.Fatalf("build 2 pushed the same digest %s", ib2.Status.Digest)
		}
		checkPushedDigest(t, ib2, repo+":1")
		waitForAppImage(t, ns, "web", ib2.Status.LatestImage, 3*time.Minute)
		checkPrePulled(t, ns, "web", ns+"/web", ib2)
		expectServed(t, svc, nodePort, "/index.html", "v2 "+token)
		ib = ib2
	})

	t.Run("a crashing image misses its deadline and is rolled back", func(t *testing.T) {
		setInline(t, ns, "web", webDockerfile(`CMD ["sh", "-c", "echo crashing on purpose; exit 3"]`), "v3 "+token)
		bad := waitForBuild(t, ns, "web", 3)
		a := &v1alpha1.AppDeployment{}
		waitFor(t, 4*time.Minute, "the rollout of the crashing build to be rolled back", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, a); err != nil {
				return false, err
			}
			return meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionRolledBack), nil
		})
		if a.Status.FailedImage != bad.Status.LatestImage {
			t.Errorf("status.failedImage %q, want the crashing build %q", a.Status.FailedImage, bad.Status.LatestImage)
		}
		// The real Deployment controller reported the missed deadline.
		if c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionRolledBack); c.Reason != v1alpha1.AppDeploymentReasonProgressDeadlineExceeded {
			t.Errorf("RolledBack reason %q, want %s", c.Reason, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded)
		}
		// What was asked for does not run: not Ready, Stalled until a human fixes the build.
		waitFor(t, 3*time.Minute, "the app to run the last good build again", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, a); err != nil {
				return false, err
			}
			return a.Status.Image == ib.Status.LatestImage && a.Status.ReadyReplicas == 2 && a.Status.UpdatedReplicas == 2, nil
		})
		if meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionReady) ||
			!meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionStalled) {
			t.Errorf("after a rollback want Ready=False and Stalled=True, got %+v", a.Status.Conditions)
		}
		checkAppPods(t, ns, "web", ib.Status.Digest)
		expectServed(t, svc, nodePort, "/index.html", "v2 "+token)
	})
}

// A build with wrong registry credentials fails with the registry's reason; a failing RUN step
// fails naming the step. Both on real Kaniko against the real registry.
func TestRealBuildFailures(t *testing.T) {
	requireRealTier(t)
	ns := createNamespace(t, "e2e-real-fail")
	createRegistrySecret(t, ns, "wrongcred", "not-the-password")
	createRegistrySecret(t, ns, "regcred", realEnv["REGISTRY_PASSWORD"])
	build := func(name, dockerfile, secret string) {
		ib := &v1alpha1.ImageBuild{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.ImageBuildSpec{
				Source:  v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: dockerfile, Files: map[string]string{"index.html": name}}},
				Output:  v1alpha1.BuildOutput{Image: realEnv["REGISTRY"] + "/" + ns + "/" + name + ":1", PushSecretRef: &v1alpha1.LocalObjectReference{Name: secret}, Insecure: true},
				RunOn:   &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
				Retries: 0,
			},
		}
		if err := k8sClient.Create(t.Context(), ib); err != nil {
			t.Fatal(err)
		}
	}
	build("badcreds", webDockerfile(""), "wrongcred")
	build("badrun", "FROM "+realEnv["BASE_IMAGE"]+"\nRUN echo step one\nRUN exit 7\n", "regcred")

	for name, want := range map[string][]string{
		"badcreds": {"UNAUTHORIZED"},
		"badrun":   {"RUN exit 7", "exit status 7"},
	} {
		ib := waitForBuildPhase(t, ns, name, v1alpha1.BuildPhaseFailed, 5*time.Minute)
		msg := ib.Status.LastBuild.Message
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("ImageBuild %s: lastBuild.message %q does not contain %q", name, msg, w)
			}
		}
		if ib.Status.LatestImage != "" {
			t.Errorf("ImageBuild %s failed but has latestImage %q", name, ib.Status.LatestImage)
		}
	}
}

// A git source, served over git's smart HTTP on the bridge address, built by Kaniko at a
// revision and context directory.
func TestRealGitBuild(t *testing.T) {
	requireRealTier(t)
	ns := createNamespace(t, "e2e-real-git")
	createRegistrySecret(t, ns, "regcred", realEnv["REGISTRY_PASSWORD"])
	repoName := ns + ".git"
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "app", "Dockerfile"), "FROM "+realEnv["BASE_IMAGE"]+"\nCOPY hello.txt /hello.txt\n")
	writeFile(t, filepath.Join(work, "app", "hello.txt"), "from git "+ns)
	run(t, work, "git", "init", "-q", "-b", "release")
	run(t, work, "git", "add", ".")
	run(t, work, "git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "app")
	run(t, work, "git", "clone", "-q", "--bare", work, filepath.Join(realEnv["GIT_DIR_ROOT"], repoName))
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(realEnv["GIT_DIR_ROOT"], repoName)) })

	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec: v1alpha1.ImageBuildSpec{
			Source: v1alpha1.BuildSource{Git: &v1alpha1.GitSource{URL: realEnv["GIT_BASE_URL"] + "/" + repoName, Revision: "release", ContextDir: "app"}},
			Output: v1alpha1.BuildOutput{Image: realEnv["REGISTRY"] + "/" + ns + "/api:1", PushSecretRef: &v1alpha1.LocalObjectReference{Name: "regcred"}, Insecure: true},
			RunOn:  &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
		},
	}
	if err := k8sClient.Create(t.Context(), ib); err != nil {
		t.Fatal(err)
	}
	ib = waitForBuild(t, ns, "api", 1)
	checkPushedDigest(t, ib, realEnv["REGISTRY"]+"/"+ns+"/api:1")
}

// A real node whose kubelet stops is marked NotReady by the real node lifecycle controller; the
// pool turns Degraded and not Ready after its grace period, and is Ready again once the
// kubelet is back.
func TestRealNodeLoss(t *testing.T) {
	requireRealTier(t)
	lost := realNodeNames()[len(realNodeNames())-1]
	if err := clusterScript("node", "stop", fmt.Sprint(realNodes)); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = clusterScript("node", "start", fmt.Sprint(realNodes))
		}
	})
	ec := &v1alpha1.EdgeCluster{}
	poolIs := func(what string, timeout time.Duration, ok func() bool) {
		waitFor(t, timeout, what, func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: realPool()}, ec); err != nil {
				return false, err
			}
			return ok(), nil
		})
	}
	poolIs("EdgeCluster "+realPool()+" Degraded after "+lost+" stopped", 3*time.Minute, func() bool {
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionDegraded) &&
			meta.IsStatusConditionFalse(ec.Status.Conditions, v1alpha1.ConditionReady)
	})
	node := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: lost}, node); err != nil {
		t.Fatal(err)
	}
	if nodeReady(node) {
		t.Errorf("node %s is still Ready with its kubelet stopped", lost)
	}
	if err := clusterScript("node", "start", fmt.Sprint(realNodes)); err != nil {
		t.Fatal(err)
	}
	restarted = true
	poolIs("EdgeCluster "+realPool()+" Ready again after "+lost+"'s kubelet restarted", 3*time.Minute, func() bool {
		return meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionReady) && ec.Status.ReadyNodes == int32(realNodes) &&
			!meta.IsStatusConditionTrue(ec.Status.Conditions, v1alpha1.ConditionDegraded)
	})
}

// ---------------------------------------------------------------- helpers

func webDockerfile(cmd string) string {
	if cmd == "" {
		cmd = `CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]`
	}
	return "FROM " + realEnv["BASE_IMAGE"] + "\n" +
		"COPY index.html /www/index.html\n" +
		"RUN echo \"built by kaniko\" > /www/built.txt\n" +
		// A numeric non-root user: app pods run with runAsNonRoot by default.
		"USER 65534\n" +
		cmd + "\n"
}

// createRegistrySecret makes a kubernetes.io/dockerconfigjson Secret for REGISTRY.
func createRegistrySecret(t *testing.T, ns, name, password string) {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{realEnv["REGISTRY"]: map[string]string{
		"username": realEnv["REGISTRY_USER"], "password": password}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	if err := k8sClient.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

func setInline(t *testing.T, ns, name, dockerfile, index string) {
	t.Helper()
	ib := &v1alpha1.ImageBuild{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, ib); err != nil {
		t.Fatal(err)
	}
	ib.Spec.Source.Inline = &v1alpha1.InlineSource{Dockerfile: dockerfile, Files: map[string]string{"index.html": index}}
	if err := k8sClient.Update(t.Context(), ib); err != nil {
		t.Fatal(err)
	}
}

// waitForBuild waits until build number n of the ImageBuild succeeded; a failure ends the test
// with the build's own words.
func waitForBuild(t *testing.T, ns, name string, n int) *v1alpha1.ImageBuild {
	t.Helper()
	ib := &v1alpha1.ImageBuild{}
	job := fmt.Sprintf("%s-%d", name, n)
	waitFor(t, 5*time.Minute, "build "+job+" to succeed", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ib); err != nil {
			return false, err
		}
		lb := ib.Status.LastBuild
		if lb == nil || lb.Name != job || ib.Status.ObservedGeneration != ib.Generation {
			return false, nil
		}
		if ib.Status.Phase == v1alpha1.BuildPhaseFailed {
			return false, fmt.Errorf("build %s failed: %s: %s", job, lb.Reason, lb.Message)
		}
		return ib.Status.Phase == v1alpha1.BuildPhaseSucceeded, nil
	})
	return ib
}

func waitForBuildPhase(t *testing.T, ns, name string, phase v1alpha1.BuildPhase, timeout time.Duration) *v1alpha1.ImageBuild {
	t.Helper()
	ib := &v1alpha1.ImageBuild{}
	waitFor(t, timeout, "ImageBuild "+name+" phase "+string(phase), func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ib); err != nil {
			return false, err
		}
		return ib.Status.Phase == phase && ib.Status.LastBuild != nil, nil
	})
	return ib
}

// checkPushedDigest: status.digest is what the registry serves for the tag.
func checkPushedDigest(t *testing.T, ib *v1alpha1.ImageBuild, tag string) {
	t.Helper()
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithAuth(authn.FromConfig(authn.AuthConfig{
		Username: realEnv["REGISTRY_USER"], Password: realEnv["REGISTRY_PASSWORD"]})))
	if err != nil {
		t.Fatalf("registry HEAD %s: %v", tag, err)
	}
	if ib.Status.Digest != desc.Digest.String() {
		t.Errorf("status.digest %s, but the registry serves %s for %s", ib.Status.Digest, desc.Digest, tag)
	}
	if want := ref.Context().String() + "@" + desc.Digest.String(); ib.Status.LatestImage != want {
		t.Errorf("status.latestImage %q, want %q", ib.Status.LatestImage, want)
	}
}

// checkBuildPodOnRealNode: the build pod ran on a real node of the pool, and its log (read
// through the API server from the real kubelet, over the serving certificate edgeforge
// approved) shows Kaniko pushing.
func checkBuildPodOnRealNode(t *testing.T, ns string, ib *v1alpha1.ImageBuild) {
	t.Helper()
	job := ib.Status.LastBuild.Name
	pods := &corev1.PodList{}
	if err := k8sClient.List(t.Context(), pods, client.InNamespace(ns), client.MatchingLabels{"job-name": job}); err != nil || len(pods.Items) == 0 {
		t.Fatalf("no pod of build Job %s (%v)", job, err)
	}
	pod := pods.Items[0]
	assertOnRealNode(t, pod.Spec.NodeName)
	if ib.Status.LastBuild.Node != pod.Spec.NodeName {
		t.Errorf("status.lastBuild.node %q, but the build pod ran on %q", ib.Status.LastBuild.Node, pod.Spec.NodeName)
	}
	cs, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := cs.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).Stream(t.Context())
	if err != nil {
		t.Fatalf("logs of build pod %s (API server -> kubelet on %s): %v", pod.Name, pod.Spec.NodeName, err)
	}
	defer stream.Close()
	logs, _ := io.ReadAll(stream)
	if !strings.Contains(string(logs), "Pushed") {
		t.Errorf("build pod log does not show a push:\n%s", logs)
	}
}

func assertOnRealNode(t *testing.T, nodeName string) {
	t.Helper()
	for _, n := range realNodeNames() {
		if n == nodeName {
			return
		}
	}
	t.Errorf("pod ran on %q, not on a real node of %s", nodeName, realPool())
}

func waitForAppImage(t *testing.T, ns, name, image string, timeout time.Duration) {
	t.Helper()
	a := &v1alpha1.AppDeployment{}
	waitFor(t, timeout, "AppDeployment "+name+" Ready running "+image, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
			return false, err
		}
		return a.Status.Image == image && a.Status.ObservedGeneration == a.Generation &&
			meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionReady), nil
	})
}

// checkAppPods: every pod of the app runs on a real node, and containerd pulled the build's digest.
func checkAppPods(t *testing.T, ns, name, digest string) {
	t.Helper()
	pods := runningPods(t, ns, "app.kubernetes.io/instance", name)
	if len(pods) == 0 {
		t.Fatal("no running pods")
	}
	for _, p := range pods {
		assertOnRealNode(t, p.Spec.NodeName)
		if len(p.Status.ContainerStatuses) == 0 || !strings.HasSuffix(p.Status.ContainerStatuses[0].ImageID, digest) {
			t.Errorf("pod %s runs image ID %v, want digest %s", p.Name, p.Status.ContainerStatuses, digest)
		}
	}
}

// checkPrePulled: the app (on the real pool, so spec.strategy.prePull defaults to true) had the
// new build pulled onto every real node before its Deployment changed. The registry's access log
// has a request for the build's manifest from each node's own address (the pre-pull Pods), the
// kubelet of every pod of the new image found it already there, and status.prePull counts all
// the nodes.
func checkPrePulled(t *testing.T, ns, name, repoPath string, ib *v1alpha1.ImageBuild) {
	t.Helper()
	a := &v1alpha1.AppDeployment{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
		t.Fatal(err)
	}
	nodes := int32(len(realNodeNames()))
	if st := a.Status.PrePull; st == nil || st.Image != ib.Status.LatestImage || st.CompletionTime == nil || st.Nodes != nodes || st.Pulled != nodes {
		t.Errorf("status.prePull = %+v, want %s pulled onto all %d real nodes", st, ib.Status.LatestImage, nodes)
	}
	log, err := os.ReadFile(realEnv["REGISTRY_ACCESS_LOG"])
	if err != nil {
		t.Fatal(err)
	}
	manifest := "/v2/" + repoPath + "/manifests/" + ib.Status.Digest
	for _, ip := range strings.Fields(realEnv["REAL_NODE_IPS"]) {
		found := false
		for line := range strings.Lines(string(log)) {
			found = found || (strings.HasPrefix(line, ip+" ") && strings.Contains(line, manifest))
		}
		if !found {
			t.Errorf("the registry's access log has no request for %s from node address %s", manifest, ip)
		}
	}
	var pods []corev1.Pod
	for _, p := range runningPods(t, ns, "app.kubernetes.io/instance", name) {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == ib.Status.LatestImage {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		t.Fatal("no running pod of the new image")
	}
	waitFor(t, time.Minute, "the kubelet's Pulled event of every new pod", func(ctx context.Context) (bool, error) {
		events := &corev1.EventList{}
		if err := k8sClient.List(ctx, events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, p := range pods {
			present := false
			for _, e := range events.Items {
				if e.InvolvedObject.UID == p.UID && e.Reason == "Pulled" {
					if !strings.Contains(e.Message, "already present on machine") {
						return false, fmt.Errorf("pod %s on %s pulled the image itself: %s", p.Name, p.Spec.NodeName, e.Message)
					}
					present = true
				}
			}
			if !present {
				return false, nil
			}
		}
		return true, nil
	})
}

// expectServed polls until the app answers want, through the NodePort on every real node (from
// the host) and through the ClusterIP (kube-proxy, from inside a node's network namespace).
func expectServed(t *testing.T, svc *corev1.Service, nodePort int32, path, want string) {
	t.Helper()
	var urls []string
	for _, ip := range strings.Fields(realEnv["REAL_NODE_IPS"]) {
		urls = append(urls, fmt.Sprintf("http://%s:%d%s", ip, nodePort, path))
	}
	clusterURL := fmt.Sprintf("http://%s:%d%s", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port, path)
	netns := strings.Fields(realEnv["REAL_NODE_NETNS"])
	waitFor(t, 2*time.Minute, fmt.Sprintf("%q served at %v and %s", want, urls, clusterURL), func(ctx context.Context) (bool, error) {
		for _, u := range urls {
			if got := httpBody(ctx, u); got != want {
				return false, nil
			}
		}
		// Several tries, so both endpoints behind the ClusterIP answer.
		for range 4 {
			out, err := exec.CommandContext(ctx, "ip", "netns", "exec", netns[0], "curl", "-sS", "--max-time", "3", clusterURL).CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != want {
				return false, nil
			}
		}
		return true, nil
	})
}

func httpBody(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// A MonitoringStack whose Prometheus the real prometheus-operator runs on a real node (Debian's
// Prometheus and config-reloader images built here): it scrapes node-exporter on every real
// node and the metrics endpoint of an AppDeployment, loads the built-in rules, and a built-in
// dashboard query returns data. Grafana cannot run here (no image, AGPL code); its checks stay
// structural (docs/monitoringstack.md).
func TestRealMonitoring(t *testing.T) {
	requireRealTier(t)
	ns := createNamespace(t, "e2e-real-mon")
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo"},
		Spec: v1alpha1.AppDeploymentSpec{
			Image:     realEnv["DEMOAPP_IMAGE"],
			Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Metrics:   &v1alpha1.AppMetrics{Port: "http", Path: "/metrics"},
			Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
		},
	}
	// A Cluster-scoped stack (node-exporter runs on every node) lives in a namespace of the
	// operator's --cluster-monitoring-namespaces whose Pod Security level admits node-exporter
	// (the operator's own is restricted); it scrapes the app's monitor in ns and the operator's
	// in the operator's namespace.
	monNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterMonitoringNamespace,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}}}
	if err := k8sClient.Create(t.Context(), monNS); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	stack := &v1alpha1.MonitoringStack{
		ObjectMeta: metav1.ObjectMeta{Namespace: clusterMonitoringNamespace, Name: "mon"},
		Spec: v1alpha1.MonitoringStackSpec{
			Scope: v1alpha1.MonitoringScopeCluster,
			Prometheus: &v1alpha1.PrometheusSpec{
				ScrapeInterval: "5s",
				NodeSelector:   map[string]string{edgePoolLabel: realPool()},
				Tolerations:    []corev1.Toleration{{Key: "edgeforge.io/real-node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			},
			Grafana:          &v1alpha1.GrafanaSpec{Enabled: false},
			KubeStateMetrics: &v1alpha1.Toggle{Enabled: false},
			NodeExporter:     &v1alpha1.Toggle{Enabled: true},
		},
	}
	// A tenant's ServiceMonitor asking Prometheus to send the token file of its own pod to the
	// tenant's endpoint (bearerTokenFile): the stack's Prometheus denies file access to monitors
	// (arbitraryFSAccessThroughSMs.deny), so prometheus-operator leaves it out of the scrape
	// config and no such target ever appears.
	steal := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
		"metadata": map[string]any{"namespace": ns, "name": "steal"},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/instance": "demo"}},
			"endpoints": []any{map[string]any{"port": "http", "path": "/steal", "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}},
		},
	}}
	for _, o := range []client.Object{steal, app, stack} {
		if err := k8sClient.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	// The stack's node-exporter holds port 9100 on every node: let it go before the next test.
	t.Cleanup(func() {
		// (t.Context is done by now.)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_ = k8sClient.Delete(ctx, stack)
		err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
			pods := &corev1.PodList{}
			err := k8sClient.List(ctx, pods, client.InNamespace(clusterMonitoringNamespace), client.MatchingLabels{"app.kubernetes.io/name": "node-exporter"})
			return err == nil && len(pods.Items) == 0, nil
		})
		if err != nil {
			t.Errorf("node-exporter of %s still there 2m after the stack was deleted: %v", clusterMonitoringNamespace, err)
		}
	})
	// The operator runs on this host, not in a pod: its metrics Service (config/default) gets an
	// EndpointSlice with the host's address, as the endpointslice controller would give it a pod's.
	operatorEndpoints(t)
	lastReady := ""
	waitFor(t, 4*time.Minute, "MonitoringStack mon Ready", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(stack), stack); err != nil {
			return false, err
		}
		if c := meta.FindStatusCondition(stack.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Message != lastReady {
			lastReady = c.Message
			t.Logf("MonitoringStack mon Ready=%s %s: %s", c.Status, c.Reason, c.Message)
		}
		return meta.IsStatusConditionTrue(stack.Status.Conditions, v1alpha1.ConditionReady), nil
	})
	// Nothing ignored silently: the stack lists the app's monitor and the operator's among those
	// it selects, and the app says which Prometheus selects its monitor.
	listed := map[string]bool{}
	for _, m := range stack.Status.Prometheus.Monitors {
		listed[m.Kind+" "+m.Namespace+"/"+m.Name] = true
	}
	for _, want := range []string{"ServiceMonitor " + ns + "/demo", "ServiceMonitor " + operatorNamespace + "/edgeforge-controller-manager-metrics-monitor"} {
		if !listed[want] {
			t.Errorf("status.prometheus.monitors %v lacks %s", stack.Status.Prometheus.Monitors, want)
		}
	}
	waitFor(t, time.Minute, "the app's ServiceMonitorReady to name the stack's Prometheus", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionServiceMonitorReady)
		return c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "Prometheus "+clusterMonitoringNamespace+"/mon"), nil
	})
	promPods := runningPods(t, clusterMonitoringNamespace, "app.kubernetes.io/name", "prometheus")
	if len(promPods) == 0 {
		t.Fatal("no running Prometheus pod")
	}
	assertOnRealNode(t, promPods[0].Spec.NodeName)
	prom := "http://" + promPods[0].Status.PodIP + ":9090"
	appPods := runningPods(t, ns, "app.kubernetes.io/instance", "demo")
	if len(appPods) == 0 {
		t.Fatal("no running demo app pod")
	}

	var want []string
	for _, ip := range strings.Fields(realEnv["REAL_NODE_IPS"]) {
		want = append(want, ip+":9100/metrics")
	}
	want = append(want, appPods[0].Status.PodIP+":8080/metrics", operatorMetricsAddr()+"/metrics")
	var health map[string]string
	lastHealth := ""
	waitFor(t, 3*time.Minute, fmt.Sprintf("Prometheus targets %v up", want), func(ctx context.Context) (bool, error) {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := getJSON(ctx, prom+"/api/v1/targets", &targets); err != nil {
			return false, nil
		}
		health = map[string]string{}
		for _, tg := range targets.Data.ActiveTargets {
			for _, w := range want {
				if strings.Contains(tg.ScrapeURL, w) {
					health[w] = tg.Health + " " + tg.LastError
				}
			}
		}
		if seen := fmt.Sprint(health); seen != lastHealth {
			lastHealth = seen
			t.Logf("targets: %s", seen)
		}
		for _, w := range want {
			if !strings.HasPrefix(health[w], "up") {
				return false, nil
			}
		}
		for _, tg := range targets.Data.ActiveTargets {
			if strings.Contains(tg.ScrapeURL, "/steal") {
				t.Fatalf("Prometheus scrapes the tenant's bearerTokenFile monitor: %s", tg.ScrapeURL)
			}
		}
		return true, nil
	})

	var rules struct {
		Data struct {
			Groups []struct {
				Name  string            `json:"name"`
				Rules []json.RawMessage `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(t.Context(), prom+"/api/v1/rules", &rules); err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rules.Data.Groups {
		loaded += len(g.Rules)
	}
	if loaded == 0 {
		t.Errorf("Prometheus loaded no rules (groups %+v)", rules.Data.Groups)
	}

	// Every panel of the built-in nodes dashboard shows data for the real nodes, and every panel
	// of the edge-pools dashboard shows the operator's own metrics.
	for _, expr := range append(dashboardQueries(t, "nodes.json"), dashboardQueries(t, "edge-pools.json")...) {
		waitFor(t, 2*time.Minute, "nodes dashboard query "+expr+" to return data", func(ctx context.Context) (bool, error) {
			var res struct {
				Data struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			if err := getJSON(ctx, prom+"/api/v1/query?query="+url.QueryEscape(expr), &res); err != nil {
				return false, nil
			}
			return len(res.Data.Result) > 0, nil
		})
	}
}

// dashboardQueries are the queries of a built-in dashboard with its Grafana variables filled in
// as Grafana does for "All": ranges of 1m/5m, every instance or pool.
func dashboardQueries(t *testing.T, dashboard string) []string {
	t.Helper()
	queries, err := monitoring.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`\$[a-z_]+`)
	var out []string
	for _, q := range queries {
		if q.Dashboard != dashboard {
			continue
		}
		expr := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m").Replace(q.Expr)
		out = append(out, vars.ReplaceAllString(expr, ".+"))
	}
	if len(out) == 0 {
		t.Fatalf("the built-in dashboard %s has no queries", dashboard)
	}
	return out
}

func getJSON(ctx context.Context, u string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// operatorEndpoints points the operator's metrics Service at the host-run operator: an
// EndpointSlice of the Service with the host's bridge address and the metrics port.
func operatorEndpoints(t *testing.T) {
	t.Helper()
	host, _, _ := strings.Cut(operatorMetricsAddr(), ":")
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "edgeforge-operator-on-host",
			Labels: map[string]string{discoveryv1.LabelServiceName: "edgeforge-controller-manager-metrics-service",
				discoveryv1.LabelManagedBy: "e2e"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https-metrics"), Port: ptr.To[int32](operatorMetricsPort), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if err := k8sClient.Create(t.Context(), slice); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), slice) })
}
