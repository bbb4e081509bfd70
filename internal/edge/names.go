package edge

import (
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/owner"
)

// FieldManager is the server-side apply field manager edgeforge uses on Nodes. It is not the
// operator's usual "edgeforge": on an object edgeforge does not own, its own manager makes
// exactly the node template's labels, annotations and taints edgeforge's, and nothing else.
const FieldManager = "edgeforge-edgecluster"

// JoinSecretName is the name of the Secret (in the operator's namespace) holding pool's join
// commands: "<pool>-join".
func JoinSecretName(pool string) string { return pool + "-join" }

// poolLabels are the labels of objects edgeforge creates for pool.
func poolLabels(pool, component string) map[string]string {
	return map[string]string{
		v1alpha1.LabelManagedBy:   v1alpha1.ManagedByValue,
		v1alpha1.LabelName:        "edgeforge-" + component,
		v1alpha1.LabelInstance:    pool,
		v1alpha1.LabelEdgeCluster: pool,
	}
}

// ownerRef makes pool the controlling owner of a child. EdgeClusters are cluster-scoped, so
// namespaced children in any namespace may point to them; garbage collection then backs up the
// finalizer.
func ownerRef(pool *v1alpha1.EdgeCluster) *metav1ac.OwnerReferenceApplyConfiguration {
	return owner.ControllerReference(pool, "EdgeCluster")
}
