package edgecluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// requestAs makes the client CSR a kubelet's TLS bootstrap makes for node with a bootstrap token
// whose auth groups are groups: the API server records the requestor (impersonated here) in the
// CSR, which is what edgeforge trusts.
func requestAs(t *testing.T, node string, groups ...string) *certificatesv1.CertificateSigningRequest {
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
	// Creating it needs what edgeforge's bootstrap RBAC grants its tokens' group (the pool
	// creates that binding): retried until the pool has.
	waitFor(t, "the bootstrap token to be allowed to create a node CSR", func() (bool, error) {
		err := as.Create(ctxT(t), csr)
		if apierrors.IsForbidden(err) {
			return false, nil
		}
		return err == nil, err
	})
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), csr) })
	return csr
}

// decided waits until csr has a condition of type want, by edgeforge (reason), and returns it.
func decided(t *testing.T, csr *certificatesv1.CertificateSigningRequest, want certificatesv1.RequestConditionType, reason string) certificatesv1.CertificateSigningRequestCondition {
	t.Helper()
	var got certificatesv1.CertificateSigningRequestCondition
	waitFor(t, fmt.Sprintf("CSR %s for %s to be %s", csr.Name, csr.Spec.Username, want), func() (bool, error) {
		live := &certificatesv1.CertificateSigningRequest{}
		if err := get(t, "", csr.Name, live); err != nil {
			return false, err
		}
		for _, c := range live.Status.Conditions {
			got = c
			return c.Type == want && c.Reason == reason, nil
		}
		return false, nil
	})
	return got
}

// joinAs is requestAs and edgeforge's approval, before the node registers (as a kubelet does:
// it registers with the certificate it got).
func joinAs(t *testing.T, node string, groups ...string) {
	t.Helper()
	decided(t, requestAs(t, node, groups...), certificatesv1.CertificateApproved, edge.ClientApprovalReason)
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
	var events string
	// (The events API folds events of one reason and object into a series that keeps the first
	// note: the event names the first claimant seen, status.unadmittedNodes both.)
	waitFor(t, "a NodeNotAdmitted event naming a claimant", func() (bool, error) {
		events = strings.Join(poolEvents(t, "adm", v1alpha1.EdgeClusterEventNodeNotAdmitted), "\n")
		return strings.Contains(events, "adm-intruder") || strings.Contains(events, "adm-wrong-token"), nil
	})
	if !strings.Contains(events, "kubectl label node") || strings.Contains(events, "node adm-joined") {
		t.Fatalf("NodeNotAdmitted events do not say how to admit, or name the admitted node: %s", events)
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

// A pool's token cannot take the name of a node that exists and is not the pool's member: the
// client certificate request is denied (by edgeforge, which alone approves its tokens' requests),
// with an event; a member coming back gets its certificate.
func TestTokenCannotTakeAnExistingNodesName(t *testing.T) {
	newPool(t, "nam", v1alpha1.EdgeClusterSpec{})
	edgeNode(t, "nam-control-plane", "", nil) // a node of no pool
	c := decided(t, requestAs(t, "nam-control-plane", edge.NodeBootstrapGroup, edge.PoolGroup("nam")),
		certificatesv1.CertificateDenied, edge.ClientDenialReason)
	if !strings.Contains(c.Message, "already exists and is not a member") {
		t.Errorf("denial message %q does not say why", c.Message)
	}
	events := strings.Join(waitForEvent(t, "nam", v1alpha1.EdgeClusterEventNodeClientCSRDenied), "\n")
	if !strings.Contains(events, "nam-control-plane") {
		t.Errorf("NodeClientCSRDenied events do not name the node: %s", events)
	}

	edgeNode(t, "nam-member", "", func(n *corev1.Node) { n.Labels[v1alpha1.LabelEdgeClusterMember] = "nam" })
	joinAs(t, "nam-member", edge.NodeBootstrapGroup, edge.PoolGroup("nam"))
}
