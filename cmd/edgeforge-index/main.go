// Command edgeforge-index pushes an OCI image index (manifest list) of images already in a
// registry: the last step of a multi-platform ImageBuild (spec.platforms), run by the operator
// as a Job once every platform's Kaniko build has pushed.
//
//	edgeforge-index --destination=REPO:TAG --manifest=linux/amd64=REPO@sha256:… \
//	    --manifest=linux/arm64=REPO@sha256:… [--insecure] [--digest-file=/dev/termination-log]
//
// Each image's config must be of the platform it is listed for (a build that ran on the wrong
// architecture fails here, not on the node that pulls it). Registry credentials come from
// $DOCKER_CONFIG/config.json. The index's digest is written to --digest-file, which the kubelet
// reports as the container's termination message.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifests collects repeated --manifest=PLATFORM=REF flags.
type manifests []string

func (m *manifests) String() string     { return strings.Join(*m, ",") }
func (m *manifests) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var ms manifests
	destination := flag.String("destination", "", "where to push the index: REPO:TAG")
	digestFile := flag.String("digest-file", "", "write the pushed index's digest to this file")
	insecure := flag.Bool("insecure", false, "allow plain HTTP and unverified TLS")
	flag.Var(&ms, "manifest", "PLATFORM=REF of an image to list, e.g. linux/arm64=registry.example.com/web@sha256:… (repeatable)")
	flag.Parse()

	digest, err := run(*destination, ms, *insecure)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error pushing image index:", err)
		os.Exit(1)
	}
	if *digestFile != "" {
		if err := os.WriteFile(*digestFile, []byte(digest), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "error writing digest file:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("pushed image index %s@%s\n", *destination, digest)
}

func run(destination string, ms []string, insecure bool) (string, error) {
	if destination == "" || len(ms) == 0 {
		return "", errors.New("--destination and at least one --manifest are required")
	}
	var nameOpts []name.Option
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --insecure asks for it
		opts = append(opts, remote.WithTransport(tr))
	}
	dst, err := name.NewTag(destination, nameOpts...)
	if err != nil {
		return "", fmt.Errorf("--destination %q: %w", destination, err)
	}

	var adds []mutate.IndexAddendum
	allDocker := true
	for _, m := range ms {
		want, ref, ok := strings.Cut(m, "=")
		if !ok {
			return "", fmt.Errorf("--manifest %q: want PLATFORM=REF", m)
		}
		r, err := name.NewDigest(ref, nameOpts...)
		if err != nil {
			return "", fmt.Errorf("--manifest %q: %w", m, err)
		}
		img, err := remote.Image(r, opts...)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", ref, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return "", fmt.Errorf("reading the config of %s: %w", ref, err)
		}
		got := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
		if got.String() != want && !(cfg.Variant == "" && strings.HasPrefix(want, got.String()+"/")) {
			return "", fmt.Errorf("%s was built for %s, not %s: its build ran on a node of another architecture", ref, got.String(), want)
		}
		p, err := v1.ParsePlatform(want)
		if err != nil {
			return "", fmt.Errorf("--manifest %q: %w", m, err)
		}
		mt, err := img.MediaType()
		if err != nil {
			return "", fmt.Errorf("reading the media type of %s: %w", ref, err)
		}
		allDocker = allDocker && mt == types.DockerManifestSchema2
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	// Docker's manifest list for Docker manifests (what Kaniko pushes by default), an OCI index
	// otherwise: registries and runtimes accept either, but not every one a mix of families.
	mediaType := types.OCIImageIndex
	if allDocker {
		mediaType = types.DockerManifestList
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mediaType), adds...)
	if err := remote.WriteIndex(dst, idx, opts...); err != nil {
		return "", fmt.Errorf("pushing the index to %s: %w", dst, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}
