package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageBuildSpec describes what to build and where to push it.
// +kubebuilder:validation:XValidation:rule="!has(self.runOn) || !(has(self.runOn.edgeClusterRef) && has(self.runOn.nodeSelector))",message="spec.runOn: edgeClusterRef and nodeSelector are mutually exclusive",fieldPath=".runOn"
// +kubebuilder:validation:XValidation:rule="!has(self.platforms) || !has(self.runOn) || !has(self.runOn.platform)",message="spec.platforms and spec.runOn.platform are mutually exclusive: list every platform in spec.platforms",fieldPath=".platforms"
// +kubebuilder:validation:XValidation:rule="!has(self.source.inline) || !has(self.source.inline.files) || !has(self.dockerfile) || !(self.dockerfile in self.source.inline.files)",message="spec.source.inline.files must not contain the Dockerfile path (spec.dockerfile): the Dockerfile comes from spec.source.inline.dockerfile",fieldPath=".source.inline.files"
type ImageBuildSpec struct {
	// Source is the build context: exactly one of git, inline or configMap.
	// +required
	Source BuildSource `json:"source"`

	// Dockerfile is the path of the Dockerfile inside the build context.
	// Relative, without "..". Default: "Dockerfile". Example: "docker/Dockerfile.prod".
	// +kubebuilder:default=Dockerfile
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !(self == '..' || self.startsWith('../') || self.endsWith('/..') || self.contains('/../'))",message="spec.dockerfile must be a relative path inside the context without '..' (e.g. Dockerfile)"
	// +optional
	Dockerfile string `json:"dockerfile,omitempty"`

	// Output says where the built image is pushed.
	// +required
	Output BuildOutput `json:"output"`

	// BuildArgs are passed to the build as --build-arg NAME=VALUE. Names are unique.
	// Example: [{name: VERSION, value: "1.0"}].
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	BuildArgs []BuildArg `json:"buildArgs,omitempty"`

	// Target is the stage of a multi-stage Dockerfile to build (--target). Empty: the last stage.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]*$`
	// +optional
	Target string `json:"target,omitempty"`

	// Cache configures the layer cache kept in a registry repository.
	// +optional
	Cache *BuildCache `json:"cache,omitempty"`

	// Timeout bounds one build attempt (the Job's activeDeadlineSeconds). Greater than 0 and
	// at most 24h. Default: 30m.
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('24h')",message="spec.timeout must be greater than 0s and at most 24h"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Retries is how many times a failed build is retried (the Job's backoffLimit). 0..5. Default: 0.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	// +optional
	Retries int32 `json:"retries"`

	// Resources of the build container (CPU, memory). Kaniko unpacks base images in the
	// container's filesystem, so give memory-hungry builds enough.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// RunOn says where the build pod runs, e.g. on an edge pool to build for its CPU architecture.
	// +optional
	RunOn *BuildPlacement `json:"runOn,omitempty"`

	// Platforms builds one image for each of these platforms and pushes an OCI image index
	// (manifest list) of them under spec.output.image: one Kaniko Job per platform, each on a node
	// of that architecture (of the pool in runOn when set, else any node labelled
	// kubernetes.io/arch), each pushing to <tag>-<arch> (e.g. web:1.0-arm64); then a Job of the
	// operator's --index-image assembles the index. status.latestImage is the index's digest and
	// status.platforms each platform's. Unique; at most 3. Example: [linux/amd64, linux/arm64].
	// Without it, one image for one platform (spec.runOn.platform or the node's).
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=linux/amd64;linux/arm64;linux/arm/v7
	// +optional
	Platforms []string `json:"platforms,omitempty"`

	// ExecutorImage overrides the Kaniko executor image for this build.
	// Default: the operator's --kaniko-image flag.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^ @]+(@sha256:[a-f0-9]{64})?$')",message="spec.executorImage must be an image reference (e.g. ghcr.io/kaniko-build/dist/chainguard-dev-kaniko/executor:v1.25.5)"
	// +optional
	ExecutorImage string `json:"executorImage,omitempty"`

	// SuccessfulBuildsHistoryLimit is how many succeeded build Jobs are kept. 0..20. Default: 3.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	// +optional
	SuccessfulBuildsHistoryLimit *int32 `json:"successfulBuildsHistoryLimit,omitempty"`

	// FailedBuildsHistoryLimit is how many failed build Jobs are kept. 0..20. Default: 3.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	// +optional
	FailedBuildsHistoryLimit *int32 `json:"failedBuildsHistoryLimit,omitempty"`
}

// BuildSource is the build context. Exactly one of git, inline or configMap is set.
// +kubebuilder:validation:XValidation:rule="[has(self.git), has(self.inline), has(self.configMap)].filter(x, x).size() == 1",message="spec.source: exactly one of git, inline or configMap must be set"
type BuildSource struct {
	// Git clones a repository and builds from it.
	// +optional
	Git *GitSource `json:"git,omitempty"`

	// Inline builds from a Dockerfile (and small files) written right here — the
	// "write a Dockerfile in a form" case. Rendered into a ConfigMap owned by the ImageBuild.
	// +optional
	Inline *InlineSource `json:"inline,omitempty"`

	// ConfigMap uses an existing ConfigMap in the same namespace as the build context:
	// each key is a file of the context.
	// +optional
	ConfigMap *LocalObjectReference `json:"configMap,omitempty"`
}

// GitSource is a git repository to build from.
type GitSource struct {
	// URL of the repository: https:// or http:// (Kaniko clones over HTTP(S) only; ssh:// and
	// git@host:path are rejected). Credentials go in cloneSecretRef, not in the URL.
	// Example: https://git.example.com/team/web.git
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^ /]+/[^ ]*$')",message="spec.source.git.url must be an https:// or http:// URL: Kaniko clones over HTTP(S) only, so ssh:// and git@host:path URLs cannot work (use the https URL, with spec.source.git.cloneSecretRef for a private repository)"
	// +required
	URL string `json:"url"`

	// Revision to build: a branch, a tag or a full 40-hex commit SHA (Kaniko cannot fetch an
	// abbreviated one). Default: the remote's default branch.
	// Example: main, v1.2.0, refs/tags/v1.2.0, 4f1c2a9e8b7d6c5f4a3b2c1d0e9f8a7b6c5d4e3f.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="!self.contains(' ') && !self.startsWith('-')",message="spec.source.git.revision must be a branch, tag or commit without spaces"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9a-fA-F]{7,39}$')",message="spec.source.git.revision looks like an abbreviated commit SHA, which Kaniko cannot fetch: use the full 40-hex SHA, a branch or a tag (a branch named like hex: refs/heads/<name>)"
	// +optional
	Revision string `json:"revision,omitempty"`

	// ContextDir is the build context inside the repository: a relative path without "..".
	// Default: the repository root. Example: app.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !(self == '..' || self.startsWith('../') || self.endsWith('/..') || self.contains('/../'))",message="spec.source.git.contextDir must be a relative path without '..' (e.g. app)"
	// +optional
	ContextDir string `json:"contextDir,omitempty"`

	// CloneSecretRef names a Secret in the same namespace with credentials for cloning:
	// keys username and password (token) for HTTP(S). The credentials never appear on a command line.
	// +optional
	CloneSecretRef *LocalObjectReference `json:"cloneSecretRef,omitempty"`
}

// InlineSource is a Dockerfile and optional context files written in the ImageBuild itself.
type InlineSource struct {
	// Dockerfile is the content of the Dockerfile. Example: "FROM nginx:1.27\nCOPY index.html /usr/share/nginx/html/".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=262144
	// +required
	Dockerfile string `json:"dockerfile"`

	// Files are extra files of the build context: relative file name -> content.
	// Names are relative, without ".." and without a leading "/". Example: {index.html: "<h1>hi</h1>"}.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() > 0 && k.size() <= 253 && !k.startsWith('/') && !(k == '..' || k.startsWith('../') || k.endsWith('/..') || k.contains('/../')))",message="spec.source.inline.files: file names must be relative paths without '..' and without a leading '/'"
	// +optional
	Files map[string]string `json:"files,omitempty"`
}

// BuildOutput is where the image is pushed.
type BuildOutput struct {
	// Image is the destination reference, without a digest (the digest is recorded in status).
	// Example: registry.example.com/team/web:1.0
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.contains('@')",message="spec.output.image must not contain a digest; the built digest is recorded in status.digest"
	// +kubebuilder:validation:XValidation:rule="self.matches('^((([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])([.]([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(:[0-9]+)?)/)?[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?$')",message="spec.output.image must be a valid image reference (e.g. registry.example.com/team/web:1.0)"
	// +required
	Image string `json:"image"`

	// PushSecretRef names a kubernetes.io/dockerconfigjson Secret in the same namespace with
	// credentials for the registry. It is mounted read-only into the build pod; the operator
	// never copies its data anywhere.
	// +optional
	PushSecretRef *LocalObjectReference `json:"pushSecretRef,omitempty"`

	// Insecure allows pushing to (and pulling from) a plain-HTTP or self-signed registry.
	// +optional
	Insecure bool `json:"insecure,omitempty"`
}

// BuildArg is one --build-arg.
type BuildArg struct {
	// Name of the build argument, as used by ARG in the Dockerfile. Example: VERSION.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z_][A-Za-z0-9_]*$')",message="spec.buildArgs[].name must match [A-Za-z_][A-Za-z0-9_]*"
	// +required
	Name string `json:"name"`

	// Value of the build argument.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Value string `json:"value"`
}

// BuildCache configures Kaniko's registry layer cache.
// +kubebuilder:validation:XValidation:rule="!self.enabled || (has(self.repo) && size(self.repo) > 0)",message="spec.cache.repo is required when spec.cache.enabled is true",fieldPath=".repo"
type BuildCache struct {
	// Enabled turns the layer cache on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Repo is the repository that stores cached layers. Required when enabled.
	// Example: registry.example.com/team/web/cache
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.contains('@') && !self.contains(' ')",message="spec.cache.repo must be a repository without a digest"
	// +optional
	Repo string `json:"repo,omitempty"`
}

// BuildPlacement says where a build pod runs. edgeClusterRef and nodeSelector are exclusive.
type BuildPlacement struct {
	// EdgeClusterRef runs the build on a node of this edge pool (so the image is built for
	// the pool's CPU architecture); the pod tolerates the pool's taints.
	// +optional
	EdgeClusterRef *EdgeClusterReference `json:"edgeClusterRef,omitempty"`

	// Platform the image is built for, on a node of that platform: linux/amd64, linux/arm64 or
	// linux/arm/v7 (the build pod gets kubernetes.io/os and kubernetes.io/arch node selectors).
	// Without it, a build on an edge pool of mixed architectures runs on the architecture most of
	// the pool's Ready nodes have; status.platform says which.
	// +kubebuilder:validation:Enum=linux/amd64;linux/arm64;linux/arm/v7
	// +optional
	Platform string `json:"platform,omitempty"`

	// NodeSelector for the build pod. Example: {kubernetes.io/arch: arm64}.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations for the build pod, added to those derived from the edge pool.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// BuildPhase is the coarse state of an ImageBuild.
// +kubebuilder:validation:Enum=Pending;Building;Succeeded;Failed
type BuildPhase string

const (
	// BuildPhasePending: no build has started for the current generation yet.
	BuildPhasePending BuildPhase = "Pending"
	// BuildPhaseBuilding: a build Job is running.
	BuildPhaseBuilding BuildPhase = "Building"
	// BuildPhaseSucceeded: the latest build pushed an image.
	BuildPhaseSucceeded BuildPhase = "Succeeded"
	// BuildPhaseFailed: the latest build failed.
	BuildPhaseFailed BuildPhase = "Failed"
)

// Reasons of ImageBuild conditions and build records (status.lastBuild.reason). Condition
// messages say what happened and what to do.
const (
	// ImageBuildReasonBuilding: a build Job is running for the current generation.
	ImageBuildReasonBuilding = "Building"
	// ImageBuildReasonBuildPending: a build is due but has not started yet.
	ImageBuildReasonBuildPending = "BuildPending"
	// ImageBuildReasonBuildSucceeded: the build pushed an image and reported its digest.
	ImageBuildReasonBuildSucceeded = "BuildSucceeded"
	// ImageBuildReasonBuildFailed: the build failed; the message carries the executor's error.
	ImageBuildReasonBuildFailed = "BuildFailed"
	// ImageBuildReasonDeadlineExceeded: the build ran longer than spec.timeout.
	ImageBuildReasonDeadlineExceeded = "DeadlineExceeded"
	// ImageBuildReasonOOMKilled: the build container ran out of memory.
	ImageBuildReasonOOMKilled = "OOMKilled"
	// ImageBuildReasonNoDigest: the executor exited successfully without reporting a digest.
	ImageBuildReasonNoDigest = "NoDigest"
	// ImageBuildReasonSuperseded: the build was deleted because a newer spec or rebuild request replaced it.
	ImageBuildReasonSuperseded = "Superseded"
	// ImageBuildReasonRetrying: an attempt of the running build failed and the Job will retry it
	// (status.currentBuild.reason).
	ImageBuildReasonRetrying = "Retrying"
	// ImageBuildReasonJobDeleted: the build Job disappeared before it finished.
	ImageBuildReasonJobDeleted = "JobDeleted"
	// ImageBuildReasonPushSecretNotFound: spec.output.pushSecretRef names a missing Secret.
	ImageBuildReasonPushSecretNotFound = "PushSecretNotFound"
	// ImageBuildReasonInvalidPushSecret: the push Secret is not of type kubernetes.io/dockerconfigjson.
	ImageBuildReasonInvalidPushSecret = "InvalidPushSecret"
	// ImageBuildReasonCloneSecretNotFound: spec.source.git.cloneSecretRef names a missing Secret.
	ImageBuildReasonCloneSecretNotFound = "CloneSecretNotFound"
	// ImageBuildReasonInvalidCloneSecret: the clone Secret has no password key.
	ImageBuildReasonInvalidCloneSecret = "InvalidCloneSecret"
	// ImageBuildReasonContextConfigMapNotFound: spec.source.configMap names a missing ConfigMap.
	ImageBuildReasonContextConfigMapNotFound = "ContextConfigMapNotFound"
	// ImageBuildReasonPodSecurityForbidden: the namespace's Pod Security level
	// (pod-security.kubernetes.io/enforce) refuses the build pod; the message is the admission
	// plugin's. No Job is created until the namespace allows it (baseline or privileged).
	ImageBuildReasonPodSecurityForbidden = "PodSecurityForbidden"
	// ImageBuildReasonInvalidContext: the build context cannot be used as given (e.g. the Dockerfile
	// is not in the ConfigMap, or the inline context is too large for a ConfigMap).
	ImageBuildReasonInvalidContext = "InvalidContext"
	// ImageBuildReasonUnsupportedGitURL: the executor can only clone over HTTP(S).
	ImageBuildReasonUnsupportedGitURL = "UnsupportedGitURL"
	// ImageBuildReasonEdgeClusterNotFound: spec.runOn.edgeClusterRef names a missing EdgeCluster.
	ImageBuildReasonEdgeClusterNotFound = "EdgeClusterNotFound"
	// ImageBuildReasonJobNameConflict: a Job with the next build's name exists and is not this ImageBuild's.
	ImageBuildReasonJobNameConflict = "JobNameConflict"
	// ImageBuildReasonChildRejected: the API server rejected the build ServiceAccount (the message
	// quotes it).
	ImageBuildReasonChildRejected = "ChildRejected"
	// ImageBuildReasonNoIndexImage: spec.platforms asks for an image index, and the operator was
	// started without --index-image (the image of the Job that pushes it).
	ImageBuildReasonNoIndexImage = "NoIndexImage"
	// ImageBuildReasonPoolNotAllowed: spec.runOn.edgeClusterRef names a pool whose
	// spec.allowedNamespaces does not select this namespace.
	ImageBuildReasonPoolNotAllowed = "PoolNotAllowed"
)

// BuildRecord describes one build (one Job).
type BuildRecord struct {
	// Name of the build Job (<imagebuild>-<number>).
	Name string `json:"name"`
	// Number of the build, counting from 1.
	// +optional
	Number int64 `json:"number,omitempty"`
	// Generation of the ImageBuild spec this build was made from.
	// +optional
	Generation int64 `json:"generation,omitempty"`
	// Attempt is the number of pods the Job has started (1 + retries used).
	// +optional
	Attempt int32 `json:"attempt,omitempty"`
	// Node the build ran on: the node of its latest pod (of the one that pushed, on success).
	// +optional
	Node string `json:"node,omitempty"`
	// StartTime is when the build Job started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the build finished, successfully or not.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Digest pushed by this build (sha256:…), when it succeeded.
	// +optional
	Digest string `json:"digest,omitempty"`
	// Reason is a CamelCase reason for the build's outcome (e.g. BuildSucceeded, DeadlineExceeded, OOMKilled).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the outcome, e.g. the executor's termination message.
	// +optional
	Message string `json:"message,omitempty"`
	// Platforms of a multi-platform build (spec.platforms): each platform's Job and what it
	// pushed. The record's own Job (Name) assembles their index once all of them pushed.
	// +listType=map
	// +listMapKey=platform
	// +optional
	Platforms []PlatformImage `json:"platforms,omitempty"`
}

// PlatformImage is the image one platform's build pushed, in a multi-platform build.
type PlatformImage struct {
	// Platform: os/arch[/variant], e.g. linux/arm64.
	Platform string `json:"platform"`
	// Job is the platform's build Job (<imagebuild>-<number>-<arch>).
	// +optional
	Job string `json:"job,omitempty"`
	// Digest the platform's build pushed (sha256:…), once it has.
	// +optional
	Digest string `json:"digest,omitempty"`
	// Node the platform's build ran on.
	// +optional
	Node string `json:"node,omitempty"`
}

// ImageBuildStatus is the observed state of an ImageBuild.
type ImageBuildStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase: Pending, Building, Succeeded or Failed.
	// +optional
	Phase BuildPhase `json:"phase,omitempty"`
	// LatestImage is the last successfully pushed image, by digest: repo@sha256:…
	// +optional
	LatestImage string `json:"latestImage,omitempty"`
	// Digest of LatestImage (sha256:…).
	// +optional
	Digest string `json:"digest,omitempty"`
	// CurrentBuild is the build in progress, if any.
	// +optional
	CurrentBuild *BuildRecord `json:"currentBuild,omitempty"`
	// Platform is the platform of latestImage: os/arch (and variant) of the node its build ran on,
	// e.g. linux/arm64. AppDeployments following this ImageBuild run only on nodes of it. Empty
	// when latestImage is an image index (see platforms).
	// +optional
	Platform string `json:"platform,omitempty"`
	// Platforms of latestImage when it is an image index (spec.platforms): each platform's image
	// digest and the node it was built on. AppDeployments following this ImageBuild run on nodes
	// of any of them.
	// +listType=map
	// +listMapKey=platform
	// +optional
	Platforms []PlatformImage `json:"platforms,omitempty"`
	// LastBuild is the most recently finished build.
	// +optional
	LastBuild *BuildRecord `json:"lastBuild,omitempty"`
	// BuildCount is the number of builds started so far; the next Job is <name>-<buildCount+1>.
	// +optional
	BuildCount int64 `json:"buildCount,omitempty"`
	// ObservedRebuild is the last value of the edgeforge.io/rebuild annotation that was acted on.
	// +optional
	ObservedRebuild string `json:"observedRebuild,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ImageBuild builds a container image with Kaniko inside the cluster, pushes it to a registry
// and records its digest.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ib,categories=edgeforge
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="metadata.name must be at most 52 characters (build Jobs are named <name>-<build number> and the name is used as a label value)"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.status.latestImage`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ImageBuild struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what to build.
	// +required
	Spec ImageBuildSpec `json:"spec"`
	// Status is what was built.
	// +optional
	Status ImageBuildStatus `json:"status,omitempty"`
}

// ImageBuildList is a list of ImageBuilds.
// +kubebuilder:object:root=true
type ImageBuildList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageBuild `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ImageBuild{}, &ImageBuildList{})
}
