package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// requireReliability runs a test only in `make test-reliability` (EDGEFORGE_RELIABILITY=1),
// which CI runs after `make test`: these tests take minutes and stop the suite's operator.
func requireReliability(t *testing.T) {
	t.Helper()
	requireGate(t, "EDGEFORGE_RELIABILITY", "a reliability test: make test-reliability runs it")
}

// requireGate skips the test unless the environment variable gate is 1, saying why.
func requireGate(t *testing.T, gate, why string) {
	t.Helper()
	if os.Getenv(gate) != "1" {
		t.Skipf("%s (%s=1)", why, gate)
	}
}

// scaleKnob reads a positive scale knob of a test (kill storm, bench) from the environment.
func scaleKnob(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// The kill storm (issue 15): ImageBuilds, AppDeployments following them and plain ones converge
// while the operator is SIGKILLed every 2-4 s, 25 times. Then every object is Ready, each build
// number of each ImageBuild has exactly one Job, no child is without its live owner, each
// following app runs its build's digest, and no operator process panicked.
// Size: EDGEFORGE_STORM_BUILDS (default 80; as many following apps, twice as many plain ones),
// EDGEFORGE_STORM_KILLS (default 25).
func TestKillStorm(t *testing.T) {
	requireReliability(t)
	builds, kills := scaleKnob("EDGEFORGE_STORM_BUILDS", 80), scaleKnob("EDGEFORGE_STORM_KILLS", 25)
	ns := createNamespace(t, "e2e-storm")
	ctx := t.Context()
	for i := range builds {
		ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b%03d", i)},
			Spec: v1alpha1.ImageBuildSpec{
				Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM scratch\nCOPY a /a\n", Files: map[string]string{"a": "a"}}},
				Output: v1alpha1.BuildOutput{Image: fmt.Sprintf("registry.example.com/storm/b%03d:1", i)},
			}}
		follower := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("f%03d", i)},
			Spec: v1alpha1.AppDeploymentSpec{ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: ib.Name}}, Replicas: ptr.To[int32](1)}}
		for _, o := range []client.Object{ib, follower} {
			if err := k8sClient.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 2 * builds {
		app := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%03d", i)},
			Spec: v1alpha1.AppDeploymentSpec{Image: "registry.example.com/storm/plain:1", Replicas: ptr.To[int32](1)}}
		if err := k8sClient.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
	}

	logs := stormOperator(t, kills)
	checkStormOutcome(t, ns, builds, 3*builds, 10*time.Minute, logs)
}

// The kill storm, smaller, on the real tier (issue 15): real Kaniko builds push to the real
// registry, and the apps following them pull the digests onto real nodes, while the operator is
// SIGKILLed 8 times, 2-4 s apart. Then the same checks as TestKillStorm, and containerd on the
// real nodes runs each build's digest.
func TestRealKillStorm(t *testing.T) {
	requireRealTier(t)
	const builds, kills = 2, 8
	ns := createNamespace(t, "e2e-real-storm")
	createRegistrySecret(t, ns, "regcred", realEnv["REGISTRY_PASSWORD"])
	ctx := t.Context()
	pool := &v1alpha1.EdgeClusterReference{Name: realPool()}
	for i := range builds {
		ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b%03d", i)},
			Spec: v1alpha1.ImageBuildSpec{
				Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: webDockerfile(""), Files: map[string]string{"index.html": fmt.Sprintf("storm %d", i)}}},
				Output: v1alpha1.BuildOutput{Image: fmt.Sprintf("%s/%s/b%03d:1", realEnv["REGISTRY"], ns, i),
					PushSecretRef: &v1alpha1.LocalObjectReference{Name: "regcred"}, Insecure: true},
				RunOn:   &v1alpha1.BuildPlacement{EdgeClusterRef: pool},
				Timeout: &metav1.Duration{Duration: 5 * time.Minute},
			}}
		follower := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("f%03d", i)},
			Spec: v1alpha1.AppDeploymentSpec{ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: ib.Name}},
				Replicas: ptr.To[int32](1), Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}}, Placement: &v1alpha1.Placement{EdgeClusterRef: pool}}}
		plain := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%03d", i)},
			Spec: v1alpha1.AppDeploymentSpec{Image: realEnv["DEMOAPP_IMAGE"], Replicas: ptr.To[int32](1),
				Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}}, Placement: &v1alpha1.Placement{EdgeClusterRef: pool}}}
		for _, o := range []client.Object{ib, follower, plain} {
			if err := k8sClient.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	logs := stormOperator(t, kills)
	checkStormOutcome(t, ns, builds, 2*builds, 6*time.Minute, logs)
	for i := range builds {
		ib := &v1alpha1.ImageBuild{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("b%03d", i)}, ib); err != nil {
			t.Fatal(err)
		}
		checkAppPods(t, ns, fmt.Sprintf("f%03d", i), ib.Status.Digest)
	}
}

// stormOperator replaces the suite's operator by operators that live 2-4 s each and are
// SIGKILLed, kills times, then starts the suite's operator again. It returns every log.
func stormOperator(t *testing.T, kills int) []string {
	t.Helper()
	mainOperator.kill()
	began := time.Now()
	var logs []string
	for i := range kills {
		p, err := runOperator(fmt.Sprintf("storm-%02d", i), mainOperatorArgs())
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, p.log)
		time.Sleep(time.Duration(rand.Int64N(int64(2 * time.Second)))) // runOperator waited 2 s already
		p.kill()
	}
	t.Logf("%d SIGKILLs in %s", kills, time.Since(began).Round(time.Second))
	p, err := runOperator("operator-after-storm", mainOperatorArgs())
	if err != nil {
		t.Fatal(err)
	}
	mainOperator = p
	return append(logs, p.log)
}

// checkStormOutcome waits until the builds ImageBuilds and nApps AppDeployments of ns are Ready,
// then checks what a storm must not break: exactly one Job per build number of each ImageBuild,
// no child without its live owner, each following app (f<i>, following b<i>) on its build's
// digest, no panic in any of the logs.
func checkStormOutcome(t *testing.T, ns string, builds, nApps int, timeout time.Duration, logs []string) {
	t.Helper()
	began := time.Now()
	ctx := t.Context()
	waitFor(t, timeout, "every ImageBuild and AppDeployment Ready after the storm", func(ctx context.Context) (bool, error) {
		ibs := &v1alpha1.ImageBuildList{}
		apps := &v1alpha1.AppDeploymentList{}
		if err := k8sClient.List(ctx, ibs, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if err := k8sClient.List(ctx, apps, client.InNamespace(ns)); err != nil {
			return false, err
		}
		notReady := 0
		for i := range ibs.Items {
			if !meta.IsStatusConditionTrue(ibs.Items[i].Status.Conditions, v1alpha1.ConditionReady) {
				notReady++
			}
		}
		for i := range apps.Items {
			if !meta.IsStatusConditionTrue(apps.Items[i].Status.Conditions, v1alpha1.ConditionReady) {
				notReady++
			}
		}
		return notReady == 0 && len(ibs.Items) == builds && len(apps.Items) == nApps, nil
	})
	t.Logf("converged %s after the storm ended", time.Since(began).Round(time.Second))

	// Exactly one Job per build number of each ImageBuild.
	jobs := &batchv1.JobList{}
	if err := k8sClient.List(ctx, jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	perBuild := map[string]int{}
	for _, j := range jobs.Items {
		perBuild[j.Labels[v1alpha1.LabelImageBuild]+"#"+j.Annotations[imagebuild.AnnotationBuildNumber]]++
	}
	for k, n := range perBuild {
		if n != 1 {
			t.Errorf("build %s has %d Jobs, want exactly 1", k, n)
		}
	}
	if len(perBuild) < builds {
		t.Errorf("%d builds have a Job, want %d", len(perBuild), builds)
	}

	// No child without its live owner.
	owners := map[string]bool{} // UIDs of the edgeforge objects
	ibs := &v1alpha1.ImageBuildList{}
	apps := &v1alpha1.AppDeploymentList{}
	if err := k8sClient.List(ctx, ibs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.List(ctx, apps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	latest := map[string]string{}
	for _, ib := range ibs.Items {
		owners[string(ib.UID)] = true
		latest[ib.Name] = ib.Status.LatestImage
	}
	for _, a := range apps.Items {
		owners[string(a.UID)] = true
	}
	children := []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &batchv1.JobList{}, &corev1.ConfigMapList{}}
	for _, list := range children {
		if err := k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
			t.Fatal(err)
		}
		if err := meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			if ref := metav1.GetControllerOf(obj); ref == nil || !owners[string(ref.UID)] {
				t.Errorf("%T %s has no live edgeforge owner (%v)", obj, obj.GetName(), obj.GetOwnerReferences())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// Each following app runs its build's digest.
	for i := range builds {
		d := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("f%03d", i)}, d); err != nil {
			t.Fatal(err)
		}
		want := latest[fmt.Sprintf("b%03d", i)]
		if got := d.Spec.Template.Spec.Containers[0].Image; want == "" || got != want {
			t.Errorf("app f%03d runs %q, want its build's %q", i, got, want)
		}
	}

	// No panic in any operator's log.
	for _, path := range logs {
		for _, l := range grepLog(t, path, "panic") {
			t.Errorf("%s: %s", path, l)
		}
	}
}

// grepLog returns the lines of the log at path that contain substr.
func grepLog(t *testing.T, path, substr string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
