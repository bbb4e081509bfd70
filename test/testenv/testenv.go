// Package testenv starts a real kube-apiserver and etcd (envtest, with the binaries built by
// hack/controlplane.sh and passed in KUBEBUILDER_ASSETS) with edgeforge's CRDs installed, for
// the reconciler test suites. It is test infrastructure: only _test.go files import it.
package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	edgeforgev1alpha1 "github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Env is a running API server with a client.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	env    *envtest.Environment
}

// Option changes how Start sets up the API server.
type Option func(*envtest.Environment)

// WithPrometheusOperatorCRDs also installs prometheus-operator's CRDs (generated from its API
// module into test/crds/prometheus-operator by `make manifests`).
func WithPrometheusOperatorCRDs() Option {
	return func(e *envtest.Environment) {
		e.CRDDirectoryPaths = append(e.CRDDirectoryPaths, PrometheusOperatorCRDDir())
	}
}

// WithAuditLog makes the API server write an audit log (JSON lines, one event per request
// completed, metadata only) of the requests of user to path: requests counted where they arrive,
// not by the client that sends them (AuditEvents reads the log).
func WithAuditLog(path, user string) Option {
	return func(e *envtest.Environment) {
		policy := filepath.Join(filepath.Dir(path), "audit-policy.yaml")
		content := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  users: [%q]
- level: None
`, user)
		if err := os.WriteFile(policy, []byte(content), 0o600); err != nil {
			panic(err) // a test's temporary directory that cannot be written to
		}
		api := e.ControlPlane.GetAPIServer().Configure()
		api.Set("audit-policy-file", policy)
		api.Set("audit-log-path", path)
		api.Set("audit-log-format", "json")
		api.Set("audit-log-mode", "blocking")
	}
}

// NewScheme returns a scheme with client-go's kinds, CRDs, prometheus-operator's kinds and edgeforge's.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, monitoringv1.AddToScheme, edgeforgev1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // only on programming errors: conflicting registrations
		}
	}
	return s
}

// Start starts etcd and kube-apiserver with edgeforge's CRDs installed.
func Start(opts ...Option) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test` " +
			"(it builds etcd and kube-apiserver from Go modules with hack/controlplane.sh)")
	}
	e := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Room for thousands of ClusterIP Services (make bench), not envtest's default /24.
	e.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/12")
	for _, o := range opts {
		o(e)
	}
	cfg, err := e.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	s := NewScheme()
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, Scheme: s, env: e}, nil
}

// UserConfig returns a client config that authenticates as a new user of the API server, in
// groups (e.g. system:masters), to tell its requests apart from the test's own (WithAuditLog).
func (e *Env) UserConfig(name string, groups ...string) (*rest.Config, error) {
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// InstallPrometheusOperatorCRDs installs prometheus-operator's CRDs into a running Env (to test
// that a controller recovers once they appear) and waits until they are served.
func (e *Env) InstallPrometheusOperatorCRDs() error {
	_, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{
		Paths: []string{PrometheusOperatorCRDDir()}, ErrorIfPathMissing: true,
	})
	return err
}

// ManagerOption changes how StartManager configures the manager.
type ManagerOption func(*managerConfig)

type managerConfig struct {
	config *rest.Config
	opts   ctrl.Options
}

// WithConfig makes the manager talk to the API server with cfg (e.g. one from CountWrites)
// instead of the Env's own config.
func WithConfig(cfg *rest.Config) ManagerOption {
	return func(m *managerConfig) { m.config = cfg }
}

// WithScheme gives the manager its own scheme instead of the Env's (e.g. the one of main.go).
func WithScheme(s *runtime.Scheme) ManagerOption {
	return func(m *managerConfig) { m.opts.Scheme = s }
}

// WithCache sets the manager's cache options (e.g. a package's CacheOptions, as main.go does).
func WithCache(c cache.Options) ManagerOption {
	return func(m *managerConfig) { m.opts.Cache = c }
}

// StartManager starts a controller manager on the Env with the given setup functions (e.g.
// the reconcilers under test). Metrics and probes are off. It returns a stop function that
// waits for the manager to exit.
func (e *Env) StartManager(setup func(ctrl.Manager) error, opts ...ManagerOption) (stop func(), err error) {
	m := &managerConfig{config: e.Config, opts: ctrl.Options{Scheme: e.Scheme}}
	for _, o := range opts {
		o(m)
	}
	m.opts.Metrics = metricsserver.Options{BindAddress: "0"}
	m.opts.HealthProbeBindAddress = "0"
	// A test may run a second manager with the same controllers (e.g. with other credentials).
	m.opts.Controller.SkipNameValidation = ptr.To(true)
	// EDGEFORGE_TEST_CONCURRENCY=N runs the controllers as --concurrency=N would (make bench-envtest).
	if n, err := strconv.Atoi(os.Getenv("EDGEFORGE_TEST_CONCURRENCY")); err == nil && n > 0 {
		m.opts.Controller.MaxConcurrentReconciles = n
	}
	mgr, err := ctrl.NewManager(m.config, m.opts)
	if err != nil {
		return nil, err
	}
	if err := setup(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped with error:", err)
		}
	})
	return func() { cancel(); wg.Wait() }, nil
}

// WriteCounter counts the API requests that can change something (everything but GET, LIST,
// WATCH, HEAD), e.g. to prove that re-reconciling an unchanged object makes no write. It keeps
// each write's method and path, so a test that sees one can say which.
type WriteCounter struct {
	mu     sync.Mutex
	writes []string
}

// Count returns the number of write requests so far.
func (w *WriteCounter) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int64(len(w.writes))
}

// Since lists the writes after the first n ("PATCH /apis/…"), e.g. Since(before) after a step.
func (w *WriteCounter) Since(n int64) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n < 0 || n >= int64(len(w.writes)) {
		return nil
	}
	return append([]string(nil), w.writes[n:]...)
}

// Settle waits until no write has been made for quiet (events are sent asynchronously) and
// returns the count then; a controller that keeps writing fails t after timeout.
func (w *WriteCounter) Settle(t testing.TB, quiet, timeout time.Duration) int64 {
	t.Helper()
	last, since, deadline := w.Count(), time.Now(), time.Now().Add(timeout)
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("writes did not stop for %s within %s; the last ones: %q", quiet, timeout, lastN(w.Since(0), 10))
		}
		time.Sleep(50 * time.Millisecond)
		if n := w.Count(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

func lastN(s []string, n int) []string { return s[max(0, len(s)-n):] }

func (w *WriteCounter) add(r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, r.Method+" "+r.URL.Path)
}

// CountWrites returns a copy of cfg whose clients count their write requests in the counter.
func CountWrites(cfg *rest.Config) (*rest.Config, *WriteCounter) {
	w := &WriteCounter{}
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
			default:
				w.add(r)
				if os.Getenv("EDGEFORGE_TEST_LOG_WRITES") != "" {
					fmt.Fprintf(os.Stderr, "write: %s %s\n", r.Method, r.URL.Path)
				}
			}
			return rt.RoundTrip(r)
		})
	})
	return c, w
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// RepoRoot is the directory holding go.mod, found from the working directory upwards.
func RepoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// PrometheusOperatorCRDDir is where `make manifests` writes prometheus-operator's CRDs.
func PrometheusOperatorCRDDir() string {
	return filepath.Join(RepoRoot(), "test", "crds", "prometheus-operator")
}

// AuditEvent is one request of an audit log written by WithAuditLog.
type AuditEvent struct {
	Verb       string    `json:"verb"`
	RequestURI string    `json:"requestURI"`
	UserAgent  string    `json:"userAgent"`
	Received   time.Time `json:"requestReceivedTimestamp"`
	Completed  time.Time `json:"stageTimestamp"`
	ObjectRef  *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Resource is the event's resource[/subresource], or its path for a non-resource request.
func (a AuditEvent) Resource() string {
	switch {
	case a.ObjectRef == nil:
		path, _, _ := strings.Cut(a.RequestURI, "?")
		return path
	case a.ObjectRef.Subresource != "":
		return a.ObjectRef.Resource + "/" + a.ObjectRef.Subresource
	}
	return a.ObjectRef.Resource
}

// Code is the response's HTTP status code (0 when the log has none).
func (a AuditEvent) Code() int {
	if a.ResponseStatus == nil {
		return 0
	}
	return a.ResponseStatus.Code
}

// AuditEvents reads the audit log at path: the requests received in [from, to).
func AuditEvents(path string, from, to time.Time) ([]AuditEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var events []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !ev.Received.Before(from) && ev.Received.Before(to) {
			events = append(events, ev)
		}
	}
	return events, sc.Err()
}
