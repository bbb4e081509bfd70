package appdeployment

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A pool reserved for some namespaces (spec.allowedNamespaces) gives an app from another
// namespace nothing: Stalled with PoolNotAllowed, no Deployment; once the namespace carries the
// label, the app runs on the pool.
func TestPoolReservedForOtherNamespaces(t *testing.T) {
	ns := namespace(t)
	pool := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "reserved-" + ns},
		Spec: v1alpha1.EdgeClusterSpec{
			AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "factory"}},
			NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
				{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
		},
	}
	if err := k8s.Create(ctx(t), pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx(t), pool) })
	a := newApp(t, ns, "web", func(a *v1alpha1.AppDeployment) {
		a.Spec.Placement = &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool.Name}}
	})
	key := client.ObjectKeyFromObject(a)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonPoolNotAllowed)
	if msg := findCondition(got, v1alpha1.ConditionReady).Message; !strings.Contains(msg, pool.Name) || !strings.Contains(msg, "team=factory") {
		t.Errorf("Ready's message should name the pool and its selector: %s", msg)
	}
	if err := k8s.Get(ctx(t), key, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a Deployment exists for an app the pool does not admit (err %v)", err)
	}

	// The namespace joins the team: the app runs on the pool, with its tolerations.
	eventually(t, "labelling the namespace", func() error {
		n := &corev1.Namespace{}
		if err := k8s.Get(ctx(t), client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		n.Labels["team"] = "factory"
		return k8s.Update(ctx(t), n)
	})
	deployment(t, key, "placed on the pool", func(d *appsv1.Deployment) error {
		ps := d.Spec.Template.Spec
		// The pool's taint, and its autonomy's unreachable and not-ready tolerations.
		if ps.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool.Name || len(ps.Tolerations) != 3 || ps.Tolerations[0].Key != "edgeforge.io/edge" {
			return fmt.Errorf("nodeSelector %v, tolerations %v", ps.NodeSelector, ps.Tolerations)
		}
		return nil
	})
}
