// Package reconnect keeps the operator's informers from sleeping through the API server's
// return after an outage, and says in the log when the API server went away and came back.
//
// Where the time went: a client-go reflector whose watch is refused ("connection refused": the
// API server is down) waits before trying again, and the wait doubles with every refusal up to
// 30 s, jittered up to 60 s (client-go's reflector backoff, which neither client-go's informers
// nor controller-runtime let a caller configure). So after an outage of a minute, each informer
// of the operator noticed the API server's return up to a minute late, one after another, and a
// new object waited for the informer of its kind; meanwhile nothing was logged.
//
// NewInformer (the cache option of the same name) gives every informer a ListerWatcher that,
// when the API server cannot be reached at all (connection refused or reset, EOF), waits for
// the API server to report ready (probed every RetryInterval, see Init) and retries the same
// call, instead of returning the error: the reflector's backoff never grows on an outage, and
// the informers are back within about RetryInterval of the API server's readiness. Errors the API server returns (429, 5xx, 403, ...) pass through untouched to the
// reflector's own backoff, which protects a struggling API server. Connecting to a closed port
// costs nothing, and one probe per second serves every informer.
package reconnect

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
)

// RetryInterval is how often a list or watch is retried while the API server is unreachable.
const RetryInterval = time.Second

// Unreachable: err says the API server could not be reached at all (as opposed to an answer
// from it).
func Unreachable(err error) bool {
	return err != nil && (utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || utilnet.IsProbableEOF(err))
}

// NewInformer is cache.Options.NewInformer: client-go's shared informer over a ListerWatcher
// that waits out an unreachable API server (see the package doc).
func NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(&listerWatcher{inner: toolscache.ToListerWatcherWithContext(lw), outage: &process}, obj, resync, indexers)
}

// Init makes outages end only when the API server at cfg reports ready (GET /readyz, which every
// user may read): a kube-apiserver that has just started accepts connections before its
// authorizer has synced, and would refuse the informers' lists for a moment (403).
func Init(cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	rc := cs.Discovery().RESTClient()
	process.mu.Lock()
	defer process.mu.Unlock()
	process.probe = func(ctx context.Context) error { return rc.Get().AbsPath("/readyz").Do(ctx).Error() }
	return nil
}

// process is the outage state of the whole operator (one API server).
var process = outage{log: ctrl.Log.WithName("apiserver")}

// outage records whether the API server is unreachable, and logs when that begins and ends.
type outage struct {
	mu sync.Mutex
	// over is closed when the current outage ends; nil while the API server is reachable.
	over  chan struct{}
	since time.Time
	log   logr.Logger
	// probe says whether the API server is ready again (nil: assume so after RetryInterval).
	probe func(context.Context) error
}

// down records that err showed the API server unreachable and returns a channel closed when
// the outage is over. The first caller of an outage starts probing the API server.
func (o *outage) down(err error) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.over == nil {
		o.over, o.since = make(chan struct{}), time.Now()
		o.log.Info("API server unreachable: informers wait for it to be ready", "probeInterval", RetryInterval, "error", err.Error())
		go o.await(o.over, o.probe)
	}
	return o.over
}

// await probes every RetryInterval until the API server is ready, then ends the outage.
func (o *outage) await(over chan struct{}, probe func(context.Context) error) {
	for {
		time.Sleep(RetryInterval)
		if probe == nil {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), RetryInterval)
		err := probe(ctx)
		cancel()
		if err == nil {
			break
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.log.Info("API server reachable again", "after", time.Since(o.since).Round(time.Millisecond).String())
	close(over)
	o.over = nil
}

type listerWatcher struct {
	inner  toolscache.ListerWatcherWithContext
	outage *outage
}

func (l *listerWatcher) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	return retry(ctx, l.outage, func() (runtime.Object, error) { return l.inner.ListWithContext(ctx, opts) })
}

func (l *listerWatcher) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return retry(ctx, l.outage, func() (watch.Interface, error) { return l.inner.WatchWithContext(ctx, opts) })
}

// List and Watch serve callers that know no context (client-go's reflector uses the above).
func (l *listerWatcher) List(opts metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), opts)
}

func (l *listerWatcher) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), opts)
}

// retry calls call until it returns something other than an unreachable API server (waiting
// for each outage to end), or ctx ends.
func retry[T any](ctx context.Context, o *outage, call func() (T, error)) (T, error) {
	for {
		v, err := call()
		if !Unreachable(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-o.down(err):
		}
	}
}
