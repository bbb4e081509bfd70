package imagebuild

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A multi-platform build (spec.platforms) is one Kaniko Job per platform, named
// <name>-<number>-<arch>, each pinned to nodes of its architecture and pushing to <tag>-<arch>;
// once every one has pushed, the index Job <name>-<number> (the build's own name) pushes an OCI
// image index of their digests under spec.output.image and reports its digest the way Kaniko
// does (termination message).

// IndexContainerName is the name of the container that assembles the image index.
const IndexContainerName = "index"

// indexDockerConfigDir is where the index tool reads registry credentials (its DOCKER_CONFIG).
const indexDockerConfigDir = "/docker"

// PlatformSlug is the short form of a platform in names and tags: its arch and variant,
// e.g. amd64, arm64, armv7.
func PlatformSlug(platform string) string {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 {
		return strings.ReplaceAll(platform, "/", "")
	}
	return strings.Join(parts[1:], "")
}

// PlatformJobName is the Job that builds one platform of build n: <name>-<n>-<arch>.
func PlatformJobName(ib *v1alpha1.ImageBuild, n int64, platform string) string {
	return JobName(ib, n) + "-" + PlatformSlug(platform)
}

// PlatformDestination is where one platform's image is pushed: the output image with its tag
// (latest when it has none) suffixed with -<arch>, e.g. registry.example.com/web:1.0-arm64.
// A tag that would grow past 128 characters is shortened first.
func PlatformDestination(image, platform string) string {
	repo, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	suffix := "-" + PlatformSlug(platform)
	if len(tag)+len(suffix) > 128 {
		tag = tag[:128-len(suffix)]
	}
	return repo + ":" + tag + suffix
}

// RenderBuildJobs are the Jobs that start a build: the one Kaniko Job (RenderJob), or for
// spec.platforms one per platform, in spec order.
func RenderBuildJobs(ib *v1alpha1.ImageBuild, in JobInput) ([]*batchv1.Job, error) {
	if len(ib.Spec.Platforms) == 0 {
		j, err := RenderJob(ib, in)
		if err != nil {
			return nil, err
		}
		return []*batchv1.Job{j}, nil
	}
	out := make([]*batchv1.Job, 0, len(ib.Spec.Platforms))
	for _, p := range ib.Spec.Platforms {
		in.Platform = p
		j, err := RenderJob(ib, in)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// PlatformRecords are the per-platform entries of a new multi-platform build's record.
func PlatformRecords(ib *v1alpha1.ImageBuild, n int64) []v1alpha1.PlatformImage {
	out := make([]v1alpha1.PlatformImage, 0, len(ib.Spec.Platforms))
	for _, p := range ib.Spec.Platforms {
		out = append(out, v1alpha1.PlatformImage{Platform: p, Job: PlatformJobName(ib, n, p)})
	}
	return out
}

// AllPushed reports whether every platform of a multi-platform build record has pushed its image
// (then the index Job is due); false for a single-platform record.
func AllPushed(rec *v1alpha1.BuildRecord) bool {
	if rec == nil || len(rec.Platforms) == 0 {
		return false
	}
	for _, p := range rec.Platforms {
		if p.Digest == "" {
			return false
		}
	}
	return true
}

// FoldPlatforms folds what the platform Jobs of a running multi-platform build say (obs, by
// platform; a platform without an entry has not been observed) into its record: each platform's
// digest and node, the attempts and start time, and for a running build what a platform waits
// for. It returns the failure that ends the build (the first platform in spec order that
// failed, its message naming the platform), or nil.
func FoldPlatforms(rec *v1alpha1.BuildRecord, obs map[string]Observation) *Observation {
	rec.Reason, rec.Message = "", ""
	for i := range rec.Platforms {
		p := &rec.Platforms[i]
		o, ok := obs[p.Platform]
		if !ok {
			continue
		}
		if o.StartTime != nil && (rec.StartTime == nil || o.StartTime.Before(rec.StartTime)) {
			rec.StartTime = o.StartTime
		}
		rec.Attempt = max(rec.Attempt, o.Attempt)
		if o.Node != "" {
			p.Node = o.Node
		}
		switch {
		case o.Finished && o.Succeeded:
			p.Digest = o.Digest
		case o.Finished:
			f := o
			f.Message = fmt.Sprintf("%s (Job %s): %s", p.Platform, p.Job, o.Message)
			return &f
		case o.Reason != "" && rec.Reason == "":
			rec.Reason, rec.Message = o.Reason, fmt.Sprintf("%s: %s", p.Platform, o.Message)
		}
	}
	return nil
}

// IndexManifests are the images the index lists, as the index tool's PLATFORM=REF: the
// repository of the output image at each platform's digest.
func IndexManifests(ib *v1alpha1.ImageBuild, rec *v1alpha1.BuildRecord) []string {
	out := make([]string, 0, len(rec.Platforms))
	for _, p := range rec.Platforms {
		out = append(out, p.Platform+"="+ImageWithDigest(ib.Spec.Output.Image, p.Digest))
	}
	return out
}

// IndexInput is what RenderIndexJob needs besides the ImageBuild.
type IndexInput struct {
	// Number of the build; the Job is named <name>-<number>.
	Number int64
	// Image of the index tool (the operator's --index-image).
	Image string
	// EdgeCluster is the pool named by spec.runOn.edgeClusterRef (nil without one): the index Job
	// runs where the builds ran, which can reach the registry.
	EdgeCluster *v1alpha1.EdgeCluster
	// Manifests are the platform images by digest, PLATFORM=REF (IndexManifests).
	Manifests []string
}

// RenderIndexJob is the Job that pushes the image index of a multi-platform build: the operator's
// edgeforge-index tool reads each platform image's manifest and config (for its platform) and
// pushes an OCI index of them under spec.output.image with the push Secret, writing the index
// digest as its termination message. It runs as a non-root user with nothing but the network
// and the push Secret (Pod Security "restricted").
func RenderIndexJob(ib *v1alpha1.ImageBuild, in IndexInput) *batchv1.Job {
	args := []string{"--destination=" + ib.Spec.Output.Image, "--digest-file=" + terminationLog}
	for _, m := range in.Manifests {
		args = append(args, "--manifest="+m)
	}
	if ib.Spec.Output.Insecure {
		args = append(args, "--insecure")
	}
	var src source
	if ref := ib.Spec.Output.PushSecretRef; ref != nil {
		src.addPushSecret(ib)
		// The tool runs as 65532, not root: the Secret's file is group-readable, for the pod's
		// fsGroup, and no one else.
		src.volumes[len(src.volumes)-1].Secret.DefaultMode = ptr.To(int32(0o440))
		src.mounts[len(src.mounts)-1].MountPath = indexDockerConfigDir
		src.env = append(src.env, corev1.EnvVar{Name: "DOCKER_CONFIG", Value: indexDockerConfigDir})
	}
	nodeSelector, tolerations := placement(ib, in.EdgeCluster)
	return wrapJob(ib, JobName(ib, in.Number), in.Number, strings.Join(ib.Spec.Platforms, ","), corev1.PodSpec{
		NodeSelector: nodeSelector,
		Tolerations:  tolerations,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(int64(65532)),
			RunAsGroup:     ptr.To(int64(65532)),
			FSGroup:        ptr.To(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:            IndexContainerName,
			Image:           in.Image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/edgeforge-index"},
			Args:            args,
			Env:             src.env,
			VolumeMounts:    src.mounts,
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
			},
			TerminationMessagePath:   terminationLog,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem:   ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
		Volumes: src.volumes,
	})
}
