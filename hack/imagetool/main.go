// Command imagetool assembles the container images of the real tier from files on this machine
// (binaries built from Go modules by hack/realbins.sh, Debian's busybox and
// node-exporter) with go-containerregistry, and pushes them to the local registry. No image is
// ever pulled from anywhere.
//
// Images are content-addressed: the tag is a hash of everything that goes into the image, and a
// built image is kept as an OCI layout in the cache, so a warm run only pushes what the registry
// lacks.
//
//	imagetool push --registry HOST:PORT --user U --password P --bins DIR --cache DIR --env-out FILE
//	imagetool htpasswd USER PASSWORD      # a bcrypt htpasswd line for the registry
//	imagetool git-serve --addr IP:PORT --root DIR   # git smart HTTP (git http-backend) for DIR
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "push":
		err = push(os.Args[2:])
	case "git-serve":
		err = gitServe(os.Args[2:])
	case "htpasswd":
		if len(os.Args) != 4 {
			usage()
		}
		var h []byte
		h, err = bcrypt.GenerateFromPassword([]byte(os.Args[3]), bcrypt.DefaultCost)
		if err == nil {
			fmt.Printf("%s:%s\n", os.Args[2], h)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagetool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imagetool push --registry HOST:PORT [--user U --password P] --bins DIR --cache DIR [--env-out FILE]\n       imagetool htpasswd USER PASSWORD")
	os.Exit(2)
}

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	registry := fs.String("registry", "", "registry host:port (plain HTTP)")
	user := fs.String("user", "", "registry user")
	password := fs.String("password", "", "registry password")
	bins := fs.String("bins", "", "directory of hack/realbins.sh")
	cache := fs.String("cache", "", "directory for built images (OCI layouts)")
	envOut := fs.String("env-out", "", "write KEY=image lines here (default stdout)")
	only := fs.String("only", "", "comma-separated image names to push (default all)")
	_ = fs.Parse(args)
	if *registry == "" || *bins == "" || *cache == "" {
		usage()
	}
	defs, err := Definitions(*bins)
	if err != nil {
		return err
	}
	auth := authn.Anonymous
	if *user != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: *user, Password: *password})
	}
	var lines []string
	for _, d := range defs {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), d.Name) {
			continue
		}
		start := time.Now()
		img, tag, err := d.Build(*cache)
		if err != nil {
			return fmt.Errorf("image %s: %w", d.Name, err)
		}
		ref, err := name.NewTag(fmt.Sprintf("%s/edgeforge/%s:%s", *registry, d.Name, tag), name.Insecure)
		if err != nil {
			return err
		}
		dig, err := img.Digest()
		if err != nil {
			return err
		}
		if desc, err := remote.Head(ref, remote.WithAuth(auth)); err == nil && desc.Digest == dig {
			fmt.Fprintf(os.Stderr, "imagetool: %s is current (%s)\n", ref, dig)
		} else {
			if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
				return fmt.Errorf("push %s: %w", ref, err)
			}
			fmt.Fprintf(os.Stderr, "imagetool: pushed %s (%s) in %s\n", ref, dig, time.Since(start).Round(time.Millisecond))
		}
		lines = append(lines, fmt.Sprintf("%s=%s", d.EnvKey, ref.String()))
	}
	out := strings.Join(lines, "\n") + "\n"
	if *envOut == "" {
		_, err = os.Stdout.WriteString(out)
		return err
	}
	return os.WriteFile(*envOut, []byte(out), 0o644)
}

// Entry is one path in an image's single layer.
type Entry struct {
	Path    string // absolute path in the image
	Source  string // host file to copy (regular files)
	Content string // literal content (when Source is empty and not a dir/symlink)
	Mode    int64
	Dir     bool
	Link    string // symlink target
}

// Definition is one image: one layer of entries plus its config.
type Definition struct {
	Name    string // repository under <registry>/edgeforge/
	EnvKey  string // key in .cluster/env
	Version string // part of the tag, for humans
	// ExactTag makes Version the whole tag (prometheus-operator runs <base image>:<version>).
	ExactTag   bool
	Entries    []Entry
	Env        []string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	User       string
}

// Build returns the image and its content-addressed tag, from the cache when it is there.
func (d Definition) Build(cacheDir string) (v1.Image, string, error) {
	key, err := d.inputHash()
	if err != nil {
		return nil, "", err
	}
	tag := key[:16]
	if d.Version != "" {
		tag = d.Version + "-" + key[:12]
	}
	if d.ExactTag {
		tag = d.Version
	}
	dir := filepath.Join(cacheDir, d.Name+"-"+key[:32])
	if idx, err := layout.ImageIndexFromPath(dir); err == nil {
		if m, err := idx.IndexManifest(); err == nil && len(m.Manifests) == 1 {
			if img, err := idx.Image(m.Manifests[0].Digest); err == nil {
				return img, tag, nil
			}
		}
	}
	layerBytes, err := d.layerTar()
	if err != nil {
		return nil, "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, "", err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Env = d.Env
	cf.Config.Entrypoint = d.Entrypoint
	cf.Config.Cmd = d.Cmd
	cf.Config.WorkingDir = d.WorkingDir
	cf.Config.User = d.User
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": d.Name, "org.opencontainers.image.version": d.Version}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, "", err
	}
	_ = os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, "", err
	}
	if err := p.AppendImage(img); err != nil {
		return nil, "", err
	}
	// Read it back so the pushed image is the one in the cache.
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", err
	}
	img, err = idx.Image(m.Manifests[0].Digest)
	return img, tag, err
}

// inputHash covers the definition and, for copied files, their size and modification time (a
// rebuilt binary gets a new image; an unchanged one is not hashed byte by byte on every run).
func (d Definition) inputHash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "v1\n%s\n%s\n%q\n%q\n%q\n%s\n%s\n", d.Name, d.Version, d.Env, d.Entrypoint, d.Cmd, d.WorkingDir, d.User)
	for _, e := range d.Entries {
		fmt.Fprintf(h, "%s|%s|%q|%o|%t|%s", e.Path, e.Source, e.Content, e.Mode, e.Dir, e.Link)
		if e.Source != "" {
			st, err := os.Stat(e.Source)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "|%d|%d", st.Size(), st.ModTime().UnixNano())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// layerTar writes the entries (and every parent directory) as a deterministic tar: sorted,
// owned by root, modification time zero.
func (d Definition) layerTar() ([]byte, error) {
	entries := map[string]Entry{}
	for _, e := range d.Entries {
		for dir := filepath.Dir(e.Path); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = Entry{Path: dir, Dir: true, Mode: 0o755}
			}
		}
		entries[e.Path] = e
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, p := range paths {
		e := entries[p]
		hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: epoch, Mode: e.Mode, Format: tar.FormatPAX}
		var body []byte
		switch {
		case e.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
			if hdr.Mode == 0 {
				hdr.Mode = 0o755
			}
		case e.Link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Link, 0o777
		default:
			hdr.Typeflag = tar.TypeReg
			if e.Source != "" {
				b, err := os.ReadFile(e.Source)
				if err != nil {
					return nil, err
				}
				body = b
			} else {
				body = []byte(e.Content)
			}
			hdr.Size = int64(len(body))
			if hdr.Mode == 0 {
				hdr.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// binaryWithLibs is a host binary at dst plus the shared libraries ldd names for it (Debian's
// prometheus and node-exporter are dynamically linked), at their host paths.
func binaryWithLibs(src, dst string) ([]Entry, error) {
	if _, err := os.Stat(src); err != nil {
		return nil, err
	}
	out := []Entry{{Path: dst, Source: src, Mode: 0o755}}
	ldd, err := exec.Command("ldd", src).Output()
	if err != nil { // "not a dynamic executable" exits non-zero: a static binary
		return out, nil
	}
	for _, line := range strings.Split(string(ldd), "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0]
		}
		if lib == "" {
			continue
		}
		real, err := filepath.EvalSymlinks(lib)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Path: real, Source: real, Mode: 0o755})
		if real != lib {
			out = append(out, Entry{Path: lib, Link: real})
		}
	}
	return out, nil
}

var errMissing = errors.New("missing")

// Definitions lists the real tier's images.
func Definitions(bins string) ([]Definition, error) {
	bin := func(n string) string { return filepath.Join(bins, n) }
	for _, n := range []string{"pause", "executor", "demoapp", "edgeforge-index", "prometheus", "prometheus-config-reloader", "kube-state-metrics"} {
		if _, err := os.Stat(bin(n)); err != nil {
			return nil, fmt.Errorf("%s (run hack/realbins.sh): %w", bin(n), errMissing)
		}
	}
	etc := []Entry{
		{Path: "/etc/passwd", Content: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{Path: "/etc/group", Content: "root:x:0:\nnogroup:x:65534:\n"},
		{Path: "/etc/nsswitch.conf", Content: "hosts: files dns\n"},
		{Path: "/tmp", Dir: true, Mode: 0o1777},
	}
	caBundle := "/etc/ssl/certs/ca-certificates.crt"

	// busybox: the base image of test Dockerfiles (sh for RUN, httpd to serve files).
	bb := "/bin/busybox"
	applets, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full (install Debian's busybox-static): %w", bb, err)
	}
	base := append([]Entry{{Path: "/bin/busybox", Source: bb, Mode: 0o755}, {Path: "/root", Dir: true, Mode: 0o700}}, etc...)
	for _, a := range strings.Fields(string(applets)) {
		if p := "/" + a; p != "/bin/busybox" {
			base = append(base, Entry{Path: p, Link: "/bin/busybox"})
		}
	}

	prom := []Entry{{Path: "/bin/prometheus", Source: bin("prometheus"), Mode: 0o755}}
	promVersion := os.Getenv("PROMETHEUS_VERSION")
	if promVersion == "" {
		return nil, errors.New("PROMETHEUS_VERSION is not set (hack/versions.env)")
	}
	nodeExporter, err := binaryWithLibs("/usr/bin/prometheus-node-exporter", "/bin/node_exporter")
	if err != nil {
		return nil, fmt.Errorf("node-exporter (install Debian's prometheus-node-exporter): %w", err)
	}

	return []Definition{
		{Name: "pause", EnvKey: "PAUSE_IMAGE", Entries: []Entry{{Path: "/pause", Source: bin("pause"), Mode: 0o755}},
			Entrypoint: []string{"/pause"}},
		{Name: "busybox", EnvKey: "BASE_IMAGE", Entries: base,
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}},
		// The layout the executor expects (as its own release image has it): the binary in
		// /kaniko, CA bundle in /kaniko/ssl/certs, DOCKER_CONFIG=/kaniko/.docker/.
		{Name: "kaniko-executor", EnvKey: "KANIKO_IMAGE", Version: os.Getenv("KANIKO_VERSION"),
			Entries: append([]Entry{
				{Path: "/kaniko/executor", Source: bin("executor"), Mode: 0o755},
				{Path: "/kaniko/ssl/certs/ca-certificates.crt", Source: caBundle},
				{Path: "/kaniko/.docker", Dir: true, Mode: 0o755},
				{Path: "/kaniko", Dir: true, Mode: 0o777},
				{Path: "/workspace", Dir: true, Mode: 0o755},
			}, etc[2:]...),
			Env: []string{"HOME=/root", "USER=root", "PATH=/usr/local/bin:/kaniko", "SSL_CERT_DIR=/kaniko/ssl/certs",
				"DOCKER_CONFIG=/kaniko/.docker/"},
			Entrypoint: []string{"/kaniko/executor"}, WorkingDir: "/workspace"},
		{Name: "demoapp", EnvKey: "DEMOAPP_IMAGE", Entries: []Entry{{Path: "/demoapp", Source: bin("demoapp"), Mode: 0o755}},
			Entrypoint: []string{"/demoapp"}, User: "65534"},
		// The operator's --index-image: edgeforge-index (the operator's own image has it too),
		// non-root, with the CA bundle for registries over HTTPS.
		{Name: "edgeforge-index", EnvKey: "INDEX_IMAGE", Entries: append([]Entry{
			{Path: "/edgeforge-index", Source: bin("edgeforge-index"), Mode: 0o755},
			{Path: "/etc/ssl/certs/ca-certificates.crt", Source: caBundle}}, etc...),
			Entrypoint: []string{"/edgeforge-index"}, User: "65532"},
		{Name: "node-exporter", EnvKey: "NODE_EXPORTER_IMAGE", Entries: append(nodeExporter, etc...),
			Entrypoint: []string{"/bin/node_exporter"}, User: "65534"},
		// prometheus-operator names the image <base>:<version>, so the tag is the version alone.
		{Name: "prometheus", EnvKey: "PROMETHEUS_IMAGE", Version: promVersion, ExactTag: true, Entries: append(prom, append(etc,
			Entry{Path: "/prometheus", Dir: true, Mode: 0o777}, Entry{Path: "/etc/prometheus", Dir: true, Mode: 0o755},
			Entry{Path: "/etc/ssl/certs/ca-certificates.crt", Source: caBundle})...),
			Entrypoint: []string{"/bin/prometheus"}, WorkingDir: "/prometheus", User: "65534"},
		{Name: "prometheus-config-reloader", EnvKey: "PROMETHEUS_CONFIG_RELOADER_IMAGE", Version: os.Getenv("PROMETHEUS_OPERATOR_VERSION"),
			Entries:    append([]Entry{{Path: "/bin/prometheus-config-reloader", Source: bin("prometheus-config-reloader"), Mode: 0o755}}, etc...),
			Entrypoint: []string{"/bin/prometheus-config-reloader"}, User: "65534"},
		{Name: "kube-state-metrics", EnvKey: "KUBE_STATE_METRICS_IMAGE", Version: os.Getenv("KUBE_STATE_METRICS_VERSION"),
			Entries:    append([]Entry{{Path: "/kube-state-metrics", Source: bin("kube-state-metrics"), Mode: 0o755}}, etc...),
			Entrypoint: []string{"/kube-state-metrics"}, User: "65534"},
	}, nil
}

// gitServe serves the repositories under --root over git's smart HTTP protocol, read-only, by
// running git's own http-backend as a CGI program (Kaniko's git context clones over HTTP(S)).
func gitServe(args []string) error {
	fs := flag.NewFlagSet("git-serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9418", "listen address")
	root := fs.String("root", "", "directory of the repositories")
	_ = fs.Parse(args)
	if *root == "" {
		usage()
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return fmt.Errorf("git --exec-path: %w", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + *root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || (r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/git-upload-pack")) {
			http.NotFound(w, r) // read-only: no receive-pack
			return
		}
		backend.ServeHTTP(w, r)
	})
	fmt.Fprintf(os.Stderr, "imagetool: git smart HTTP for %s on %s\n", *root, *addr)
	return http.ListenAndServe(*addr, mux)
}
