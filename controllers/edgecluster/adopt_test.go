package edgecluster

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// A Secret named like a pool's join Secret that edgeforge did not create is left alone: the pool
// stalls with ObjectExists, and the Secret keeps its data.
func TestExistingJoinSecretIsNotTakenOver(t *testing.T) {
	name := "taken-" + strings.ToLower(t.Name()[len(t.Name())-6:])
	theirs := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: edge.JoinSecretName(name)},
		StringData: map[string]string{"mine": "keep"},
	}
	create(t, theirs)
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), theirs) })
	newPool(t, name, v1alpha1.EdgeClusterSpec{})

	ec := waitForPool(t, name, "Stalled with ObjectExists", func(ec *v1alpha1.EdgeCluster) bool {
		c := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionStalled)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == v1alpha1.ReasonObjectExists
	})
	if msg := condition(ec, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "Secret "+operatorNamespace+"/"+theirs.Name) {
		t.Errorf("Ready's message should name the Secret: %s", msg)
	}
	s := &corev1.Secret{}
	if err := get(t, operatorNamespace, theirs.Name, s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["mine"]) != "keep" || len(s.Data) != 1 || len(s.OwnerReferences) != 0 {
		t.Fatalf("the Secret was changed: keys %d, owners %v", len(s.Data), s.OwnerReferences)
	}
}
