package imagebuild

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

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
