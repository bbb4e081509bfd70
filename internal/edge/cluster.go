package edge

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
)

// Well-known objects the join commands are derived from.
const (
	// ClusterInfoNamespace/ClusterInfoName: the public ConfigMap kubeadm creates with the API
	// server's address and CA; bootstrapsigner signs it for every signing token.
	ClusterInfoNamespace = "kube-public"
	ClusterInfoName      = bootstrapapi.ConfigMapClusterInfo
	// RootCAConfigMapName is the ConfigMap kube-controller-manager publishes in every namespace
	// with the cluster's root CA (key ca.crt).
	RootCAConfigMapName = "kube-root-ca.crt"
	// KubeadmConfigNamespace/KubeadmConfigName: present only on kubeadm clusters; kubeadm join
	// reads the cluster configuration from it.
	KubeadmConfigNamespace = "kube-system"
	KubeadmConfigName      = "kubeadm-config"
)

// CACertHash is the public key pin of the first CA certificate in caPEM, as kubeadm computes it
// for --discovery-token-ca-cert-hash: "sha256:" + hex(SHA-256(SubjectPublicKeyInfo)).
func CACertHash(caPEM []byte) (string, error) {
	cert, err := firstCert(caPEM)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// K3sCAHash is the CA hash of k3s's secure token format: the SHA-256 of the CA bundle exactly as
// the k3s server serves it on /cacerts (the PEM file on disk, which kube-controller-manager also
// publishes as kube-root-ca.crt), hex encoded, without a prefix.
func K3sCAHash(caPEM []byte) string {
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

func firstCert(caPEM []byte) (*x509.Certificate, error) {
	rest := caPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block in the CA data")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the CA certificate: %w", err)
		}
		return cert, nil
	}
}

// ClusterInfo is what kube-public/cluster-info says.
type ClusterInfo struct {
	// Endpoint is the API server's host:port.
	Endpoint string
	// CACert is the PEM CA bundle.
	CACert []byte
	// SignedTokenIDs are the token IDs bootstrapsigner has signed the ConfigMap for.
	SignedTokenIDs []string
}

// ParseClusterInfo reads the cluster-info ConfigMap: its kubeconfig's first cluster and the
// jws-kubeconfig-<token id> signatures.
func ParseClusterInfo(cm *corev1.ConfigMap) (ClusterInfo, error) {
	var info ClusterInfo
	for k := range cm.Data {
		if id, ok := strings.CutPrefix(k, bootstrapapi.JWSSignatureKeyPrefix); ok {
			info.SignedTokenIDs = append(info.SignedTokenIDs, id)
		}
	}
	sort.Strings(info.SignedTokenIDs)
	cfg, err := clientcmd.Load([]byte(cm.Data[bootstrapapi.KubeConfigKey]))
	if err != nil {
		return info, fmt.Errorf("%s/%s: key %s is not a kubeconfig: %w", cm.Namespace, cm.Name, bootstrapapi.KubeConfigKey, err)
	}
	names := make([]string, 0, len(cfg.Clusters))
	for name := range cfg.Clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return info, fmt.Errorf("%s/%s: the kubeconfig names no cluster", cm.Namespace, cm.Name)
	}
	cluster := cfg.Clusters[names[0]]
	info.CACert = cluster.CertificateAuthorityData
	if info.Endpoint, err = EndpointFromServer(cluster.Server); err != nil {
		return info, fmt.Errorf("%s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return info, nil
}

// EndpointFromServer turns a kubeconfig server URL (https://host[:port][/path]) into host:port
// (port 443 when absent), the form join commands take.
func EndpointFromServer(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return "", fmt.Errorf("server %q is not an https:// URL", server)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
