package imagebuild

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
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

	r := &Reconciler{Client: k8s}
	after := stale.DeepCopy()
	after.Status.CurrentBuild = nil
	if err := r.patchStatus(ctxT(t), stale, after); !apierrors.IsConflict(err) {
		t.Fatalf("patching from a stale copy: err = %v, want a conflict", err)
	}
	if err := r.patchStatus(ctxT(t), stale, stale.DeepCopy()); err != nil {
		t.Errorf("an unchanged status must not be written at all: %v", err)
	}
}
