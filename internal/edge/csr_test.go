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

	cases := []struct {
		name    string
		csr     *certificatesv1.CertificateSigningRequest
		node    *corev1.Node
		approve bool
		reason  string // substring
	}{
		{"a member asks for its own names", servingCSR(t, "edge-1", nil, nil), &n, true, "asks for its own"},
		{"external DNS name and key encipherment", servingCSR(t, "edge-1", withNames([]string{"EDGE-1.example.com"}, "10.0.0.5"),
			func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageKeyEncipherment)
			}), &n, true, ""},
		{"SAN of another host", servingCSR(t, "edge-1", withNames([]string{"edge-1", "api.example.com"}), nil), &n, false, `DNS name "api.example.com"`},
		{"IP not the node's", servingCSR(t, "edge-1", withNames(nil, "10.0.0.99"), nil), &n, false, "IP address 10.0.0.99"},
		{"no names at all", servingCSR(t, "edge-1", withNames(nil), nil), &n, false, "names no DNS name or IP"},
		{"URI SAN", servingCSR(t, "edge-1", func() *x509.CertificateRequest {
			r := withNames([]string{"edge-1"})
			r.URIs = []*url.URL{{Scheme: "spiffe", Host: "x"}}
			return r
		}(), nil), &n, false, "URI"},
		{"wrong CN", servingCSR(t, "edge-1", &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-2", Organization: []string{"system:nodes"}}, DNSNames: []string{"edge-1"}}, nil), &n, false, "subject CN"},
		{"wrong O", servingCSR(t, "edge-1", &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:masters"}}, DNSNames: []string{"edge-1"}}, nil), &n, false, "subject O"},
		{"client auth usage", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageClientAuth)
		}), &n, false, "not for serving"},
		{"not a node", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Username = "alice" }), &n, false, "not by a node"},
		{"node user outside system:nodes", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Groups = nil }), &n, false, "not in group"},
		{"another signer", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
		}), &n, false, "signer"},
		{"already approved", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{ApprovedCondition("site-a")}
		}), &n, false, "already"},
		{"denied by someone", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue}}
		}), &n, false, "already"},
		{"node of another pool", servingCSR(t, "edge-1", nil, nil), &stranger, false, "not a member"},
		{"node claiming the pool by its own label", servingCSR(t, "edge-1", nil, nil), &claimant, false, "not a member"},
		{"node does not exist", servingCSR(t, "edge-1", nil, nil), nil, false, "does not exist"},
		{"another node's object", servingCSR(t, "edge-1", nil, nil), &other, false, "checked against node edge-2"},
		{"garbage request", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("junk") }), &n, false, "not a PEM"},
		{"tampered request", servingCSR(t, "edge-1", nil, func(c *certificatesv1.CertificateSigningRequest) {
			block, _ := pem.Decode(c.Spec.Request)
			block.Bytes[len(block.Bytes)-3] ^= 0xff
			c.Spec.Request = pem.EncodeToMemory(block)
		}), &n, false, "request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			approve, reason := ServingCSRDecision("site-a", tc.csr, tc.node)
			if approve != tc.approve || !strings.Contains(reason, tc.reason) {
				t.Errorf("approve=%v (%s), want %v (%q)", approve, reason, tc.approve, tc.reason)
			}
		})
	}
}
