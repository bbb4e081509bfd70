package edge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/testutil/golden"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		tok, err := NewToken(t0.Add(300*time.Millisecond), time.Hour, testToken.Groups)
		if err != nil {
			t.Fatal(err)
		}
		if !bootstraputil.IsValidBootstrapToken(tok.Value()) {
			t.Errorf("%q is not a valid bootstrap token", tok.Value())
		}
		if want := t0.Add(time.Hour); !tok.Expiration.Equal(want) {
			t.Errorf("expiration %s, want %s (whole seconds)", tok.Expiration, want)
		}
		if tok.SecretName() != "bootstrap-token-"+tok.ID {
			t.Errorf("secret name %s", tok.SecretName())
		}
		seen[tok.ID] = true
	}
	if len(seen) < 19 {
		t.Errorf("only %d distinct IDs in 20 tokens", len(seen))
	}
}

// The token Secret has exactly the shape of `kubeadm token create`'s, plus labels, TTL and owner.
func TestTokenSecret(t *testing.T) {
	render := func() []byte {
		data, err := yaml.Marshal(TokenSecret(pool(nil), testToken))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	got := render()
	if string(render()) != string(got) {
		t.Fatal("rendering twice gives different Secrets")
	}
	golden.Assert(t, "token-secret.yaml", got)

	// What the API server would store; ParseTokenSecret reads it back.
	sec := TokenSecretObject(pool(nil), testToken)
	s := &sec
	if s.Namespace != "kube-system" || s.Name != "bootstrap-token-abcdef" || s.Type != bootstrapapi.SecretTypeBootstrapToken {
		t.Errorf("secret %s/%s type %s", s.Namespace, s.Name, s.Type)
	}
	groups := string(s.Data[bootstrapapi.BootstrapTokenExtraGroupsKey])
	if groups != TokenGroups(pool(nil)) {
		t.Errorf("auth-extra-groups %q, want %q", groups, TokenGroups(pool(nil)))
	}
	for _, g := range strings.Split(groups, ",") {
		if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
			t.Error(err)
		}
	}
	back, ok := ParseTokenSecret(s)
	if !ok || !reflect.DeepEqual(back, testToken) {
		t.Errorf("ParseTokenSecret = %+v, %v; want %+v", back, ok, testToken)
	}
}

func tokenSecret(id string, exp time.Time, ttl time.Duration) corev1.Secret {
	return TokenSecretObject(pool(nil), Token{ID: id, Secret: "0123456789abcdef", Expiration: exp, TTL: ttl, Groups: testToken.Groups})
}

// Only edgeforge's group and the pool's own: no group that anything else approves for, unless
// the kubeadm method needs kubeadm's (its join reads kubeadm's ConfigMaps through that group).
func TestTokenGroups(t *testing.T) {
	cases := []struct {
		methods []v1alpha1.JoinMethod
		want    string
	}{
		{nil, testToken.Groups}, // the default method is kubeadm
		{[]v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet}, "system:bootstrappers:edgeforge,system:bootstrappers:edgeforge:site-a"},
		{[]v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet, v1alpha1.JoinMethodKubeadm}, testToken.Groups},
	}
	for _, tc := range cases {
		got := TokenGroups(pool(func(ec *v1alpha1.EdgeCluster) { ec.Spec.Join = &v1alpha1.JoinSpec{Methods: tc.methods} }))
		if got != tc.want {
			t.Errorf("methods %v: groups %q, want %q", tc.methods, got, tc.want)
		}
		for _, g := range strings.Split(got, ",") {
			if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestPlanTokens(t *testing.T) {
	const ttl = 24 * time.Hour
	broken := tokenSecret("broken", t0.Add(time.Hour), ttl)
	broken.Data[bootstrapapi.BootstrapTokenSecretKey] = []byte("short")
	kubeletOnly := func(id string, exp time.Time) corev1.Secret {
		s := tokenSecret(id, exp, ttl)
		s.Data[bootstrapapi.BootstrapTokenExtraGroupsKey] = []byte("system:bootstrappers:edgeforge,system:bootstrappers:edgeforge:site-a")
		return s
	}
	cases := []struct {
		name    string
		secrets []corev1.Secret
		ttl     time.Duration
		want    TokenPlan // Current compared by ID only
	}{
		{"none: create", nil, ttl, TokenPlan{Create: true}},
		{"fresh token is current until 80% of its life",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(20*time.Hour), ttl)}, ttl,
			TokenPlan{Current: &Token{ID: "aaaaaa"}, RequeueAfter: 20*time.Hour - 24*time.Hour/5}},
		{"at 80%: rotate, keep the old one for joins in flight",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(4*time.Hour), ttl)}, ttl,
			TokenPlan{Create: true, Rotation: true, RequeueAfter: 4 * time.Hour}},
		{"after rotation: the new one is current, the old one goes when it expires",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(4*time.Hour), ttl), tokenSecret("bbbbbb", t0.Add(24*time.Hour), ttl)}, ttl,
			TokenPlan{Current: &Token{ID: "bbbbbb"}, RequeueAfter: 4 * time.Hour}},
		{"expired and malformed tokens are deleted",
			[]corev1.Secret{tokenSecret("oldold", t0, ttl), broken, tokenSecret("bbbbbb", t0.Add(24*time.Hour), ttl)}, ttl,
			TokenPlan{Current: &Token{ID: "bbbbbb"}, Delete: []string{"bootstrap-token-broken", "bootstrap-token-oldold"}, RequeueAfter: 24*time.Hour - 24*time.Hour/5}},
		{"a third token is superfluous",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(1*time.Hour), ttl), tokenSecret("cccccc", t0.Add(2*time.Hour), ttl), tokenSecret("bbbbbb", t0.Add(23*time.Hour), ttl)}, ttl,
			TokenPlan{Current: &Token{ID: "bbbbbb"}, Delete: []string{"bootstrap-token-aaaaaa"}, RequeueAfter: 2 * time.Hour}},
		{"TTL changed: a new token at once, the old one is deleted once replaced",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(20*time.Hour), ttl)}, time.Hour,
			TokenPlan{Create: true, Rotation: true, Delete: []string{"bootstrap-token-aaaaaa"}}},
		{"groups changed (join methods): a new token at once, the old one is deleted once replaced",
			[]corev1.Secret{kubeletOnly("aaaaaa", t0.Add(20*time.Hour))}, ttl,
			TokenPlan{Create: true, Rotation: true, Delete: []string{"bootstrap-token-aaaaaa"}}},
		{"groups changed at the token's rotation time: not kept for joins in flight",
			[]corev1.Secret{kubeletOnly("aaaaaa", t0.Add(4*time.Hour))}, ttl,
			TokenPlan{Create: true, Rotation: true, Delete: []string{"bootstrap-token-aaaaaa"}}},
		{"TTL changed, replacement created",
			[]corev1.Secret{tokenSecret("aaaaaa", t0.Add(20*time.Hour), ttl), tokenSecret("bbbbbb", t0.Add(time.Hour), time.Hour)}, time.Hour,
			TokenPlan{Current: &Token{ID: "bbbbbb"}, Delete: []string{"bootstrap-token-aaaaaa"}, RequeueAfter: 48 * time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanTokens(tc.secrets, tc.ttl, testToken.Groups, t0)
			if (got.Current == nil) != (tc.want.Current == nil) || (got.Current != nil && got.Current.ID != tc.want.Current.ID) {
				t.Errorf("current = %v, want %v", got.Current, tc.want.Current)
			}
			got.Current, tc.want.Current = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.want)
				t.Errorf("plan = %s\nwant   %s", g, w)
			}
		})
	}
}
