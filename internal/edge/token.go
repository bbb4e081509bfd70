// Package edge decides what an EdgeCluster should look like in the cluster: its bootstrap token
// Secrets and when to rotate them, the join commands of each method, the node template applied
// to members, pool health, and which kubelet-serving CSRs to approve. Everything here is a pure
// function of its arguments (no client, no context); controllers/edgecluster does the I/O.
package edge

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// TokenNamespace is where the API server's bootstrap token authenticator looks for tokens.
const TokenNamespace = metav1.NamespaceSystem

// NodeBootstrapGroup is the extra group of every edgeforge token: edgeforge binds it to creating
// node CSRs (BootstrapRBAC) and to nothing that approves them, so only edgeforge approves the
// client certificates its tokens ask for (ClientCSRDecision checks the node name).
const NodeBootstrapGroup = "system:bootstrappers:edgeforge"

// KubeadmNodeTokenGroup is the group of kubeadm's default node token. `kubeadm join` reads
// kubeadm-config, kubelet-config and Nodes with the token through kubeadm's bindings to this
// group, so tokens of pools with the kubeadm join method carry it too. kubeadm also binds it to
// kube-controller-manager's automatic approval of node client certificates, which does not check
// the node name (docs/security.md).
const KubeadmNodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

// TokenGroups are the extra auth groups of pool's tokens, comma-separated as a token Secret
// holds them: NodeBootstrapGroup, the pool's own group (PoolGroup) and, with the kubeadm join
// method, KubeadmNodeTokenGroup.
func TokenGroups(pool *v1alpha1.EdgeCluster) string {
	groups := []string{NodeBootstrapGroup, PoolGroup(pool.Name)}
	if slices.Contains(pool.Spec.JoinMethods(), v1alpha1.JoinMethodKubeadm) {
		groups = append(groups, KubeadmNodeTokenGroup)
	}
	return strings.Join(groups, ",")
}

// AnnotationTokenTTL records the lifetime a token was created with, so its rotation time does
// not depend on the API server's clock (creationTimestamp) and a changed spec.join.tokenTTL is
// noticed.
const AnnotationTokenTTL = "edgeforge.io/token-ttl"

// RotateAt is the fraction of a token's lifetime after which a new token replaces it: with the
// default 24h TTL a token is used for 19h12m and stays valid 4h48m longer for joins in flight.
const rotateAtFraction = 0.8

// Token is a bootstrap token of a pool. Secret is half of a credential: never log it or put it
// in status or events (ID is public: it names the Secret).
type Token struct {
	ID         string
	Secret     string
	Expiration time.Time
	TTL        time.Duration
	// Groups are the token's extra auth groups, comma-separated (TokenGroups).
	Groups string
}

// Value is the token as clients present it: "<id>.<secret>".
func (t Token) Value() string { return bootstraputil.TokenFromIDAndSecret(t.ID, t.Secret) }

// SecretName is the name of the token's Secret in kube-system: "bootstrap-token-<id>".
func (t Token) SecretName() string { return bootstraputil.BootstrapTokenSecretName(t.ID) }

// IssuedAt is when the token was created (by edgeforge's clock).
func (t Token) IssuedAt() time.Time { return t.Expiration.Add(-t.TTL) }

// RotateAt is when a new token should replace this one: after 80% of its lifetime.
func (t Token) RotateAt() time.Time {
	return t.Expiration.Add(-time.Duration(float64(t.TTL) * (1 - rotateAtFraction)))
}

// NewToken generates a random token (k8s.io/cluster-bootstrap's generator, as kubeadm) of the
// extra auth groups that expires ttl after now. Expirations are whole seconds: the Secret stores
// RFC 3339.
func NewToken(now time.Time, ttl time.Duration, groups string) (Token, error) {
	value, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return Token{}, fmt.Errorf("generating a bootstrap token: %w", err)
	}
	id, secret, _ := strings.Cut(value, ".")
	return Token{ID: id, Secret: secret, Expiration: now.Add(ttl).UTC().Truncate(time.Second), TTL: ttl, Groups: groups}, nil
}

// TokenSecret is the bootstrap token Secret of pool for tok, as `kubeadm token create` makes it
// (type bootstrap.kubernetes.io/token, usages authentication and signing) with the token's extra
// groups (TokenGroups: the pool's own group among them), labelled to its pool and owned by it.
func TokenSecret(pool *v1alpha1.EdgeCluster, tok Token) *corev1ac.SecretApplyConfiguration {
	return corev1ac.Secret(tok.SecretName(), TokenNamespace).
		WithType(bootstrapapi.SecretTypeBootstrapToken).
		WithLabels(poolLabels(pool.Name, "bootstrap-token")).
		WithAnnotations(map[string]string{AnnotationTokenTTL: tok.TTL.String()}).
		WithOwnerReferences(ownerRef(pool)).
		WithData(bytesMap(map[string]string{
			bootstrapapi.BootstrapTokenIDKey:               tok.ID,
			bootstrapapi.BootstrapTokenSecretKey:           tok.Secret,
			bootstrapapi.BootstrapTokenExpirationKey:       tok.Expiration.UTC().Format(time.RFC3339),
			bootstrapapi.BootstrapTokenUsageAuthentication: "true",
			bootstrapapi.BootstrapTokenUsageSigningKey:     "true",
			// The pool's own group says, to the API server, which pool a join came through.
			bootstrapapi.BootstrapTokenExtraGroupsKey: tok.Groups,
			bootstrapapi.BootstrapTokenDescriptionKey: fmt.Sprintf("edgeforge join token of EdgeCluster %s", pool.Name),
		}))
}

// TokenSecretObject is TokenSecret as the API server stores it (for planning with a token just
// created, before the cache shows it).
func TokenSecretObject(pool *v1alpha1.EdgeCluster, tok Token) corev1.Secret {
	ac := TokenSecret(pool, tok)
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: *ac.Name, Namespace: *ac.Namespace, Labels: ac.Labels, Annotations: ac.Annotations},
		Type:       *ac.Type,
		Data:       ac.Data,
	}
}

// bytesMap turns string values into Secret data. Secrets are applied with data, not stringData:
// the API server folds stringData into data after server-side apply has recorded ownership, so
// a key later dropped from stringData would stay in data for ever.
func bytesMap(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// ParseTokenSecret reads a token Secret written by TokenSecret. ok is false when the Secret is
// not a well-formed bootstrap token (such a Secret is treated as garbage and deleted).
func ParseTokenSecret(s *corev1.Secret) (tok Token, ok bool) {
	if s.Type != bootstrapapi.SecretTypeBootstrapToken {
		return Token{}, false
	}
	id, secret := string(s.Data[bootstrapapi.BootstrapTokenIDKey]), string(s.Data[bootstrapapi.BootstrapTokenSecretKey])
	if !bootstraputil.IsValidBootstrapToken(bootstraputil.TokenFromIDAndSecret(id, secret)) || s.Name != bootstraputil.BootstrapTokenSecretName(id) {
		return Token{}, false
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data[bootstrapapi.BootstrapTokenExpirationKey]))
	if err != nil {
		return Token{}, false
	}
	ttl, err := time.ParseDuration(s.Annotations[AnnotationTokenTTL])
	if err != nil || ttl <= 0 {
		return Token{}, false
	}
	return Token{ID: id, Secret: secret, Expiration: exp, TTL: ttl, Groups: string(s.Data[bootstrapapi.BootstrapTokenExtraGroupsKey])}, true
}

// TokenPlan says what to do with a pool's bootstrap tokens.
type TokenPlan struct {
	// Current is the token join commands use; nil when a new one must be created first.
	Current *Token
	// Create is true when a new token is needed: none is valid, the newest is due for
	// rotation, or spec.join.tokenTTL or the token's groups (spec.join.methods) changed.
	Create bool
	// Rotation is true when Create replaces a token that is still valid (a TokenRotated event).
	Rotation bool
	// Delete lists the names of token Secrets to delete: expired, superseded or malformed.
	Delete []string
	// RequeueAfter is when the plan changes by itself (the next rotation or expiry); 0: never.
	RequeueAfter time.Duration
}

// PlanTokens decides, at now, what to do with a pool's token Secrets for the wanted ttl and
// groups (TokenGroups). The
// newest valid token with the wanted TTL is current until 80% of its lifetime; then a new one is
// created and the old one is kept until it expires, for nodes in the middle of joining. Tokens
// superseded early (the TTL or the groups changed) and expired ones are deleted at once: the API
// server would no longer accept an expired token, and kube-controller-manager's tokencleaner may
// not run.
func PlanTokens(secrets []corev1.Secret, ttl time.Duration, groups string, now time.Time) TokenPlan {
	var plan TokenPlan
	var valid []Token
	for i := range secrets {
		tok, ok := ParseTokenSecret(&secrets[i])
		switch {
		case !ok:
			plan.Delete = append(plan.Delete, secrets[i].Name)
		case !now.Before(tok.Expiration):
			plan.Delete = append(plan.Delete, secrets[i].Name)
		default:
			valid = append(valid, tok)
		}
	}
	// Newest first: latest issued (expiration - TTL), then ID for a stable order.
	sort.Slice(valid, func(i, j int) bool {
		if a, b := valid[i].IssuedAt(), valid[j].IssuedAt(); !a.Equal(b) {
			return a.After(b)
		}
		return valid[i].ID < valid[j].ID
	})

	var keep []Token // tokens still valid that stay: the current one and one being retired
	wanted := func(tok Token) bool { return tok.TTL == ttl && tok.Groups == groups }
	if len(valid) > 0 && wanted(valid[0]) && now.Before(valid[0].RotateAt()) {
		cur := valid[0]
		plan.Current = &cur
		keep = append(keep, cur)
		valid = valid[1:]
	} else {
		plan.Create = true
		plan.Rotation = len(valid) > 0
	}
	// The newest of the rest is retired gracefully if it reached its rotation time normally
	// (joins in flight may use it); a token superseded because the TTL or groups changed goes at once.
	for i, tok := range valid {
		if i == 0 && !now.Before(tok.RotateAt()) && wanted(tok) {
			keep = append(keep, tok)
			continue
		}
		plan.Delete = append(plan.Delete, tok.SecretName())
	}
	sort.Strings(plan.Delete)

	for i, tok := range keep {
		next := tok.Expiration // a retired token: its expiry
		if i == 0 && plan.Current != nil {
			next = tok.RotateAt()
		}
		if d := next.Sub(now); d > 0 && (plan.RequeueAfter == 0 || d < plan.RequeueAfter) {
			plan.RequeueAfter = d
		}
	}
	return plan
}
