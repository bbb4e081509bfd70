package imagebuild

import (
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// Paths inside the Kaniko executor image (the layout of its release images, kept by the fork
// this project defaults to and tests: settings.DefaultKanikoImage, docs/imagebuild.md).
const (
	// dockerConfigDir is where the executor reads registry credentials (its DOCKER_CONFIG).
	dockerConfigDir = "/kaniko/.docker"
	// terminationLog receives the pushed digest (--digest-file), which the kubelet reports as
	// the container's termination message.
	terminationLog = "/dev/termination-log"
)

// DefaultTimeout is the build timeout when spec.timeout is unset (the schema defaults it too).
const DefaultTimeout = 30 * time.Minute

// Capabilities the executor keeps. Kaniko builds an image by unpacking the base image into its
// own container's root filesystem and running each RUN step there, as root, so it needs root's
// file powers for files it does not own — CHOWN and FOWNER (restore owners and modes of
// unpacked files), DAC_OVERRIDE (write into read-only directories of the image), FSETID (keep
// setuid/setgid bits), SETFCAP (file capabilities, e.g. ping in some base images) — plus SETUID
// and SETGID to run RUN steps as the Dockerfile's USER, and KILL to stop RUN steps' processes
// owned by that user. Every other capability of the runtime's default set (NET_RAW, MKNOD,
// SYS_CHROOT, AUDIT_WRITE, NET_BIND_SERVICE, SETPCAP) is dropped; all of these are within the
// Pod Security Standard "baseline".
var executorCapabilities = []corev1.Capability{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETFCAP", "SETGID", "SETUID",
}

// JobInput is what RenderJob needs besides the ImageBuild, looked up by the controller.
type JobInput struct {
	// Number of the build (1, 2, …); the Job is named <name>-<number>.
	Number int64
	// DefaultExecutorImage is the operator's --kaniko-image, used unless spec.executorImage is set.
	DefaultExecutorImage string
	// EdgeCluster is the pool named by spec.runOn.edgeClusterRef (nil without one).
	EdgeCluster *v1alpha1.EdgeCluster
	// ConfigMapKeys are the keys (data and binaryData) of the ConfigMap named by spec.source.configMap.
	ConfigMapKeys []string
	// DefaultRequests and DefaultLimits are the operator's build defaults (flags), for the
	// resources spec.resources leaves unset.
	DefaultRequests, DefaultLimits corev1.ResourceList
	// Platform, in a multi-platform build (spec.platforms), is the one platform this Job builds:
	// it is named <name>-<number>-<arch> and pushes to <tag>-<arch> (RenderPlatformJobs).
	Platform string
}

// RenderJob is the batch/v1 Job of one build: a single pod running the Kaniko executor, which
// builds the context, pushes to spec.output.image and writes the digest to its termination
// message. It returns an *InvalidSpecError for a spec the executor cannot run as it stands.
func RenderJob(ib *v1alpha1.ImageBuild, in JobInput) (*batchv1.Job, error) {
	name, platform, destination := JobName(ib, in.Number), BuildPlatform(ib, in.EdgeCluster), ib.Spec.Output.Image
	if in.Platform != "" {
		name, platform = PlatformJobName(ib, in.Number, in.Platform), in.Platform
		destination = PlatformDestination(destination, in.Platform)
	}
	src, err := renderSource(ib, in)
	if err != nil {
		return nil, err
	}
	src.addPushSecret(ib)
	return wrapJob(ib, name, in.Number, platform, buildPodSpec(ib, in, src, platform, destination)), nil
}

// wrapJob is the Job of build number n running pod: its labels (edgeforge.io/build=name on the
// Job and its pods), the annotations that let the controller adopt it, the owner reference,
// and the deadlines of spec.timeout (each attempt: the pod's) and spec.retries.
func wrapJob(ib *v1alpha1.ImageBuild, name string, n int64, platform string, pod corev1.PodSpec) *batchv1.Job {
	annotations := map[string]string{
		AnnotationBuildNumber: strconv.FormatInt(n, 10),
		AnnotationGeneration:  strconv.FormatInt(ib.Generation, 10),
	}
	if platform != "" {
		annotations[AnnotationPlatform] = platform
	}
	attempt := timeoutSeconds(ib)
	retries := ib.Spec.Retries
	labels := func() map[string]string {
		l := commonLabels(ib)
		l[v1alpha1.LabelBuild] = name
		return l
	}
	pod.RestartPolicy = corev1.RestartPolicyNever
	pod.ActiveDeadlineSeconds = ptr.To(attempt)
	// The builder ServiceAccount has no permissions, and its token is not even mounted.
	pod.ServiceAccountName = ServiceAccountName(ib)
	pod.AutomountServiceAccountToken = ptr.To(false)
	pod.EnableServiceLinks = ptr.To(false)
	pod.TerminationGracePeriodSeconds = ptr.To(int64(10))

	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       ib.Namespace,
			Labels:          labels(),
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{ownerReference(ib)},
		},
		Spec: batchv1.JobSpec{
			Parallelism:  ptr.To(int32(1)),
			Completions:  ptr.To(int32(1)),
			BackoffLimit: ptr.To(retries),
			// spec.timeout bounds each attempt (the pod's deadline); the Job's deadline bounds all
			// attempts together, including time spent unscheduled.
			ActiveDeadlineSeconds: ptr.To(attempt * int64(retries+1)),
			// One build pod at a time: a retry starts only once the failed pod is gone.
			PodReplacementPolicy: ptr.To(batchv1.Failed),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels()},
				Spec:       pod,
			},
		},
	}
}

// buildPodSpec is the build pod: the executor alone, placed on the pool, with no API token.
func buildPodSpec(ib *v1alpha1.ImageBuild, in JobInput, src source, platform, destination string) corev1.PodSpec {
	nodeSelector, tolerations := placement(ib, in.EdgeCluster)
	if pin := PlatformNodeSelector(platform); pin != nil {
		if nodeSelector == nil {
			nodeSelector = map[string]string{}
		}
		maps.Copy(nodeSelector, pin) // the platform wins over a contradicting nodeSelector
	}
	return corev1.PodSpec{
		NodeSelector: nodeSelector,
		Tolerations:  tolerations,
		SecurityContext: &corev1.PodSecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{executorContainer(ib, in, src, destination)},
		Volumes:    src.volumes,
	}
}

// BuildResources is spec.resources with the operator's defaults for each resource it leaves
// unset. A default never makes the pair invalid: no default request where the spec sets a limit
// (Kubernetes then requests the limit), no default limit below the spec's request.
func BuildResources(spec corev1.ResourceRequirements, requests, limits corev1.ResourceList) corev1.ResourceRequirements {
	out := *spec.DeepCopy()
	for name, q := range requests {
		_, req := out.Requests[name]
		_, lim := out.Limits[name]
		if !req && !lim {
			if out.Requests == nil {
				out.Requests = corev1.ResourceList{}
			}
			out.Requests[name] = q.DeepCopy()
		}
	}
	for name, q := range limits {
		if _, lim := out.Limits[name]; lim {
			continue
		}
		if req, ok := out.Requests[name]; ok && req.Cmp(q) > 0 {
			continue
		}
		if out.Limits == nil {
			out.Limits = corev1.ResourceList{}
		}
		out.Limits[name] = q.DeepCopy()
	}
	return out
}

// executorContainer runs Kaniko: root inside its container with the few capabilities it needs.
func executorContainer(ib *v1alpha1.ImageBuild, in JobInput, src source, destination string) corev1.Container {
	image := ib.Spec.ExecutorImage
	if image == "" {
		image = in.DefaultExecutorImage
	}
	return corev1.Container{
		Name:            ContainerName,
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            executorArgs(ib, src, destination),
		Env:             src.env,
		Resources:       BuildResources(ib.Spec.Resources, in.DefaultRequests, in.DefaultLimits),
		VolumeMounts:    src.mounts,
		// The digest on success; on failure, when the executor wrote nothing there, the tail of
		// its log (which ends with "error building image: …").
		TerminationMessagePath:   terminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			// Kaniko must be root inside its container: see executorCapabilities.
			RunAsUser:                ptr.To(int64(0)),
			RunAsGroup:               ptr.To(int64(0)),
			RunAsNonRoot:             ptr.To(false),
			Privileged:               ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{
				Drop: []corev1.Capability{"ALL"},
				Add:  append([]corev1.Capability(nil), executorCapabilities...),
			},
		},
	}
}

// executorArgs are the executor's flags: the context's, then where to push and how to build.
func executorArgs(ib *v1alpha1.ImageBuild, src source, destination string) []string {
	args := append(append([]string(nil), src.args...),
		"--destination="+destination,
		"--digest-file="+terminationLog,
		// Plain text, so a failure's log tail (the termination message) carries no colour codes.
		"--log-format=text",
	)
	for _, a := range ib.Spec.BuildArgs {
		args = append(args, "--build-arg="+a.Name+"="+a.Value)
	}
	if ib.Spec.Target != "" {
		args = append(args, "--target="+ib.Spec.Target)
	}
	if c := ib.Spec.Cache; c != nil && c.Enabled {
		args = append(args, "--cache=true", "--cache-repo="+c.Repo)
	}
	if ib.Spec.Output.Insecure {
		// Plain HTTP or an untrusted certificate, for pushing and for pulling base images and cache.
		args = append(args, "--insecure", "--insecure-pull", "--skip-tls-verify", "--skip-tls-verify-pull")
	}
	return args
}

// addPushSecret mounts spec.output.pushSecretRef as the executor's Docker config.
func (s *source) addPushSecret(ib *v1alpha1.ImageBuild) {
	ref := ib.Spec.Output.PushSecretRef
	if ref == nil {
		return
	}
	s.volumes = append(s.volumes, corev1.Volume{Name: "docker-config", VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{
			SecretName:  ref.Name,
			Items:       []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}},
			DefaultMode: ptr.To(int32(0o400)),
		},
	}})
	s.mounts = append(s.mounts, corev1.VolumeMount{Name: "docker-config", MountPath: dockerConfigDir, ReadOnly: true})
}

// source is how the build context reaches the executor.
type source struct {
	args    []string
	env     []corev1.EnvVar
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
}

func renderSource(ib *v1alpha1.ImageBuild, in JobInput) (source, error) {
	s := ib.Spec.Source
	switch {
	case s.Git != nil:
		return gitSource(ib, s.Git)
	case s.Inline != nil:
		files, err := InlineContextFiles(ib)
		if err != nil {
			return source{}, err
		}
		return dirSource(ib, ContextConfigMapName(ib), files), nil
	case s.ConfigMap != nil:
		files, err := ConfigMapContextFiles(ib, in.ConfigMapKeys)
		if err != nil {
			return source{}, err
		}
		return dirSource(ib, s.ConfigMap.Name, files), nil
	default:
		return source{}, invalid(v1alpha1.ImageBuildReasonInvalidContext, "spec.source: exactly one of git, inline or configMap must be set")
	}
}

// dirSource builds a ConfigMap context assembled under /workspace.
func dirSource(ib *v1alpha1.ImageBuild, configMap string, files []ContextFile) source {
	return source{
		args: []string{
			"--context=dir://" + workspaceDir,
			"--dockerfile=" + workspaceDir + "/" + dockerfilePath(ib),
		},
		volumes: []corev1.Volume{
			{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "context", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
			}}},
		},
		mounts: contextMounts("context", files),
	}
}

// fullCommitRE is a full commit id, which the executor checks out after cloning; anything else
// is a branch or tag name (or a refs/… name).
var fullCommitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// gitSource uses the executor's git context: git://<host>/<path>[#<ref or commit>], cloned over
// HTTPS (or HTTP with GIT_PULL_METHOD=http) with credentials from GIT_USERNAME/GIT_PASSWORD,
// which come from the clone Secret through the environment, never through the command line.
func gitSource(ib *v1alpha1.ImageBuild, g *v1alpha1.GitSource) (source, error) {
	var rest, pullMethod string
	switch {
	case strings.HasPrefix(g.URL, "https://"):
		rest = strings.TrimPrefix(g.URL, "https://")
	case strings.HasPrefix(g.URL, "http://"):
		rest, pullMethod = strings.TrimPrefix(g.URL, "http://"), "http"
	default:
		return source{}, invalid(v1alpha1.ImageBuildReasonUnsupportedGitURL,
			"spec.source.git.url %q: the Kaniko executor clones over HTTP(S) only; use the repository's https:// URL, with a token in the Secret named by spec.source.git.cloneSecretRef for a private repository", g.URL)
	}
	host, _, _ := strings.Cut(rest, "/")
	if strings.Contains(host, "@") {
		return source{}, invalid(v1alpha1.ImageBuildReasonUnsupportedGitURL,
			"spec.source.git.url must not carry credentials (they would show in the build pod's command line); put them in a Secret named by spec.source.git.cloneSecretRef")
	}
	if strings.Contains(rest, "#") {
		return source{}, invalid(v1alpha1.ImageBuildReasonUnsupportedGitURL,
			"spec.source.git.url must not contain '#'; set the branch, tag or commit in spec.source.git.revision")
	}

	ctx := "git://" + rest
	var extra []string
	switch rev := g.Revision; {
	case rev == "":
		// the remote's default branch
	case fullCommitRE.MatchString(rev), strings.HasPrefix(rev, "refs/"):
		ctx += "#" + rev
	default:
		// A branch or a tag: the executor looks the name up among the remote's branches, then tags.
		extra = append(extra, "--git=branch="+rev)
	}
	s := source{args: append([]string{"--context=" + ctx}, extra...)}
	if g.ContextDir != "" {
		s.args = append(s.args, "--context-sub-path="+g.ContextDir)
	}
	s.args = append(s.args, "--dockerfile="+dockerfilePath(ib))
	if pullMethod != "" {
		s.env = append(s.env, corev1.EnvVar{Name: "GIT_PULL_METHOD", Value: pullMethod})
	}
	if ref := g.CloneSecretRef; ref != nil {
		s.env = append(s.env,
			corev1.EnvVar{Name: "GIT_USERNAME", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: CloneSecretUsernameKey, Optional: ptr.To(true),
			}}},
			corev1.EnvVar{Name: "GIT_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: CloneSecretPasswordKey,
			}}},
		)
	}
	return s, nil
}

// Keys of a clone Secret (the keys of a kubernetes.io/basic-auth Secret). The password may be a token.
const (
	CloneSecretUsernameKey = "username"
	CloneSecretPasswordKey = "password"
)

// placement is the node selector and tolerations of the build pod: an edge pool's label and
// tolerations of its taints, or spec.runOn's own selector; spec.runOn.tolerations are added.
func placement(ib *v1alpha1.ImageBuild, ec *v1alpha1.EdgeCluster) (map[string]string, []corev1.Toleration) {
	on := ib.Spec.RunOn
	if on == nil {
		return nil, nil
	}
	var sel map[string]string
	var tols []corev1.Toleration
	if on.EdgeClusterRef != nil {
		sel = map[string]string{v1alpha1.LabelEdgeClusterMember: on.EdgeClusterRef.Name}
		tols = append(tols, edge.PoolTolerations(ec)...)
	} else if len(on.NodeSelector) > 0 {
		sel = make(map[string]string, len(on.NodeSelector))
		for k, v := range on.NodeSelector {
			sel[k] = v
		}
	}
	for _, t := range on.Tolerations {
		tols = append(tols, *t.DeepCopy())
	}
	return sel, tols
}

// timeoutSeconds is spec.timeout in whole seconds (at least 1).
func timeoutSeconds(ib *v1alpha1.ImageBuild) int64 {
	d := DefaultTimeout
	if ib.Spec.Timeout != nil {
		d = ib.Spec.Timeout.Duration
	}
	return max(int64(math.Ceil(d.Seconds())), 1)
}
