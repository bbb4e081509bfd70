package edge

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Pool membership is decided by the operator, never by the node.
//
// A kubelet may set any label on its own Node except those under node-restriction.kubernetes.io/
// (the NodeRestriction admission plugin), so the label edgeforge.io/edge-cluster a join command
// puts on the node is only the node's claim. A node is a member of pool P when its Node carries
// v1alpha1.LabelEdgeClusterMember=P, which edgeforge sets when the node's client certificate was
// requested with P's own bootstrap token (whose auth group is PoolGroup(P)), and which an admin may
// set by hand to admit a node.

// poolGroupPrefix prefixes the extra auth group of a pool's bootstrap tokens.
const poolGroupPrefix = "system:bootstrappers:edgeforge:"

// bootstrapUserPrefix prefixes the user name of a bootstrap token ("system:bootstrap:<id>").
const bootstrapUserPrefix = "system:bootstrap:"

// PoolGroup is the auth group of pool's bootstrap tokens: the API server gives every request
// made with one of them this group, and nothing but the token's Secret (in kube-system, written
// by edgeforge) decides it. Group names may not hold '.', pool names may not hold ':', so a
// dot of the pool's name is written ':' (reversibly).
func PoolGroup(pool string) string { return poolGroupPrefix + strings.ReplaceAll(pool, ".", ":") }

// MemberOf is the pool the node is a member of ("" for none): the restricted label's value.
func MemberOf(node *corev1.Node) string { return node.Labels[v1alpha1.LabelEdgeClusterMember] }

// AsMember is a copy of node as a member of pool.
func AsMember(node *corev1.Node, pool string) *corev1.Node {
	n := node.DeepCopy()
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels[v1alpha1.LabelEdgeClusterMember] = pool
	return n
}

// ClaimedPool is the pool the node claims by its own label ("" for none).
func ClaimedPool(node *corev1.Node) string { return node.Labels[v1alpha1.LabelEdgeCluster] }

// Unadmitted: the node claims pool (its own label) but is not its member.
func Unadmitted(pool string, node *corev1.Node) bool {
	return ClaimedPool(node) == pool && MemberOf(node) != pool
}

// ClientCSRPool reads a kubelet's client certificate request: the node it is for and the pool
// whose bootstrap token made it. ok is false for any other request: another signer, a requestor
// that is not a bootstrap token, a token of no pool (or of two), a request that does not parse or
// is not for a node.
func ClientCSRPool(csr *certificatesv1.CertificateSigningRequest) (node, pool string, ok bool) {
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName ||
		!strings.HasPrefix(csr.Spec.Username, bootstrapUserPrefix) {
		return "", "", false
	}
	for _, g := range csr.Spec.Groups {
		if p, found := strings.CutPrefix(g, poolGroupPrefix); found {
			if pool != "" || p == "" {
				return "", "", false // two pools' groups (or an empty name): trust neither
			}
			pool = strings.ReplaceAll(p, ":", ".")
		}
	}
	if pool == "" {
		return "", "", false
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return "", "", false
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", "", false
	}
	node, found := strings.CutPrefix(req.Subject.CommonName, nodeUserPrefix)
	if !found || node == "" {
		return "", "", false
	}
	return node, pool, true
}

// ClientCSRDecision decides what pool does with csr, a node client certificate request made with
// the pool's bootstrap token (ClientCSRPool names the node and the pool), given the Node of that
// name as the API server has it now (nil when there is none). A bootstrap token may bring in a
// new node, or bring back one of its own pool's members (a node that lost its certificate); it
// may never take the name of any other node: a certificate for it would let the token's holder
// act as that node (read what its pods may read, write its status). So a pending request is
// approved only when it is a well-formed kubelet client request (CN=system:node:<n>,
// O=system:nodes, no names or addresses, client auth usages) and node <n> does not exist or is
// the pool's member; otherwise denied, saying why. Everything else is left alone.
func ClientCSRDecision(pool string, csr *certificatesv1.CertificateSigningRequest, node *corev1.Node) (CSRDecision, string) {
	name, tokenPool, ok := ClientCSRPool(csr)
	switch {
	case !ok || tokenPool != pool:
		return LeaveAlone, "not a node client request of this pool's token"
	case !CSRPending(csr):
		return LeaveAlone, "already approved, denied or failed"
	}
	if why := clientRequestProblem(name, csr); why != "" {
		return Deny, why
	}
	switch {
	case node == nil:
		return Approve, fmt.Sprintf("node %s is new", name)
	case node.Name != name:
		return LeaveAlone, fmt.Sprintf("requested for node %s, checked against node %s", name, node.Name)
	case MemberOf(node) == pool:
		return Approve, fmt.Sprintf("node %s is a member of the pool coming back", name)
	case MemberOf(node) == "":
		return Deny, fmt.Sprintf("node %s already exists and is not a member of EdgeCluster %s: a pool's token may only bring in "+
			"new nodes. Admit the node by hand (label %s=%s) or delete the Node first", name, pool, v1alpha1.LabelEdgeClusterMember, pool)
	default:
		return Deny, fmt.Sprintf("node %s already exists as a member of EdgeCluster %s: a pool's token may only bring in new nodes "+
			"or its own members", name, MemberOf(node))
	}
}

// clientRequestProblem is what is wrong with a kubelet's client certificate request for node, or
// "" (kube-controller-manager's approver checks the same shape).
func clientRequestProblem(node string, csr *certificatesv1.CertificateSigningRequest) string {
	req, why := kubeletRequest(csr, certificatesv1.UsageClientAuth, "a client certificate")
	if why != "" {
		return why
	}
	switch {
	case !slices.Equal(req.Subject.Organization, []string{nodesGroup}):
		return fmt.Sprintf("subject O %v is not [%s]", req.Subject.Organization, nodesGroup)
	case len(req.DNSNames) > 0 || len(req.IPAddresses) > 0 || len(req.EmailAddresses) > 0 || len(req.URIs) > 0:
		return "a client certificate request names DNS names, addresses, e-mail addresses or URIs"
	case len(validation.IsDNS1123Subdomain(node)) > 0:
		return fmt.Sprintf("node name %q is not a valid Node name", node)
	}
	return ""
}

// CSRApproved: the CSR has an Approved condition (and no Denied or Failed one).
func CSRApproved(csr *certificatesv1.CertificateSigningRequest) bool {
	approved := false
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		}
	}
	return approved
}

// Admission is what the operator does about one node of a pool's joins.
type Admission struct {
	// Admit: set the member label to the pool.
	Admit bool
	// Conflict explains why a node that joined with the pool's token is not admitted ("" when
	// none): it is already a member of another pool (an admin moves it).
	Conflict string
}

// AdmitJoined decides about node, which joined with pool's token (ClientCSRPool).
func AdmitJoined(pool string, node *corev1.Node) Admission {
	switch m := MemberOf(node); m {
	case pool:
		return Admission{}
	case "":
		return Admission{Admit: true}
	default:
		return Admission{Conflict: fmt.Sprintf("node %s joined with the token of EdgeCluster %s but is a member of EdgeCluster %s "+
			"(label %s); an admin moves it by relabelling", node.Name, pool, m, v1alpha1.LabelEdgeClusterMember)}
	}
}

// UnadmittedMessage is the event message for a node that claims pool without being its member.
func UnadmittedMessage(pool, node string) string {
	return fmt.Sprintf("node %s labels itself %s=%s but did not join with this pool's token: it is not a member (no node "+
		"template, no serving certificates, no workloads). Join it with the pool's join command, or admit it: "+
		"kubectl label node %s %s=%s", node, v1alpha1.LabelEdgeCluster, pool, node, v1alpha1.LabelEdgeClusterMember, pool)
}
