package edgecluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A Node deleted between the cache's view and the operator's write: the server-side apply that
// would have labelled it is a create, which the operator's RBAC (get, list, watch, patch) refuses.
// applyNode takes that for what it is, a node that is gone, and creates nothing; a refusal for a
// node that exists is still an error.
func TestApplyNodeToADeletedNode(t *testing.T) {
	ctx := ctxT(t)
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "applynode-test"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch", "patch"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "applynode-test"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "applynode-test"}}}
	create(t, role)
	create(t, binding)
	t.Cleanup(func() { _ = k8s.Delete(ctx, binding); _ = k8s.Delete(ctx, role) })
	cfg, err := env.UserConfig("applynode-test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: c, APIReader: c}

	gone := corev1ac.Node("applynode-gone").WithLabels(map[string]string{"tier": "edge"})
	if err := r.applyNode(ctx, gone, client.FieldOwner("applynode-test")); err != nil {
		t.Errorf("applying to a node that does not exist: %v, want nil (the node is gone)", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "applynode-gone"}, &corev1.Node{}); !apierrors.IsNotFound(err) {
		t.Errorf("the apply created the node (get: %v)", err)
	}

	edgeNode(t, "applynode-here", "", nil)
	if err := r.applyNode(ctx, corev1ac.Node("applynode-here").WithLabels(map[string]string{"tier": "edge"}), client.FieldOwner("applynode-test")); err != nil {
		t.Errorf("applying to an existing node: %v", err)
	}
	// Without patch rights the refusal for an existing node is an error.
	role.Rules[0].Verbs = []string{"get", "list", "watch"}
	if err := k8s.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the role without patch to apply", func() (bool, error) {
		err := r.applyNode(ctx, corev1ac.Node("applynode-here").WithLabels(map[string]string{"tier": "core"}), client.FieldOwner("applynode-test"))
		return apierrors.IsForbidden(err), nil
	})
}
