package golden

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestAssert(t *testing.T) {
	r := &recorder{TB: t}
	Assert(r, "sample.txt", []byte("a\nb\n"))
	if r.failed != "" {
		t.Errorf("equal content failed: %s", r.failed)
	}
	Assert(r, "sample.txt", []byte("a\nc\n"))
	if r.failed == "" {
		t.Error("different content passed")
	}
	r.failed = ""
	Assert(r, "missing.txt", []byte("a\n"))
	if r.failed == "" {
		t.Error("a missing golden file passed")
	}
}

func TestFirstDiff(t *testing.T) {
	if d := FirstDiff("a\nb", "a\nb"); d != "" {
		t.Errorf("equal: %q", d)
	}
	if d, want := FirstDiff("a\nb", "a\nc\nd"), "line 2:\n  want: b\n  got:  c"; d != want {
		t.Errorf("got %q, want %q", d, want)
	}
}
