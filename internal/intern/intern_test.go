package intern

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// decode gives each object its own copies of its strings, as a watch does.
func decode(t *testing.T, s string) *metav1.ObjectMeta {
	t.Helper()
	m := &metav1.ObjectMeta{}
	if err := json.Unmarshal([]byte(s), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func same(a, b string) bool { return a == b && unsafe.StringData(a) == unsafe.StringData(b) }

// After Meta, two objects' equal metadata strings are one copy, and nothing changed value.
func TestMeta(t *testing.T) {
	const obj = `{"name":"%s","namespace":"shop","labels":{"app.kubernetes.io/managed-by":"edgeforge"},
	  "annotations":{"deployment.kubernetes.io/revision":"1"},
	  "ownerReferences":[{"apiVersion":"edgeforge.io/v1alpha1","kind":"AppDeployment","name":"web","uid":"u"}],
	  "managedFields":[{"manager":"edgeforge","operation":"Apply","apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{}}]}`
	a, b := decode(t, obj), decode(t, obj)
	if same(a.Namespace, b.Namespace) {
		t.Fatal("the decoder already shared strings: the test proves nothing")
	}
	Meta(a)
	Meta(b)
	key := func(m map[string]string) string {
		for k := range m {
			return k
		}
		return ""
	}
	for what, pair := range map[string][2]string{
		"namespace":        {a.Namespace, b.Namespace},
		"label key":        {key(a.Labels), key(b.Labels)},
		"label value":      {a.Labels["app.kubernetes.io/managed-by"], b.Labels["app.kubernetes.io/managed-by"]},
		"annotation key":   {key(a.Annotations), key(b.Annotations)},
		"annotation value": {a.Annotations["deployment.kubernetes.io/revision"], b.Annotations["deployment.kubernetes.io/revision"]},
		"owner kind":       {a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind},
		"owner name":       {a.OwnerReferences[0].Name, b.OwnerReferences[0].Name},
		"manager":          {a.ManagedFields[0].Manager, b.ManagedFields[0].Manager},
		"fields type":      {a.ManagedFields[0].FieldsType, b.ManagedFields[0].FieldsType},
	} {
		if !same(pair[0], pair[1]) {
			t.Errorf("%s %q not shared", what, pair[0])
		}
	}
	if a.Namespace != "shop" || a.Labels["app.kubernetes.io/managed-by"] != "edgeforge" || a.OwnerReferences[0].APIVersion != "edgeforge.io/v1alpha1" ||
		a.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply || a.ManagedFields[0].APIVersion != "apps/v1" || len(a.Labels) != 1 {
		t.Errorf("values changed: %+v", a)
	}
	// Nil maps and empty strings stay as they are.
	var empty metav1.ObjectMeta
	Meta(&empty)
	if empty.Labels != nil || empty.Namespace != "" {
		t.Errorf("empty metadata changed: %+v", empty)
	}
}

// Objects decoded a garbage collection (or many) apart share their strings: the table holds them
// strongly (with a weak table, unique's, the second copy here was a new one).
func TestStringSharedAcrossCollections(t *testing.T) {
	a := String(strings.Repeat("a", 40))
	runtime.GC()
	runtime.GC()
	if b := String(strings.Repeat("a", 40)); !same(a, b) {
		t.Fatal("a string interned after a collection got a new copy")
	}
}

// The table forgets a string nobody interned for a whole generation, and keeps one interned in
// the last generation.
func TestStringForgottenAfterTwoGenerations(t *testing.T) {
	clock := time.Now()
	now = func() time.Time { return clock }
	t.Cleanup(func() { now = time.Now })
	tick := func() { clock = clock.Add(Generation); String("tick") } // starts a generation

	tick()
	kept, gone := String(strings.Repeat("k", 20)), String(strings.Repeat("g", 20))
	tick()
	if b := String(strings.Repeat("k", 20)); !same(kept, b) { // from the last generation: kept
		t.Fatal("a string of the last generation got a new copy")
	}
	tick()
	if b := String(strings.Repeat("k", 20)); !same(kept, b) {
		t.Fatal("a string interned in every generation got a new copy")
	}
	if b := String(strings.Repeat("g", 20)); same(gone, b) {
		t.Fatal("a string nobody interned for a whole generation is still in the table")
	}
}
