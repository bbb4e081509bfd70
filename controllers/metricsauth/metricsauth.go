// Package metricsauth guards the operator's metrics endpoint (--metrics-secure): a request must
// carry a bearer token that the API server authenticates (a TokenReview), of a user that may use
// the request's verb on its path (a SubjectAccessReview of a non-resource URL), as RBAC grants
// with config/rbac's metrics-reader ClusterRole. Decisions are kept for a minute per token, path
// and verb, so a scrape every 15 s costs the API server two requests a minute, not eight.
//
// controller-runtime's filters.WithAuthenticationAndAuthorization does the same; it links
// k8s.io/apiserver (with CEL, gRPC and OpenTelemetry), which made the executable 20 MB larger
// and the operator's resident set 17 MiB larger (docs/performance.md, Memory).
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// TTL is how long a decision about a token, path and verb is kept.
const TTL = time.Minute

// maxKept bounds the decisions kept: past it, expired ones go, and if none had, all of them.
const maxKept = 1024

// FilterProvider is a metricsserver.Options.FilterProvider.
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{authnv1.AddToScheme, authzv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("a client for the metrics endpoint's access reviews: %w", err)
	}
	g := New(c)
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return g.Wrap(log, next), nil
	}, nil
}

// Guard decides who may read the metrics.
type Guard struct {
	c   client.Client
	now func() time.Time

	mu   sync.Mutex
	kept map[[sha256.Size]byte]decision
}

type decision struct {
	status  int
	expires time.Time
}

// New returns a Guard that asks the API server through c (it creates TokenReviews and
// SubjectAccessReviews).
func New(c client.Client) *Guard {
	return &Guard{c: c, now: time.Now, kept: map[[sha256.Size]byte]decision{}}
}

// Wrap serves next to the requests Check allows, and answers the others with the status Check
// gave. The token is never logged.
func (g *Guard) Wrap(log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, err := g.Check(r.Context(), r)
		if err != nil {
			log.Error(err, "cannot decide on a metrics request", "path", r.URL.Path)
		}
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check returns http.StatusOK for a request the API server authenticates and authorizes,
// StatusUnauthorized without a valid bearer token, StatusForbidden for a user RBAC does not let
// use the verb on the path, and StatusInternalServerError (with the error; nothing is kept)
// when the API server cannot be asked.
func (g *Guard) Check(ctx context.Context, r *http.Request) (int, error) {
	token, ok := BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return http.StatusUnauthorized, nil
	}
	verb := strings.ToLower(r.Method)
	key := sha256.Sum256([]byte(verb + "\x00" + r.URL.Path + "\x00" + token))
	if status, ok := g.recall(key); ok {
		return status, nil
	}
	status, err := g.ask(ctx, token, r.URL.Path, verb)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	g.keep(key, status)
	return status, nil
}

func (g *Guard) ask(ctx context.Context, token, path, verb string) (int, error) {
	tr := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}
	if err := g.c.Create(ctx, tr); err != nil {
		return 0, fmt.Errorf("reviewing the token: %w", err)
	}
	if !tr.Status.Authenticated {
		return http.StatusUnauthorized, nil
	}
	u := tr.Status.User
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra(u.Extra),
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}
	if err := g.c.Create(ctx, sar); err != nil {
		return 0, fmt.Errorf("reviewing %s's access to %s: %w", u.Username, path, err)
	}
	if !sar.Status.Allowed {
		return http.StatusForbidden, nil
	}
	return http.StatusOK, nil
}

func (g *Guard) recall(key [sha256.Size]byte) (int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, ok := g.kept[key]
	if !ok || !g.now().Before(d.expires) {
		return 0, false
	}
	return d.status, true
}

func (g *Guard) keep(key [sha256.Size]byte, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.kept) >= maxKept {
		for k, d := range g.kept {
			if !now.Before(d.expires) {
				delete(g.kept, k)
			}
		}
		if len(g.kept) >= maxKept {
			clear(g.kept)
		}
	}
	g.kept[key] = decision{status: status, expires: now.Add(TTL)}
}

// BearerToken is the token of an "Authorization: Bearer <token>" header value.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func extra(in map[string]authnv1.ExtraValue) map[string]authzv1.ExtraValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]authzv1.ExtraValue, len(in))
	for k, v := range in {
		out[k] = authzv1.ExtraValue(v)
	}
	return out
}
