package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func parse(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushImage pushes a random image whose config says platform p and returns it by digest.
func pushImage(t *testing.T, host, p string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = plat.OS, plat.Architecture, plat.Variant
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	tag := parse(t, host+"/team/web:1.0-"+plat.Architecture+plat.Variant)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host + "/team/web@" + d.String()
}

func TestPushesAnIndexOfEachPlatform(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	amd, arm := pushImage(t, host, "linux/amd64"), pushImage(t, host, "linux/arm64")

	digest, err := run(host+"/team/web:1.0", []string{"linux/amd64=" + amd, "linux/arm64=" + arm}, true)
	if err != nil {
		t.Fatal(err)
	}
	ref := parse(t, host+"/team/web:1.0")
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != digest {
		t.Errorf("the tag points at %s, the tool reported %s", desc.Digest, digest)
	}
	if !desc.MediaType.IsIndex() {
		t.Fatalf("the tag is a %s, want an image index", desc.MediaType)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range im.Manifests {
		got[m.Platform.String()] = host + "/team/web@" + m.Digest.String()
	}
	if len(got) != 2 || got["linux/amd64"] != amd || got["linux/arm64"] != arm {
		t.Errorf("index lists %v, want linux/amd64=%s and linux/arm64=%s", got, amd, arm)
	}
	if im.MediaType != types.DockerManifestList && im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s", im.MediaType)
	}
}

func TestRefusesAnImageOfAnotherPlatform(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	amd := pushImage(t, host, "linux/amd64")

	_, err := run(host+"/team/web:1.0", []string{"linux/arm64=" + amd}, true)
	if err == nil || !strings.Contains(err.Error(), "was built for linux/amd64, not linux/arm64") {
		t.Fatalf("err = %v, want one naming both platforms", err)
	}
	if _, err := remote.Get(parse(t, host+"/team/web:1.0")); err == nil {
		t.Error("the tag was pushed although an image was of the wrong platform")
	}
}

func TestNeedsDestinationAndManifests(t *testing.T) {
	for _, tc := range []struct {
		dst string
		ms  []string
	}{{"", []string{"linux/amd64=r@sha256:00"}}, {"r:1", nil}, {"r:1", []string{"no-platform"}}} {
		if _, err := run(tc.dst, tc.ms, true); err == nil {
			t.Errorf("run(%q, %q) succeeded", tc.dst, tc.ms)
		}
	}
}
