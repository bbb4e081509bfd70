package bundle

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfileStage is one FROM … stage of a Dockerfile.
type dockerfileStage struct {
	from  string
	lines []string // instructions after FROM, continuation lines joined
}

func parseDockerfile(t *testing.T, rel string) []dockerfileStage {
	t.Helper()
	var stages []dockerfileStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			img := ""
			for _, w := range f[1:] {
				if !strings.HasPrefix(w, "--") {
					img = w
					break
				}
			}
			stages = append(stages, dockerfileStage{from: img})
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, rel)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

// TestDockerfile: a static binary (CGO off, per-platform GOOS/GOARCH, trimmed) built in a Go
// stage with the modules layer first, shipped on distroless nonroot with no shell, as uid 65532.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) != 2 {
		t.Fatalf("want a two-stage Dockerfile (builder, runtime), got %d stages", len(stages))
	}
	builder, final := stages[0], stages[1]
	if !regexp.MustCompile(`(^|/)golang:1\.\d+`).MatchString(builder.from) {
		t.Errorf("builder stage FROM %q, want golang:1.x", builder.from)
	}
	if final.from != "gcr.io/distroless/static:nonroot" {
		t.Errorf("runtime stage FROM %q, want gcr.io/distroless/static:nonroot (no shell, non-root)", final.from)
	}
	build := strings.Join(builder.lines, "\n")
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=${TARGETOS", "GOARCH=${TARGETARCH}", "-trimpath", `-ldflags "-s -w"`, "ARG TARGETARCH"} {
		if !strings.Contains(build, want) {
			t.Errorf("builder stage lacks %q", want)
		}
	}
	modules, sources := -1, -1
	for i, l := range builder.lines {
		if strings.HasPrefix(l, "COPY go.mod go.sum") && modules < 0 {
			modules = i
		}
		if strings.HasPrefix(l, "COPY main.go") && sources < 0 {
			sources = i
		}
	}
	if modules < 0 || sources < 0 || modules > sources {
		t.Error("copy go.mod/go.sum (and download modules) before the sources, so the module layer is cached")
	}
	runtime := strings.Join(final.lines, "\n")
	for _, want := range []string{"USER 65532:65532", `ENTRYPOINT ["/manager"]`, "COPY --from=builder"} {
		if !strings.Contains(runtime, want) {
			t.Errorf("runtime stage lacks %q", want)
		}
	}
	if strings.Contains(runtime, "RUN ") {
		t.Error("the runtime stage must not RUN anything: distroless has no shell")
	}
}

// dockerignore is the subset of Docker's .dockerignore semantics edgeforge uses: patterns with
// *, ? and **, ! to re-include, the last matching pattern wins, and a pattern that matches a
// directory matches everything below it (moby/patternmatcher).
type dockerignore []struct {
	re      *regexp.Regexp
	exclude bool
}

func loadDockerignore(t *testing.T) dockerignore {
	t.Helper()
	var d dockerignore
	for _, line := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exclude := true
		if p, ok := strings.CutPrefix(line, "!"); ok {
			line, exclude = p, false
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case line[i] == '*':
				re.WriteString("[^/]*")
			case line[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(line[i : i+1]))
			}
		}
		re.WriteString("$")
		d = append(d, struct {
			re      *regexp.Regexp
			exclude bool
		}{regexp.MustCompile(re.String()), exclude})
	}
	return d
}

func (d dockerignore) excluded(rel string) bool {
	excluded := false
	parts := strings.Split(rel, "/")
	for _, p := range d {
		match := p.re.MatchString(rel)
		for i := 1; !match && i < len(parts); i++ {
			match = p.re.MatchString(strings.Join(parts[:i], "/"))
		}
		if match {
			excluded = p.exclude
		}
	}
	return excluded
}

// TestDockerBuildContext rebuilds the build context the way Docker would (.dockerignore), lays
// out the builder stage's COPYs in a temporary directory and has Go resolve the packages of the
// manager and of edgeforge-index there (imports, go:embed files, go.sum): proof that the Dockerfile copies everything
// the binary needs, without a container engine.
func TestDockerBuildContext(t *testing.T) {
	ignore := loadDockerignore(t)
	var context []string
	err := filepath.WalkDir(root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root(), p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !ignore.excluded(rel) {
			context = append(context, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	allowed := regexp.MustCompile(`^(go\.mod|go\.sum|main\.go|(api|controllers|internal|cmd)/.+)$`)
	for _, f := range context {
		if !allowed.MatchString(f) || strings.HasSuffix(f, "_test.go") {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}

	dir := t.TempDir()
	var copied int
	for _, l := range parseDockerfile(t, "Dockerfile")[0].lines {
		f := strings.Fields(l)
		if f[0] != "COPY" || strings.HasPrefix(f[1], "--") {
			continue
		}
		srcs, dst := f[1:len(f)-1], f[len(f)-1]
		for _, src := range srcs {
			src = strings.TrimSuffix(src, "/")
			for _, c := range context {
				if c != src && !strings.HasPrefix(c, src+"/") {
					continue
				}
				// a directory's contents go below dst; a file goes to dst, or into it when dst
				// is a directory ("./", or several sources)
				target := filepath.Join(dir, dst, strings.TrimPrefix(c, src+"/"))
				if c == src && !strings.HasSuffix(dst, "/") && len(srcs) == 1 {
					target = filepath.Join(dir, dst)
				} else if c == src {
					target = filepath.Join(dir, dst, filepath.Base(c))
				}
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(filepath.Join(root(), c))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(target, data, 0o644); err != nil {
					t.Fatal(err)
				}
				copied++
			}
		}
	}
	if copied == 0 {
		t.Fatal("the builder stage copies nothing from the context")
	}
	// The manager and edgeforge-index (the index Job's tool, run from the same image).
	cmd := exec.Command("go", "list", "-deps", "-e", "-f", `{{with .Error}}{{.}}{{"\n"}}{{end}}`, ".", "./cmd/edgeforge-index")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("the manager or edgeforge-index does not build from what the Dockerfile copies: %v\n%s", err, out)
	}
}

// TestDockerBuildSaysWhyNot: without an engine, with an engine that does not answer, or with
// one that cannot pull the base images, `make docker-build` fails with one sentence and never
// starts a build; with the base images present it builds IMG from the repository root.
func TestDockerBuildSaysWhyNot(t *testing.T) {
	const img = "registry.example.com/edgeforge/edgeforge:test"
	var bases []string
	for _, s := range parseDockerfile(t, "Dockerfile") {
		bases = append(bases, s.from)
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "calls.log")
	fake := func(name, script string) string {
		p := filepath.Join(bin, name)
		body := "#!/bin/sh\necho \"$*\" >> " + log + "\n" + script + "\n"
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, tool string
		want       []string
	}{
		{"no engine", filepath.Join(bin, "no-such-engine"), []string{"no container engine", img}},
		{"engine down", fake("engine-down", `exit 1`), []string{"does not answer", img}},
		{"no registry", fake("no-registry", `case "$1" in info) exit 0;; *) echo "dial tcp: lookup registry: no such host" >&2; exit 1;; esac`),
			append([]string{"cannot pull", "no registry access", img}, bases...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(log)
			_, stderr, err := makeTarget(t, nil, "docker-build", "IMG="+img, "CONTAINER_TOOL="+tc.tool)
			if err == nil {
				t.Fatal("make docker-build succeeded")
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !makeError.MatchString(l) { // make's own "Error 1" line (make[1] when nested)
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("want one sentence, got %d lines:\n%s", len(lines), stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("message lacks %q: %s", w, lines[0])
				}
			}
			calls, _ := os.ReadFile(log)
			if strings.Contains(string(calls), "build") {
				t.Errorf("a build was started:\n%s", calls)
			}
		})
	}
	t.Run("base images present", func(t *testing.T) {
		_ = os.Remove(log)
		tool := fake("ready", `exit 0`)
		if _, stderr, err := makeTarget(t, nil, "docker-build", "IMG="+img, "CONTAINER_TOOL="+tool); err != nil {
			t.Fatalf("make docker-build: %v\n%s", err, stderr)
		}
		calls, _ := os.ReadFile(log)
		if !strings.Contains(string(calls), "build -t "+img+" .\n") {
			t.Errorf("want `build -t %s .`, the engine was called with:\n%s", img, calls)
		}
		if strings.Contains(string(calls), "pull") {
			t.Errorf("images present locally were pulled:\n%s", calls)
		}
	})
}

// makeError matches make's own failure line, e.g. "make: *** [Makefile:1: x] Error 1" or,
// when make runs inside make (make test), "make[1]: *** …".
var makeError = regexp.MustCompile(`^make(\[[0-9]+\])?: \*\*\*`)
