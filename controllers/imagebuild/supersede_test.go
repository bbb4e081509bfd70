package imagebuild

import (
	"slices"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A spec change while a build runs deletes that build and starts one for the new generation.
func TestGenerationChangeSupersedesRunningBuild(t *testing.T) {
	ns := namespace(t)
	create(t, inlineBuild(ns, "app"))
	waitForJob(t, ns, "app-1")
	waitForStatus(t, ns, "app", "phase Building", phase(v1alpha1.BuildPhaseBuilding))

	ib := &v1alpha1.ImageBuild{}
	if err := get(t, ns, "app", ib); err != nil {
		t.Fatal(err)
	}
	p := client.MergeFrom(ib.DeepCopy())
	ib.Spec.BuildArgs = []v1alpha1.BuildArg{{Name: "VERSION", Value: "2"}}
	if err := k8s.Patch(ctxT(t), ib, p); err != nil {
		t.Fatal(err)
	}

	waitForNoJob(t, ns, "app-1")
	job2 := waitForJob(t, ns, "app-2")
	if !slices.Contains(job2.Spec.Template.Spec.Containers[0].Args, "--build-arg=VERSION=2") {
		t.Errorf("build 2 args = %v", job2.Spec.Template.Spec.Containers[0].Args)
	}
	st := waitForStatus(t, ns, "app", "build 2 running for generation 2", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.CurrentBuild != nil && ib.Status.CurrentBuild.Name == "app-2" && ib.Status.ObservedGeneration == ib.Generation
	})
	if cur := st.Status.CurrentBuild; cur.Generation != st.Generation || st.Status.Phase != v1alpha1.BuildPhaseBuilding {
		t.Errorf("current build %+v, phase %s", cur, st.Status.Phase)
	}
	if lb := st.Status.LastBuild; lb == nil || lb.Name != "app-1" || lb.Reason != v1alpha1.ImageBuildReasonSuperseded || lb.Generation != 1 {
		t.Errorf("lastBuild = %+v", lb)
	}
	waitForEvent(t, ns, "app", "BuildSuperseded")

	// A rebuild request supersedes a running build too.
	patchAnnotation(t, ns, "app", v1alpha1.AnnotationRebuild, "now")
	waitForNoJob(t, ns, "app-2")
	waitForJob(t, ns, "app-3")
	waitForStatus(t, ns, "app", "build 3 running", func(ib *v1alpha1.ImageBuild) bool {
		return ib.Status.CurrentBuild != nil && ib.Status.CurrentBuild.Name == "app-3" && ib.Status.ObservedRebuild == "now"
	})
	assertNoWritesAtRest(t, ns, "app")
}
