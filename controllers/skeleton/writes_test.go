package skeleton

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestWrites(t *testing.T) {
	a, b := types.NamespacedName{Namespace: "ns", Name: "a"}, types.NamespacedName{Namespace: "ns", Name: "b"}
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name  string
		check func(w *Writes) bool // returns what Stale said
		stale bool
	}{
		{name: "nothing written", check: func(w *Writes) bool { return w.Stale(a, "1", t0) }},
		{name: "the replaced version is stale", stale: true, check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			return w.Stale(a, "1", t0.Add(time.Second))
		}},
		{name: "another object's version is not", check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			return w.Stale(b, "1", t0)
		}},
		{name: "the cache moved on", check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			return w.Stale(a, "2", t0)
		}},
		{name: "once the cache moved on, the entry is gone", check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			w.Stale(a, "2", t0)
			return w.Stale(a, "1", t0) || w.Len() != 0
		}},
		{name: "forgotten after the TTL", check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			return w.Stale(a, "1", t0.Add(writesTTL+time.Millisecond))
		}},
		{name: "a later write replaces the earlier", stale: true, check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			w.Replaced(a, "2", t0)
			return w.Stale(a, "2", t0)
		}},
		{name: "objects no pass read again are swept", check: func(w *Writes) bool {
			w.Replaced(a, "1", t0)
			w.Replaced(b, "7", t0.Add(2*writesTTL))
			return w.Len() != 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.check(&Writes{}); got != tc.stale {
				t.Errorf("got %t, want %t", got, tc.stale)
			}
		})
	}
}
