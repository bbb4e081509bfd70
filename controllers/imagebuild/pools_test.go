package imagebuild

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A build from a namespace the pool does not admit gets no Job (no registry credentials, no
// tolerations on the pool's nodes): Stalled with PoolNotAllowed, until the namespace is admitted.
func TestBuildOnPoolReservedForOthers(t *testing.T) {
	ns := namespace(t)
	pool := uniquePool()
	create(t, &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec: v1alpha1.EdgeClusterSpec{AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "factory"}}}})
	ib := inlineBuild(ns, "web")
	ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}
	create(t, ib)
	st := waitForStatus(t, ns, "web", "Stalled PoolNotAllowed", stalledWith(v1alpha1.ImageBuildReasonPoolNotAllowed))
	if c := condition(st, v1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, pool) {
		t.Errorf("Ready = %+v, want a message naming the pool", c)
	}
	waitForNoJob(t, ns, "web-1")

	testenv.Eventually(t, timeout, "labelling the namespace", func() error {
		n := &corev1.Namespace{}
		if err := get(t, "", ns, n); err != nil {
			return err
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels["team"] = "factory"
		return k8s.Update(ctxT(t), n)
	})
	job := waitForJob(t, ns, "web-1")
	if job.Spec.Template.Spec.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool {
		t.Fatalf("build pod nodeSelector %v", job.Spec.Template.Spec.NodeSelector)
	}
}
