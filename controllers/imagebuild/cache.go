package imagebuild

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
)

// CacheOptions narrows the manager's caches to what this controller reads: build Jobs (label
// edgeforge.io/imagebuild) and build pods (label edgeforge.io/build), instead of every Job and
// Pod of the cluster. main.go merges it into the manager's cache.Options.ByObject. The
// controller works without it, at the cost of caching all Jobs and Pods.
//
// Secrets and ConfigMaps are not cached in full: the controller reads the few it references
// with the API reader when a build starts, and watches only their metadata to notice when a
// missing one appears. A ByObject label selector for Secrets or ConfigMaps (added for another
// controller) would also narrow that metadata watch, so merge such selectors with care.
func CacheOptions() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&batchv1.Job{}: {Label: exists(v1alpha1.LabelImageBuild)},
		// Build pods (label edgeforge.io/build) are among the pods edgeforge's objects made; the
		// AppDeployment controller caches the same set for its apps' pods.
		&corev1.Pod{}: apply.PodCache(),
	}
}

func exists(key string) labels.Selector {
	r, err := labels.NewRequirement(key, selection.Exists, nil)
	if err != nil {
		panic(err) // only for an invalid constant key
	}
	return labels.NewSelector().Add(*r)
}
