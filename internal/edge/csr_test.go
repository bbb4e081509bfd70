package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/url"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func csrRequest(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// servingCSR is a kubelet-serving CSR as a kubelet makes it, changed by mutate.
func servingCSR(t *testing.T, node string, tmpl *x509.CertificateRequest, mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	if tmpl == nil {
		tmpl = &x509.CertificateRequest{
			Subject:     pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
			DNSNames:    []string{node},
			IPAddresses: []net.IP{net.ParseIP("10.0.0.5")},
		}
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    csrRequest(t, *tmpl),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
			Username:   "system:node:" + node,
			Groups:     []string{"system:nodes", "system:authenticated"},
		},
	}
	if mutate != nil {
		mutate(csr)
	}
	return csr
}

func TestServingCSRDecision(t *testing.T) {
	n := member("edge-1", corev1.ConditionTrue, t0, t0)
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalDNS, Address: "edge-1.example.com"})
	other := member("edge-2", corev1.ConditionTrue, t0, t0)
	stranger := member("edge-1", corev1.ConditionTrue, t0, t0)
	stranger.Labels[v1alpha1.LabelEdgeClusterMember] = "site-b"
	// A node that labels itself into the pool without being admitted.
	claimant := member("edge-1", corev1.ConditionTrue, t0, t0)
	delete(claimant.Labels, v1alpha1.LabelEdgeClusterMember)
	withNames := func(dns []string, ips ...string) *x509.CertificateRequest {
		r := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:nodes"}}, DNSNames: dns}
		for _, ip := range ips {
			r.IPAddresses = append(r.IPAddresses, net.ParseIP(ip))
		}
		return r
	}

	site := &v1alpha1.ServingCertificatePolicy{DNSSuffixes: []string{"site-a.example.com"}, IPRanges: []string{"10.0.0.0/24"}}
	nameOnly := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:nodes"}}, DNSNames: []string{"edge-1"}}
	cases := []struct {
		name     string
		policy   *v1alpha1.ServingCertificatePolicy
		csr      *certificatesv1.CertificateSigningRequest
		node     *corev1.Node
		decision CSRDecision
		reason   string // substring
	}{
		{"a member asks for its name and an address of its site", site, servingCSR(t, "edge-1", nil, nil), &n, Approve, "the pool allows"},
		{"default policy: the node's own name only", nil, servingCSR(t, "edge-1", nameOnly, nil), &n, Approve, ""},
		{"default policy: no IP address", nil, servingCSR(t, "edge-1", nil, nil), &n, Deny, "IP address 10.0.0.5 is in no range"},
		{"<node>.<suffix> and key encipherment", site, servingCSR(t, "edge-1", withNames([]string{"EDGE-1.site-a.example.com"}, "10.0.0.5"),
			func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageKeyEncipherment)
			}), &n, Approve, ""},
		// What the node reports about itself grants nothing: edge-1.example.com is one of its addresses.
		{"a name from the node's own status", site, servingCSR(t, "edge-1", withNames([]string{"edge-1.example.com"}), nil), &n, Deny, `DNS name "edge-1.example.com"`},
		{"another node's name under the suffix", site, servingCSR(t, "edge-1", withNames([]string{"edge-2.site-a.example.com"}), nil), &n, Deny, "neither the node's name"},
		{"SAN of another host", site, servingCSR(t, "edge-1", withNames([]string{"edge-1", "api.example.com"}), nil), &n, Deny, `DNS name "api.example.com"`},
		{"the API server's name", site, servingCSR(t, "edge-1", withNames([]string{"kubernetes.default.svc"}), nil), &n, Deny, "cluster-internal"},
		{"a service name", site, servingCSR(t, "edge-1", withNames([]string{"web.shop.svc.cluster.local"}), nil), &n, Deny, "cluster-internal"},
		{"a wildcard", site, servingCSR(t, "edge-1", withNames([]string{"*.site-a.example.com"}), nil), &n, Deny, "wildcard"},
		{"another node's IP outside the site", site, servingCSR(t, "edge-1", withNames(nil, "10.0.1.7"), nil), &n, Deny, "IP address 10.0.1.7"},
		{"loopback", &v1alpha1.ServingCertificatePolicy{IPRanges: []string{"0.0.0.0/0"}}, servingCSR(t, "edge-1", withNames(nil, "127.0.0.1"), nil), &n, Deny, "loopback"},
		{"too many names", site, servingCSR(t, "edge-1", withNames([]string{"edge-1"}, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"), nil), &n, Deny, "more than 8"},
		{"no names at all", site, servingCSR(t, "edge-1", withNames(nil), nil), &n, Deny, "names no DNS name or IP"},
		{"URI SAN", site, servingCSR(t, "edge-1", func() *x509.CertificateRequest {
			r := withNames([]string{"edge-1"})
			r.URIs = []*url.URL{{Scheme: "spiffe", Host: "x"}}
			return r
		}(), nil), &n, Deny, "URI"},
		{"wrong CN", site, servingCSR(t, "edge-1", &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-2", Organization: []string{"system:nodes"}}, DNSNames: []string{"edge-1"}}, nil), &n, Deny, "subject CN"},
		{"wrong O", site, servingCSR(t, "edge-1", &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:masters"}}, DNSNames: []string{"edge-1"}}, nil), &n, Deny, "subject O"},
		{"client auth usage", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageClientAuth)
		}), &n, Deny, "not for serving"},
		{"not a node", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Username = "alice" }), &n, LeaveAlone, "not by a node"},
		{"node user outside system:nodes", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Groups = nil }), &n, LeaveAlone, "not in group"},
		{"another signer", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
		}), &n, LeaveAlone, "signer"},
		{"already approved", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{ApprovedCondition("site-a")}
		}), &n, LeaveAlone, "already"},
		{"denied by someone", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue}}
		}), &n, LeaveAlone, "already"},
		{"node of another pool", site, servingCSR(t, "edge-1", nil, nil), &stranger, LeaveAlone, "not a member"},
		{"node claiming the pool by its own label", site, servingCSR(t, "edge-1", nil, nil), &claimant, LeaveAlone, "not a member"},
		{"node does not exist", site, servingCSR(t, "edge-1", nil, nil), nil, LeaveAlone, "does not exist"},
		{"another node's object", site, servingCSR(t, "edge-1", nil, nil), &other, LeaveAlone, "checked against node edge-2"},
		{"garbage request", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("junk") }), &n, Deny, "not a PEM"},
		{"tampered request", site, servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			block, _ := pem.Decode(c.Spec.Request)
			block.Bytes[len(block.Bytes)-3] ^= 0xff
			c.Spec.Request = pem.EncodeToMemory(block)
		}), &n, Deny, "request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			decision, reason := ServingCSRDecision("site-a", tc.policy, tc.csr, tc.node)
			if decision != tc.decision || !strings.Contains(reason, tc.reason) {
				t.Errorf("decision=%v (%s), want %v (%q)", decision, reason, tc.decision, tc.reason)
			}
		})
	}
}
