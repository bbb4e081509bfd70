package appdeployment

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func digestImage(c byte) string {
	return "registry.example.com/team/web@sha256:" + strings.Repeat(string(c), 64)
}

func newImageBuild(t *testing.T, ns, name string) *v1alpha1.ImageBuild {
	t.Helper()
	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ImageBuildSpec{
			Source: v1alpha1.BuildSource{Git: &v1alpha1.GitSource{URL: "https://git.example.com/team/web.git"}},
			Output: v1alpha1.BuildOutput{Image: "registry.example.com/team/web:1.0"},
		},
	}
	if err := k8s.Create(ctx(t), ib); err != nil {
		t.Fatal(err)
	}
	return ib
}

// setBuildStatus does what the ImageBuild controller would (it is not running here).
func setBuildStatus(t *testing.T, key client.ObjectKey, phase v1alpha1.BuildPhase, latest string) {
	t.Helper()
	eventually(t, "setting ImageBuild status", func() error {
		ib := &v1alpha1.ImageBuild{}
		if err := k8s.Get(ctx(t), key, ib); err != nil {
			return err
		}
		ib.Status.Phase, ib.Status.LatestImage = phase, latest
		if phase == v1alpha1.BuildPhaseFailed {
			ib.Status.LastBuild = &v1alpha1.BuildRecord{Name: key.Name + "-1", Reason: "BuildFailed"}
		}
		return k8s.Status().Update(ctx(t), ib)
	})
}

// spec.imageFrom: nothing runs before the first successful build; each new digest rolls out by
// itself; a failed build leaves the running version in place.
func TestImageFromFollowsBuilds(t *testing.T) {
	ns := namespace(t)
	ib := newImageBuild(t, ns, "web")
	ibKey := client.ObjectKeyFromObject(ib)
	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = ""
		a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}}
	})
	key := client.ObjectKeyFromObject(a)

	setBuildStatus(t, ibKey, v1alpha1.BuildPhaseBuilding, "")
	got := waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonWaitingForBuild)
	if c := findReady(got); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.AppDeploymentReasonWaitingForBuild {
		t.Errorf("Ready = %+v, want False WaitingForBuild", c)
	}
	if err := k8s.Get(ctx(t), key, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment exists before the first build (err %v)", err)
	}

	first := digestImage('1')
	setBuildStatus(t, ibKey, v1alpha1.BuildPhaseSucceeded, first)
	deployment(t, key, "runs the first build", runsImage(first))
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)

	second := digestImage('2')
	setBuildStatus(t, ibKey, v1alpha1.BuildPhaseSucceeded, second)
	deployment(t, key, "runs the second build", runsImage(second))
	hasEvent(t, key, "RolloutStarted", "Rolling out "+second+" (was "+first+")")
	got = waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
	if got.Status.LastGoodImage != first {
		t.Errorf("lastGoodImage = %q during the rollout, want %q", got.Status.LastGoodImage, first)
	}
	rollOut(t, key)
	if got := waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, ""); got.Status.LastGoodImage != second || got.Status.Image != second {
		t.Errorf("image %q lastGoodImage %q, want %q", got.Status.Image, got.Status.LastGoodImage, second)
	}

	// A later build fails: latestImage stays, so does the app.
	setBuildStatus(t, ibKey, v1alpha1.BuildPhaseFailed, second)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")
	deployment(t, key, "still runs the second build", runsImage(second))
}

// A first build that failed stalls the app (a human must fix the build); the next success
// recovers it.
func TestImageFromFailedFirstBuildStalls(t *testing.T) {
	ns := namespace(t)
	ib := newImageBuild(t, ns, "api")
	a := newApp(t, ns, "api", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = ""
		a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "api"}}
	})
	key := client.ObjectKeyFromObject(a)
	setBuildStatus(t, client.ObjectKeyFromObject(ib), v1alpha1.BuildPhaseFailed, "")
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonWaitingForBuild)
	if msg := findReady(got).Message; !strings.Contains(msg, "has not succeeded yet (phase Failed: BuildFailed)") {
		t.Errorf("Ready message %q", msg)
	}
	setBuildStatus(t, client.ObjectKeyFromObject(ib), v1alpha1.BuildPhaseSucceeded, digestImage('3'))
	deployment(t, key, "runs the build", runsImage(digestImage('3')))
	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
}

// A missing ImageBuild stalls the app; creating it recovers without touching the AppDeployment.
func TestImageFromMissingImageBuild(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "late", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = ""
		a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "late"}}
	})
	key := client.ObjectKeyFromObject(a)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonImageBuildNotFound)
	if msg := findReady(got).Message; !strings.Contains(msg, fmt.Sprintf("ImageBuild %s/late (spec.imageFrom.imageBuildRef) does not exist", ns)) {
		t.Errorf("Ready message %q", msg)
	}
	hasEvent(t, key, v1alpha1.AppDeploymentReasonImageBuildNotFound, "does not exist")

	ib := newImageBuild(t, ns, "late")
	setBuildStatus(t, client.ObjectKeyFromObject(ib), v1alpha1.BuildPhaseSucceeded, digestImage('4'))
	deployment(t, key, "runs the build", runsImage(digestImage('4')))
	rollOut(t, key)
	got = waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")
	if c := findCondition(got, v1alpha1.ConditionStalled); c != nil {
		t.Errorf("Stalled still set: %+v", c)
	}
}

func findReady(a *v1alpha1.AppDeployment) metav1.Condition {
	if c := findCondition(a, v1alpha1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func findCondition(a *v1alpha1.AppDeployment, typ string) *metav1.Condition {
	return meta.FindStatusCondition(a.Status.Conditions, typ)
}

// An app following an ImageBuild runs only on nodes of the platform the image was built for.
func TestImageFromPinsTheBuildPlatform(t *testing.T) {
	ns := namespace(t)
	ib := newImageBuild(t, ns, "arm")
	ibKey := client.ObjectKeyFromObject(ib)
	img := digestImage('a')
	eventually(t, "setting ImageBuild status", func() error {
		if err := k8s.Get(ctx(t), ibKey, ib); err != nil {
			return err
		}
		ib.Status.Phase, ib.Status.LatestImage, ib.Status.Platform = v1alpha1.BuildPhaseSucceeded, img, "linux/arm64"
		return k8s.Status().Update(ctx(t), ib)
	})
	a := newApp(t, ns, "arm", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = ""
		a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "arm"}}
		a.Spec.Placement = &v1alpha1.Placement{NodeSelector: map[string]string{"disk": "ssd"}}
	})
	deployment(t, client.ObjectKeyFromObject(a), "pinned to linux/arm64", func(d *appsv1.Deployment) error {
		sel := d.Spec.Template.Spec.NodeSelector
		if d.Spec.Template.Spec.Containers[0].Image != img || sel["kubernetes.io/arch"] != "arm64" || sel["kubernetes.io/os"] != "linux" || sel["disk"] != "ssd" {
			return fmt.Errorf("image %s, nodeSelector %v", d.Spec.Template.Spec.Containers[0].Image, sel)
		}
		return nil
	})
}
