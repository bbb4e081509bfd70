package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AppDeploymentSpec describes a workload: what runs, how it is exposed and where it is placed.
// +kubebuilder:validation:XValidation:rule="has(self.image) != has(self.imageFrom)",message="spec: exactly one of image or imageFrom must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.ingress) || (has(self.ports) && size(self.ports) > 0)",message="spec.ingress requires at least one entry in spec.ports",fieldPath=".ingress"
// +kubebuilder:validation:XValidation:rule="!has(self.ingress) || !has(self.service) || self.service.type != 'None'",message="spec.ingress requires a Service: spec.service.type must not be None",fieldPath=".ingress"
// +kubebuilder:validation:XValidation:rule="!has(self.ingress) || !has(self.ingress.port) || (has(self.ports) && self.ports.exists(p, p.name == self.ingress.port))",message="spec.ingress.port must name one of spec.ports",fieldPath=".ingress.port"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics) || (has(self.ports) && self.ports.exists(p, p.name == self.metrics.port))",message="spec.metrics.port must name one of spec.ports",fieldPath=".metrics.port"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics) || !has(self.service) || self.service.type != 'None'",message="spec.metrics requires a Service: spec.service.type must not be None",fieldPath=".metrics"
// +kubebuilder:validation:XValidation:rule="!has(self.placement) || !has(self.placement.rollout) || !has(self.autoscaling)",message="spec.autoscaling cannot be combined with spec.placement.rollout (set replicas per pool in spec.placement.rollout.pools[].replicas)",fieldPath=".autoscaling"
type AppDeploymentSpec struct {
	// Image to run, e.g. nginx:1.27. Exactly one of image or imageFrom.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.contains(' ')",message="spec.image must be an image reference without spaces"
	// +optional
	Image string `json:"image,omitempty"`

	// ImageFrom follows the image an ImageBuild produced (by digest): every new successful
	// build rolls out by itself. Exactly one of image or imageFrom.
	// +optional
	ImageFrom *ImageSource `json:"imageFrom,omitempty"`

	// ImagePullSecrets are kubernetes.io/dockerconfigjson Secrets in the same namespace that the
	// pods pull their image with (a private registry). With imageFrom, the ImageBuild's push
	// Secret is added unless imageFrom.usePushSecret is false. Example: [{name: regcred}].
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// ServiceAccountName is the ServiceAccount the pods run as. Default: the namespace's "default".
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="spec.serviceAccountName must be a DNS subdomain name (lowercase letters, digits, '-' and '.')"
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// AutomountServiceAccountToken mounts an API token into the pods. Default: false, unless
	// serviceAccountName is set (a ServiceAccount named on purpose is there to be used): an app
	// that does not talk to the API server should not carry a credential for it.
	// +optional
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`

	// SecurityContext of the pods. Pod Security "restricted" by default, field by field:
	// runAsNonRoot true and seccompProfile RuntimeDefault unless set here. An image that runs as
	// root needs a numeric USER, runAsUser here, or runAsNonRoot: false (else the kubelet refuses
	// it: Ready=False, reason ContainerConfigFailed).
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// ContainerSecurityContext of the app's container. Pod Security "restricted" by default,
	// field by field: allowPrivilegeEscalation false (unless privileged or adding SYS_ADMIN) and
	// capabilities drop ALL unless capabilities is set here.
	// +optional
	ContainerSecurityContext *corev1.SecurityContext `json:"containerSecurityContext,omitempty"`

	// Replicas is the desired number of pods. 0..1000. Default: 1. Ignored while autoscaling is set.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Ports the container listens on; each is also exposed by the Service. Names are unique.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Ports []AppPort `json:"ports,omitempty"`

	// Service exposes the ports. Default type: ClusterIP; None creates no Service.
	// +kubebuilder:default={}
	// +optional
	Service *AppService `json:"service,omitempty"`

	// Ingress routes HTTP(S) traffic from outside to the Service. Needs at least one port.
	// +optional
	Ingress *AppIngress `json:"ingress,omitempty"`

	// Env sets environment variables of the container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// EnvFrom imports environment variables from ConfigMaps or Secrets.
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// Command overrides the image's ENTRYPOINT.
	// +optional
	Command []string `json:"command,omitempty"`

	// Args overrides the image's CMD.
	// +optional
	Args []string `json:"args,omitempty"`

	// Resources of the container (requests and limits).
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// LivenessProbe of the container.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`

	// ReadinessProbe of the container.
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`

	// Autoscaling creates a HorizontalPodAutoscaler; replicas are then left to it.
	// +optional
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`

	// DisruptionBudget creates a PodDisruptionBudget: exactly one of minAvailable or maxUnavailable.
	// +optional
	DisruptionBudget *DisruptionBudget `json:"disruptionBudget,omitempty"`

	// Strategy of rolling updates.
	// +kubebuilder:default={}
	// +optional
	Strategy *RolloutStrategy `json:"strategy,omitempty"`

	// Rollback reverts to status.lastGoodImage when a rollout misses its progress deadline.
	// +kubebuilder:default={}
	// +optional
	Rollback *RollbackPolicy `json:"rollback,omitempty"`

	// Placement says which nodes run the pods: an edge pool or a node selector.
	// +optional
	Placement *Placement `json:"placement,omitempty"`

	// Metrics creates a prometheus-operator ServiceMonitor for the app (when its CRD exists).
	// +optional
	Metrics *AppMetrics `json:"metrics,omitempty"`
}

// ImageSource takes the image from another object.
type ImageSource struct {
	// ImageBuildRef names an ImageBuild in the same namespace whose status.latestImage is run.
	// +required
	ImageBuildRef LocalObjectReference `json:"imageBuildRef"`

	// UsePushSecret adds the ImageBuild's spec.output.pushSecretRef to the pods' image pull
	// Secrets, so an image pushed to a private registry can be pulled without repeating the
	// Secret. Default: true.
	// +kubebuilder:default=true
	// +optional
	UsePushSecret *bool `json:"usePushSecret,omitempty"`
}

// AppPort is a container port, also exposed by the Service.
type AppPort struct {
	// Name of the port: a lowercase DNS label of at most 15 characters. Example: http.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && self.matches('[a-z]')",message="spec.ports[].name must be a lowercase DNS label with at least one letter (e.g. http)"
	// +required
	Name string `json:"name"`

	// ContainerPort is the port the container listens on. 1..65535.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	ContainerPort int32 `json:"containerPort"`

	// ServicePort is the port of the Service. 1..65535. Default: containerPort.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ServicePort *int32 `json:"servicePort,omitempty"`

	// Protocol: TCP, UDP or SCTP. Default: TCP.
	// +kubebuilder:default=TCP
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// ServiceType is the type of Service created for an app; None creates no Service.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer;None
type ServiceType string

// Service types.
const (
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	ServiceTypeNone         ServiceType = "None"
)

// AppService configures the Service in front of the app.
// +kubebuilder:validation:XValidation:rule="!has(self.nodePort) || self.type == 'NodePort'",message="spec.service.nodePort is only allowed when spec.service.type is NodePort",fieldPath=".nodePort"
type AppService struct {
	// Type: ClusterIP, NodePort, LoadBalancer or None (no Service). Default: ClusterIP.
	// +kubebuilder:default=ClusterIP
	// +optional
	Type ServiceType `json:"type,omitempty"`

	// NodePort for the first port, only with type NodePort. 30000..32767. Default: allocated.
	// +kubebuilder:validation:Minimum=30000
	// +kubebuilder:validation:Maximum=32767
	// +optional
	NodePort *int32 `json:"nodePort,omitempty"`
}

// AppIngress configures an Ingress for the app.
// +kubebuilder:validation:XValidation:rule="!has(self.tlsSecretName) || has(self.host)",message="spec.ingress.tlsSecretName requires spec.ingress.host",fieldPath=".tlsSecretName"
type AppIngress struct {
	// Host name, e.g. web.example.com. Empty: all hosts.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([*][.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.ingress.host must be a DNS name (e.g. web.example.com)"
	// +optional
	Host string `json:"host,omitempty"`

	// Path prefix routed to the app. Must start with "/". Default: "/".
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="spec.ingress.path must start with '/'"
	// +optional
	Path string `json:"path,omitempty"`

	// Port names the entry of spec.ports that receives the traffic. Default: the first port.
	// +kubebuilder:validation:MaxLength=15
	// +optional
	Port string `json:"port,omitempty"`

	// ClassName is the IngressClass, e.g. nginx. Empty: the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName string `json:"className,omitempty"`

	// TLSSecretName names a kubernetes.io/tls Secret for host; enables HTTPS.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	TLSSecretName string `json:"tlsSecretName,omitempty"`
}

// Autoscaling configures a HorizontalPodAutoscaler on CPU utilisation.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="spec.autoscaling.minReplicas must be less than or equal to spec.autoscaling.maxReplicas",fieldPath=".minReplicas"
type Autoscaling struct {
	// MinReplicas is the lower bound. Default: 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the upper bound. 1..1000.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +required
	MaxReplicas int32 `json:"maxReplicas"`

	// TargetCPUUtilizationPercentage is the average CPU utilisation (of requests) to aim for.
	// Default: 80.
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// DisruptionBudget configures a PodDisruptionBudget. Exactly one field is set.
// +kubebuilder:validation:XValidation:rule="has(self.minAvailable) != has(self.maxUnavailable)",message="spec.disruptionBudget: exactly one of minAvailable or maxUnavailable must be set"
type DisruptionBudget struct {
	// MinAvailable pods during voluntary disruptions: a number or a percentage, e.g. 1 or "50%".
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="spec.disruptionBudget.minAvailable must be a non-negative number or a percentage like 50%"
	// +optional
	MinAvailable *intstr.IntOrString `json:"minAvailable,omitempty"`

	// MaxUnavailable pods during voluntary disruptions: a number or a percentage.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="spec.disruptionBudget.maxUnavailable must be a non-negative number or a percentage like 50%"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// RolloutStrategy configures rolling updates.
type RolloutStrategy struct {
	// MaxSurge: extra pods allowed during a rollout, a number or a percentage. Default: 25%.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="spec.strategy.maxSurge must be a non-negative number or a percentage like 25%"
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// MaxUnavailable: pods that may be unavailable during a rollout. Default: 25%.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="spec.strategy.maxUnavailable must be a non-negative number or a percentage like 25%"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// ProgressDeadlineSeconds after which a stuck rollout counts as failed (and is rolled back
	// when rollback is enabled). Default: 600.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// PrePull pulls a new image onto the nodes that will run it before the Deployment is
	// changed, so a slow link spends its time before the rollout instead of eating its progress
	// deadline: one short-lived Pod per Ready node (the app's nodeSelector, tolerations and image
	// pull Secrets) whose only work is the kubelet's pull. The rollout starts once every node has
	// the image, or after prePullTimeout; status.prePull names the nodes that had not. Not done
	// for the first Deployment of an app nor for a rollback. With spec.placement.rollout, a
	// wave's pools pull the image when the wave's turn comes, before their Deployments change.
	// Default: true when spec.placement.edgeClusterRef or spec.placement.rollout is set (edge
	// pools), false otherwise.
	// +optional
	PrePull *bool `json:"prePull,omitempty"`

	// PrePullTimeout is how long the rollout waits for the pre-pull. 1s..24h. Default: 10m.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="spec.strategy.prePullTimeout must be between 1s and 24h"
	// +optional
	PrePullTimeout *metav1.Duration `json:"prePullTimeout,omitempty"`
}

// RollbackPolicy configures automatic rollback.
type RollbackPolicy struct {
	// Enabled reverts to status.lastGoodImage when a rollout misses its progress deadline. Default: true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// Placement says where the pods run. With both edgeClusterRef and nodeSelector, the selector
// narrows the pool (e.g. its arm64 nodes); it cannot name another pool.
// +kubebuilder:validation:XValidation:rule="!has(self.edgeClusterRef) || !has(self.nodeSelector) || !('edgeforge.io/edge-cluster' in self.nodeSelector) || self.nodeSelector['edgeforge.io/edge-cluster'] == self.edgeClusterRef.name",message="spec.placement.nodeSelector: edgeforge.io/edge-cluster must name the pool of spec.placement.edgeClusterRef when both are set",fieldPath=".nodeSelector"
// +kubebuilder:validation:XValidation:rule="!has(self.edgeClusterRef) || !has(self.nodeSelector) || !('node-restriction.kubernetes.io/edge-cluster' in self.nodeSelector) || self.nodeSelector['node-restriction.kubernetes.io/edge-cluster'] == self.edgeClusterRef.name",message="spec.placement.nodeSelector: node-restriction.kubernetes.io/edge-cluster must name the pool of spec.placement.edgeClusterRef when both are set",fieldPath=".nodeSelector"
// +kubebuilder:validation:XValidation:rule="!has(self.rollout) || !has(self.edgeClusterRef)",message="spec.placement.rollout and spec.placement.edgeClusterRef are exclusive: name the pool in spec.placement.rollout.pools",fieldPath=".rollout"
// +kubebuilder:validation:XValidation:rule="!has(self.rollout) || !has(self.nodeSelector) || (!('node-restriction.kubernetes.io/edge-cluster' in self.nodeSelector) && !('edgeforge.io/edge-cluster' in self.nodeSelector))",message="spec.placement.nodeSelector cannot name a pool with spec.placement.rollout (each pool's Deployment selects its pool)",fieldPath=".nodeSelector"
type Placement struct {
	// EdgeClusterRef runs the pods on the nodes of this edge pool, tolerating its taints.
	// +optional
	EdgeClusterRef *EdgeClusterReference `json:"edgeClusterRef,omitempty"`

	// NodeSelector for the pods; with edgeClusterRef it narrows the pool. Example: {kubernetes.io/arch: arm64}.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations for the pods, added to those derived from the edge pool.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// SpreadAcrossNodes spreads the pods evenly over nodes (topology key kubernetes.io/hostname).
	// +optional
	SpreadAcrossNodes bool `json:"spreadAcrossNodes,omitempty"`

	// Rollout runs the app on several edge pools, one Deployment per pool (named
	// <app>-<pool>), and moves a new image through them in waves: the next wave gets it only
	// when every Deployment of the current wave is rolled out and has stayed healthy for
	// pauseBetweenWaves. A wave whose rollout fails is rolled back and the rollout stops there.
	// Exclusive with edgeClusterRef.
	// +optional
	Rollout *WaveRollout `json:"rollout,omitempty"`
}

// WaveRollout lists the pools of a multi-pool app in the order their waves run.
type WaveRollout struct {
	// Pools are the waves' pools, in order: an entry with edgeClusterRef is one wave of one pool;
	// an entry with edgeClusterSelector is the selected pools (sorted by name), maxConcurrentPools
	// at a time, one wave per group. A pool selected twice belongs to its first entry.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +required
	Pools []PoolWave `json:"pools"`

	// PauseBetweenWaves is how long every Deployment of a wave must stay rolled out and healthy
	// before the next wave gets the new image. 0s..24h. Default: 5m.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="spec.placement.rollout.pauseBetweenWaves must be between 0s and 24h"
	// +optional
	PauseBetweenWaves *metav1.Duration `json:"pauseBetweenWaves,omitempty"`
}

// PoolWave is one entry of spec.placement.rollout.pools: one pool by name, or the pools a label
// selector selects, with per-pool overrides of the app's spec.
// +kubebuilder:validation:XValidation:rule="has(self.edgeClusterRef) != has(self.edgeClusterSelector)",message="spec.placement.rollout.pools[]: exactly one of edgeClusterRef or edgeClusterSelector must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.maxConcurrentPools) || has(self.edgeClusterSelector)",message="spec.placement.rollout.pools[].maxConcurrentPools is only allowed with edgeClusterSelector",fieldPath=".maxConcurrentPools"
type PoolWave struct {
	// EdgeClusterRef names one pool: a wave of its own.
	// +optional
	EdgeClusterRef *EdgeClusterReference `json:"edgeClusterRef,omitempty"`

	// EdgeClusterSelector selects pools by their labels. Pools whose spec.allowedNamespaces
	// does not admit the app's namespace are left out.
	// +optional
	EdgeClusterSelector *metav1.LabelSelector `json:"edgeClusterSelector,omitempty"`

	// MaxConcurrentPools is how many of the selected pools one wave updates at once. 1..100.
	// Default: all of them in one wave.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxConcurrentPools *int32 `json:"maxConcurrentPools,omitempty"`

	// Replicas of the app in each of these pools, instead of spec.replicas. 0..1000.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Env in these pools: a variable of the same name replaces spec.env's, others are added.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// Resources of the container in these pools, instead of spec.resources.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// AppMetrics says where the app serves Prometheus metrics.
type AppMetrics struct {
	// Port names the entry of spec.ports that serves metrics. Example: http.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +required
	Port string `json:"port"`

	// Path of the metrics endpoint. Must start with "/". Default: /metrics.
	// +kubebuilder:default="/metrics"
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="spec.metrics.path must start with '/'"
	// +optional
	Path string `json:"path,omitempty"`

	// Interval between scrapes, a Prometheus duration like 30s. Default: Prometheus' own.
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(ms|s|m|h))+$')",message="spec.metrics.interval must be a duration like 30s or 1m"
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Interval string `json:"interval,omitempty"`
}

// AppDeploymentStatus is the observed state of an AppDeployment.
type AppDeploymentStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Replicas is the number of pods (all versions).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// ReadyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// UpdatedReplicas is the number of pods running the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// AvailableReplicas is the number of pods available for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// Ready is "available/desired", for kubectl's READY column. Example: 2/2.
	// +optional
	Ready string `json:"ready,omitempty"`
	// Image the Deployment runs now, e.g. registry.example.com/team/web@sha256:…
	// +optional
	Image string `json:"image,omitempty"`
	// LastGoodImage is the last image whose rollout completed (all replicas updated and available).
	// A failed rollout is rolled back to it.
	// +optional
	LastGoodImage string `json:"lastGoodImage,omitempty"`
	// FailedImage is the image whose rollout missed its progress deadline and was rolled back to
	// lastGoodImage. It is not tried again until the image asked for changes (a new spec.image or
	// a new build of spec.imageFrom's ImageBuild); then it is cleared.
	// +optional
	FailedImage string `json:"failedImage,omitempty"`
	// PrePull is the last pre-pull of a new image onto the app's nodes (spec.strategy.prePull):
	// running, or how it ended.
	// +optional
	PrePull *PrePullStatus `json:"prePull,omitempty"`
	// Pools are the pools of spec.placement.rollout, in wave order: what each runs.
	// +listType=map
	// +listMapKey=name
	// +optional
	Pools []PoolStatus `json:"pools,omitempty"`
	// Wave is how far the rollout of spec.placement.rollout got: "reached/waves", e.g. 2/3 while
	// the second of three waves rolls out (kubectl's WAVE column).
	// +optional
	Wave string `json:"wave,omitempty"`
	// URL where the app is reachable in the cluster (or through its Ingress).
	// +optional
	URL string `json:"url,omitempty"`
	// Conditions: Ready, Reconciling, Stalled, RolledBack, ServiceMonitorReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PoolStatus is one pool of a multi-pool app (spec.placement.rollout).
type PoolStatus struct {
	// Name of the EdgeCluster.
	Name string `json:"name"`
	// Wave the pool belongs to, from 1.
	Wave int32 `json:"wave"`
	// Deployment is the pool's Deployment (<app>-<pool>).
	Deployment string `json:"deployment"`
	// Image the pool's Deployment runs ("" before it exists).
	// +optional
	Image string `json:"image,omitempty"`
	// Replicas is the pool's desired number of pods.
	Replicas int32 `json:"replicas"`
	// ReadyReplicas is the number of its pods that are ready.
	ReadyReplicas int32 `json:"readyReplicas"`
	// RolledOutAt is when the pool's Deployment was first seen fully rolled out on image (all
	// replicas updated and available); unset while it is not.
	// +optional
	RolledOutAt *metav1.Time `json:"rolledOutAt,omitempty"`
	// State: Waiting (its wave has not come), RollingOut, RolledOut, Failed (its rollout missed
	// the progress deadline: rolled back with its wave when a rollback is possible), RolledBack
	// (its wave failed), or Disconnected (its pool is Disconnected: left as it is).
	State string `json:"state"`
}

// States of a pool of a multi-pool app (status.pools[].state).
const (
	PoolStateWaiting      = "Waiting"
	PoolStateRollingOut   = "RollingOut"
	PoolStateRolledOut    = "RolledOut"
	PoolStateFailed       = "Failed"
	PoolStateRolledBack   = "RolledBack"
	PoolStateDisconnected = "Disconnected"
)

// PrePullStatus is how far the pull of a new image onto the app's nodes got before its rollout.
type PrePullStatus struct {
	// Image being pulled (the image the rollout switches to).
	Image string `json:"image"`
	// Wave of spec.placement.rollout whose pools' nodes the image is pulled onto (unset for an
	// app with one Deployment).
	// +optional
	Wave int32 `json:"wave,omitempty"`
	// StartTime is when the pre-pull Pods were created.
	StartTime metav1.Time `json:"startTime"`
	// CompletionTime is when the rollout was let go: every node had the image, or
	// prePullTimeout passed. Unset while the pre-pull runs.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Nodes is the number of nodes the image is pulled onto: the Ready nodes the app's pods may
	// run on when the pre-pull started.
	Nodes int32 `json:"nodes"`
	// Pulled is the number of them that have the image.
	Pulled int32 `json:"pulled"`
	// SlowNodes are the nodes that did not have the image when the rollout was let go (sorted,
	// at most 20); the event names the kubelet's last pull error of each, if any.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	SlowNodes []string `json:"slowNodes,omitempty"`
}

// ConditionRolledBack is True after the controller reverted a failed rollout to lastGoodImage
// (status.failedImage); it is removed once a different image is asked for.
const ConditionRolledBack = "RolledBack"

// ConditionServiceMonitorReady says whether the ServiceMonitor of spec.metrics exists and some
// Prometheus (a MonitoringStack's or any other) selects it. It is False with reason
// CRDNotInstalled while prometheus-operator's CRDs are missing, False with reason NotSelected
// while no Prometheus selects the monitor (the message says why each does not and what would),
// and absent when spec.metrics is not set. The app itself is not affected.
const ConditionServiceMonitorReady = "ServiceMonitorReady"

// Reasons of AppDeployment conditions. Condition messages say what happened and what to do.
const (
	// AppDeploymentReasonRolledOut: every replica of the current generation is updated and available.
	AppDeploymentReasonRolledOut = "RolledOut"
	// AppDeploymentReasonPoolDisconnected: the app's EdgeCluster is Disconnected; its Deployment
	// is left as it is (no rollout, no rollback) until the pool reconnects.
	AppDeploymentReasonPoolDisconnected = "PoolDisconnected"
	// AppDeploymentReasonRollingOut: the Deployment is rolling out the current generation.
	AppDeploymentReasonRollingOut = "RollingOut"
	// AppDeploymentReasonWaitingForWave: spec.placement.rollout: a wave is rolled out and the
	// next one gets the new image once it has stayed healthy for pauseBetweenWaves.
	AppDeploymentReasonWaitingForWave = "WaitingForWave"
	// AppDeploymentReasonNoPools: spec.placement.rollout selects no pool that admits the app.
	AppDeploymentReasonNoPools = "NoPools"
	// AppDeploymentReasonPrePulling: the new image is being pulled onto the app's nodes
	// (spec.strategy.prePull); the Deployment still runs the old one.
	AppDeploymentReasonPrePulling = "PrePulling"
	// AppDeploymentReasonWaitingForBuild: spec.imageFrom's ImageBuild has not produced an image yet.
	AppDeploymentReasonWaitingForBuild = "WaitingForBuild"
	// AppDeploymentReasonImageBuildNotFound: spec.imageFrom names a missing ImageBuild.
	AppDeploymentReasonImageBuildNotFound = "ImageBuildNotFound"
	// AppDeploymentReasonEdgeClusterNotFound: spec.placement.edgeClusterRef names a missing EdgeCluster.
	AppDeploymentReasonEdgeClusterNotFound = "EdgeClusterNotFound"
	// AppDeploymentReasonInvalidSpec: the spec is inconsistent in a way the schema did not catch.
	AppDeploymentReasonInvalidSpec = "InvalidSpec"
	// AppDeploymentReasonChildRejected: the API server rejected a child object (e.g. a Deployment
	// of the same name exists with another selector, or is controlled by someone else).
	AppDeploymentReasonChildRejected = "ChildRejected"
	// AppDeploymentReasonProgressDeadlineExceeded: the rollout missed spec.strategy.progressDeadlineSeconds
	// and could not be rolled back (rollback disabled, no lastGoodImage, or lastGoodImage itself failed).
	AppDeploymentReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// AppDeploymentReasonRolledBack: the rollout of status.failedImage missed its deadline and the
	// Deployment runs status.lastGoodImage again.
	AppDeploymentReasonRolledBack = "RolledBack"
	// AppDeploymentReasonImagePullFailed: a pod of the rollout cannot pull its image (ErrImagePull,
	// ImagePullBackOff, ...); the message is the kubelet's. Stalled until the pull works (a
	// pushed image, a fixed pull Secret) or the spec changes.
	AppDeploymentReasonImagePullFailed = "ImagePullFailed"
	// AppDeploymentReasonContainerConfigFailed: the kubelet cannot create a container of the
	// rollout as specified (CreateContainerConfigError, CreateContainerError): e.g. the default
	// runAsNonRoot with an image that runs as root, or a missing ConfigMap/Secret key; the
	// message is the kubelet's. Stalled until the pods start or the spec changes.
	AppDeploymentReasonContainerConfigFailed = "ContainerConfigFailed"
	// AppDeploymentReasonPoolNotAllowed: spec.placement.edgeClusterRef names a pool whose
	// spec.allowedNamespaces does not select this namespace.
	AppDeploymentReasonPoolNotAllowed = "PoolNotAllowed"
	// AppDeploymentReasonServiceMonitorApplied: the ServiceMonitor of spec.metrics exists.
	AppDeploymentReasonServiceMonitorApplied = "Applied"
	// AppDeploymentReasonCRDNotInstalled: prometheus-operator's ServiceMonitor CRD is not installed.
	AppDeploymentReasonCRDNotInstalled = "CRDNotInstalled"
	// AppDeploymentReasonNotSelected: the ServiceMonitor exists but no Prometheus selects it.
	AppDeploymentReasonNotSelected = "NotSelected"
)

// AppDeployment runs an application: Deployment, Service and optional Ingress,
// HorizontalPodAutoscaler, PodDisruptionBudget and ServiceMonitor, following an ImageBuild.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=appd,categories=edgeforge
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label of at most 63 characters starting with a letter (it names the app's Service and is used as a label value)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.status.image`
// +kubebuilder:printcolumn:name="Wave",type=string,JSONPath=`.status.wave`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AppDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired workload.
	// +required
	Spec AppDeploymentSpec `json:"spec"`
	// Status is the observed workload.
	// +optional
	Status AppDeploymentStatus `json:"status,omitempty"`
}

// AppDeploymentList is a list of AppDeployments.
// +kubebuilder:object:root=true
type AppDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppDeployment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AppDeployment{}, &AppDeploymentList{})
}
