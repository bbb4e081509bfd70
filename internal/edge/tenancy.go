package edge

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// NamespaceAllowed reports whether objects of a namespace (given its labels) may use the pool:
// spec.allowedNamespaces selects the namespace, or is unset (every namespace). When not, the
// second result says why, for a status message.
func NamespaceAllowed(pool *v1alpha1.EdgeCluster, namespace string, nsLabels map[string]string) (bool, string) {
	if pool.Spec.AllowedNamespaces == nil {
		return true, ""
	}
	sel, err := metav1.LabelSelectorAsSelector(pool.Spec.AllowedNamespaces)
	if err != nil {
		// Admission validates the selector; one that still cannot be read allows nothing.
		return false, fmt.Sprintf("EdgeCluster %s has an invalid spec.allowedNamespaces (%v), so it admits no namespace", pool.Name, err)
	}
	if sel.Matches(labels.Set(nsLabels)) {
		return true, ""
	}
	return false, fmt.Sprintf("EdgeCluster %s admits only namespaces matching %s (spec.allowedNamespaces), and namespace %s does not; "+
		"ask the pool's admin, or use another pool", pool.Name, sel, namespace)
}
