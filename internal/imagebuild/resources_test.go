package imagebuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// The operator's defaults fill what spec.resources leaves unset, and never make the pair
// invalid (a request above its limit).
func TestBuildResources(t *testing.T) {
	requests, limits := list("cpu", "500m", "memory", "512Mi"), list("memory", "4Gi")
	for _, tc := range []struct {
		name               string
		spec               corev1.ResourceRequirements
		wantReq, wantLimit corev1.ResourceList
	}{
		{"unset: the defaults", corev1.ResourceRequirements{}, list("cpu", "500m", "memory", "512Mi"), list("memory", "4Gi")},
		{"the spec's request wins", corev1.ResourceRequirements{Requests: list("memory", "2Gi")}, list("cpu", "500m", "memory", "2Gi"), list("memory", "4Gi")},
		{"a spec limit means no default request (Kubernetes requests the limit)", corev1.ResourceRequirements{Limits: list("memory", "256Mi")},
			list("cpu", "500m"), list("memory", "256Mi")},
		{"no default limit below the spec's request", corev1.ResourceRequirements{Requests: list("memory", "8Gi")}, list("cpu", "500m", "memory", "8Gi"), list()},
		{"a cpu limit of the spec stays", corev1.ResourceRequirements{Limits: list("cpu", "2")}, list("memory", "512Mi"), list("cpu", "2", "memory", "4Gi")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.spec.DeepCopy()
			got := BuildResources(tc.spec, requests, limits)
			if !equalList(got.Requests, tc.wantReq) || !equalList(got.Limits, tc.wantLimit) {
				t.Errorf("got requests %v limits %v, want %v %v", got.Requests, got.Limits, tc.wantReq, tc.wantLimit)
			}
			if !equalList(tc.spec.Requests, before.Requests) || !equalList(tc.spec.Limits, before.Limits) {
				t.Error("the spec was modified")
			}
		})
	}
	if got := BuildResources(corev1.ResourceRequirements{}, nil, nil); len(got.Requests)+len(got.Limits) != 0 {
		t.Errorf("no defaults (empty flags): %+v", got)
	}
}

func equalList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}
