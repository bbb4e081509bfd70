package edge

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

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
