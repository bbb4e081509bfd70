package monitoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/owner"
)

// Object is one child of a stack: what it should look like, or that it must not exist.
type Object struct {
	// GVK of the object.
	GVK schema.GroupVersionKind
	// Namespace of the object; empty for cluster-scoped objects.
	Namespace string
	// Name of the object.
	Name string
	// Apply is the desired object, for server-side apply. Nil when the object must not exist
	// (its component is disabled): it is deleted if present.
	Apply runtime.ApplyConfiguration
}

// Key is "Kind namespace/name" (or "Kind name"), for messages and tests.
func (o Object) Key() string {
	if o.Namespace == "" {
		return o.GVK.Kind + " " + o.Name
	}
	return o.GVK.Kind + " " + o.Namespace + "/" + o.Name
}

// GVKs of the children.
var (
	GVKServiceAccount     = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
	GVKService            = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	GVKConfigMap          = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	GVKSecret             = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	GVKDeployment         = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	GVKDaemonSet          = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}
	GVKClusterRole        = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}
	GVKClusterRoleBinding = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}
	GVKRole               = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	GVKRoleBinding        = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}
	GVKPrometheus         = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "Prometheus"}
	GVKServiceMonitor     = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}
	GVKPrometheusRule     = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}
	GVKPodMonitor         = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}
)

// ownerRef makes the stack the controlling owner of a namespaced child (garbage collection
// deletes the child with the stack).
func ownerRef(stack *v1alpha1.MonitoringStack) *metav1ac.OwnerReferenceApplyConfiguration {
	return owner.ControllerReference(stack, "MonitoringStack")
}

// ownerRefs is ownerRef for typed objects.
func ownerRefs(stack *v1alpha1.MonitoringStack) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "MonitoringStack", Name: stack.Name, UID: stack.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
}

// typedApply turns a typed prometheus-operator object into an apply configuration. The typed
// structs serialise a few empty structs and the status; those are removed so the apply names
// only the fields edgeforge decides.
// Paths in drop are removed; paths in dropIfEmpty only when they hold an empty object (in that
// order, so a parent emptied by a removal can go too).
func typedApply(obj runtime.Object, gvk schema.GroupVersionKind, drop, dropIfEmpty [][]string) (runtime.ApplyConfiguration, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", gvk.Kind, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", gvk.Kind, err)
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	for _, path := range drop {
		unstructured.RemoveNestedField(m, path...)
	}
	dropNulls(m)
	for _, path := range dropIfEmpty {
		if v, found, _ := unstructured.NestedMap(m, path...); found && len(v) == 0 {
			unstructured.RemoveNestedField(m, path...)
		}
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return client.ApplyConfigurationFromUnstructured(u), nil
}

// dropNulls removes null values (they mean "absent") from a decoded JSON object.
func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNulls(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					dropNulls(em)
				}
			}
		}
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
