package appdeployment

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A user's Deployment of the app's name is never taken over: the AppDeployment stalls with
// ObjectExists, naming it, and the Deployment keeps its image; annotated edgeforge.io/adopt:
// "true" it is adopted.
func TestExistingDeploymentIsNotTakenOver(t *testing.T) {
	ns := namespace(t)
	labels := map[string]string{"app": "theirs"}
	theirs := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "theirs:1"}}},
			},
		},
	}
	if err := k8s.Create(ctx(t), theirs); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, ns, "web", nil)
	key := client.ObjectKeyFromObject(a)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonObjectExists)
	if msg := findCondition(got, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "Deployment "+ns+"/web") || !strings.Contains(msg, v1alpha1.AnnotationAdopt) {
		t.Errorf("Ready's message should name the Deployment and the opt-in: %s", msg)
	}
	hasEvent(t, key, v1alpha1.ReasonObjectExists, "Deployment "+ns+"/web")
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx(t), key, d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Template.Spec.Containers[0].Image != "theirs:1" || len(d.OwnerReferences) != 0 {
		t.Fatalf("the user's Deployment was changed: image %s, owners %v", d.Spec.Template.Spec.Containers[0].Image, d.OwnerReferences)
	}

	// Opt in: the Deployment is adopted (its selector is immutable, so a selector edgeforge would
	// not choose makes the apply fail: use one that matches edgeforge's).
	if err := k8s.Delete(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	mine := theirs.DeepCopy()
	mine.ResourceVersion, mine.UID = "", ""
	mine.Annotations = map[string]string{v1alpha1.AnnotationAdopt: "true"}
	sel := map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web"}
	mine.Spec.Selector.MatchLabels, mine.Spec.Template.Labels = sel, sel
	eventually(t, "re-creating the Deployment with the opt-in", func() error { return k8s.Create(ctx(t), mine) })
	testenv.Eventually(t, 3*apply.ExistsRecheck, "the Deployment adopted", func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx(t), key, d); err != nil {
			return err
		}
		// Server-side apply merges: edgeforge's container joins the user's, which stays theirs.
		var image string
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == app.ContainerName {
				image = c.Image
			}
		}
		if !metav1.IsControlledBy(d, a) || image != a.Spec.Image {
			return fmt.Errorf("owners %v, containers %+v", d.OwnerReferences, d.Spec.Template.Spec.Containers)
		}
		return nil
	})
}
