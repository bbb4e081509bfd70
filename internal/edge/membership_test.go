package edge

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// clientCSR is a kubelet's client CSR as TLS bootstrap makes it with a bootstrap token whose
// groups are groups, changed by mutate.
func clientCSR(t *testing.T, node string, groups []string, mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: csrRequest(t, x509.CertificateRequest{
				Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:   "system:bootstrap:abcdef",
			Groups:     append([]string{"system:bootstrappers"}, groups...),
		},
	}
	if mutate != nil {
		mutate(csr)
	}
	return csr
}

// Only a client CSR made with one pool's bootstrap token names a pool; a node cannot choose it.
func TestClientCSRPool(t *testing.T) {
	poolTokenGroups := []string{NodeBootstrapGroup, PoolGroup("site-a")}
	for _, tc := range []struct {
		name     string
		csr      *certificatesv1.CertificateSigningRequest
		wantNode string
		wantPool string
	}{
		{"a join with site-a's token", clientCSR(t, "edge-1", poolTokenGroups, nil), "edge-1", "site-a"},
		{"a pool name with dots survives the group's character set",
			clientCSR(t, "edge-1", []string{PoolGroup("factory.busan")}, nil), "edge-1", "factory.busan"},
		{"another token (kubeadm's default node token): no pool", clientCSR(t, "edge-1", []string{KubeadmNodeTokenGroup}, nil), "", ""},
		{"edgeforge's group alone: no pool", clientCSR(t, "edge-1", []string{NodeBootstrapGroup}, nil), "", ""},
		{"two pools' groups: trusted for neither", clientCSR(t, "edge-1", []string{PoolGroup("a"), PoolGroup("b")}, nil), "", ""},
		{"made by a node's own credentials, not a bootstrap token", clientCSR(t, "edge-1", poolTokenGroups,
			func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Username = "system:node:edge-1" }), "", ""},
		{"a serving CSR", clientCSR(t, "edge-1", poolTokenGroups,
			func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.SignerName = certificatesv1.KubeletServingSignerName
			}), "", ""},
		{"not for a node", clientCSR(t, "edge-1", poolTokenGroups, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Request = csrRequest(t, x509.CertificateRequest{Subject: pkix.Name{CommonName: "admin"}})
		}), "", ""},
		{"garbage request", clientCSR(t, "edge-1", poolTokenGroups,
			func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("nope") }), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, pool, ok := ClientCSRPool(tc.csr)
			if node != tc.wantNode || pool != tc.wantPool || ok != (tc.wantPool != "") {
				t.Fatalf("ClientCSRPool = %q, %q, %v; want %q, %q", node, pool, ok, tc.wantNode, tc.wantPool)
			}
		})
	}
}

// A pool's token brings in new nodes and its own members, never another node's name.
func TestClientCSRDecision(t *testing.T) {
	groups := []string{NodeBootstrapGroup, PoolGroup("site-a")}
	node := func(name, member string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
		if member != "" {
			n.Labels[v1alpha1.LabelEdgeClusterMember] = member
		}
		return n
	}
	request := func(tmpl x509.CertificateRequest) func(*certificatesv1.CertificateSigningRequest) {
		return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = csrRequest(t, tmpl) }
	}
	nodeSubject := pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:nodes"}}
	for _, tc := range []struct {
		name string
		csr  *certificatesv1.CertificateSigningRequest
		node *corev1.Node
		want CSRDecision
		why  string
	}{
		{"a new node", clientCSR(t, "edge-1", groups, nil), nil, Approve, "edge-1 is new"},
		{"a member coming back", clientCSR(t, "edge-1", groups, nil), node("edge-1", "site-a"), Approve, "member of the pool"},
		{"the name of a node of no pool (a control-plane node, say)", clientCSR(t, "edge-1", groups, nil), node("edge-1", ""),
			Deny, "already exists and is not a member"},
		{"the name of another pool's member", clientCSR(t, "edge-1", groups, nil), node("edge-1", "site-b"),
			Deny, "member of EdgeCluster site-b"},
		{"another pool's token: not ours", clientCSR(t, "edge-1", []string{PoolGroup("site-b")}, nil), nil, LeaveAlone, "not a node client request"},
		{"already approved", clientCSR(t, "edge-1", groups, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{ClientApprovedCondition("site-a", "test")}
		}), nil, LeaveAlone, "already"},
		{"server auth usage", clientCSR(t, "edge-1", groups, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageServerAuth)
		}), nil, Deny, `usage "server auth"`},
		{"no client auth", clientCSR(t, "edge-1", groups, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}
		}), nil, Deny, "no client auth"},
		{"another organization (system:masters)", clientCSR(t, "edge-1", groups, request(x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:nodes", "system:masters"}}})),
			nil, Deny, "subject O"},
		{"names in a client certificate", clientCSR(t, "edge-1", groups, request(x509.CertificateRequest{
			Subject: nodeSubject, DNSNames: []string{"kubernetes.default.svc"}})), nil, Deny, "names DNS names"},
		{"not a valid node name", clientCSR(t, "Edge_1", groups, nil), nil, Deny, "not a valid Node name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := ClientCSRDecision("site-a", tc.csr, tc.node)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Fatalf("ClientCSRDecision = %v, %q; want %v, containing %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestAdmitJoined(t *testing.T) {
	node := func(l map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-1", Labels: l}}
	}
	if a := AdmitJoined("site-a", node(nil)); !a.Admit || a.Conflict != "" {
		t.Errorf("a new node that joined with the token: %+v, want admitted", a)
	}
	if a := AdmitJoined("site-a", node(map[string]string{v1alpha1.LabelEdgeClusterMember: "site-a"})); a.Admit || a.Conflict != "" {
		t.Errorf("already a member: %+v, want nothing to do", a)
	}
	a := AdmitJoined("site-a", node(map[string]string{v1alpha1.LabelEdgeClusterMember: "site-b"}))
	if a.Admit || !strings.Contains(a.Conflict, "member of EdgeCluster site-b") {
		t.Errorf("another pool's member: %+v, want a conflict and no move", a)
	}
}

// The node's own label is a claim, never membership.
func TestMembershipIsTheRestrictedLabel(t *testing.T) {
	claimant := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "intruder", Labels: map[string]string{v1alpha1.LabelEdgeCluster: "site-a"}}}
	if MemberOf(claimant) != "" || !Unadmitted("site-a", claimant) {
		t.Fatalf("a node labelling itself into site-a: member of %q, unadmitted %v", MemberOf(claimant), Unadmitted("site-a", claimant))
	}
	if !strings.HasPrefix(v1alpha1.LabelEdgeClusterMember, "node-restriction.kubernetes.io/") {
		t.Fatalf("%s is a label kubelets may set", v1alpha1.LabelEdgeClusterMember)
	}
	msg := UnadmittedMessage("site-a", "intruder")
	if !strings.Contains(msg, "kubectl label node intruder "+v1alpha1.LabelEdgeClusterMember+"=site-a") {
		t.Fatalf("the message does not say how to admit it: %q", msg)
	}
}
