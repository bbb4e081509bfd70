package edge

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Keys of the join Secret (besides one key per ready method, named after the method).
const (
	JoinKeyEndpoint            = "apiServerEndpoint"
	JoinKeyCACertHash          = "caCertHash"
	JoinKeyToken               = "token"
	JoinKeyTokenExpiresAt      = "tokenExpiresAt"
	JoinKeyBootstrapKubeconfig = "bootstrap-kubeconfig"
	// JoinKeyKubelet is a plain kubelet's TLS bootstrap: what every method ends up doing, and
	// the one that works against any API server with bootstrap token authentication.
	JoinKeyKubelet = "kubelet"
)

// Default Secret keys of the credentials users point to.
const (
	DefaultK3sTokenKey      = "token"
	DefaultMicroK8sJoinKey  = "join"
	DefaultKubeEdgeTokenKey = "tokendata"
	// KubeEdgeNamespace/KubeEdgeTokenSecret: where CloudCore keeps its join token (what
	// `keadm gettoken` prints).
	KubeEdgeNamespace   = "kubeedge"
	KubeEdgeTokenSecret = "tokensecret"
)

// Credential is a secret value the controller read for a method, or why it could not.
type Credential struct {
	// Value is the secret itself; never log it.
	Value string
	// Problem says why Value is empty, as a sentence a user can act on.
	Problem string
}

// ClusterFacts is what the controller found out about the cluster.
type ClusterFacts struct {
	// Endpoint is the API server's host:port (spec.join.apiServerEndpoint, else cluster-info).
	Endpoint string
	// CACert is the cluster CA bundle (PEM) from cluster-info, else kube-root-ca.crt.
	CACert []byte
	// ClusterInfoFound: kube-public/cluster-info exists (kubeadm's token discovery reads it).
	ClusterInfoFound bool
	// SignedTokenIDs: token IDs bootstrapsigner has signed cluster-info for.
	SignedTokenIDs []string
	// KubeadmConfigFound: kube-system/kubeadm-config exists (the control plane is kubeadm's).
	KubeadmConfigFound bool
	// K3sServer: a control-plane node runs k3s, so its supervisor accepts k3s agents.
	K3sServer bool
}

// JoinInput is everything join commands are rendered from.
type JoinInput struct {
	Pool      string
	Namespace string // the operator's namespace: where referenced Secrets live
	Methods   []v1alpha1.JoinMethod
	Token     Token
	Facts     ClusterFacts
	// Credentials of the methods that do not use the bootstrap token; nil when not configured
	// (K3sToken nil means: use the bootstrap token; KubeEdgeToken nil: kubeedge/tokensecret
	// was not found either).
	K3sToken         *Credential
	MicroK8sJoin     *Credential
	KubeEdgeToken    *Credential
	CloudCoreAddress string
}

// JoinResult is the content of the join Secret and the per-method status.
type JoinResult struct {
	// Data of the join Secret.
	Data map[string]string
	// Methods reports each method of spec.join.methods, in spec order.
	Methods []v1alpha1.JoinMethodStatus
}

// NotReady lists the methods that could not be rendered.
func (r JoinResult) NotReady() []string {
	var out []string
	for _, m := range r.Methods {
		if !m.Ready {
			out = append(out, string(m.Method))
		}
	}
	return out
}

// JoinCommands renders the join commands of in.Methods. A method whose command could not work
// (a missing credential, a cluster that is not of its kind) gets no command, and its status
// says exactly what to provide. Never log the result: it holds credentials.
func JoinCommands(in JoinInput) JoinResult {
	res := JoinResult{Data: map[string]string{}}
	caHash := ""
	if len(in.Facts.CACert) > 0 {
		if h, err := CACertHash(in.Facts.CACert); err == nil {
			caHash = h
		}
	}
	res.Data[JoinKeyToken] = in.Token.Value()
	res.Data[JoinKeyTokenExpiresAt] = in.Token.Expiration.UTC().Format(time.RFC3339)
	if in.Facts.Endpoint != "" {
		res.Data[JoinKeyEndpoint] = in.Facts.Endpoint
	}
	if caHash != "" {
		res.Data[JoinKeyCACertHash] = caHash
	}
	if in.Facts.Endpoint != "" && caHash != "" {
		res.Data[JoinKeyBootstrapKubeconfig] = BootstrapKubeconfig(in.Pool, in.Facts.Endpoint, in.Facts.CACert, in.Token)
		res.Data[JoinKeyKubelet] = kubeletCommand(in)
	}
	for _, m := range in.Methods {
		var cmd, problem string
		switch m {
		case v1alpha1.JoinMethodKubeadm:
			cmd, problem = kubeadmCommand(in, caHash)
		case v1alpha1.JoinMethodK3s:
			cmd, problem = k3sCommand(in)
		case v1alpha1.JoinMethodMicroK8s:
			cmd, problem = microk8sCommand(in)
		case v1alpha1.JoinMethodKubeEdge:
			cmd, problem = kubeedgeCommand(in)
		case v1alpha1.JoinMethodKubelet:
			if problem = needBootstrapBasics(in, caHash); problem == "" {
				cmd = kubeletCommand(in)
			}
		default:
			problem = fmt.Sprintf("unknown join method %q", m)
		}
		st := v1alpha1.JoinMethodStatus{Method: m, Ready: problem == "", Message: problem}
		if problem == "" {
			res.Data[string(m)] = cmd
		}
		res.Methods = append(res.Methods, st)
	}
	return res
}

// JoinSecret is the Secret holding pool's join commands, in the operator's namespace.
func JoinSecret(pool *v1alpha1.EdgeCluster, namespace string, data map[string]string) *corev1ac.SecretApplyConfiguration {
	return corev1ac.Secret(JoinSecretName(pool.Name), namespace).
		WithType("Opaque").
		WithLabels(poolLabels(pool.Name, "join")).
		WithOwnerReferences(ownerRef(pool)).
		WithData(bytesMap(data))
}

// PoolLabel is the node label every join command sets: edgeforge.io/edge-cluster=<pool>.
func PoolLabel(pool string) string { return v1alpha1.LabelEdgeCluster + "=" + pool }

// needBootstrapBasics says what a method that authenticates with the bootstrap token lacks.
func needBootstrapBasics(in JoinInput, caHash string) string {
	switch {
	case in.Facts.Endpoint == "":
		return "the API server endpoint is unknown: set spec.join.apiServerEndpoint (there is no kube-public/cluster-info ConfigMap to take it from)"
	case caHash == "":
		return "the cluster CA is unknown: neither kube-public/cluster-info nor a kube-root-ca.crt ConfigMap holds a CA certificate"
	}
	return ""
}

func kubeadmCommand(in JoinInput, caHash string) (string, string) {
	if p := needBootstrapBasics(in, caHash); p != "" {
		return "", p
	}
	switch {
	case !in.Facts.KubeadmConfigFound:
		return "", "kube-system/kubeadm-config not found: kubeadm join only works with a control plane set up by kubeadm " +
			"(on other clusters use the \"kubelet\" key of the join Secret with a plain kubelet)"
	case !in.Facts.ClusterInfoFound:
		return "", "kube-public/cluster-info not found: kubeadm join discovers the cluster through it (kubeadm init creates it)"
	case !slices.Contains(in.Facts.SignedTokenIDs, in.Token.ID):
		return "", fmt.Sprintf("kube-public/cluster-info is not signed for token %s yet: kube-controller-manager must run the "+
			"bootstrapsigner controller (--controllers=*,bootstrapsigner,tokencleaner)", in.Token.ID)
	}
	file := fmt.Sprintf("/tmp/edgeforge-%s-join.yaml", in.Pool)
	var b strings.Builder
	fmt.Fprintf(&b, "# kubeadm join for EdgeCluster %s (token expires %s).\n", in.Pool, in.Token.Expiration.UTC().Format(time.RFC3339))
	b.WriteString("# Run as root on the new node (kubeadm v1.31+, kubelet and a container runtime installed).\n")
	b.WriteString("# The JoinConfiguration passes the pool label to the kubelet (kubeletExtraArgs node-labels).\n")
	fmt.Fprintf(&b, "(umask 077 && cat > %s) <<'EOF'\n", file)
	b.WriteString("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n")
	fmt.Fprintf(&b, "    apiServerEndpoint: %q\n    token: %q\n    caCertHashes:\n    - %q\n", in.Facts.Endpoint, in.Token.Value(), caHash)
	b.WriteString("nodeRegistration:\n  kubeletExtraArgs:\n  - name: node-labels\n")
	fmt.Fprintf(&b, "    value: %q\nEOF\n", PoolLabel(in.Pool))
	fmt.Fprintf(&b, "kubeadm join --config %s && rm -f %s\n", file, file)
	return b.String(), ""
}

func k3sCommand(in JoinInput) (string, string) {
	if in.Facts.Endpoint == "" {
		return "", "the k3s server URL is unknown: set spec.join.apiServerEndpoint to the k3s server's host:port (e.g. 203.0.113.10:6443)"
	}
	var token, source string
	switch {
	case in.K3sToken != nil && in.K3sToken.Problem != "":
		return "", in.K3sToken.Problem
	case in.K3sToken != nil:
		token, source = in.K3sToken.Value, "the token of spec.join.k3s.tokenSecretRef"
	case !in.Facts.K3sServer:
		return "", "this cluster is not a k3s server (no control-plane node runs a k3s kubelet) and a k3s agent can only join a " +
			"k3s server: remove k3s from spec.join.methods, or set spec.join.k3s.tokenSecretRef if apiServerEndpoint is a k3s server"
	case len(in.Facts.CACert) == 0:
		return "", "the cluster CA is unknown (no kube-root-ca.crt ConfigMap): it is needed for the secure K10 token format"
	default:
		token = "K10" + K3sCAHash(in.Facts.CACert) + "::" + in.Token.Value()
		source = fmt.Sprintf("the pool's bootstrap token, expires %s; needs k3s v1.26+", in.Token.Expiration.UTC().Format(time.RFC3339))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# k3s agent join for EdgeCluster %s (%s).\n", in.Pool, source)
	b.WriteString("# Run as root on the new node; installs k3s and starts it as an agent of the server below.\n")
	fmt.Fprintf(&b, "curl -sfL https://get.k3s.io | K3S_URL=%s K3S_TOKEN=%s sh -s - agent --node-label %s\n",
		shellQuote("https://"+in.Facts.Endpoint), shellQuote(token), shellQuote(PoolLabel(in.Pool)))
	return b.String(), ""
}

// microk8sJoinPattern matches what `microk8s add-node` prints after "microk8s join ":
// <host>:<port>/<token>[/<cluster cert fingerprint>].
var microk8sJoinPattern = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}/[A-Za-z0-9]+(/[A-Za-z0-9]+)?$`)

func microk8sCommand(in JoinInput) (string, string) {
	switch {
	case in.MicroK8sJoin == nil:
		return "", fmt.Sprintf("microk8s joins with its own token, made on a microk8s control-plane node by `microk8s add-node "+
			"--token-ttl <seconds>`: put the connection string it prints (host:25000/token/hash) in a Secret in namespace %s "+
			"(key %q) and set spec.join.microk8s.joinSecretRef", in.Namespace, DefaultMicroK8sJoinKey)
	case in.MicroK8sJoin.Problem != "":
		return "", in.MicroK8sJoin.Problem
	}
	conn := strings.TrimPrefix(strings.TrimSpace(in.MicroK8sJoin.Value), "microk8s join ")
	if !microk8sJoinPattern.MatchString(conn) {
		return "", "the Secret of spec.join.microk8s.joinSecretRef does not hold a `microk8s add-node` connection string (host:port/token[/hash])"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# microk8s join for EdgeCluster %s, as a worker (microk8s installed: snap install microk8s --classic).\n", in.Pool)
	b.WriteString("# The kubelet args file gets the pool label before joining; the token is microk8s's own\n")
	b.WriteString("# (from `microk8s add-node`) and expires as that command said.\n")
	fmt.Fprintf(&b, "echo %s | sudo tee -a /var/snap/microk8s/current/args/kubelet\n", shellQuote("--node-labels="+PoolLabel(in.Pool)))
	fmt.Fprintf(&b, "sudo microk8s join %s --worker\n", shellQuote(conn))
	return b.String(), ""
}

func kubeedgeCommand(in JoinInput) (string, string) {
	switch {
	case in.CloudCoreAddress == "":
		return "", "set spec.join.kubeedge.cloudCoreAddress to the host:port edge nodes reach CloudCore on (keadm init's " +
			"--advertise-address, port 10000 by default)"
	case in.KubeEdgeToken == nil:
		return "", fmt.Sprintf("no CloudCore token: Secret %s/%s (written by CloudCore) not found; install CloudCore or set "+
			"spec.join.kubeedge.tokenSecretRef to a Secret in namespace %s holding `keadm gettoken`'s output",
			KubeEdgeNamespace, KubeEdgeTokenSecret, in.Namespace)
	case in.KubeEdgeToken.Problem != "":
		return "", in.KubeEdgeToken.Problem
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# KubeEdge join for EdgeCluster %s (keadm installed; CloudCore's token, which CloudCore renews itself).\n", in.Pool)
	b.WriteString("# Run as root on the edge node; edgecore registers the node with the pool label.\n")
	fmt.Fprintf(&b, "keadm join --cloudcore-ipport=%s --token=%s --labels=%s\n",
		shellQuote(in.CloudCoreAddress), shellQuote(strings.TrimSpace(in.KubeEdgeToken.Value)), shellQuote(PoolLabel(in.Pool)))
	return b.String(), ""
}

func kubeletCommand(in JoinInput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Plain kubelet TLS bootstrap for EdgeCluster %s (token expires %s).\n", in.Pool, in.Token.Expiration.UTC().Format(time.RFC3339))
	b.WriteString("# Save the bootstrap-kubeconfig key of this Secret as /etc/kubernetes/bootstrap-kubelet.conf (mode 0600),\n")
	b.WriteString("# then start the kubelet (with your usual --config and container runtime flags) with:\n")
	fmt.Fprintf(&b, "kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf "+
		"--cert-dir=/var/lib/kubelet/pki --rotate-certificates --node-labels=%s\n", PoolLabel(in.Pool))
	return b.String()
}

// BootstrapKubeconfig is a kubelet bootstrap kubeconfig: the API server, its CA and the
// bootstrap token. A kubelet started with --bootstrap-kubeconfig uses it to request its client
// certificate (a CSR that kube-controller-manager approves for bootstrap tokens and signs).
func BootstrapKubeconfig(pool, endpoint string, caPEM []byte, tok Token) string {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[pool] = &clientcmdapi.Cluster{Server: "https://" + endpoint, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["tls-bootstrap-token-user"] = &clientcmdapi.AuthInfo{Token: tok.Value()}
	cfg.Contexts["tls-bootstrap-token-user@"+pool] = &clientcmdapi.Context{Cluster: pool, AuthInfo: "tls-bootstrap-token-user"}
	cfg.CurrentContext = "tls-bootstrap-token-user@" + pool
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		panic(fmt.Sprintf("encoding a kubeconfig: %v", err)) // only on programming errors
	}
	return string(data)
}

// shellQuote quotes s for a POSIX shell: inside single quotes, each quote is closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
