package edgecluster

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// The bootstrap RBAC exists while pools do, is re-created when deleted, and goes with the
// last pool.
func TestBootstrapRBAC(t *testing.T) {
	// An earlier version's auto-approval binding, made by edgeforge: deleted on upgrade.
	retired := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: edge.RetiredBootstrapRBACBindingNames[0],
		Labels: map[string]string{v1alpha1.LabelName: edge.BootstrapRBACName}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: edge.NodeBootstrapGroup}}}
	create(t, retired)
	newPool(t, "rbac", v1alpha1.EdgeClusterSpec{})
	waitFor(t, "the retired auto-approval binding deleted", func() (bool, error) {
		return apierrors.IsNotFound(get(t, "", retired.Name, &rbacv1.ClusterRoleBinding{})), nil
	})
	crb := &rbacv1.ClusterRoleBinding{}
	for i, name := range edge.BootstrapRBACBindingNames {
		waitFor(t, "ClusterRoleBinding "+name, func() (bool, error) { return get(t, "", name, crb) == nil, nil })
		wantRole := []string{"system:node-bootstrapper", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"}[i]
		wantGroup := []string{edge.NodeBootstrapGroup, "system:nodes"}[i]
		if crb.RoleRef.Name != wantRole || len(crb.Subjects) != 1 || crb.Subjects[0].Name != wantGroup || crb.Subjects[0].Kind != "Group" {
			t.Errorf("%s: role %s subjects %+v", name, crb.RoleRef.Name, crb.Subjects)
		}
	}
	if err := k8s.Delete(ctxT(t), crb); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted binding re-created", func() (bool, error) {
		fresh := &rbacv1.ClusterRoleBinding{}
		return get(t, "", crb.Name, fresh) == nil && fresh.UID != crb.UID, nil
	})
}

// Deleting a pool removes its tokens, join Secret and node template (a user's label and taint
// stay, the nodes stay), and with the last pool the bootstrap RBAC.
func TestDeletionCleansUp(t *testing.T) {
	edgeNode(t, "fin-1", "fin", func(n *corev1.Node) {
		n.Labels["user"] = "mine"
		n.Spec.Taints = []corev1.Taint{userTaint}
	})
	newPool(t, "fin", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{
		Labels: map[string]v1alpha1.LabelValue{"tier": "edge"},
		Taints: []v1alpha1.Taint{{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoExecute}},
	}})
	waitForNode(t, "fin-1", "templated", func(n *corev1.Node) bool { return n.Labels["tier"] == "edge" && len(taintKeys(n)) == 2 })
	waitForTokens(t, "fin", "a token", func(s []corev1.Secret) bool { return len(s) == 1 })
	waitFor(t, "the join Secret", func() (bool, error) {
		return get(t, operatorNamespace, edge.JoinSecretName("fin"), &corev1.Secret{}) == nil, nil
	})
	ec := &v1alpha1.EdgeCluster{}
	if err := get(t, "", "fin", ec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ec.Finalizers, []string{v1alpha1.EdgeClusterFinalizer}) {
		t.Errorf("finalizers %v", ec.Finalizers)
	}

	deletePool(t, "fin")
	if s := poolTokens(t, "fin"); len(s) != 0 {
		t.Errorf("%d token Secret(s) left", len(s))
	}
	if err := get(t, operatorNamespace, edge.JoinSecretName("fin"), &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("join Secret: %v", err)
	}
	n := &corev1.Node{}
	if err := get(t, "", "fin-1", n); err != nil {
		t.Fatalf("the node is gone: %v", err)
	}
	_, tier := n.Labels["tier"]
	_, marker := n.Annotations[v1alpha1.AnnotationNodeTemplate]
	if tier || marker || n.Labels["user"] != "mine" || n.Labels[v1alpha1.LabelEdgeCluster] != "fin" ||
		!reflect.DeepEqual(taintKeys(n), []string{"dedicated=gpu:NoSchedule"}) {
		t.Errorf("after deletion: labels %v annotations %v taints %v", n.Labels, n.Annotations, taintKeys(n))
	}

	others := &v1alpha1.EdgeClusterList{}
	if err := k8s.List(ctxT(t), others); err != nil {
		t.Fatal(err)
	}
	if len(others.Items) == 0 {
		for _, name := range edge.BootstrapRBACBindingNames {
			if err := get(t, "", name, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
				t.Errorf("ClusterRoleBinding %s after the last pool: %v", name, err)
			}
		}
	}
}
