package imagebuild

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
)

// A status computed from a stale copy (here: one read before another status write) must not
// overwrite the newer status: the status holds the build count and the current build.
func TestStaleStatusWriteIsRejected(t *testing.T) {
	ns := namespace(t)
	create(t, inlineBuild(ns, "race"))
	waitForStatus(t, ns, "race", "Building", phase(v1alpha1.BuildPhaseBuilding))

	stale := &v1alpha1.ImageBuild{}
	if err := get(t, ns, "race", stale); err != nil {
		t.Fatal(err)
	}
	newer := stale.DeepCopy()
	newer.Status.ObservedRebuild = "written-in-between"
	if err := k8s.Status().Update(ctxT(t), newer); err != nil {
		t.Fatal(err)
	}

	// The Patcher the ImageBuild reconciler uses: optimistic locking on.
	p := skeleton.NewPatcher(k8s, stale, true)
	announced := false
	p.Announce(func() { announced = true })
	after := stale.DeepCopy()
	after.Status.CurrentBuild = nil
	if err := p.Patch(ctxT(t), after); !apierrors.IsConflict(err) {
		t.Fatalf("patching from a stale copy: err = %v, want a conflict", err)
	}
	if announced {
		t.Error("a pass whose status write failed must announce nothing")
	}
	if err := skeleton.NewPatcher(k8s, stale, true).Patch(ctxT(t), stale.DeepCopy()); err != nil {
		t.Errorf("an unchanged status must not be written at all: %v", err)
	}
}

// staleReader serves one object as it was read earlier (a cache that has not yet seen the
// latest write) and everything else from the API server.
type staleReader struct {
	client.Client
	stale client.Object
}

func (s staleReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key == client.ObjectKeyFromObject(s.stale) {
		if ib, ok := obj.(*v1alpha1.ImageBuild); ok {
			s.stale.(*v1alpha1.ImageBuild).DeepCopyInto(ib)
			return nil
		}
	}
	return s.Client.Get(ctx, key, obj, opts...)
}

// A pass that read the ImageBuild before its last status write (the cache lagging behind the
// controller's own write, the usual case under load) conflicts on its status write; the skeleton
// then reads the object from the API server and runs the pass again at once, rather than leaving
// it to the workqueue's backoff, where every retry read the same stale cache (issue 16, P4).
func TestConflictOnStaleCacheIsRetriedOnTheLiveObject(t *testing.T) {
	ns := namespace(t)
	create(t, inlineBuild(ns, "lag"))
	building := waitForStatus(t, ns, "lag", "Building", phase(v1alpha1.BuildPhaseBuilding))
	succeed(t, waitForJob(t, ns, "lag-1"), digest)
	waitForStatus(t, ns, "lag", "Succeeded", phase(v1alpha1.BuildPhaseSucceeded))

	// The manager's pass wrote Succeeded; this reconciler still reads Building from its "cache".
	r := &Reconciler{Client: staleReader{Client: k8s, stale: building}, APIReader: k8s,
		Recorder: events.NewFakeRecorder(10), ExecutorImage: testExecutor}
	if _, err := r.Reconcile(ctxT(t), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(building)}); err != nil {
		t.Fatalf("a pass over a stale copy: %v; want it retried on the live object", err)
	}
	got := &v1alpha1.ImageBuild{}
	if err := get(t, ns, "lag", got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != v1alpha1.BuildPhaseSucceeded || got.Status.Digest != digest {
		t.Errorf("status after the retried pass: phase %s, digest %q", got.Status.Phase, got.Status.Digest)
	}
}
