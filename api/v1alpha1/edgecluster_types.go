package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EdgeClusterSpec describes a pool of edge nodes.
// +kubebuilder:validation:XValidation:rule="!has(self.expectedNodes) || !has(self.minReadyNodes) || self.minReadyNodes <= self.expectedNodes",message="spec.minReadyNodes must not exceed spec.expectedNodes",fieldPath=".minReadyNodes"
type EdgeClusterSpec struct {
	// Description of the pool for humans. Example: "Factory floor, Busan".
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// Location of the pool's site.
	// +optional
	Location *Location `json:"location,omitempty"`

	// Join configures how nodes join the pool: bootstrap token and join commands.
	// +kubebuilder:default={}
	// +optional
	Join *JoinSpec `json:"join,omitempty"`

	// AllowedNamespaces selects, by their labels, the namespaces whose ImageBuilds and
	// AppDeployments may use this pool (kubernetes.io/metadata.name selects by name). Others that
	// target it are Stalled with reason PoolNotAllowed and get nothing of the pool. Default: all.
	// +optional
	AllowedNamespaces *metav1.LabelSelector `json:"allowedNamespaces,omitempty"`

	// NodeTemplate is applied to every member node (labels, annotations, taints). Only these
	// fields are owned by edgeforge: a node's other labels and taints are left alone.
	// +optional
	NodeTemplate *NodeTemplate `json:"nodeTemplate,omitempty"`

	// Health configures how node readiness is judged.
	// +kubebuilder:default={}
	// +optional
	Health *HealthSpec `json:"health,omitempty"`

	// MinReadyNodes is how many ready nodes make the pool Ready. Default: 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	MinReadyNodes *int32 `json:"minReadyNodes,omitempty"`

	// ExpectedNodes is how many nodes the pool should have; missing ones are reported in status.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	ExpectedNodes *int32 `json:"expectedNodes,omitempty"`

	// ApproveServingCSRs approves kubernetes.io/kubelet-serving CSRs of member nodes whose
	// requested names and addresses spec.servingCertificates allows, and denies (with the
	// reason) those of members that ask for more. Other CSRs are left alone.
	// +optional
	ApproveServingCSRs bool `json:"approveServingCSRs,omitempty"`

	// ServingCertificates is what a member's kubelet serving certificate may name. Default:
	// the node's own name only. What the node reports about itself (its addresses) grants nothing.
	// +optional
	ServingCertificates *ServingCertificatePolicy `json:"servingCertificates,omitempty"`

	// Autonomy is how the pool's workloads ride out a lost link to the control plane.
	// +kubebuilder:default={}
	// +optional
	Autonomy *AutonomySpec `json:"autonomy,omitempty"`
}

// AutonomySpec says how long a pool's workloads stay put while its nodes cannot reach the
// control plane.
type AutonomySpec struct {
	// TolerateDisconnectionFor is how long the pods AppDeployments place on the pool stay on a
	// node that is unreachable or not ready (their tolerations of node.kubernetes.io/unreachable
	// and node.kubernetes.io/not-ready, NoExecute), as a duration such as 24h, or Forever.
	// Kubernetes' own default, 5m, evicts a site's pods after a short WAN cut. A toleration of
	// those keys in spec.placement.tolerations wins. Default: 1h.
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self == 'Forever' || (self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1s'))",message="spec.autonomy.tolerateDisconnectionFor must be a duration of at least 1s such as 30m or 24h, or Forever"
	// +optional
	TolerateDisconnectionFor string `json:"tolerateDisconnectionFor,omitempty"`

	// DisconnectedThreshold is the percentage of member nodes that, unreachable at once, make
	// the pool Disconnected: one condition and one event for the site instead of a failure per
	// node. Default: 70.
	// +kubebuilder:default=70
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	DisconnectedThreshold *int32 `json:"disconnectedThreshold,omitempty"`
}

// DisconnectionForever is spec.autonomy.tolerateDisconnectionFor's value for "never evict".
const DisconnectionForever = "Forever"

// ServingCertificatePolicy limits the names and addresses of members' serving certificates.
type ServingCertificatePolicy struct {
	// DNSSuffixes: a member <node> may also name <node>.<suffix>, e.g. suffix site-a.example.com
	// allows edge-1.site-a.example.com for node edge-1.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +listType=set
	// +optional
	DNSSuffixes []string `json:"dnsSuffixes,omitempty"`
	// IPRanges: CIDRs the certificate's IP addresses must fall in, e.g. the site's subnet
	// 10.20.0.0/16. Empty: no IP address is allowed.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(r, isCIDR(r))",message="spec.servingCertificates.ipRanges: every entry must be a CIDR such as 10.20.0.0/16"
	// +listType=set
	// +optional
	IPRanges []string `json:"ipRanges,omitempty"`
}

// Location of an edge site.
type Location struct {
	// Region, e.g. kr-south.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Region string `json:"region,omitempty"`
	// Site, e.g. busan-1.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Site string `json:"site,omitempty"`
}

// JoinMethod is a way of joining a node to the cluster.
// +kubebuilder:validation:Enum=kubeadm;k3s;microk8s;kubeedge;kubelet
type JoinMethod string

// Join methods.
const (
	JoinMethodKubeadm  JoinMethod = "kubeadm"
	JoinMethodK3s      JoinMethod = "k3s"
	JoinMethodMicroK8s JoinMethod = "microk8s"
	JoinMethodKubeEdge JoinMethod = "kubeedge"
	// JoinMethodKubelet is a plain kubelet with TLS bootstrapping (--bootstrap-kubeconfig): works
	// on any cluster with bootstrap-token authentication and a CSR signer.
	JoinMethodKubelet JoinMethod = "kubelet"
)

// JoinSpec configures join tokens and join commands.
type JoinSpec struct {
	// Methods to render join commands for: kubeadm, k3s, microk8s, kubeedge, kubelet (a plain
	// kubelet with TLS bootstrapping). Default: [kubeadm].
	// +kubebuilder:default={kubeadm}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=5
	// +listType=set
	// +optional
	Methods []JoinMethod `json:"methods,omitempty"`

	// TokenTTL is the lifetime of a bootstrap token; it is rotated before it expires.
	// 10m..168h. Default: 24h.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10m') && duration(self) <= duration('168h')",message="spec.join.tokenTTL must be between 10m and 168h"
	// +optional
	TokenTTL *metav1.Duration `json:"tokenTTL,omitempty"`

	// APIServerEndpoint is host:port of the API server as the nodes reach it, e.g.
	// 203.0.113.10:6443. Default: the server in the kube-public/cluster-info ConfigMap.
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$') || self.matches('^[[][0-9a-fA-F:]+[]]:[0-9]{1,5}$')",message="spec.join.apiServerEndpoint must be host:port without a scheme (e.g. 203.0.113.10:6443)"
	// +optional
	APIServerEndpoint string `json:"apiServerEndpoint,omitempty"`

	// K3s configures the k3s agent join command (method k3s). A k3s agent can only join a k3s
	// server. By default the command uses the pool's bootstrap token, which k3s v1.26 and later
	// accept for agents; set tokenSecretRef to use a k3s agent or server token instead.
	// +optional
	K3s *K3sJoin `json:"k3s,omitempty"`

	// MicroK8s configures the microk8s join command (method microk8s). microk8s joins with its
	// own one-time token made by `microk8s add-node` on a microk8s control-plane node, which
	// edgeforge cannot create: the method is ready once joinSecretRef names a Secret with it.
	// +optional
	MicroK8s *MicroK8sJoin `json:"microk8s,omitempty"`

	// KubeEdge configures the keadm join command (method kubeedge). keadm joins through
	// CloudCore with CloudCore's own token, not a bootstrap token.
	// +optional
	KubeEdge *KubeEdgeJoin `json:"kubeedge,omitempty"`
}

// SecretKeyRef names one key of a Secret in the operator's namespace (where the operator also
// writes the join commands; flag --namespace, default edgeforge-system).
type SecretKeyRef struct {
	// Name of the Secret, in the operator's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// Key in the Secret's data. The default depends on the field (see its description).
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="key must consist of alphanumeric characters, '-', '_' or '.'"
	// +optional
	Key string `json:"key,omitempty"`
}

// K3sJoin configures the k3s agent join command.
type K3sJoin struct {
	// TokenSecretRef names a Secret (in the operator's namespace) holding a k3s token for agents:
	// the server's agent token (--agent-token) or node token
	// (/var/lib/rancher/k3s/server/node-token on a server), secure "K10…" or short format.
	// Key default: "token". Unset: the pool's rotating bootstrap token is used, in secure
	// format (K10<sha256 of the cluster CA PEM>::<token>), which needs k3s v1.26 or later.
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
}

// MicroK8sJoin configures the microk8s join command.
type MicroK8sJoin struct {
	// JoinSecretRef names a Secret (in the operator's namespace) holding the connection string
	// `microk8s add-node` prints on a control-plane node, e.g.
	// 10.0.0.1:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05. Key default: "join".
	// Create it with a long enough lifetime (`microk8s add-node --token-ttl <seconds>`) and
	// replace it when it expires. Unset: the microk8s method is not ready.
	// +optional
	JoinSecretRef *SecretKeyRef `json:"joinSecretRef,omitempty"`
}

// KubeEdgeJoin configures the keadm join command.
type KubeEdgeJoin struct {
	// CloudCoreAddress is host:port where edge nodes reach CloudCore's websocket endpoint
	// (keadm init's --advertise-address, port 10000 by default), e.g. 203.0.113.10:10000.
	// Required for the kubeedge method.
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$') || self.matches('^[[][0-9a-fA-F:]+[]]:[0-9]{1,5}$')",message="spec.join.kubeedge.cloudCoreAddress must be host:port without a scheme (e.g. 203.0.113.10:10000)"
	// +optional
	CloudCoreAddress string `json:"cloudCoreAddress,omitempty"`

	// TokenSecretRef names a Secret (in the operator's namespace) holding a CloudCore token
	// (what `keadm gettoken` prints). Key default: "tokendata". Unset: the token CloudCore keeps
	// in the Secret kubeedge/tokensecret is used.
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
}

// NodeTemplate is what edgeforge applies to member nodes.
type NodeTemplate struct {
	// Labels set on every member node. Keys under edgeforge.io/ are reserved.
	// Example: {tier: edge}.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="spec.nodeTemplate.labels: keys must be valid label keys ([prefix/]name, name at most 63 characters)"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.startsWith('edgeforge.io/') || k.contains('.edgeforge.io/')))",message="spec.nodeTemplate.labels: keys under edgeforge.io/ are reserved"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].matches('^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$'))",message="spec.nodeTemplate.labels: values must be valid label values (at most 63 characters, alphanumeric at both ends)"
	// +optional
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// Annotations set on every member node. Keys under edgeforge.io/ are reserved.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="spec.nodeTemplate.annotations: keys must be valid annotation keys ([prefix/]name)"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.startsWith('edgeforge.io/') || k.contains('.edgeforge.io/')))",message="spec.nodeTemplate.annotations: keys under edgeforge.io/ are reserved"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Taints set on every member node. Example: [{key: edgeforge.io/edge, value: "true", effect: NoSchedule}].
	// +listType=map
	// +listMapKey=key
	// +listMapKey=effect
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Taints []Taint `json:"taints,omitempty"`
}

// LabelValue is a Kubernetes label value: at most 63 characters.
// +kubebuilder:validation:MaxLength=63
type LabelValue string

// Taint is a node taint applied to the pool's nodes.
type Taint struct {
	// Key of the taint, a label key. Example: edgeforge.io/edge.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')",message="spec.nodeTemplate.taints[].key must be a valid label key"
	// +required
	Key string `json:"key"`

	// Value of the taint, a label value.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')",message="spec.nodeTemplate.taints[].value must be a valid label value"
	// +optional
	Value string `json:"value,omitempty"`

	// Effect: NoSchedule, PreferNoSchedule or NoExecute.
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	// +required
	Effect corev1.TaintEffect `json:"effect"`
}

// HealthSpec configures health judgement.
type HealthSpec struct {
	// NotReadyGracePeriod is how long a node may be NotReady before the pool is Degraded.
	// Default: 5m.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('168h')",message="spec.health.notReadyGracePeriod must be between 0s and 168h"
	// +optional
	NotReadyGracePeriod *metav1.Duration `json:"notReadyGracePeriod,omitempty"`
}

// PlatformCount is how many members of a pool have one platform.
type PlatformCount struct {
	// Platform is os/arch of the nodes' kubernetes.io/os and kubernetes.io/arch labels.
	// Example: linux/arm64.
	Platform string `json:"platform"`
	// Nodes is the number of members of that platform.
	Nodes int32 `json:"nodes"`
	// ReadyNodes is the number of them that are Ready.
	ReadyNodes int32 `json:"readyNodes"`
}

// EdgeNodeStatus is the observed state of one member node.
type EdgeNodeStatus struct {
	// Name of the Node.
	Name string `json:"name"`
	// Ready is the Node's Ready condition.
	Ready bool `json:"ready"`
	// Arch is the CPU architecture, e.g. arm64.
	// +optional
	Arch string `json:"arch,omitempty"`
	// OS, e.g. linux.
	// +optional
	OS string `json:"os,omitempty"`
	// KubeletVersion, e.g. v1.37.2.
	// +optional
	KubeletVersion string `json:"kubeletVersion,omitempty"`
	// InternalIP of the node.
	// +optional
	InternalIP string `json:"internalIP,omitempty"`
	// LastHeartbeatTime of the node's Ready condition, recorded only while the node is not Ready:
	// the last time its kubelet reported. A Ready node heartbeats every few minutes; copying
	// that into the pool's status would rewrite it constantly (at 1,000 nodes, several times a
	// second), so it is left out while Ready.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`
	// NotReadySince is when the node last became NotReady; empty while Ready.
	// +optional
	NotReadySince *metav1.Time `json:"notReadySince,omitempty"`
}

// NamespacedObjectReference names an object in a given namespace.
type NamespacedObjectReference struct {
	// Name of the object.
	Name string `json:"name"`
	// Namespace of the object.
	Namespace string `json:"namespace"`
}

// JoinMethodStatus says whether a join command could be rendered for a method.
type JoinMethodStatus struct {
	// Method: kubeadm, k3s, microk8s or kubeedge.
	Method JoinMethod `json:"method"`
	// Ready is true when a working command was rendered.
	Ready bool `json:"ready"`
	// Message says what is missing when not ready.
	// +optional
	Message string `json:"message,omitempty"`
}

// JoinStatus points to the join commands; it never holds the token itself.
type JoinStatus struct {
	// SecretRef names the Secret holding the rendered join commands.
	// +optional
	SecretRef *NamespacedObjectReference `json:"secretRef,omitempty"`
	// TokenExpiresAt is when the current bootstrap token expires.
	// +optional
	TokenExpiresAt *metav1.Time `json:"tokenExpiresAt,omitempty"`
	// Methods report, per method in spec.join.methods, whether its join command is usable and,
	// when it is not, what is missing.
	// +listType=map
	// +listMapKey=method
	// +optional
	Methods []JoinMethodStatus `json:"methods,omitempty"`
}

// EdgeClusterStatus is the observed state of an EdgeCluster.
type EdgeClusterStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// DisconnectedSince is when the pool became Disconnected (unset while it is connected).
	// +optional
	DisconnectedSince *metav1.Time `json:"disconnectedSince,omitempty"`
	// LastDisconnection is the pool's last disconnection that ended: when, and for how long.
	// +optional
	LastDisconnection *Disconnection `json:"lastDisconnection,omitempty"`
	// TotalNodes is the number of member nodes.
	// +optional
	TotalNodes int32 `json:"totalNodes"`
	// ReadyNodes is the number of member nodes that are Ready.
	// +optional
	ReadyNodes int32 `json:"readyNodes"`
	// MissingNodes is expectedNodes minus totalNodes, when expectedNodes is set and larger.
	// +optional
	MissingNodes int32 `json:"missingNodes,omitempty"`
	// Ready is "readyNodes/totalNodes", for kubectl's READY column. Example: 2/3.
	// +optional
	Ready string `json:"ready,omitempty"`
	// Nodes lists the member nodes, sorted by name: all of them in a pool of at most 100, else
	// only the NotReady ones (at most 100), so a 10,000-node pool stays far below the object size
	// limit; nodesOmitted counts the members left out, platforms and the counts above summarize
	// them all. Only the controller writes it, as a whole: an atomic list keeps the object's
	// managed fields (and the API server's work per status write) small.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	Nodes []EdgeNodeStatus `json:"nodes,omitempty"`
	// NodesOmitted is how many members status.nodes leaves out (pools of more than 100 nodes).
	// +optional
	NodesOmitted int32 `json:"nodesOmitted,omitempty"`
	// Platforms counts the members per platform (os/arch), sorted: what a build on the pool
	// without spec.runOn.platform is pinned to (the platform with the most Ready members).
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Platforms []PlatformCount `json:"platforms,omitempty"`
	// UnadmittedNodes are nodes that label themselves edgeforge.io/edge-cluster=<this pool> but
	// are not members (they did not join with the pool's token, and no admin admitted them):
	// they get nothing of the pool. Sorted, at most 20; unadmittedNodeCount counts them all.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	UnadmittedNodes []string `json:"unadmittedNodes,omitempty"`
	// UnadmittedNodeCount is the number of such nodes.
	// +optional
	UnadmittedNodeCount int32 `json:"unadmittedNodeCount,omitempty"`
	// AppliedTaints are the taints ("key:Effect") the pool's node template has put on members, now
	// or before (until taken off every node): edgeforge removes from a node only taints listed
	// here, never one a node merely claims edgeforge added.
	// +kubebuilder:validation:MaxItems=128
	// +listType=atomic
	// +optional
	AppliedTaints []string `json:"appliedTaints,omitempty"`
	// Join points to the join commands and tells when the token expires.
	// +optional
	Join *JoinStatus `json:"join,omitempty"`
	// Conditions: Ready, Reconciling, Stalled, Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Disconnection is a time the pool was Disconnected.
type Disconnection struct {
	// Since is when the pool became Disconnected.
	Since metav1.Time `json:"since"`
	// Until is when it was connected again.
	Until metav1.Time `json:"until"`
	// Duration is how long it was away, e.g. 12m3s.
	Duration string `json:"duration"`
}

// ConditionDisconnected is True when at least spec.autonomy.disconnectedThreshold percent of the
// pool's member nodes are unreachable (their Ready condition Unknown: they stopped reporting).
const ConditionDisconnected = "Disconnected"

// ConditionDegraded is True when member nodes have been NotReady longer than the grace period.
const ConditionDegraded = "Degraded"

// ConditionJoinReady is True when at least one of spec.join.methods has a join command that can
// work on this cluster, False (with each method's reason) when none has.
const ConditionJoinReady = "JoinReady"

// Reasons of EdgeCluster conditions. Condition messages say what happened and what to do.
const (
	// EdgeClusterReasonPoolReady: at least spec.minReadyNodes member nodes are Ready and the join
	// token and commands are in place.
	EdgeClusterReasonPoolReady = "PoolReady"
	// EdgeClusterReasonNotEnoughReadyNodes: fewer than spec.minReadyNodes member nodes are Ready.
	EdgeClusterReasonNotEnoughReadyNodes = "NotEnoughReadyNodes"
	// EdgeClusterReasonProgressing: the join token or commands are being created or rotated.
	EdgeClusterReasonProgressing = "Progressing"
	// EdgeClusterReasonOperatorNamespaceNotFound: the operator's namespace, where the join commands
	// Secret is written, does not exist.
	EdgeClusterReasonOperatorNamespaceNotFound = "OperatorNamespaceNotFound"
	// EdgeClusterReasonNodesNotReady (Degraded=True): member nodes have been NotReady longer than
	// spec.health.notReadyGracePeriod.
	EdgeClusterReasonNodesNotReady = "NodesNotReady"
	// EdgeClusterReasonNodesHealthy (Degraded=False): no member node is NotReady beyond the grace period.
	EdgeClusterReasonNodesHealthy = "NodesHealthy"
	// EdgeClusterReasonJoinCommandsReady (JoinReady=True): the join Secret holds a command for at
	// least one requested method.
	EdgeClusterReasonJoinCommandsReady = "JoinCommandsReady"
	// EdgeClusterReasonNoUsableJoinMethod (JoinReady=False): none of spec.join.methods can work
	// on this cluster; the message says why for each.
	EdgeClusterReasonNoUsableJoinMethod = "NoUsableJoinMethod"
	// EdgeClusterReasonChildRejected: the API server rejected the join Secret or a bootstrap
	// ClusterRoleBinding (the message quotes it).
	EdgeClusterReasonChildRejected = "ChildRejected"
	// EdgeClusterReasonBootstrapTokensForbidden (Stalled): the operator may not read or write
	// Secrets in kube-system, where bootstrap tokens live (its Role there is missing, as after
	// an OLM install before bundle/kube-system-rbac.yaml is applied).
	EdgeClusterReasonBootstrapTokensForbidden = "BootstrapTokensForbidden"
	// EdgeClusterReasonNodesUnreachable (Disconnected=True): at least the threshold of member
	// nodes are unreachable.
	EdgeClusterReasonNodesUnreachable = "NodesUnreachable"
	// EdgeClusterReasonConnected (Disconnected=False): fewer are.
	EdgeClusterReasonConnected = "Connected"
	// EdgeClusterReasonDeleting: the finalizer is removing tokens, join commands and node templates.
	EdgeClusterReasonDeleting = "Deleting"
)

// Event reasons of EdgeClusters (kubectl describe ec <name>).
const (
	// EdgeClusterEventNodeJoined: nodes became members of the pool.
	EdgeClusterEventNodeJoined = "NodeJoined"
	// EdgeClusterEventNodeLeft: nodes stopped being members (label removed or Node deleted).
	EdgeClusterEventNodeLeft = "NodeLeft"
	// EdgeClusterEventNodeNotReady: nodes have been NotReady longer than the grace period.
	EdgeClusterEventNodeNotReady = "NodeNotReady"
	// EdgeClusterEventNodeReady: NotReady nodes are Ready again.
	EdgeClusterEventNodeReady = "NodeReady"
	// EdgeClusterEventDisconnected: the pool became Disconnected (one event for the site).
	EdgeClusterEventDisconnected = "Disconnected"
	// EdgeClusterEventReconnected: the pool is connected again; the message says after how long.
	EdgeClusterEventReconnected = "Reconnected"
	// EdgeClusterEventTokenRotated: a new bootstrap token replaced the previous one.
	EdgeClusterEventTokenRotated = "TokenRotated"
	// EdgeClusterEventNodeAdmitted: a node that joined with the pool's bootstrap token was made a
	// member (label node-restriction.kubernetes.io/edge-cluster).
	EdgeClusterEventNodeAdmitted = "NodeAdmitted"
	// EdgeClusterEventNodeNotAdmitted: a node claims the pool by its own label without being a
	// member, or joined with the pool's token while a member of another pool.
	EdgeClusterEventNodeNotAdmitted = "NodeNotAdmitted"
	// EdgeClusterEventNodeClientCSRDenied: a client certificate request made with the pool's
	// bootstrap token asked for the name of an existing node that is not the pool's member (or
	// was malformed) and was denied.
	EdgeClusterEventNodeClientCSRDenied = "NodeClientCSRDenied"
	// EdgeClusterEventServingCSRDenied: a member's kubelet-serving CSR asked for names or
	// addresses spec.servingCertificates does not allow, and was denied.
	EdgeClusterEventServingCSRDenied = "ServingCSRDenied"
	// EdgeClusterEventServingCSRApproved: a member's kubelet-serving CSR was approved.
	EdgeClusterEventServingCSRApproved = "ServingCSRApproved"
	// EdgeClusterEventBootstrapRBACCreated: edgeforge created the ClusterRoleBindings that let
	// bootstrap tokens request node certificates.
	EdgeClusterEventBootstrapRBACCreated = "BootstrapRBACCreated"
)

// EdgeClusterFinalizer lets the controller remove what an EdgeCluster put outside of it before it
// goes: bootstrap token Secrets in kube-system, the join commands Secret, node template labels,
// annotations and taints (Nodes themselves are never deleted).
const EdgeClusterFinalizer = "edgeforge.io/edgecluster-cleanup"

// Annotations edgeforge sets on member Nodes next to the node template (keys reserved to edgeforge).
const (
	// AnnotationNodeTemplate names the EdgeCluster whose nodeTemplate is applied to the Node.
	AnnotationNodeTemplate = "edgeforge.io/node-template"
	// AnnotationNodeTemplateHash is a hash of the applied labels and annotations, so an unchanged
	// template is not applied again.
	AnnotationNodeTemplateHash = "edgeforge.io/node-template-hash"
	// AnnotationNodeTemplateTaints lists the taints ("key:Effect", comma-separated) edgeforge added
	// to the Node; Node taints are an atomic list, so this is how edgeforge knows which to remove.
	AnnotationNodeTemplateTaints = "edgeforge.io/node-template-taints"
)

// EdgeCluster is a pool of edge nodes: members are Nodes labelled
// node-restriction.kubernetes.io/edge-cluster=<name>, a label kubelets cannot set: edgeforge sets
// it on nodes that joined with the pool's own bootstrap token, or an admin does. It issues join
// tokens and join commands, applies a node template and reports pool health.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ec,categories=edgeforge
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters (it is used as a label value)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Methods",type=string,JSONPath=`.spec.join.methods`
// +kubebuilder:printcolumn:name="Join",type=string,JSONPath=`.status.conditions[?(@.type=="JoinReady")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EdgeCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired pool.
	// +required
	Spec EdgeClusterSpec `json:"spec"`
	// Status is the observed pool.
	// +optional
	Status EdgeClusterStatus `json:"status,omitempty"`
}

// EdgeClusterList is a list of EdgeClusters.
// +kubebuilder:object:root=true
type EdgeClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EdgeCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&EdgeCluster{}, &EdgeClusterList{})
}
