// Package imagebuild decides what an ImageBuild turns into and what its status says, without a
// client: the Kaniko build Job (RenderJob), the ConfigMap holding an inline build context
// (RenderContextConfigMap), the build pod's ServiceAccount, what a Job and its pods say about
// a build (ObserveJob), when a new build is due (Due), which old Jobs to delete (Prune) and the
// resulting phase and conditions (Summarize). controllers/imagebuild does the I/O.
package imagebuild

import (
	"strconv"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Annotations on build Jobs: which build of which spec a Job is. The controller reads them to
// adopt a Job it created but could not record (a crash between create and status write).
const (
	AnnotationBuildNumber = "edgeforge.io/build-number"
	AnnotationGeneration  = "edgeforge.io/generation"
	// AnnotationPlatform records the platform a build Job is pinned to (spec.runOn.platform, or
	// the edge pool's main architecture); absent when the build may run anywhere.
	AnnotationPlatform = "edgeforge.io/platform"
)

// ContainerName is the name of the executor container in a build pod.
const ContainerName = "kaniko"

// JobName is the deterministic name of build number n of an ImageBuild: <name>-<n>.
func JobName(ib *v1alpha1.ImageBuild, n int64) string {
	return ib.Name + "-" + strconv.FormatInt(n, 10)
}

// ServiceAccountName is the ServiceAccount build pods of an ImageBuild run as. It has no
// permissions and its token is never mounted: it exists so builds do not run as the
// namespace's "default" ServiceAccount, which others may have granted rights to.
func ServiceAccountName(ib *v1alpha1.ImageBuild) string { return ib.Name + "-builder" }

// ContextConfigMapName is the ConfigMap holding an inline build context.
func ContextConfigMapName(ib *v1alpha1.ImageBuild) string { return ib.Name + "-build-context" }

// commonLabels are the labels of every object created for an ImageBuild.
func commonLabels(ib *v1alpha1.ImageBuild) map[string]string {
	return map[string]string{
		v1alpha1.LabelManagedBy:  v1alpha1.ManagedByValue,
		v1alpha1.LabelName:       "imagebuild",
		v1alpha1.LabelInstance:   ib.Name,
		v1alpha1.LabelImageBuild: ib.Name,
	}
}
