package appdeployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A rollout that misses its progress deadline goes back to lastGoodImage, says so (RolledBack
// condition, event), stays there while the failed image is still asked for, and moves on when a
// new image is.
func TestRollbackOnProgressDeadline(t *testing.T) {
	ns := namespace(t)
	good, bad, fixed := digestImage('a'), digestImage('b'), digestImage('c')
	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = good
		a.Spec.Replicas = ptr.To[int32](2)
	})
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "runs the good image", runsImage(good))
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = bad })
	deployment(t, key, "runs the bad image", runsImage(bad))
	missDeadline(t, key)

	deployment(t, key, "rolled back to the good image", runsImage(good))
	got := waitFor(t, key, v1alpha1.ConditionRolledBack, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded)
	if msg := findCondition(got, v1alpha1.ConditionRolledBack).Message; !strings.Contains(msg, "The rollout of "+bad+" missed its progress deadline; rolled back to "+good) {
		t.Errorf("RolledBack message %q", msg)
	}
	if got.Status.FailedImage != bad || got.Status.LastGoodImage != good {
		t.Errorf("failedImage %q lastGoodImage %q", got.Status.FailedImage, got.Status.LastGoodImage)
	}
	waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledBack)
	hasEvent(t, key, v1alpha1.AppDeploymentReasonRolledBack, "rolled back to "+good)

	// The good image rolls out again; the app stays on it (no flip back to the failed image).
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledBack)
	touchDeployment(t, key) // any event: a fresh look must not retry the failed image
	waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledBack)
	deployment(t, key, "still on the good image", runsImage(good))

	// A new image ends it.
	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = fixed })
	deployment(t, key, "runs the fixed image", runsImage(fixed))
	rollOut(t, key)
	got = waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)
	if c := findCondition(got, v1alpha1.ConditionRolledBack); c != nil || got.Status.FailedImage != "" || got.Status.LastGoodImage != fixed {
		t.Errorf("after a new image: RolledBack %+v, failedImage %q, lastGoodImage %q", c, got.Status.FailedImage, got.Status.LastGoodImage)
	}
}

// Without rollback (or without a good image to go back to) a missed deadline stalls the app and
// the Deployment keeps the image asked for.
func TestProgressDeadlineWithoutRollback(t *testing.T) {
	ns := namespace(t)
	good, bad := digestImage('d'), digestImage('e')
	a := newApp(t, ns, "norollback", func(a *v1alpha1.AppDeployment) {
		a.Spec.Image = good
		a.Spec.Replicas = ptr.To[int32](1)
		a.Spec.Rollback = &v1alpha1.RollbackPolicy{Enabled: ptr.To(false)}
	})
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "runs the good image", runsImage(good))
	rollOut(t, key)
	waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, "")

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Image = bad })
	deployment(t, key, "runs the bad image", runsImage(bad))
	missDeadline(t, key)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonProgressDeadlineExceeded)
	if msg := findReady(got).Message; !strings.Contains(msg, "rollback is disabled") || !strings.Contains(msg, "has timed out progressing") {
		t.Errorf("Ready message %q", msg)
	}
	deployment(t, key, "still runs the bad image", runsImage(bad))
}

// touchDeployment changes a label nobody owns on the Deployment: a watch event and nothing else.
func touchDeployment(t *testing.T, key client.ObjectKey) {
	t.Helper()
	eventually(t, "labelling the Deployment", func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), key, d); err != nil {
			return err
		}
		patch := client.MergeFrom(d.DeepCopy())
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels["test.example.com/touched"] = strings.ReplaceAll(metav1.Now().Format("150405.000000"), ".", "")
		return k8s.Patch(ctx(t), d, patch)
	})
}
