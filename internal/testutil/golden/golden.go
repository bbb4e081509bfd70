// Package golden compares test output with golden files under a package's testdata/ folder.
// It is test infrastructure: only _test.go files import it. It owns the -update flag of every
// test package that imports it: `go test ./internal/app -update` rewrites that package's files.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/ instead of comparing")

// Assert compares got with testdata/<name>. With -update it (re)writes the file instead,
// creating its folder if needed.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update in this package to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering (run go test with -update in this package after checking the change):\n%s\n--- got\n%s",
			path, FirstDiff(string(want), string(got)), got)
	}
}

// FirstDiff describes the first line where want and got differ ("" when they are equal).
func FirstDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return ""
}
