package app

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// startFailureReasons are the kubelet's waiting reasons for a container that cannot start and
// will not without a change, with the AppDeployment reason each becomes:
//   - the image cannot be pulled (kubelet's images package): the pull failed, is backing off, the
//     reference is invalid, or the pull policy forbids pulling an image the node does not have;
//   - the container cannot be created as specified: a missing ConfigMap or Secret key, or
//     runAsNonRoot with an image that runs as root (CreateContainerConfigError), or the runtime
//     refusing the container (CreateContainerError).
var startFailureReasons = map[string]string{
	"ErrImagePull":               v1alpha1.AppDeploymentReasonImagePullFailed,
	"ImagePullBackOff":           v1alpha1.AppDeploymentReasonImagePullFailed,
	"InvalidImageName":           v1alpha1.AppDeploymentReasonImagePullFailed,
	"ErrImageNeverPull":          v1alpha1.AppDeploymentReasonImagePullFailed,
	"CreateContainerConfigError": v1alpha1.AppDeploymentReasonContainerConfigFailed,
	"CreateContainerError":       v1alpha1.AppDeploymentReasonContainerConfigFailed,
}

// StartFailure is a pod of the app whose kubelet cannot pull the image or create the container.
type StartFailure struct {
	Pod, Node, Image, Reason, Message string
	// Condition is the AppDeployment reason: ImagePullFailed or ContainerConfigFailed.
	Condition string
}

// FindStartFailure returns the first pod (by name) with a container of the given image that
// waits because its image cannot be pulled or the container cannot be created, or nil. Pods of
// an older image are not looked at: they belong to a ReplicaSet the rollout is leaving.
func FindStartFailure(pods []corev1.Pod, image string) *StartFailure {
	var found *StartFailure
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || (found != nil && found.Pod < p.Name) {
			continue
		}
		if c, ok := startFailing(p); ok && c.Image == image {
			found = &StartFailure{Pod: p.Name, Node: p.Spec.NodeName, Image: image, Condition: startFailureReasons[c.State.Waiting.Reason],
				Reason: c.State.Waiting.Reason, Message: strings.TrimSpace(c.State.Waiting.Message)}
		}
	}
	return found
}

// StartFailing reports whether a container of the pod waits because its image cannot be pulled
// or it cannot be created (for the pod watch: only a change of this wakes the AppDeployment).
func StartFailing(p *corev1.Pod) bool {
	_, ok := startFailing(p)
	return ok
}

func startFailing(p *corev1.Pod) (corev1.ContainerStatus, bool) {
	for _, c := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := c.State.Waiting; w != nil && startFailureReasons[w.Reason] != "" {
			return c, true
		}
	}
	return corev1.ContainerStatus{}, false
}
