package reconnect

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// refused is a real "connection refused", from dialling a port nothing listens on.
func refused(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, err = net.Dial("tcp", addr)
	if err == nil || !Unreachable(err) {
		t.Fatalf("dialling a closed port: %v, want a connection refused", err)
	}
	return err
}

// An outage: the wrapped list waits until the API server reports ready, then is retried once;
// the outage is logged once when it begins and once when it ends; an answer of the API server
// (429) is not retried.
func TestOutageIsWaitedOut(t *testing.T) {
	var logged []string
	var mu sync.Mutex
	var apiUp atomic.Bool
	down := refused(t)
	o := &outage{
		log: funcr.New(func(_, args string) { mu.Lock(); logged = append(logged, args); mu.Unlock() }, funcr.Options{}),
		probe: func(context.Context) error {
			if apiUp.Load() {
				return nil
			}
			return down
		},
	}
	var calls atomic.Int32
	var answer error
	lw := &listerWatcher{outage: o, inner: toolscache.ToListerWatcherWithContext(&toolscache.ListWatch{
		ListFunc: func(metav1.ListOptions) (runtime.Object, error) {
			calls.Add(1)
			if !apiUp.Load() {
				return nil, down
			}
			return &corev1.PodList{}, answer
		},
		WatchFunc: func(metav1.ListOptions) (watch.Interface, error) { return nil, down },
	})}

	began := time.Now()
	time.AfterFunc(1500*time.Millisecond, func() { apiUp.Store(true) })
	if _, err := lw.ListWithContext(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("list after the outage: %v", err)
	}
	if n := calls.Load(); n != 2 || time.Since(began) < 1500*time.Millisecond {
		t.Fatalf("%d calls in %s, want 2 (refused, then once the API server is ready)", n, time.Since(began))
	}
	mu.Lock()
	if len(logged) != 2 || !strings.Contains(logged[0], "unreachable") || !strings.Contains(logged[1], "reachable again") {
		t.Fatalf("logged %q, want one line when it went and one when it came back", logged)
	}
	mu.Unlock()

	answer = apierrors.NewTooManyRequests("slow down", 1)
	if _, err := lw.ListWithContext(context.Background(), metav1.ListOptions{}); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("an answer of the API server: %v, want it passed through (the reflector backs off)", err)
	}

	// A watch during an outage returns when its context ends (the informer stops).
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := lw.WatchWithContext(ctx, metav1.ListOptions{}); !Unreachable(err) {
		t.Fatalf("a watch cancelled during an outage: %v", err)
	}
}
