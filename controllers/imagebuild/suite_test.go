package imagebuild

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

const (
	testExecutor   = "registry.test/kaniko/executor:v0"
	testIndexImage = "registry.test/edgeforge/edgeforge:v0"
	timeout        = 30 * time.Second
)

// ownReconcilerLabel marks ImageBuilds the suite's controller leaves alone: a test reconciles
// them with a Reconciler of its own (other settings), on the same manager's cache and API server.
const ownReconcilerLabel = "edgeforge.test/own-reconciler"

func must[T any](v *T, err error) T {
	if err != nil {
		panic(err)
	}
	return *v
}

var (
	testMgr ctrl.Manager // the suite's manager
	env     *testenv.Env
	k8s     client.Client // the test's own client: its writes are not counted
	writes  *testenv.WriteCounter
	nsSeq   atomic.Int64
)

// TestMain starts a real API server and the ImageBuild controller in a manager whose requests
// are counted (to prove there are no writes at rest) and whose caches use CacheOptions.
func TestMain(m *testing.M) {
	testenv.SetVerboseLogger()
	os.Exit(testenv.RunWithManager(m, func(e *testenv.Env, w *testenv.WriteCounter) error {
		env, k8s, writes = e, e.Client, w
		return nil
	}, func(mgr ctrl.Manager) error {
		def := settings.Defaults()
		testMgr = mgr
		// ImageBuilds labelled ownReconcilerLabel are left to a test's own Reconciler.
		shard := labels.NewSelector().Add(must(labels.NewRequirement(ownReconcilerLabel, selection.DoesNotExist, nil)))
		return SetupWithManager(mgr, settings.Options{KanikoImage: testExecutor, IndexImage: testIndexImage,
			BuildRequests: def.BuildRequests, BuildLimits: def.BuildLimits, Shard: shard})
	}, testenv.WithCache(cache.Options{ByObject: CacheOptions()})))
}

func ctxT(t *testing.T) context.Context { return testenv.Context(t, 2*timeout) }

// namespace creates a namespace of its own for a test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ib-%d-%s", nsSeq.Add(1), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))}}
	if len(ns.Name) > 63 {
		ns.Name = ns.Name[:63]
	}
	ns.Name = strings.TrimRight(ns.Name, "-")
	if err := k8s.Create(ctxT(t), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// uniquePool is a fresh name for a (cluster-scoped) EdgeCluster.
func uniquePool() string { return fmt.Sprintf("pool-%d", nsSeq.Add(1)) }

// waitFor polls cond until it returns true, failing the test after the timeout.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, cond)
}

func get(t *testing.T, ns, name string, obj client.Object) error {
	return k8s.Get(ctxT(t), types.NamespacedName{Namespace: ns, Name: name}, obj)
}

// waitForStatus waits until the ImageBuild's status, for its current generation, satisfies
// cond and returns it.
func waitForStatus(t *testing.T, ns, name, what string, cond func(*v1alpha1.ImageBuild) bool) *v1alpha1.ImageBuild {
	t.Helper()
	ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	testenv.WaitForStatus(t, k8s, ib, timeout, what, func() error {
		if !cond(ib) {
			return fmt.Errorf("status: %+v", ib.Status)
		}
		return nil
	})
	return ib
}

func waitForJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	waitFor(t, "Job "+name, func() (bool, error) { return get(t, ns, name, job) == nil, nil })
	return job
}

func waitForNoJob(t *testing.T, ns, name string) {
	t.Helper()
	waitFor(t, "Job "+name+" to be deleted", func() (bool, error) {
		err := get(t, ns, name, &batchv1.Job{})
		return client.IgnoreNotFound(err) == nil && err != nil, nil
	})
}

func condition(ib *v1alpha1.ImageBuild, typ string) *metav1.Condition {
	return meta.FindStatusCondition(ib.Status.Conditions, typ)
}

// isTrue: the condition is True for the current generation.
func isTrue(ib *v1alpha1.ImageBuild, typ string) bool {
	return testenv.CheckCondition(ib, testenv.Condition{Type: typ, Status: metav1.ConditionTrue}) == nil
}

func stalledWith(reason string) func(*v1alpha1.ImageBuild) bool {
	return func(ib *v1alpha1.ImageBuild) bool {
		return testenv.CheckCondition(ib, testenv.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason}) == nil
	}
}

func phase(p v1alpha1.BuildPhase) func(*v1alpha1.ImageBuild) bool {
	return func(ib *v1alpha1.ImageBuild) bool { return ib.Status.Phase == p }
}

// inlineBuild is a minimal valid ImageBuild with an inline Dockerfile.
func inlineBuild(ns, name string) *v1alpha1.ImageBuild {
	return &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ImageBuildSpec{
			Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{
				Dockerfile: "FROM nginx:1.27\nCOPY index.html /usr/share/nginx/html/\n",
				Files:      map[string]string{"index.html": "<h1>hi</h1>"},
			}},
			Output: v1alpha1.BuildOutput{Image: "registry.example.com/team/" + name + ":1.0"},
		},
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(ctxT(t), obj); err != nil {
		t.Fatal(err)
	}
}

func dockerConfigSecret(ns, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"registry.example.com":{"auth":"dTpw"}}}`)},
	}
}

// buildPod creates the pod a Job controller would create for a build Job, and sets its status.
func buildPod(t *testing.T, job *batchv1.Job, suffix string, status corev1.PodStatus) *corev1.Pod {
	t.Helper()
	labels := map[string]string{}
	for k, v := range job.Spec.Template.Labels {
		labels[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: job.Namespace, Name: job.Name + "-" + suffix, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true),
			}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	create(t, pod)
	pod.Status = status
	if err := k8s.Status().Update(ctxT(t), pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

func terminatedPod(phase corev1.PodPhase, exit int32, reason, msg string) corev1.PodStatus {
	now := metav1.Now()
	return corev1.PodStatus{Phase: phase, StartTime: &now, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "kaniko", Image: testExecutor, ImageID: "test://" + testExecutor,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exit, Reason: reason, Message: msg, StartedAt: now, FinishedAt: now,
		}},
	}}}
}

// succeed plays the Job controller and kubelet for a successful build: a pod that reports the
// digest in its termination message, and a Complete Job.
func succeed(t *testing.T, job *batchv1.Job, digest string) {
	t.Helper()
	buildPod(t, job, "ok", terminatedPod(corev1.PodSucceeded, 0, "Completed", digest))
	finishJob(t, job, true)
}

// fail plays them for a failed build whose pod ended with the given reason and message.
func fail(t *testing.T, job *batchv1.Job, exit int32, reason, msg string) {
	t.Helper()
	buildPod(t, job, "failed", terminatedPod(corev1.PodFailed, exit, reason, msg))
	finishJob(t, job, false)
}

func finishJob(t *testing.T, job *batchv1.Job, ok bool) {
	t.Helper()
	if err := get(t, job.Namespace, job.Name, job); err != nil {
		t.Fatal(err)
	}
	start := metav1.NewTime(time.Now().Add(-42 * time.Second))
	now := metav1.Now()
	job.Status.StartTime = &start
	if ok {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now},
		}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
	}
	if err := k8s.Status().Update(ctxT(t), job); err != nil {
		t.Fatal(err)
	}
}

// waitForEvent waits for an event with the given reason about the ImageBuild and returns its note.
func waitForEvent(t *testing.T, ns, name, reason string) string {
	t.Helper()
	var note string
	waitFor(t, "event "+reason, func() (bool, error) {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctxT(t), list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Reason == reason && e.Regarding.Name == name && e.Regarding.Kind == "ImageBuild" {
				note = e.Note
				return true, nil
			}
		}
		return false, nil
	})
	return note
}

// reconciles is how many times the controller has finished a reconcile.
func reconciles(t *testing.T) float64 {
	t.Helper()
	return testenv.Reconciles(t, "imagebuild")
}

// counter sums the values of a counter from the controller-runtime registry over the series
// whose labels include the given ones.
func counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	return testenv.CounterValue(t, name, labels)
}

// assertNoWritesAtRest pokes the ImageBuild (an annotation the controller does not act on),
// waits until the controller has reconciled it again, and checks that it wrote nothing.
func assertNoWritesAtRest(t *testing.T, ns, name string) {
	t.Helper()
	testenv.AssertNoWritesAtRest(t, writes, "imagebuild", "ImageBuild", 0, func() {
		ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := testenv.Poke(ctxT(t), k8s, ib); err != nil {
			t.Fatal(err)
		}
	})
}

// poke asks for a reconcile of ib with an annotation (what a user does after fixing a Secret,
// which edgeforge does not watch).
func poke(t *testing.T, ib *v1alpha1.ImageBuild) {
	t.Helper()
	o := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ib.Namespace, Name: ib.Name}}
	if err := testenv.Poke(ctxT(t), k8s, o); err != nil {
		t.Fatal(err)
	}
}
