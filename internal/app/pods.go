package app

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// pullFailureReasons are the kubelet's waiting reasons for a container whose image cannot be
// pulled (kubelet's images package): the pull failed, is backing off, the reference is invalid,
// or the pull policy forbids pulling an image the node does not have.
var pullFailureReasons = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}

// PullFailure is a pod of the app whose kubelet cannot pull the image.
type PullFailure struct {
	Pod, Node, Image, Reason, Message string
}

// FindPullFailure returns the first pod (by name) with a container of the given image that waits
// because its image cannot be pulled, or nil. Pods of an older image are not looked at: they
// belong to a ReplicaSet the rollout is leaving.
func FindPullFailure(pods []corev1.Pod, image string) *PullFailure {
	var found *PullFailure
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || (found != nil && found.Pod < p.Name) {
			continue
		}
		if c, ok := pullFailing(p); ok && c.Image == image {
			found = &PullFailure{Pod: p.Name, Node: p.Spec.NodeName, Image: image,
				Reason: c.State.Waiting.Reason, Message: strings.TrimSpace(c.State.Waiting.Message)}
		}
	}
	return found
}

// PullFailing reports whether a container of the pod waits because its image cannot be pulled
// (for the pod watch: only a change of this wakes the AppDeployment).
func PullFailing(p *corev1.Pod) bool {
	_, ok := pullFailing(p)
	return ok
}

func pullFailing(p *corev1.Pod) (corev1.ContainerStatus, bool) {
	for _, c := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := c.State.Waiting; w != nil && slices.Contains(pullFailureReasons, w.Reason) {
			return c, true
		}
	}
	return corev1.ContainerStatus{}, false
}
