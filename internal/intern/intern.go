// Package intern makes the equal strings of cached objects share one copy. Every object a watch
// decodes gets its own copy of each string: the same label keys, managed-by values, namespace,
// owner kind and API version, repeated in every Deployment, Service and AppDeployment, and in the
// Deployment again in its selector and pod template. The caches' transforms pass what they keep
// through Meta (and Map for a kind's own label maps), so the operator's live heap holds each such
// string once (issue 16, P3).
//
// The table of shared copies holds its strings strongly, for two generations: a string interned
// in neither the current generation nor the last is forgotten (the objects that hold it keep
// their shared copy; the next one to bring it starts a new one). So the strings of live objects,
// which every watch event of them interns again, stay shared for as long as the operator runs,
// and the table forgets the names of deleted apps. (The standard library's unique package was
// tried first: its table holds strings weakly, only while someone holds their unique.Handle, and
// dropped them at every garbage collection, so objects decoded a collection apart did not share.)
package intern

import (
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Generation is how long the table keeps a string nobody interned since: between one and two
// generations.
const Generation = 10 * time.Minute

// table holds the shared copies of this generation (cur) and of the last (old).
var table = struct {
	sync.Mutex
	cur, old map[string]string
	started  time.Time
}{cur: map[string]string{}}

// now is the clock of generations (tests move it).
var now = time.Now

// String returns the shared copy of s.
func String(s string) string {
	if s == "" {
		return s
	}
	table.Lock()
	defer table.Unlock()
	if t := now(); t.Sub(table.started) >= Generation {
		table.old, table.cur, table.started = table.cur, make(map[string]string, len(table.cur)), t
	}
	if v, ok := table.cur[s]; ok {
		return v
	}
	v, ok := table.old[s]
	if !ok {
		v = strings.Clone(s) // not a slice of a larger decoded buffer, which it would keep alive
	}
	table.cur[v] = v
	return v
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
