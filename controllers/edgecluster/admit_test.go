package edgecluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// joinAs makes the client CSR a kubelet's TLS bootstrap makes for node with a bootstrap token
// whose auth groups are groups: the API server records the requestor (impersonated here) in the
// CSR, which is what edgeforge trusts. The CSR is then approved, as kube-controller-manager does.
func joinAs(t *testing.T, node string, groups ...string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	// What kubeadm (or edgeforge's bootstrap RBAC) grants bootstrap tokens: creating node CSRs.
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "test-bootstrappers-create-csrs"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:bootstrappers"}}}
	if err := k8s.Create(ctxT(t), crb); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:bootstrap:abcdef", Groups: append([]string{"system:bootstrappers"}, groups...)}
	as, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	if err := as.Create(ctxT(t), csr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), csr) })
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: "test"})
	if err := k8s.SubResource("approval").Update(ctxT(t), csr); err != nil {
		t.Fatal(err)
	}
}

// claimant makes a node that labels itself into pool (as any kubelet may), with no membership.
func claimant(t *testing.T, name, pool string) {
	t.Helper()
	edgeNode(t, name, "", func(n *corev1.Node) { n.Labels[v1alpha1.LabelEdgeCluster] = pool })
}

// A node is a member only when it joined with the pool's own token (or an admin admits it): its
// own label claims nothing, and another pool's token does not get it in.
func TestMembershipComesFromThePoolsToken(t *testing.T) {
	newPool(t, "adm", v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"tier": "edge"}}})
	newPool(t, "adm-other", v1alpha1.EdgeClusterSpec{})

	// Joined with adm's token: admitted (member label set by edgeforge), templated, counted.
	joinAs(t, "adm-joined", edge.NodeBootstrapGroup, edge.PoolGroup("adm"))
	claimant(t, "adm-joined", "adm")
	waitForNode(t, "adm-joined", "the node that joined with the pool's token to be admitted", func(n *corev1.Node) bool {
		return n.Labels[v1alpha1.LabelEdgeClusterMember] == "adm" && n.Labels["tier"] == "edge"
	})
	waitForEvent(t, "adm", v1alpha1.EdgeClusterEventNodeAdmitted)

	// Only its own label: not a member, nothing of the pool, reported.
	claimant(t, "adm-intruder", "adm")
	// Joined with another pool's token but claiming adm: not adm's member either.
	joinAs(t, "adm-wrong-token", edge.NodeBootstrapGroup, edge.PoolGroup("adm-other"))
	claimant(t, "adm-wrong-token", "adm")

	ec := waitForPool(t, "adm", "two unadmitted claimants and one member", func(ec *v1alpha1.EdgeCluster) bool {
		return ec.Status.TotalNodes == 1 && ec.Status.UnadmittedNodeCount == 2 &&
			slices.Equal(ec.Status.UnadmittedNodes, []string{"adm-intruder", "adm-wrong-token"})
	})
	if len(ec.Status.Nodes) != 1 || ec.Status.Nodes[0].Name != "adm-joined" {
		t.Fatalf("status.nodes %+v, want only adm-joined", ec.Status.Nodes)
	}
	events := strings.Join(waitForEvent(t, "adm", v1alpha1.EdgeClusterEventNodeNotAdmitted), "\n")
	if !strings.Contains(events, "adm-intruder") || !strings.Contains(events, "kubectl label node") {
		t.Fatalf("NodeNotAdmitted events do not name the claimant and the fix: %s", events)
	}
	for _, name := range []string{"adm-intruder", "adm-wrong-token"} {
		n := &corev1.Node{}
		if err := get(t, "", name, n); err != nil {
			t.Fatal(err)
		}
		if _, templated := n.Labels["tier"]; templated || n.Labels[v1alpha1.LabelEdgeClusterMember] == "adm" {
			t.Fatalf("%s got the pool's template or membership: %v", name, n.Labels)
		}
	}
	// adm-other admitted the node that used its token, though it claims adm.
	waitForNode(t, "adm-wrong-token", "adm-other to admit the node of its token", func(n *corev1.Node) bool {
		return n.Labels[v1alpha1.LabelEdgeClusterMember] == "adm-other"
	})

	// An admin admits the intruder by hand: it becomes a member and leaves the unadmitted list.
	n := &corev1.Node{}
	if err := get(t, "", "adm-intruder", n); err != nil {
		t.Fatal(err)
	}
	orig := n.DeepCopy()
	n.Labels[v1alpha1.LabelEdgeClusterMember] = "adm"
	if err := k8s.Patch(ctxT(t), n, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitForPool(t, "adm", "the admitted node to count", func(ec *v1alpha1.EdgeCluster) bool {
		return ec.Status.TotalNodes == 2 && ec.Status.UnadmittedNodeCount == 1
	})

	// Deleting the pool releases the node edgeforge admitted; the admin's label stays.
	deletePool(t, "adm")
	waitForNode(t, "adm-joined", "the pool's deletion to release the node it admitted", func(n *corev1.Node) bool {
		_, member := n.Labels[v1alpha1.LabelEdgeClusterMember]
		return !member
	})
	if err := get(t, "", "adm-intruder", n); err != nil || n.Labels[v1alpha1.LabelEdgeClusterMember] != "adm" {
		t.Fatalf("the admin's membership label was removed: %v %v", n.Labels, err)
	}
}
