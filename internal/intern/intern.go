// Package intern makes the equal strings of cached objects share one copy. Every object a watch
// decodes gets its own copy of each string: the same label keys, managed-by values, namespace,
// owner kind and API version, repeated in every Deployment, Service and AppDeployment, and in the
// Deployment again in its selector and pod template. The caches' transforms pass what they keep
// through Meta (and Map for a kind's own label maps), so the operator's live heap holds each such
// string once (issue 16, P3). Strings are interned with the standard library's unique package,
// whose table forgets a string once no object holds it.
package intern

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// String returns the shared copy of s.
func String(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// Map replaces the keys and values of m with their shared copies, in place (assigning an equal
// key stores the given copy of it).
func Map(m map[string]string) {
	for k, v := range m {
		m[String(k)] = String(v)
	}
}

// Meta interns the strings of obj's metadata that repeat across objects: namespace, labels,
// annotations, owner references (API version, kind, name) and managedFields entries (manager,
// operation, API version, fields type, subresource). Names stay as decoded except where another
// object repeats them (an owner's name is its child's label value); UIDs and resource versions
// are unique.
func Meta(obj metav1.Object) {
	obj.SetNamespace(String(obj.GetNamespace()))
	Map(obj.GetLabels())
	Map(obj.GetAnnotations())
	refs := obj.GetOwnerReferences()
	for i := range refs {
		r := &refs[i]
		r.APIVersion, r.Kind, r.Name = String(r.APIVersion), String(r.Kind), String(r.Name)
	}
	mf := obj.GetManagedFields()
	for i := range mf {
		e := &mf[i]
		e.Manager, e.Operation = String(e.Manager), metav1.ManagedFieldsOperationType(String(string(e.Operation)))
		e.APIVersion, e.FieldsType, e.Subresource = String(e.APIVersion), String(e.FieldsType), String(e.Subresource)
	}
}
