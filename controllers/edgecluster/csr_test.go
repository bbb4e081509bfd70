package edgecluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// asNode is a client that authenticates as the node's kubelet would (user system:node:<name>
// in group system:nodes), by impersonation.
func asNode(t *testing.T, name string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:" + name, Groups: []string{"system:nodes"}}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// servingCSR creates, as node, a kubelet-serving CSR for the given names.
func servingCSR(t *testing.T, node, name string, dns []string, ips ...string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}, DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		},
	}
	if err := asNode(t, node).Create(ctxT(t), csr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), csr) })
	return csr
}

func approved(csr *certificatesv1.CertificateSigningRequest) bool {
	return !edge.CSRPending(csr)
}

// With approveServingCSRs, a member's kubelet-serving CSR for what spec.servingCertificates
// allows is approved; a member's CSR for the API server's name, or for another node's address, is
// denied with the reason (never left pending for ever); one from a node outside the pool is left
// alone.
func TestServingCSRApproval(t *testing.T) {
	// Nodes may create CSRs (on a real cluster the Node authorizer allows it; envtest has RBAC only).
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-nodes-create-csrs"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:nodes"}},
	}
	create(t, crb)
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), crb) })

	edgeNode(t, "csr-1", "csrs", func(n *corev1.Node) {
		n.Status = readyStatus("csr-1", "10.0.1.1", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
	})
	edgeNode(t, "csr-stranger", "", func(n *corev1.Node) {
		n.Status = readyStatus("csr-stranger", "10.0.1.2", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
	})
	newPool(t, "csrs", v1alpha1.EdgeClusterSpec{ApproveServingCSRs: true,
		ServingCertificates: &v1alpha1.ServingCertificatePolicy{DNSSuffixes: []string{"site.example.com"}, IPRanges: []string{"10.0.1.0/24"}}})
	waitForPool(t, "csrs", "the member", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.TotalNodes == 1 })

	good := servingCSR(t, "csr-1", "csr-good", []string{"csr-1", "csr-1.site.example.com"}, "10.0.1.1")
	badSAN := servingCSR(t, "csr-1", "csr-bad-san", []string{"csr-1", "kubernetes.default.svc"}, "10.0.1.1")
	otherIP := servingCSR(t, "csr-1", "csr-other-ip", []string{"csr-1"}, "10.9.9.9")
	stranger := servingCSR(t, "csr-stranger", "csr-stranger", []string{"csr-stranger"}, "10.0.1.2")

	decided := func(csr *certificatesv1.CertificateSigningRequest, want certificatesv1.RequestConditionType, reason, msg string) {
		t.Helper()
		waitFor(t, csr.Name+" "+string(want), func() (bool, error) {
			if err := get(t, "", csr.Name, csr); err != nil {
				return false, err
			}
			return !edge.CSRPending(csr), nil
		})
		c := csr.Status.Conditions[0]
		if c.Type != want || c.Status != corev1.ConditionTrue || c.Reason != reason || !strings.Contains(c.Message, msg) {
			t.Errorf("%s: condition %+v, want %s (%s) saying %q", csr.Name, c, want, reason, msg)
		}
	}
	decided(good, certificatesv1.CertificateApproved, edge.ApprovalReason, "")
	decided(badSAN, certificatesv1.CertificateDenied, edge.DenialReason, `"kubernetes.default.svc" is a cluster-internal name`)
	decided(otherIP, certificatesv1.CertificateDenied, edge.DenialReason, "10.9.9.9 is in no range")
	waitForEvent(t, "csrs", v1alpha1.EdgeClusterEventServingCSRApproved)
	// (The events API folds events of one reason for one object into a series that keeps the
	// first note: which of the two denials it names depends on which was decided first.)
	if ev := strings.Join(waitForEvent(t, "csrs", v1alpha1.EdgeClusterEventServingCSRDenied), "\n"); !strings.Contains(ev, "csr-bad-san") && !strings.Contains(ev, "csr-other-ip") {
		t.Errorf("ServingCSRDenied events do not name the CSR: %s", ev)
	}

	poke(t, "csrs") // one more reconcile with the stranger's around
	time.Sleep(300 * time.Millisecond)
	if err := get(t, "", stranger.Name, stranger); err != nil {
		t.Fatal(err)
	}
	if len(stranger.Status.Conditions) != 0 {
		t.Errorf("%s: %+v, want left alone (neither approved nor denied)", stranger.Name, stranger.Status.Conditions)
	}
}

// Without approveServingCSRs nothing is approved.
func TestServingCSRApprovalOff(t *testing.T) {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-nodes-create-csrs-off"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:nodes"}},
	}
	create(t, crb)
	t.Cleanup(func() { _ = k8s.Delete(ctxT(t), crb) })
	edgeNode(t, "csr-off-1", "csrs-off", func(n *corev1.Node) {
		n.Status = readyStatus("csr-off-1", "10.0.2.1", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
	})
	newPool(t, "csrs-off", v1alpha1.EdgeClusterSpec{})
	waitForPool(t, "csrs-off", "the member", func(ec *v1alpha1.EdgeCluster) bool { return ec.Status.TotalNodes == 1 })
	csr := servingCSR(t, "csr-off-1", "csr-off", []string{"csr-off-1"}, "10.0.2.1")
	poke(t, "csrs-off")
	time.Sleep(500 * time.Millisecond)
	if err := get(t, "", csr.Name, csr); err != nil {
		t.Fatal(err)
	}
	if approved(csr) {
		t.Error("approved although approveServingCSRs is off")
	}
}
