package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// benchWatch is the bench's own view of the cluster: informers that stamp, as they arrive, the
// changes the bench times (a node's Ready, a pool's readyNodes, a build Job completing, a
// Deployment's image), and a cache the bench counts converged objects in.
type benchWatch struct {
	cache.Cache
	mu           sync.Mutex
	nodeReady    map[string][]stamp[bool]        // node -> each change of its Ready condition
	poolReady    map[string][]stamp[int32]       // pool -> each status.readyNodes seen
	jobsDone     map[string][]time.Time          // namespace/imagebuild -> each build Job seen Complete
	jobSeen      map[string]bool                 // job UIDs seen Complete
	deployImages map[string]map[string]time.Time // namespace/name -> image -> first seen
	buildImages  map[string]map[string]time.Time // namespace/imagebuild -> status.latestImage -> first seen
	// done stamps when each Deployment was first seen observed by the Deployment controller, and
	// each AppDeployment Ready, at its generation; the counts and last stamps per namespace are
	// kept as they arrive, so P1's wait costs the bench nothing while thousands converge (listing
	// and copying them every poll took most of a core from the control plane it measures).
	done   map[doneKey]bool // objects stamped
	doneIn map[doneNS]*doneCount
}

// doneKey is an object of a kind ("Deployment", "AppDeployment") the bench waits for.
type doneKey struct{ kind, namespace, name string }

type doneNS struct{ kind, namespace string }

type doneCount struct {
	n    int
	last time.Time
}

type stamp[T any] struct {
	at time.Time
	v  T
}

func newBenchWatch(t *testing.T) *benchWatch {
	exists := func(key string) labels.Selector {
		r, err := labels.NewRequirement(key, selection.Exists, nil)
		if err != nil {
			t.Fatal(err)
		}
		return labels.NewSelector().Add(*r)
	}
	c, err := cache.New(restConfig, cache.Options{Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}:       {Label: exists(v1alpha1.LabelEdgeClusterMember)},
			&batchv1.Job{}:       {Label: exists(v1alpha1.LabelImageBuild)},
			&appsv1.Deployment{}: {},
		},
		DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		t.Fatal(err)
	}
	w := &benchWatch{Cache: c, nodeReady: map[string][]stamp[bool]{}, poolReady: map[string][]stamp[int32]{},
		jobsDone: map[string][]time.Time{}, jobSeen: map[string]bool{}, deployImages: map[string]map[string]time.Time{},
		buildImages: map[string]map[string]time.Time{}, done: map[doneKey]bool{}, doneIn: map[doneNS]*doneCount{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for obj, seen := range map[client.Object]func(any){
		&corev1.Node{}: w.node, &v1alpha1.EdgeCluster{}: w.pool, &batchv1.Job{}: w.job,
		&appsv1.Deployment{}: w.deployment, &v1alpha1.AppDeployment{}: w.app, &v1alpha1.ImageBuild{}: w.build,
	} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) { seen(o) }, UpdateFunc: func(_, o any) { seen(o) }}); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the bench's cache did not sync")
	}
	return w
}

func (w *benchWatch) node(o any) {
	n, ok := o.(*corev1.Node)
	if !ok {
		return
	}
	ready := nodeReady(n)
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.nodeReady[n.Name]; len(h) == 0 || h[len(h)-1].v != ready {
		w.nodeReady[n.Name] = append(h, stamp[bool]{time.Now(), ready})
	}
}

func (w *benchWatch) pool(o any) {
	ec, ok := o.(*v1alpha1.EdgeCluster)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.poolReady[ec.Name] = append(w.poolReady[ec.Name], stamp[int32]{time.Now(), ec.Status.ReadyNodes})
}

func (w *benchWatch) job(o any) {
	j, ok := o.(*batchv1.Job)
	if !ok || !jobCondition(j, batchv1.JobComplete) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.jobSeen[string(j.UID)] {
		w.jobSeen[string(j.UID)] = true
		key := j.Namespace + "/" + j.Labels[v1alpha1.LabelImageBuild]
		w.jobsDone[key] = append(w.jobsDone[key], time.Now())
	}
}

func (w *benchWatch) deployment(o any) {
	d, ok := o.(*appsv1.Deployment)
	if !ok || len(d.Spec.Template.Spec.Containers) == 0 {
		return
	}
	key, image := d.Namespace+"/"+d.Name, d.Spec.Template.Spec.Containers[0].Image
	w.mu.Lock()
	defer w.mu.Unlock()
	if d.Status.ObservedGeneration >= d.Generation {
		w.stampDone(doneKey{"Deployment", d.Namespace, d.Name})
	}
	if w.deployImages[key] == nil {
		w.deployImages[key] = map[string]time.Time{}
	}
	if _, ok := w.deployImages[key][image]; !ok {
		w.deployImages[key][image] = time.Now()
	}
}

// app stamps an AppDeployment Ready at its generation.
func (w *benchWatch) app(o any) {
	a, ok := o.(*v1alpha1.AppDeployment)
	if !ok {
		return
	}
	if c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady); c != nil &&
		c.Status == "True" && c.ObservedGeneration == a.Generation {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.stampDone(doneKey{"AppDeployment", a.Namespace, a.Name})
	}
}

// stampDone counts k done now, once per object (w.mu held). A later generation is not counted
// again: the bench's objects are created once.
func (w *benchWatch) stampDone(k doneKey) {
	if w.done[k] {
		return
	}
	w.done[k] = true
	c := w.doneIn[doneNS{k.kind, k.namespace}]
	if c == nil {
		c = &doneCount{}
		w.doneIn[doneNS{k.kind, k.namespace}] = c
	}
	c.n++
	c.last = time.Now()
}

// doneCount is how many objects of kind in ns are done (a Deployment observed, an AppDeployment
// Ready at its generation) and when the watch saw the last of them.
func (w *benchWatch) doneCount(kind, ns string) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.doneIn[doneNS{kind, ns}]; c != nil {
		return c.n, c.last
	}
	return 0, time.Time{}
}

func (w *benchWatch) build(o any) {
	ib, ok := o.(*v1alpha1.ImageBuild)
	if !ok || ib.Status.LatestImage == "" {
		return
	}
	key := ib.Namespace + "/" + ib.Name
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buildImages[key] == nil {
		w.buildImages[key] = map[string]time.Time{}
	}
	if _, ok := w.buildImages[key][ib.Status.LatestImage]; !ok {
		w.buildImages[key][ib.Status.LatestImage] = time.Now()
	}
}

// buildImage is when the watch first saw ImageBuild ns/name's status.latestImage carry digest.
func (w *benchWatch) buildImage(ns, name, digest string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return imageWithDigest(w.buildImages[ns+"/"+name], digest)
}

// imageWithDigest is when an image of seen (image -> first seen) ending in @digest was seen.
func imageWithDigest(seen map[string]time.Time, digest string) (time.Time, bool) {
	for image, at := range seen {
		if digest != "" && strings.HasSuffix(image, "@"+digest) {
			return at, true
		}
	}
	return time.Time{}, false
}

// nodeReadySince is when the watch first saw node's Ready become ready after mark.
func (w *benchWatch) nodeReadySince(node string, ready bool, mark time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.nodeReady[node] {
		if s.v == ready && !s.at.Before(mark) {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// poolReadySince is when the watch first saw pool's status.readyNodes at want after mark.
func (w *benchWatch) poolReadySince(pool string, want int, mark time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.poolReady[pool] {
		if int(s.v) == want && !s.at.Before(mark) {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// jobComplete is when the watch saw the k-th (from 0) build Job of ImageBuild ns/name Complete.
func (w *benchWatch) jobComplete(ns, name string, k int) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if done := w.jobsDone[ns+"/"+name]; len(done) > k {
		return done[k], true
	}
	return time.Time{}, false
}

// deploymentImage is when the watch first saw Deployment ns/name run an image with digest.
func (w *benchWatch) deploymentImage(ns, name, digest string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return imageWithDigest(w.deployImages[ns+"/"+name], digest)
}

// await polls cond (poll) until it holds, for up to timeout, and returns the time it gives.
func (w *benchWatch) await(t *testing.T, what string, timeout time.Duration, cond func() (time.Time, bool)) time.Time {
	t.Helper()
	var at time.Time
	if err := poll(t.Context(), timeout, func() (ok bool, _ error) {
		at, ok = cond()
		return ok, nil
	}); err != nil {
		t.Fatalf("waiting %s for %s: %v", timeout, what, err)
	}
	return at
}
