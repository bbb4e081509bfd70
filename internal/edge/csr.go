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
)

// Names of the kubelet serving certificate flow.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
	// ApprovalReason is the reason of the Approved condition edgeforge adds to a CSR.
	ApprovalReason = "EdgeforgeServingCSRApproved"
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

// ServingCSRDecision decides whether pool approves csr, a kubelet-serving certificate request,
// given the requesting node (nil when it does not exist). It approves only a pending
// kubernetes.io/kubelet-serving request made by a member node for itself (user system:node:<n>
// in group system:nodes, subject CN=system:node:<n>, O=system:nodes), for server auth, whose
// DNS names and IP addresses are all among that node's addresses. Anything else is left alone
// (not denied: another approver may know better); reason says why, for logs.
func ServingCSRDecision(pool string, csr *certificatesv1.CertificateSigningRequest, node *corev1.Node) (approve bool, reason string) {
	switch {
	case csr.Spec.SignerName != certificatesv1.KubeletServingSignerName:
		return false, "signer is not " + certificatesv1.KubeletServingSignerName
	case !CSRPending(csr):
		return false, "already approved, denied or failed"
	}
	nodeName := CSRRequestor(csr)
	switch {
	case nodeName == "":
		return false, fmt.Sprintf("requested by %q, not by a node", csr.Spec.Username)
	case !slices.Contains(csr.Spec.Groups, nodesGroup):
		return false, "requestor is not in group " + nodesGroup
	case node == nil:
		return false, fmt.Sprintf("node %s does not exist", nodeName)
	case node.Name != nodeName:
		return false, fmt.Sprintf("requested by node %s, checked against node %s", nodeName, node.Name)
	case MemberOf(node) != pool:
		return false, fmt.Sprintf("node %s is not a member of EdgeCluster %s", nodeName, pool)
	}
	for _, u := range csr.Spec.Usages {
		switch u {
		case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth:
		default:
			return false, fmt.Sprintf("usage %q is not for serving", u)
		}
	}
	if !slices.Contains(csr.Spec.Usages, certificatesv1.UsageServerAuth) {
		return false, "no server auth usage"
	}

	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return false, "spec.request is not a PEM CERTIFICATE REQUEST"
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return false, "spec.request does not parse: " + err.Error()
	}
	if err := req.CheckSignature(); err != nil {
		return false, "the request's signature is invalid: " + err.Error()
	}
	switch {
	case req.Subject.CommonName != nodeUserPrefix+nodeName:
		return false, fmt.Sprintf("subject CN %q is not %s%s", req.Subject.CommonName, nodeUserPrefix, nodeName)
	case !slices.Equal(req.Subject.Organization, []string{nodesGroup}):
		return false, fmt.Sprintf("subject O %v is not [%s]", req.Subject.Organization, nodesGroup)
	case len(req.EmailAddresses) > 0 || len(req.URIs) > 0:
		return false, "the request has e-mail or URI names"
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return false, "the request names no DNS name or IP address"
	}
	var dnsNames []string
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			dnsNames = append(dnsNames, strings.ToLower(a.Address))
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips = append(ips, ip)
			}
		}
	}
	for _, d := range req.DNSNames {
		if !slices.Contains(dnsNames, strings.ToLower(d)) {
			return false, fmt.Sprintf("DNS name %q is not an address of node %s", d, nodeName)
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			return false, fmt.Sprintf("IP address %s is not an address of node %s", ip, nodeName)
		}
	}
	return true, fmt.Sprintf("node %s of EdgeCluster %s asks for its own names and addresses", nodeName, pool)
}

// ApprovedCondition is the condition edgeforge adds to approve a CSR.
func ApprovedCondition(pool string) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{
		Type:    certificatesv1.CertificateApproved,
		Status:  corev1.ConditionTrue,
		Reason:  ApprovalReason,
		Message: fmt.Sprintf("approved by edgeforge: the node is a member of EdgeCluster %s and asks for its own addresses", pool),
	}
}
