package edge

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Names of the kubelet serving certificate flow.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
	// ApprovalReason is the reason of the Approved condition edgeforge adds to a CSR.
	ApprovalReason = "EdgeforgeServingCSRApproved"
	// DenialReason is the reason of the Denied condition edgeforge adds to a CSR.
	DenialReason = "EdgeforgeServingCSRDenied"
	// ClientApprovalReason is the reason of the Approved condition edgeforge adds to a node
	// client CSR of one of its pools' tokens.
	ClientApprovalReason = "EdgeforgeNodeClientCSRApproved"
	// ClientDenialReason is the reason of the Denied condition edgeforge adds to one.
	ClientDenialReason = "EdgeforgeNodeClientCSRDenied"
)

// CSRRequestor is the node name a CSR was requested by ("" when not a node's request).
func CSRRequestor(csr *certificatesv1.CertificateSigningRequest) string {
	name, ok := strings.CutPrefix(csr.Spec.Username, nodeUserPrefix)
	if !ok {
		return ""
	}
	return name
}

// CSRPending is true when a CSR is neither approved nor denied (nor failed).
func CSRPending(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		}
	}
	return true
}

// CSRDecision is what edgeforge does with a kubelet-serving CSR.
type CSRDecision int

// Decisions on a CSR.
const (
	// LeaveAlone: not this pool's to decide (another signer, not a member's own request, ...).
	LeaveAlone CSRDecision = iota
	// Approve: a member asks for what the pool's policy allows.
	Approve
	// Deny: a member asks for more than the pool's policy allows (or for something malformed);
	// left pending, the kubelet would wait for ever.
	Deny
)

// maxServingSANs caps the names and addresses of one serving certificate.
const maxServingSANs = 8

// ServingCSRDecision decides what pool does with csr, a kubelet-serving request, given the
// requesting node (nil when it does not exist) and the pool's spec.servingCertificates. Only a
// pending kubernetes.io/kubelet-serving request made by a member node for itself (user
// system:node:<n> in group system:nodes) is the pool's to decide; it is approved when it asks,
// for server auth, with subject CN=system:node:<n>, O=system:nodes, for at most 8 names, each the
// node's own name or <n>.<suffix> of policy.dnsSuffixes, and IP addresses inside policy.ipRanges,
// none of them cluster-internal; otherwise denied. What the node reports about itself (its
// addresses) grants nothing. reason says why, for logs and events.
func ServingCSRDecision(pool string, policy *v1alpha1.ServingCertificatePolicy, csr *certificatesv1.CertificateSigningRequest, node *corev1.Node) (CSRDecision, string) {
	switch {
	case csr.Spec.SignerName != certificatesv1.KubeletServingSignerName:
		return LeaveAlone, "signer is not " + certificatesv1.KubeletServingSignerName
	case !CSRPending(csr):
		return LeaveAlone, "already approved, denied or failed"
	}
	nodeName := CSRRequestor(csr)
	switch {
	case nodeName == "":
		return LeaveAlone, fmt.Sprintf("requested by %q, not by a node", csr.Spec.Username)
	case !slices.Contains(csr.Spec.Groups, nodesGroup):
		return LeaveAlone, "requestor is not in group " + nodesGroup
	case node == nil:
		return LeaveAlone, fmt.Sprintf("node %s does not exist", nodeName)
	case node.Name != nodeName:
		return LeaveAlone, fmt.Sprintf("requested by node %s, checked against node %s", nodeName, node.Name)
	case MemberOf(node) != pool:
		return LeaveAlone, fmt.Sprintf("node %s is not a member of EdgeCluster %s", nodeName, pool)
	}
	if why := servingRequestProblem(nodeName, policy, csr); why != "" {
		return Deny, why
	}
	return Approve, fmt.Sprintf("node %s of EdgeCluster %s asks for names and addresses the pool allows", nodeName, pool)
}

// servingRequestProblem is what is wrong with a member's serving request, or "".
func servingRequestProblem(nodeName string, policy *v1alpha1.ServingCertificatePolicy, csr *certificatesv1.CertificateSigningRequest) string {
	req, why := kubeletRequest(csr, certificatesv1.UsageServerAuth, "serving")
	if why != "" {
		return why
	}
	switch {
	case req.Subject.CommonName != nodeUserPrefix+nodeName:
		return fmt.Sprintf("subject CN %q is not %s%s", req.Subject.CommonName, nodeUserPrefix, nodeName)
	case !slices.Equal(req.Subject.Organization, []string{nodesGroup}):
		return fmt.Sprintf("subject O %v is not [%s]", req.Subject.Organization, nodesGroup)
	case len(req.EmailAddresses) > 0 || len(req.URIs) > 0:
		return "the request has e-mail or URI names"
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return "the request names no DNS name or IP address"
	case len(req.DNSNames)+len(req.IPAddresses) > maxServingSANs:
		return fmt.Sprintf("the request names %d DNS names and IP addresses, more than %d", len(req.DNSNames)+len(req.IPAddresses), maxServingSANs)
	}
	for _, d := range req.DNSNames {
		if why := dnsNameProblem(nodeName, strings.ToLower(d), policy); why != "" {
			return why
		}
	}
	for _, ip := range req.IPAddresses {
		if why := ipProblem(ip, policy); why != "" {
			return why
		}
	}
	return ""
}

// kubeletRequest checks what a kubelet's serving and client requests share: usages only digital
// signature, key encipherment and purpose (which must be there; what names the certificate kind
// in the message), and spec.request a validly signed PEM CERTIFICATE REQUEST, which it returns.
func kubeletRequest(csr *certificatesv1.CertificateSigningRequest, purpose certificatesv1.KeyUsage, what string) (*x509.CertificateRequest, string) {
	for _, u := range csr.Spec.Usages {
		switch u {
		case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, purpose:
		default:
			return nil, fmt.Sprintf("usage %q is not for %s", u, what)
		}
	}
	if !slices.Contains(csr.Spec.Usages, purpose) {
		return nil, fmt.Sprintf("no %s usage", purpose)
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, "spec.request is not a PEM CERTIFICATE REQUEST"
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, "spec.request does not parse: " + err.Error()
	}
	if err := req.CheckSignature(); err != nil {
		return nil, "the request's signature is invalid: " + err.Error()
	}
	return req, ""
}

// dnsNameProblem: a serving certificate of node may name the node, or <node>.<suffix> for a
// suffix of the policy; never a cluster-internal name or a wildcard.
func dnsNameProblem(node, name string, policy *v1alpha1.ServingCertificatePolicy) string {
	switch {
	case strings.Contains(name, "*"):
		return fmt.Sprintf("DNS name %q is a wildcard", name)
	case name == "kubernetes" || strings.HasPrefix(name, "kubernetes.") || name == "localhost" ||
		strings.HasSuffix(name, ".svc") || strings.Contains(name, ".svc.") || strings.HasSuffix(name, ".cluster.local"):
		return fmt.Sprintf("DNS name %q is a cluster-internal name", name)
	case name == node:
		return ""
	}
	if policy != nil {
		for _, suffix := range policy.DNSSuffixes {
			if name == node+"."+strings.ToLower(suffix) {
				return ""
			}
		}
	}
	return fmt.Sprintf("DNS name %q is neither the node's name nor %s.<a suffix of spec.servingCertificates.dnsSuffixes>", name, node)
}

// ipProblem: a serving certificate's IP address must fall in a range of the policy, and never be
// a loopback, unspecified, link-local or multicast address.
func ipProblem(ip net.IP, policy *v1alpha1.ServingCertificatePolicy) string {
	if ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
		return fmt.Sprintf("IP address %s is a loopback, unspecified, link-local or multicast address", ip)
	}
	if policy != nil {
		for _, r := range policy.IPRanges {
			if _, cidr, err := net.ParseCIDR(r); err == nil && cidr.Contains(ip) {
				return ""
			}
		}
	}
	return fmt.Sprintf("IP address %s is in no range of spec.servingCertificates.ipRanges", ip)
}

func csrCondition(t certificatesv1.RequestConditionType, reason, message string) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message}
}

// DeniedCondition is the condition edgeforge adds to deny a serving CSR, with the reason.
func DeniedCondition(pool, why string) certificatesv1.CertificateSigningRequestCondition {
	return csrCondition(certificatesv1.CertificateDenied, DenialReason,
		fmt.Sprintf("denied by edgeforge (EdgeCluster %s, spec.servingCertificates): %s", pool, why))
}

// ApprovedCondition is the condition edgeforge adds to approve a serving CSR.
func ApprovedCondition(pool string) certificatesv1.CertificateSigningRequestCondition {
	return csrCondition(certificatesv1.CertificateApproved, ApprovalReason,
		fmt.Sprintf("approved by edgeforge: the node is a member of EdgeCluster %s and asks for names and addresses it allows", pool))
}

// ClientDeniedCondition is the condition edgeforge adds to deny a node client CSR of a pool's
// token, with the reason.
func ClientDeniedCondition(pool, why string) certificatesv1.CertificateSigningRequestCondition {
	return csrCondition(certificatesv1.CertificateDenied, ClientDenialReason,
		fmt.Sprintf("denied by edgeforge (bootstrap token of EdgeCluster %s): %s", pool, why))
}

// ClientApprovedCondition is the condition edgeforge adds to approve one.
func ClientApprovedCondition(pool, why string) certificatesv1.CertificateSigningRequestCondition {
	return csrCondition(certificatesv1.CertificateApproved, ClientApprovalReason,
		fmt.Sprintf("approved by edgeforge (bootstrap token of EdgeCluster %s): %s", pool, why))
}
