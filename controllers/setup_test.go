package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The controllers that share the pod cache agree on it, and it is trimmed.
func TestCacheOptions(t *testing.T) {
	by, err := CacheOptions()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for obj, o := range by {
		if _, ok := obj.(*corev1.Pod); ok {
			found = true
			if o.Transform == nil || o.Label == nil || o.Label.String() != "app.kubernetes.io/managed-by=edgeforge" {
				t.Errorf("pod cache: %+v", o)
			}
		}
	}
	if !found {
		t.Error("no pod cache selection")
	}
}
