package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MonitoringStackSpec describes a Prometheus (run by prometheus-operator) with Grafana,
// exporters, built-in dashboards and alerts.
// +kubebuilder:validation:XValidation:rule="!has(self.nodeExporter) || !self.nodeExporter.enabled || self.scope == 'Cluster'",message="spec.nodeExporter.enabled needs spec.scope: Cluster (node-exporter reads every node of the cluster)",fieldPath=".nodeExporter.enabled"
// +kubebuilder:validation:XValidation:rule="!has(self.kubeStateMetrics) || !self.kubeStateMetrics.enabled || self.scope == 'Cluster'",message="spec.kubeStateMetrics.enabled needs spec.scope: Cluster (kube-state-metrics reads objects of every namespace)",fieldPath=".kubeStateMetrics.enabled"
type MonitoringStackSpec struct {
	// Scope of what the stack collects. Namespace (the default): its Prometheus discovers and
	// scrapes monitors of the stack's own namespace only, with a Role there, and runs no
	// cluster-wide exporter. Cluster: monitors of every namespace, node-exporter and
	// kube-state-metrics; allowed only in the namespaces of the operator's
	// --cluster-monitoring-namespaces flag (default: the operator's namespace).
	// +kubebuilder:default=Namespace
	// +optional
	Scope MonitoringScope `json:"scope,omitempty"`

	// Prometheus configures the Prometheus server.
	// +kubebuilder:default={}
	// +optional
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`

	// Grafana configures Grafana, wired to the Prometheus above.
	// +kubebuilder:default={}
	// +optional
	Grafana *GrafanaSpec `json:"grafana,omitempty"`

	// NodeExporter runs node-exporter on every node, edge nodes included. Cluster scope only.
	// Default: enabled with spec.scope Cluster, off with Namespace.
	// +optional
	NodeExporter *Toggle `json:"nodeExporter,omitempty"`

	// KubeStateMetrics runs kube-state-metrics. Cluster scope only.
	// Default: enabled with spec.scope Cluster, off with Namespace.
	// +optional
	KubeStateMetrics *Toggle `json:"kubeStateMetrics,omitempty"`

	// Alerting configures the built-in alerting rules.
	// +kubebuilder:default={}
	// +optional
	Alerting *AlertingSpec `json:"alerting,omitempty"`

	// Dashboards configures the built-in Grafana dashboards.
	// +kubebuilder:default={}
	// +optional
	Dashboards *DashboardsSpec `json:"dashboards,omitempty"`
}

// MonitoringScope is what a MonitoringStack collects: its namespace or the whole cluster.
// +kubebuilder:validation:Enum=Namespace;Cluster
type MonitoringScope string

// Monitoring scopes.
const (
	MonitoringScopeNamespace MonitoringScope = "Namespace"
	MonitoringScopeCluster   MonitoringScope = "Cluster"
)

// PrometheusDuration is a Prometheus duration such as 30s, 15m, 24h or 7d.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=32
type PrometheusDuration string

// PrometheusSpec configures the Prometheus server.
type PrometheusSpec struct {
	// Replicas of Prometheus. 1..5. Default: 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Retention of samples, a Prometheus duration. Default: 24h.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$')",message="spec.prometheus.retention must be a Prometheus duration such as 24h or 15d"
	// +optional
	Retention PrometheusDuration `json:"retention,omitempty"`

	// Storage for samples: a PersistentVolumeClaim of this size. Absent: an emptyDir.
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`

	// ScrapeInterval, a Prometheus duration. Default: 30s.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$') && self != '0'",message="spec.prometheus.scrapeInterval must be a non-zero Prometheus duration such as 30s or 1m"
	// +optional
	ScrapeInterval PrometheusDuration `json:"scrapeInterval,omitempty"`

	// ExternalLabels added to every series and alert, e.g. {cluster: factory-busan}.
	// Keys are Prometheus label names.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 128 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",message="spec.prometheus.externalLabels: keys must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*)"
	// +optional
	ExternalLabels map[string]string `json:"externalLabels,omitempty"`

	// Resources of the Prometheus container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// ServiceMonitorSelector picks, by label, the ServiceMonitors and PodMonitors to scrape
	// among those of the scope (the stack's namespace, or every namespace with scope Cluster).
	// It adds to the stack's own monitors (Prometheus, node-exporter, kube-state-metrics),
	// which are always scraped. Default ({} or absent): every monitor of the scope.
	// +optional
	ServiceMonitorSelector *metav1.LabelSelector `json:"serviceMonitorSelector,omitempty"`

	// Version of Prometheus that prometheus-operator runs (the image tag under its base image).
	// Default: the operator's --prometheus-version flag; when that is empty too,
	// prometheus-operator's own default. Example: v3.16.0.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^v?[0-9]+[.][0-9]+[.][0-9]+([-+][0-9A-Za-z.-]+)?$')",message="spec.prometheus.version must be a version such as v3.16.0"
	// +optional
	Version string `json:"version,omitempty"`

	// NodeSelector places the Prometheus pods on matching nodes, e.g. an edge pool's
	// {node-restriction.kubernetes.io/edge-cluster: site-a}.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations of the Prometheus pods, e.g. for the taints of the pool NodeSelector picks.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// StorageSpec is persistent storage for Prometheus.
type StorageSpec struct {
	// Size of the volume, e.g. 10Gi.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="spec.prometheus.storage.size must be greater than 0"
	// +required
	Size resource.Quantity `json:"size"`

	// StorageClassName of the claim. Empty: the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName string `json:"storageClassName,omitempty"`
}

// GrafanaSpec configures Grafana.
// +kubebuilder:validation:XValidation:rule="!has(self.anonymous) || !self.anonymous.enabled || self.enabled",message="spec.grafana.anonymous.enabled requires spec.grafana.enabled",fieldPath=".anonymous.enabled"
type GrafanaSpec struct {
	// Enabled runs Grafana. Default: true.
	// +kubebuilder:default=true
	// +optional
	Enabled bool `json:"enabled"`

	// Replicas of Grafana. 1..5. Default: 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Image of Grafana. Default: the operator's pinned Grafana image (--grafana-image).
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^ @]+(@sha256:[a-f0-9]{64})?$')",message="spec.grafana.image must be an image reference (e.g. grafana/grafana:12.1.0)"
	// +optional
	Image string `json:"image,omitempty"`

	// AdminCredentialsSecretRef names a Secret with keys admin-user and admin-password.
	// Absent: a Secret with a random password is generated (see status.grafana.adminSecretRef).
	// +optional
	AdminCredentialsSecretRef *LocalObjectReference `json:"adminCredentialsSecretRef,omitempty"`

	// AllowEmbedding lets other sites embed Grafana in an iframe (grafana.ini
	// security.allow_embedding). Default: false.
	// +kubebuilder:default=false
	// +optional
	AllowEmbedding bool `json:"allowEmbedding"`

	// ServedOverHTTPS says users reach Grafana over HTTPS (a TLS-terminating Ingress or proxy in
	// front of it). Only then does allowEmbedding also make the session cookie SameSite=None and
	// Secure, which a login inside a cross-site iframe needs; over plain HTTP a Secure cookie
	// would break every login. Default: false.
	// +kubebuilder:default=false
	// +optional
	ServedOverHTTPS bool `json:"servedOverHTTPS"`

	// Anonymous access (grafana.ini auth.anonymous). Off unless enabled.
	// +kubebuilder:default={}
	// +optional
	Anonymous *AnonymousAccess `json:"anonymous,omitempty"`

	// Service in front of Grafana.
	// +kubebuilder:default={}
	// +optional
	Service *GrafanaService `json:"service,omitempty"`
}

// GrafanaRole is the role anonymous users get.
// +kubebuilder:validation:Enum=Viewer;Editor
type GrafanaRole string

// Anonymous roles.
const (
	GrafanaRoleViewer GrafanaRole = "Viewer"
	GrafanaRoleEditor GrafanaRole = "Editor"
)

// AnonymousAccess configures Grafana's anonymous access.
type AnonymousAccess struct {
	// Enabled lets users in without logging in. Default: false.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled"`

	// Role of anonymous users: Viewer or Editor. Default: Viewer.
	// +kubebuilder:default=Viewer
	// +optional
	Role GrafanaRole `json:"role,omitempty"`
}

// GrafanaService configures the Service in front of Grafana.
// +kubebuilder:validation:XValidation:rule="!has(self.nodePort) || self.nodePort == 0 || self.type == 'NodePort'",message="spec.grafana.service.nodePort is only allowed when spec.grafana.service.type is NodePort",fieldPath=".nodePort"
type GrafanaService struct {
	// Type: ClusterIP, NodePort or LoadBalancer. Default: ClusterIP.
	// +kubebuilder:default=ClusterIP
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	// +optional
	Type corev1.ServiceType `json:"type,omitempty"`

	// NodePort with type NodePort: 30000..32767, or 0 to let Kubernetes allocate one.
	// +kubebuilder:validation:XValidation:rule="self == 0 || (self >= 30000 && self <= 32767)",message="spec.grafana.service.nodePort must be 0 or in 30000..32767"
	// +optional
	NodePort int32 `json:"nodePort,omitempty"`
}

// Toggle switches a component on or off.
type Toggle struct {
	// Enabled runs the component. Default: true.
	// +kubebuilder:default=true
	// +optional
	Enabled bool `json:"enabled"`
}

// AlertingSpec configures alerting rules.
type AlertingSpec struct {
	// BuiltinRules installs edgeforge's PrometheusRule (edge nodes, builds, apps, nodes). Default: true.
	// +kubebuilder:default=true
	// +optional
	BuiltinRules bool `json:"builtinRules"`
}

// DashboardsSpec configures Grafana dashboards.
type DashboardsSpec struct {
	// Builtin provisions edgeforge's dashboards (edge pools, nodes, builds, apps). Default: true.
	// +kubebuilder:default=true
	// +optional
	Builtin bool `json:"builtin"`
}

// ComponentStatus is the observed state of Prometheus or Grafana.
type ComponentStatus struct {
	// Ready is true when all replicas are ready.
	Ready bool `json:"ready"`
	// URL inside the cluster, e.g. http://prometheus-main.monitoring.svc:9090.
	// +optional
	URL string `json:"url,omitempty"`
	// AdminSecretRef names the Secret with Grafana's admin credentials (Grafana only).
	// +optional
	AdminSecretRef *LocalObjectReference `json:"adminSecretRef,omitempty"`
}

// MaxListedMonitors caps status.prometheus.monitors and ignoredMonitors (sorted by kind,
// namespace, name), so a stack over thousands of monitors stays far below an object's size limit;
// monitorCount and ignoredMonitorCount give the totals.
const MaxListedMonitors = 100

// PrometheusStatus is the stack's Prometheus: readiness, URL, and which monitors it scrapes.
type PrometheusStatus struct {
	// Ready is true when prometheus-operator reports every replica available.
	Ready bool `json:"ready"`
	// URL inside the cluster, e.g. http://prometheus-main.monitoring.svc:9090.
	// +optional
	URL string `json:"url,omitempty"`
	// Monitors are the ServiceMonitors and PodMonitors the stack's Prometheus selects (its
	// scope's namespaces and spec.prometheus.serviceMonitorSelector), at most 100.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	Monitors []MonitorReference `json:"monitors,omitempty"`
	// MonitorCount is the number of monitors the stack's Prometheus selects.
	// +optional
	MonitorCount int32 `json:"monitorCount,omitempty"`
	// IgnoredMonitors are the monitors edgeforge made (label app.kubernetes.io/managed-by:
	// edgeforge) in the stack's scope that its Prometheus does not select, with the reason;
	// at most 100.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	IgnoredMonitors []IgnoredMonitor `json:"ignoredMonitors,omitempty"`
	// IgnoredMonitorCount is the number of such monitors.
	// +optional
	IgnoredMonitorCount int32 `json:"ignoredMonitorCount,omitempty"`
}

// MonitorReference names a ServiceMonitor or PodMonitor.
type MonitorReference struct {
	// Kind is ServiceMonitor or PodMonitor.
	Kind string `json:"kind"`
	// Namespace of the monitor.
	Namespace string `json:"namespace"`
	// Name of the monitor.
	Name string `json:"name"`
}

// IgnoredMonitor is a monitor the stack's Prometheus does not select, and why.
type IgnoredMonitor struct {
	// Kind is ServiceMonitor or PodMonitor.
	Kind string `json:"kind"`
	// Namespace of the monitor.
	Namespace string `json:"namespace"`
	// Name of the monitor.
	Name string `json:"name"`
	// Reason it is not selected, e.g. which selector its labels do not match.
	Reason string `json:"reason"`
}

// MonitoringStackStatus is the observed state of a MonitoringStack.
type MonitoringStackStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Prometheus readiness, URL and the monitors it scrapes.
	// +optional
	Prometheus *PrometheusStatus `json:"prometheus,omitempty"`
	// Grafana readiness, URL and admin Secret.
	// +optional
	Grafana *ComponentStatus `json:"grafana,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Reasons of MonitoringStack conditions. Condition messages say what happened and what to do.
const (
	// MonitoringStackReasonReady: Prometheus (and Grafana, when enabled) are ready.
	MonitoringStackReasonReady = "Ready"
	// MonitoringStackReasonProgressing: the objects are applied; Prometheus or Grafana is not ready yet.
	MonitoringStackReasonProgressing = "Progressing"
	// MonitoringStackReasonPrometheusOperatorMissing: prometheus-operator's CRDs (prometheuses,
	// servicemonitors, prometheusrules.monitoring.coreos.com) are not installed or not served yet.
	MonitoringStackReasonPrometheusOperatorMissing = "PrometheusOperatorMissing"
	// MonitoringStackReasonGrafanaAdminSecretMissing: spec.grafana.adminCredentialsSecretRef names a
	// Secret that does not exist.
	MonitoringStackReasonGrafanaAdminSecretMissing = "GrafanaAdminSecretMissing"
	// MonitoringStackReasonGrafanaAdminSecretInvalid: the admin Secret lacks the admin-user or
	// admin-password key.
	MonitoringStackReasonGrafanaAdminSecretInvalid = "GrafanaAdminSecretInvalid"
	// MonitoringStackReasonChildRejected: the API server rejected a child object.
	MonitoringStackReasonChildRejected = "ChildRejected"
	// MonitoringStackReasonScopeNotAllowed: spec.scope is Cluster in a namespace that the
	// operator's --cluster-monitoring-namespaces does not list.
	MonitoringStackReasonScopeNotAllowed = "ScopeNotAllowed"
	// MonitoringStackReasonInvalidSpec: the spec is inconsistent in a way admission did not
	// catch (a serviceMonitorSelector that is not a valid selector or that excludes the stack's
	// own monitors; an exporter enabled in Namespace scope on an object stored before the rule).
	MonitoringStackReasonInvalidSpec = "InvalidSpec"
	// MonitoringStackReasonNodeExporterForbidden: the stack would run node-exporter, whose pods
	// (hostNetwork, hostPID, hostPath) its namespace's Pod Security level refuses.
	MonitoringStackReasonNodeExporterForbidden = "NodeExporterForbidden"
)

// MonitoringStackFinalizer lets the controller delete the cluster-scoped objects of a stack
// (ClusterRoles and ClusterRoleBindings of Prometheus and kube-state-metrics), which cannot have
// a namespaced owner, before the stack goes away.
const MonitoringStackFinalizer = "edgeforge.io/monitoringstack-cleanup"

// MonitoringStack runs Prometheus (through prometheus-operator) and Grafana wired to it, with
// exporters, built-in dashboards and alerts. Its name is a DNS label of at most 40 characters:
// it prefixes the names of Services and StatefulSet pods (e.g. prometheus-<name>-0).
// +kubebuilder:object:root=true
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name of a MonitoringStack must be a DNS label (lowercase letters, digits, '-') of at most 40 characters: it prefixes Service and pod names"
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mon,categories=edgeforge
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.spec.scope`,priority=1
// +kubebuilder:printcolumn:name="Prometheus",type=string,JSONPath=`.status.prometheus.url`
// +kubebuilder:printcolumn:name="Grafana",type=string,JSONPath=`.status.grafana.url`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MonitoringStack struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired stack. Every part has defaults, so an empty spec is a full stack.
	// +kubebuilder:default={}
	// +optional
	Spec MonitoringStackSpec `json:"spec,omitempty"`
	// Status is the observed stack.
	// +optional
	Status MonitoringStackStatus `json:"status,omitempty"`
}

// MonitoringStackList is a list of MonitoringStacks.
// +kubebuilder:object:root=true
type MonitoringStackList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MonitoringStack `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MonitoringStack{}, &MonitoringStackList{})
}
