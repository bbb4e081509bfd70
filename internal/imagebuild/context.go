package imagebuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/owner"
)

// workspaceDir is where a ConfigMap build context is assembled in the build pod; the executor
// builds it with --context=dir:///workspace.
const workspaceDir = "/workspace"

// ContextFile is one file of a ConfigMap build context: stored under Key in the ConfigMap,
// seen by the build at Path (relative to the context root).
type ContextFile struct {
	Path string
	Key  string
}

// InvalidSpecError is an ImageBuild the controller cannot turn into a build as it stands. The
// user must act: the controller marks the ImageBuild Stalled with Reason and Message.
type InvalidSpecError struct {
	Reason  string
	Message string
}

func (e *InvalidSpecError) Error() string { return e.Message }

func invalid(reason, format string, args ...any) error {
	return &InvalidSpecError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// configMapKeyRE is what the API server accepts as a ConfigMap key (besides "." and "..").
var configMapKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

func validConfigMapKey(k string) bool {
	return len(k) <= 253 && configMapKeyRE.MatchString(k) && !strings.HasPrefix(k, "..") && k != "."
}

// contextKey is the ConfigMap key of a context file. Names that are valid keys are kept as they
// are (so `kubectl get cm` reads naturally); others ("static/site.css": keys cannot contain "/")
// are encoded as the name with invalid characters replaced by "_" and a short hash of the
// name, which keeps keys unique and stable.
func contextKey(p string) string {
	if validConfigMapKey(p) {
		return p
	}
	sum := sha256.Sum256([]byte(p))
	clean := strings.Map(func(r rune) rune {
		if r < 128 && configMapKeyRE.MatchString(string(r)) {
			return r
		}
		return '_'
	}, p)
	clean = strings.TrimLeft(clean, ".")
	if len(clean) > 200 {
		clean = clean[len(clean)-200:]
	}
	return clean + "." + hex.EncodeToString(sum[:4])
}

// InlineContextFiles lists the files of an inline build context, sorted by path: the files of
// spec.source.inline.files plus the Dockerfile at spec.dockerfile.
func InlineContextFiles(ib *v1alpha1.ImageBuild) ([]ContextFile, error) {
	in := ib.Spec.Source.Inline
	if in == nil {
		return nil, nil
	}
	paths := map[string]string{} // clean path -> name as written
	add := func(name string) error {
		p := path.Clean(name)
		// Admission refuses these; a stored object from before the rule must not escape the
		// context either.
		if p == "." || p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
			return invalid(v1alpha1.ImageBuildReasonInvalidContext,
				"%q is not a relative path inside the build context", name)
		}
		if prev, ok := paths[p]; ok {
			return invalid(v1alpha1.ImageBuildReasonInvalidContext,
				"spec.source.inline.files: %q and %q name the same file", prev, name)
		}
		paths[p] = name
		return nil
	}
	names := make([]string, 0, len(in.Files))
	for name := range in.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := add(name); err != nil {
			return nil, err
		}
	}
	if _, ok := paths[path.Clean(dockerfilePath(ib))]; ok {
		return nil, invalid(v1alpha1.ImageBuildReasonInvalidContext,
			"spec.source.inline.files must not contain the Dockerfile path %q (the Dockerfile comes from spec.source.inline.dockerfile)", dockerfilePath(ib))
	}
	if err := add(dockerfilePath(ib)); err != nil {
		return nil, err
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	files := make([]ContextFile, 0, len(paths))
	keys := map[string]string{}
	for _, p := range sorted {
		// A file cannot also be a directory of another file.
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := paths[dir]; ok {
				return nil, invalid(v1alpha1.ImageBuildReasonInvalidContext,
					"spec.source.inline.files: %q is a file, so it cannot also be the directory of %q", dir, p)
			}
		}
		k := contextKey(p)
		if other, ok := keys[k]; ok {
			return nil, invalid(v1alpha1.ImageBuildReasonInvalidContext,
				"spec.source.inline.files: %q and %q cannot both be stored in a ConfigMap; rename one", other, p)
		}
		keys[k] = p
		files = append(files, ContextFile{Path: p, Key: k})
	}
	return files, nil
}

// ConfigMapContextFiles lists the files of a configMap build context from the keys of the
// referenced ConfigMap (data and binaryData): each key is a file at the context root. The
// Dockerfile (spec.dockerfile) must be one of them.
func ConfigMapContextFiles(ib *v1alpha1.ImageBuild, keys []string) ([]ContextFile, error) {
	ref := ib.Spec.Source.ConfigMap
	if ref == nil {
		return nil, nil
	}
	df := dockerfilePath(ib)
	files := make([]ContextFile, 0, len(keys))
	found := false
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		found = found || k == df
		files = append(files, ContextFile{Path: k, Key: k})
	}
	if !found {
		return nil, invalid(v1alpha1.ImageBuildReasonInvalidContext,
			"ConfigMap %s has no key %q: spec.dockerfile must be one of its keys (ConfigMap keys cannot contain '/', so the Dockerfile must be at the context root)",
			ref.Name, df)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// RenderContextConfigMap is the ConfigMap holding an inline build context, owned by the
// ImageBuild. It returns nil for other sources.
func RenderContextConfigMap(ib *v1alpha1.ImageBuild) (*corev1ac.ConfigMapApplyConfiguration, error) {
	in := ib.Spec.Source.Inline
	if in == nil {
		return nil, nil
	}
	files, err := InlineContextFiles(ib)
	if err != nil {
		return nil, err
	}
	content := map[string]string{path.Clean(dockerfilePath(ib)): in.Dockerfile}
	for name, c := range in.Files {
		content[path.Clean(name)] = c
	}
	data := make(map[string]string, len(files))
	for _, f := range files {
		data[f.Key] = content[f.Path]
	}
	return corev1ac.ConfigMap(ContextConfigMapName(ib), ib.Namespace).
		WithLabels(commonLabels(ib)).
		WithOwnerReferences(ownerReferenceAC(ib)).
		WithData(data), nil
}

// RenderServiceAccount is the ServiceAccount of an ImageBuild's build pods: no secrets, no
// token mounted, no permissions (edgeforge binds no role to it).
func RenderServiceAccount(ib *v1alpha1.ImageBuild) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(ServiceAccountName(ib), ib.Namespace).
		WithLabels(commonLabels(ib)).
		WithOwnerReferences(ownerReferenceAC(ib)).
		WithAutomountServiceAccountToken(false)
}

func ownerReferenceAC(ib *v1alpha1.ImageBuild) *metav1ac.OwnerReferenceApplyConfiguration {
	return owner.ControllerReference(ib, "ImageBuild")
}

func ownerReference(ib *v1alpha1.ImageBuild) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion.String(),
		Kind:               "ImageBuild",
		Name:               ib.Name,
		UID:                ib.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

// contextVolume mounts a ConfigMap context file by file (subPath mounts), on top of an emptyDir
// at /workspace. File by file, because a ConfigMap volume presents its files as symlinks into
// a hidden "..data" directory, and Kaniko copies symlinks as symlinks: `COPY . .` would copy
// dangling links. A subPath mount is a regular file.
func contextMounts(volume string, files []ContextFile) []corev1.VolumeMount {
	mounts := []corev1.VolumeMount{{Name: "workspace", MountPath: workspaceDir}}
	for _, f := range files {
		mounts = append(mounts, corev1.VolumeMount{
			Name: volume, MountPath: workspaceDir + "/" + f.Path, SubPath: f.Key, ReadOnly: true,
		})
	}
	return mounts
}

func dockerfilePath(ib *v1alpha1.ImageBuild) string {
	if ib.Spec.Dockerfile == "" {
		return "Dockerfile"
	}
	return ib.Spec.Dockerfile
}
