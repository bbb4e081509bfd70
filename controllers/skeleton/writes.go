package skeleton

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Writes remembers, per object, the resourceVersion the controller's own last write replaced.
// The controller's cache learns of that write only when the watch delivers it, tens to hundreds
// of milliseconds later under load; a pass that starts meanwhile (woken by a child: the Job its
// last pass created) would read the replaced copy and act on it: start the build it had already
// started, then lose its status write to a conflict. With Writes, the skeleton recognizes that
// copy and reads the object from the API server instead (one GET, instead of a create that
// fails, a read of the existing child and a conflicting write; issue 16, P4).
//
// An entry ends when a pass sees the cache move on, or after writesTTL: the cache has long
// caught up by then (a version still cached that late is not the one that was replaced). The
// zero value is ready to use; it is safe for concurrent passes.
type Writes struct {
	mu        sync.Mutex
	replaced  map[types.NamespacedName]replacedVersion
	lastSweep time.Time
}

type replacedVersion struct {
	version string
	at      time.Time
}

// writesTTL is how long a replaced resourceVersion is remembered.
const writesTTL = 10 * time.Second

// Replaced records that the controller's write replaced version of key.
func (w *Writes) Replaced(key types.NamespacedName, version string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replaced == nil {
		w.replaced = map[types.NamespacedName]replacedVersion{}
	}
	w.replaced[key] = replacedVersion{version: version, at: now}
	if now.Sub(w.lastSweep) > writesTTL { // objects no pass read again (deleted, or at rest)
		w.lastSweep = now
		for k, r := range w.replaced {
			if now.Sub(r.at) > writesTTL {
				delete(w.replaced, k)
			}
		}
	}
}

// Stale reports whether version of key is one the controller's own write replaced: a cached
// copy the cache has not yet brought up to date. A copy at any other version ends the entry.
func (w *Writes) Stale(key types.NamespacedName, version string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.replaced[key]
	if !ok {
		return false
	}
	if r.version == version && now.Sub(r.at) <= writesTTL {
		return true
	}
	delete(w.replaced, key)
	return false
}

// Len is the number of objects with a remembered write.
func (w *Writes) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.replaced)
}
