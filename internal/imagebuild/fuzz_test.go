package imagebuild

import (
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// The executor's termination message is read as a digest only when it is exactly one.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"sha256:" + strings.Repeat("a", 64), " sha256:" + strings.Repeat("0", 64) + "\n", "sha256:abc", "", "error: push failed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		d, ok := ParseDigest(msg)
		if ok && (len(d) != 71 || !strings.HasPrefix(d, "sha256:") || d != strings.TrimSpace(msg)) {
			t.Fatalf("ParseDigest(%q) = %q, true", msg, d)
		}
	})
}

// Any image reference the registry client accepts becomes, with a digest, a digest reference of
// the same repository: a tag or an earlier digest is dropped, a registry port is kept.
func FuzzImageWithDigest(f *testing.F) {
	for _, s := range []string{"registry.example.com/team/web:v1", "localhost:5000/web", "web", "10.0.0.1:5000/a/b@sha256:" + strings.Repeat("b", 64),
		"registry.example.com:443/x:latest", "ghcr.io/o/r"} {
		f.Add(s)
	}
	digest := "sha256:" + strings.Repeat("c", 64)
	f.Fuzz(func(t *testing.T, image string) {
		ref, err := name.ParseReference(image, name.StrictValidation)
		if err != nil {
			return // admission and the registry client refuse it before it gets here
		}
		out := ImageWithDigest(image, digest)
		d, err := name.NewDigest(out, name.StrictValidation)
		if err != nil {
			t.Fatalf("ImageWithDigest(%q) = %q, not a digest reference: %v", image, out, err)
		}
		if d.Context().String() != ref.Context().String() || d.DigestStr() != digest {
			t.Fatalf("ImageWithDigest(%q) = %q: repository %s, want %s", image, out, d.Context(), ref.Context())
		}
	})
}

var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// Inline file names become ConfigMap keys that are valid, unique and stable, for clean paths
// that are neither a file and a directory at once nor the Dockerfile.
func FuzzInlineContextFiles(f *testing.F) {
	f.Add("app/main.go", "static/index.html", "Dockerfile")
	f.Add("a", "a/b", "build/Dockerfile")
	f.Add("x//y", "x/y", "Dockerfile")
	f.Add("é/ü.txt", "../up", "./Dockerfile")
	f.Fuzz(func(t *testing.T, a, b, dockerfile string) {
		ib := &v1alpha1.ImageBuild{Spec: v1alpha1.ImageBuildSpec{
			Dockerfile: dockerfile,
			Source:     v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM scratch", Files: map[string]string{a: "1", b: "2"}}},
		}}
		files, err := InlineContextFiles(ib)
		if err != nil {
			return
		}
		again, _ := InlineContextFiles(ib)
		keys := map[string]bool{}
		for i, fl := range files {
			if !configMapKey.MatchString(fl.Key) || len(fl.Key) > 253 {
				t.Fatalf("file %q: key %q is not a ConfigMap key", fl.Path, fl.Key)
			}
			if keys[fl.Key] {
				t.Fatalf("two files share key %q", fl.Key)
			}
			keys[fl.Key] = true
			if path.Clean(fl.Path) != fl.Path {
				t.Fatalf("path %q is not clean", fl.Path)
			}
			if again[i] != fl {
				t.Fatalf("not deterministic: %+v then %+v", fl, again[i])
			}
		}
	})
}
