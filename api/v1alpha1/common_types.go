package v1alpha1

// Condition types shared by every kind (the kstatus convention, so `kubectl wait
// --for=condition=Ready`, Argo CD and Flux health checks work unmodified).
const (
	// ConditionReady summarises the object: True only when the current generation is fully realised.
	ConditionReady = "Ready"
	// ConditionReconciling is True while work for the current generation is in flight.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot make progress until a human acts
	// (a bad reference, a missing dependency).
	ConditionStalled = "Stalled"
)

// Labels and annotations edgeforge sets or reads.
const (
	// LabelManagedBy is set to ManagedByValue on every object edgeforge creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "edgeforge"
	// LabelName is the standard app.kubernetes.io/name label.
	LabelName = "app.kubernetes.io/name"
	// LabelInstance is the standard app.kubernetes.io/instance label.
	LabelInstance = "app.kubernetes.io/instance"

	// LabelImageBuild marks objects created for an ImageBuild (value: its name).
	LabelImageBuild = "edgeforge.io/imagebuild"
	// LabelAppDeployment marks objects created for an AppDeployment (value: its name).
	LabelAppDeployment = "edgeforge.io/appdeployment"
	// LabelEdgeCluster marks objects created for an EdgeCluster (value: its name). On a Node it is
	// only the node's claim (join commands set it, and a kubelet may set it on its own Node):
	// membership is LabelEdgeClusterMember.
	LabelEdgeCluster = "edgeforge.io/edge-cluster"
	// LabelEdgeClusterMember marks the member Nodes of an EdgeCluster (value: its name). Kubelets
	// cannot set labels under node-restriction.kubernetes.io/ (NodeRestriction admission): edgeforge
	// sets it on a node that joined with the pool's own bootstrap token, or an admin sets it.
	// Placement (AppDeployment, ImageBuild runOn) selects by it.
	LabelEdgeClusterMember = "node-restriction.kubernetes.io/edge-cluster"
	// LabelPool marks the Deployment of one pool of a multi-pool AppDeployment
	// (spec.placement.rollout) and its pods (value: the EdgeCluster's name); it is part of that
	// Deployment's selector, so the Deployments of one app never share pods.
	LabelPool = "edgeforge.io/pool"
	// LabelMonitoringStack marks objects created for a MonitoringStack (value: its name).
	LabelMonitoringStack = "edgeforge.io/monitoringstack"
	// LabelBuild marks build pods (value: the build Job's name).
	LabelBuild = "edgeforge.io/build"
	// LabelPrePull marks the pre-pull Pods of an AppDeployment (value: its name). They carry no
	// LabelAppDeployment, so neither the app's Service nor its status counts them.
	LabelPrePull = "edgeforge.io/prepull"
	// LabelPrePullImage is a hash of the image a pre-pull Pod pulls (an image reference is no
	// label value).
	LabelPrePullImage = "edgeforge.io/prepull-image"

	// AnnotationRebuild requests a new build of an ImageBuild whenever its value changes.
	AnnotationRebuild = "edgeforge.io/rebuild"

	// AnnotationAdopt, set to "true" on an existing object edgeforge did not create, lets edgeforge
	// take it over as the child of the same name (otherwise the parent stalls: ReasonObjectExists).
	AnnotationAdopt = "edgeforge.io/adopt"
)

// ReasonObjectExists (Stalled=True, Ready=False, every kind): an object edgeforge did not create
// has the name of a child; it is left alone until it is removed, renamed, or annotated
// edgeforge.io/adopt: "true".
const ReasonObjectExists = "ObjectExists"

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referenced object, in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// EdgeClusterReference names a (cluster-scoped) EdgeCluster.
type EdgeClusterReference struct {
	// Name of the EdgeCluster, e.g. "site-a".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`
}
