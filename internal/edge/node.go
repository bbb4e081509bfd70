package edge

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/internal/intern"
)

// TrimNode keeps of a Node only what EdgeClusters use, for the controller's Node cache (a cache
// transform): name, labels, annotations, taints, addresses, arch/OS/kubelet version and the
// Ready condition's status and transition time (its heartbeat only while not Ready). Images,
// volumes, capacity, managed fields and the other conditions are dropped: a cached Node shrinks
// from several KiB to a few hundred bytes, and heartbeats of Ready nodes (every few minutes per
// node) leave the cached object unchanged, so they wake no reconcile.
func TrimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil // tombstones and other types pass through
	}
	out := &corev1.Node{
		TypeMeta: n.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion,
			CreationTimestamp: n.CreationTimestamp, DeletionTimestamp: n.DeletionTimestamp,
			Labels: n.Labels, Annotations: n.Annotations,
		},
		Spec: corev1.NodeSpec{Taints: n.Spec.Taints},
		Status: corev1.NodeStatus{
			Addresses: n.Status.Addresses,
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    n.Status.NodeInfo.Architecture,
				OperatingSystem: n.Status.NodeInfo.OperatingSystem,
				KubeletVersion:  n.Status.NodeInfo.KubeletVersion,
			},
		},
	}
	if c := readyCondition(n); c != nil {
		ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: c.Status, LastTransitionTime: c.LastTransitionTime}
		if c.Status != corev1.ConditionTrue {
			ready.LastHeartbeatTime = c.LastHeartbeatTime
		}
		out.Status.Conditions = []corev1.NodeCondition{ready}
	}
	intern.Meta(out) // the pool's labels and annotations repeat on every node
	return out, nil
}

// NodeChanged is false when two trimmed versions of a Node differ only in resourceVersion: an
// update EdgeClusters need not hear about.
func NodeChanged(old, cur *corev1.Node) bool {
	a, b := *old, *cur
	a.ResourceVersion, b.ResourceVersion = "", ""
	a.ManagedFields, b.ManagedFields = nil, nil
	return !equality.Semantic.DeepEqual(&a, &b)
}

// TrimCSR drops (in place, as cache transforms may) a CSR's managed fields and issued certificate for the CSR cache; the request and
// the conditions, which approval decisions read, stay.
func TrimCSR(obj any) (any, error) {
	c, ok := obj.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return obj, nil
	}
	c.ManagedFields = nil
	c.Status.Certificate = nil
	return c, nil
}
