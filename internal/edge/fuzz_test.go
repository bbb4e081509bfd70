package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// fuzzKey signs the fuzzers' requests (one key: generating one per input would dominate).
var fuzzKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

// tryCSR encodes a request, or reports that x509 cannot (e.g. a non-ASCII DNS name).
func tryCSR(tmpl x509.CertificateRequest) ([]byte, bool) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, fuzzKey)
	if err != nil {
		return nil, false
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), true
}

// unquote undoes shellQuote as a POSIX shell reads it, or says it cannot: a single-quoted word,
// where each quote inside is written as close-quote, backslash-quote, reopen-quote.
func unquote(q string) (string, bool) {
	if len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
		return "", false
	}
	inner := q[1 : len(q)-1]
	if strings.Contains(strings.ReplaceAll(inner, `'\''`, ""), "'") {
		return "", false // a quote that would end the word
	}
	return strings.ReplaceAll(inner, `'\''`, "'"), true
}

// Whatever a Secret or a spec holds, shellQuote makes one shell word of exactly it.
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "it's", "'", "''", `\'`, "$(reboot)", "`id`", "a b\nc", "K10abc::def.ghi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := unquote(shellQuote(s))
		if !ok || got != s {
			t.Fatalf("shellQuote(%q) = %s does not read back (%q, %v)", s, shellQuote(s), got, ok)
		}
	})
}

// The same, read by a real shell.
func TestShellQuoteInRealShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	for _, s := range []string{"it's", "$(echo pwned)", "`id`", "a  b\n\tc", `\'"`, "''''", "K10abc::def"} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh read %s as %q (%v), want %q", shellQuote(s), out, err, s)
		}
	}
}

// Whatever a member asks for, an approved serving certificate names only the node, its
// <node>.<suffix> names and addresses of the pool's ranges: never more than 8, never a wildcard,
// a cluster-internal name or a loopback address.
func FuzzServingCSRDecision(f *testing.F) {
	f.Add("edge-1", "10.0.0.5", "example.com", "10.0.0.0/24")
	f.Add("edge-1,edge-1.example.com,kubernetes.default.svc", "10.0.0.5,127.0.0.1", "example.com", "10.0.0.0/8")
	f.Add("*.example.com", "::1", "", "")
	f.Add("EDGE-1.Example.COM", "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8", "example.com", "0.0.0.0/0")
	node := member("edge-1", corev1.ConditionTrue, t0, t0)
	f.Fuzz(func(t *testing.T, dnsList, ipList, suffix, cidr string) {
		tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:nodes"}}}
		for _, d := range strings.Split(dnsList, ",") {
			if d != "" {
				tmpl.DNSNames = append(tmpl.DNSNames, d)
			}
		}
		for _, s := range strings.Split(ipList, ",") {
			if ip := net.ParseIP(s); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		}
		policy := &v1alpha1.ServingCertificatePolicy{DNSSuffixes: []string{suffix}, IPRanges: []string{cidr}}
		req, ok := tryCSR(*tmpl)
		if !ok {
			return // x509 cannot encode these names: no kubelet could send them
		}
		csr := servingCSR(t, "edge-1", tmpl, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = req })
		decision, why := ServingCSRDecision("site-a", policy, csr, &node)
		if decision != Approve {
			if decision == Deny && why == "" {
				t.Fatal("denied without a reason")
			}
			return
		}
		_, ipnet, cidrErr := net.ParseCIDR(cidr)
		if n := len(tmpl.DNSNames) + len(tmpl.IPAddresses); n == 0 || n > maxServingSANs {
			t.Fatalf("approved with %d names and addresses", n)
		}
		for _, d := range tmpl.DNSNames {
			d = strings.ToLower(d)
			if d != "edge-1" && d != "edge-1."+strings.ToLower(suffix) {
				t.Fatalf("approved DNS name %q (suffix %q)", d, suffix)
			}
			if strings.Contains(d, "*") || strings.HasSuffix(d, ".svc") || strings.Contains(d, ".svc.") || strings.HasSuffix(d, ".cluster.local") {
				t.Fatalf("approved a wildcard or cluster-internal name %q", d)
			}
		}
		for _, ip := range tmpl.IPAddresses {
			if cidrErr != nil || !ipnet.Contains(ip) || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() {
				t.Fatalf("approved IP %s (ranges %q)", ip, cidr)
			}
		}
	})
}

// A client CSR is tied to a pool only when exactly one of its groups is a pool's, and that pool
// is the one named.
func FuzzClientCSRPool(f *testing.F) {
	f.Add("system:bootstrappers,system:bootstrappers:edgeforge:site-a", "system:node:edge-1")
	f.Add("system:bootstrappers:edgeforge:a,system:bootstrappers:edgeforge:b", "system:node:edge-1")
	f.Add("system:bootstrappers:edgeforge:", "system:node:")
	f.Add("system:bootstrappers:edgeforge:site:a", "cn")
	f.Fuzz(func(t *testing.T, groups, cn string) {
		req, ok := tryCSR(x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}})
		if !ok {
			return
		}
		csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Username:   "system:bootstrap:abcdef",
			Groups:     strings.Split(groups, ","),
			Request:    req,
		}}
		node, pool, ok := ClientCSRPool(csr)
		if !ok {
			return
		}
		var poolGroups []string
		for _, g := range csr.Spec.Groups {
			if strings.HasPrefix(g, poolGroupPrefix) {
				poolGroups = append(poolGroups, g)
			}
		}
		if len(poolGroups) != 1 || pool == "" || node == "" || "system:node:"+node != cn {
			t.Fatalf("ClientCSRPool(groups %q, CN %q) = %q, %q", groups, cn, node, pool)
		}
		if !slices.Contains(csr.Spec.Groups, PoolGroup(pool)) && !strings.Contains(pool, ":") {
			t.Fatalf("pool %q does not map back to its group (groups %q)", pool, groups)
		}
	})
}

// A pool's token gets a client certificate approved only for a well-formed kubelet request
// (CN system:node:<n>, O system:nodes only, no names) of a node that does not exist or is the
// pool's member; whatever the subject, SANs and the existing node's membership.
func FuzzClientCSRDecision(f *testing.F) {
	f.Add("edge-1", "system:nodes", "", "", false)
	f.Add("edge-1", "system:nodes", "", "site-a", true)
	f.Add("master-1", "system:nodes", "", "", true)
	f.Add("edge-1", "system:nodes,system:masters", "", "", false)
	f.Add("edge-1", "system:nodes", "kubernetes.default.svc", "site-b", true)
	f.Fuzz(func(t *testing.T, node, orgs, dns, member string, exists bool) {
		tmpl := x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:" + node, Organization: strings.Split(orgs, ",")}}
		if dns != "" {
			tmpl.DNSNames = []string{dns}
		}
		req, ok := tryCSR(tmpl)
		if !ok {
			return
		}
		csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Username:   "system:bootstrap:abcdef",
			Groups:     []string{"system:bootstrappers", NodeBootstrapGroup, PoolGroup("site-a")},
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Request:    req,
		}}
		var live *corev1.Node
		if exists {
			live = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{}}}
			if member != "" {
				live.Labels[v1alpha1.LabelEdgeClusterMember] = member
			}
		}
		decision, why := ClientCSRDecision("site-a", csr, live)
		if decision != Approve {
			return
		}
		if orgs != "system:nodes" || dns != "" || (live != nil && MemberOf(live) != "site-a") {
			t.Fatalf("approved node %q (O %q, DNS %q, exists %v, member %q): %s", node, orgs, dns, exists, member, why)
		}
	})
}
