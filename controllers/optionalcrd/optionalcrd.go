// Package optionalcrd watches kinds whose CRDs may be installed after the operator started
// (prometheus-operator's ServiceMonitor, Prometheus, PrometheusRule). A watch on a kind the API
// server does not serve would fail the controller at start, so the controller watches the CRDs'
// metadata instead, asks Check on every reconcile, and calls Start once they are served: Start
// sets up the watches, once, on a cache made at setup time (so a failed attempt leaks nothing
// and the next reconcile simply tries again, with the controller's backoff).
package optionalcrd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/edgeforge/edgeforge/controllers/reconnect"
)

// SyncTimeout bounds the wait for a new watch's cache to sync; a reconcile that times out returns
// an error and is retried with backoff.
const SyncTimeout = 30 * time.Second

// Kinds are the optional kinds of one controller: CRD name -> the kind it serves.
type Kinds map[string]schema.GroupVersionKind

// Names are the CRD names, sorted.
func (k Kinds) Names() []string { return slices.Sorted(maps.Keys(k)) }

// CRDMetadata is a CustomResourceDefinition as metadata only (a PartialObjectMetadata with its
// GVK: apiextensions need not be in the scheme, and no CRD schema is cached).
func CRDMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return m
}

// CRDSource is a metadata-only watch of the CRDs of kinds in c (the manager's cache), mapped to
// requests by toRequests when one of them comes, changes (becomes Established) or goes.
func CRDSource(c cache.Cache, kinds Kinds, toRequests func(ctx context.Context) []reconcile.Request) source.Source {
	return source.Kind(c, CRDMetadata(),
		handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ *metav1.PartialObjectMetadata) []reconcile.Request {
			return toRequests(ctx)
		}),
		predicate.NewTypedPredicateFuncs(func(o *metav1.PartialObjectMetadata) bool { _, ok := kinds[o.GetName()]; return ok }))
}

// State is what the API server says about the CRDs.
type State struct {
	// Missing CRDs do not exist (or are being deleted).
	Missing []string
	// Unserved CRDs exist but their kind is not served yet: just created, discovery follows
	// their Established condition with a delay no event reports (look again shortly).
	Unserved []string
}

// Served reports whether every CRD exists and is served.
func (s State) Served() bool { return len(s.Missing) == 0 && len(s.Unserved) == 0 }

// Check reads the CRDs' metadata with reader (the cached metadata watch: no API call) and asks
// mapper (which rediscovers a group it does not know) whether each kind is served.
func Check(ctx context.Context, reader client.Reader, mapper meta.RESTMapper, kinds Kinds) (State, error) {
	var st State
	for _, name := range kinds.Names() {
		crd := CRDMetadata()
		if err := reader.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			if !apierrors.IsNotFound(err) {
				return st, err
			}
			st.Missing = append(st.Missing, name)
			continue
		}
		if !crd.DeletionTimestamp.IsZero() {
			st.Missing = append(st.Missing, name)
			continue
		}
		gvk := kinds[name]
		if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			if !meta.IsNoMatchError(err) {
				return st, err
			}
			st.Unserved = append(st.Unserved, name)
		}
	}
	return st, nil
}

// Watcher starts the watches on a controller's optional kinds once their CRDs are served.
type Watcher struct {
	kinds  Kinds
	cache  cache.Cache
	scheme *runtime.Scheme

	mu       sync.Mutex
	watching bool
}

// ownCache lets the manager start the watcher's cache with its other caches.
type ownCache struct{ cache.Cache }

func (c ownCache) GetCache() cache.Cache { return c.Cache }

// New makes the Watcher of kinds with a cache of its own (objects matching selector, each passed
// through transform), added to mgr so it starts and stops with it. The cache starts no informer
// before Start or a read asks for one, so it is harmless while the CRDs are missing.
func New(mgr ctrl.Manager, kinds Kinds, selector labels.Selector, transform toolscache.TransformFunc) (*Watcher, error) {
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:           mgr.GetHTTPClient(),
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: selector,
		DefaultTransform:     transform,
		NewInformer:          reconnect.NewInformer,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of %s: %w", strings.Join(kinds.Names(), ", "), err)
	}
	if err := mgr.Add(ownCache{c}); err != nil {
		return nil, err
	}
	return NewWithCache(c, mgr.GetScheme(), kinds), nil
}

// Object is an empty object of gvk as the watcher caches it.
func (w *Watcher) Object(gvk schema.GroupVersionKind) (client.Object, error) {
	o, err := w.scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	return o.(client.Object), nil
}

// NewWithCache is a Watcher on a cache the caller made and added to the manager.
func NewWithCache(c cache.Cache, scheme *runtime.Scheme, kinds Kinds) *Watcher {
	return &Watcher{kinds: kinds, cache: c, scheme: scheme}
}

// Reader reads the optional kinds (from the watcher's cache).
func (w *Watcher) Reader() client.Reader { return w.cache }

// Start sets up, once, a watch of every kind on c with h and preds. Call it when Check says
// the kinds are served. It first waits, at most SyncTimeout, for the kinds' informers to sync;
// a failure returns an error and leaves nothing behind, so the next reconcile tries again.
func (w *Watcher) Start(ctx context.Context, c controller.Controller, h handler.EventHandler, preds ...predicate.Predicate) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watching {
		return nil
	}
	objs := make([]client.Object, 0, len(w.kinds))
	for _, name := range w.kinds.Names() {
		o, err := w.Object(w.kinds[name])
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	syncCtx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	for i, o := range objs {
		if _, err := w.cache.GetInformer(syncCtx, o); err != nil {
			return fmt.Errorf("the cache of %s did not sync within %s: %w", w.kinds.Names()[i], SyncTimeout, err)
		}
	}
	for _, o := range objs {
		if err := c.Watch(source.Kind(w.cache, o, h, preds...)); err != nil {
			return err // only when the controller is stopping
		}
	}
	w.watching = true
	return nil
}
