package edgecluster

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

func poolTokens(t *testing.T, pool string) []corev1.Secret {
	t.Helper()
	list := &corev1.SecretList{}
	if err := k8s.List(ctxT(t), list, client.InNamespace("kube-system"), client.MatchingLabels{v1alpha1.LabelEdgeCluster: pool}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func waitForTokens(t *testing.T, pool, what string, cond func([]corev1.Secret) bool) []corev1.Secret {
	t.Helper()
	var tokens []corev1.Secret
	waitFor(t, what, func() (bool, error) {
		tokens = poolTokens(t, pool)
		return cond(tokens), nil
	})
	return tokens
}

// A pool gets a kubeadm-style bootstrap token in kube-system, rotated at 80% of its TTL; the old
// token stays until it expires and is then deleted. The token never shows in status.
func TestTokenCreatedAndRotated(t *testing.T) {
	ttl := 10 * time.Minute
	newPool(t, "tokens", v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{TokenTTL: &metav1.Duration{Duration: ttl}}})

	first := waitForTokens(t, "tokens", "a token Secret", func(s []corev1.Secret) bool { return len(s) == 1 })[0]
	d := first.Data
	want := map[string]string{
		bootstrapapi.BootstrapTokenUsageAuthentication: "true",
		bootstrapapi.BootstrapTokenUsageSigningKey:     "true",
		// edgeforge's (may create node CSRs), the pool's own (membership) and, with the default
		// kubeadm method, kubeadm's node group (kubeadm join reads its ConfigMaps through it).
		bootstrapapi.BootstrapTokenExtraGroupsKey: "system:bootstrappers:edgeforge,system:bootstrappers:edgeforge:tokens,system:bootstrappers:kubeadm:default-node-token",
		bootstrapapi.BootstrapTokenExpirationKey:  clk.Now().Add(ttl).UTC().Format(time.RFC3339),
	}
	for k, v := range want {
		if string(d[k]) != v {
			t.Errorf("%s = %q, want %q", k, d[k], v)
		}
	}
	id := string(d[bootstrapapi.BootstrapTokenIDKey])
	if first.Type != bootstrapapi.SecretTypeBootstrapToken || first.Name != "bootstrap-token-"+id || len(d[bootstrapapi.BootstrapTokenSecretKey]) != 16 {
		t.Errorf("token Secret %s type %s", first.Name, first.Type)
	}
	if len(first.OwnerReferences) != 1 || first.OwnerReferences[0].Kind != "EdgeCluster" || first.Labels[v1alpha1.LabelManagedBy] != "edgeforge" {
		t.Errorf("labels %v owners %v", first.Labels, first.OwnerReferences)
	}
	secret := string(d[bootstrapapi.BootstrapTokenSecretKey])

	ec := waitForPool(t, "tokens", "status.join", func(ec *v1alpha1.EdgeCluster) bool {
		return ec.Status.Join != nil && ec.Status.Join.TokenExpiresAt != nil
	})
	if got := ec.Status.Join.TokenExpiresAt.UTC().Format(time.RFC3339); got != want[bootstrapapi.BootstrapTokenExpirationKey] {
		t.Errorf("tokenExpiresAt %s, want %s", got, want[bootstrapapi.BootstrapTokenExpirationKey])
	}
	if strings.Contains(mustJSON(ec.Status), secret) {
		t.Fatal("the token secret is in the status")
	}
	for _, reason := range []string{v1alpha1.EdgeClusterEventTokenRotated, v1alpha1.EdgeClusterEventNodeJoined} {
		for _, note := range poolEvents(t, "tokens", reason) {
			if strings.Contains(note, secret) {
				t.Fatalf("the token secret is in an event: %s", note)
			}
		}
	}

	// At 80% of the TTL a new token replaces it; the old one stays for joins in flight.
	clk.Step(8*time.Minute + time.Second)
	poke(t, "tokens")
	tokens := waitForTokens(t, "tokens", "a second token", func(s []corev1.Secret) bool { return len(s) == 2 })
	var second corev1.Secret
	for _, s := range tokens {
		if s.Name != first.Name {
			second = s
		}
	}
	waitForEvent(t, "tokens", v1alpha1.EdgeClusterEventTokenRotated)
	waitForPool(t, "tokens", "tokenExpiresAt of the new token", func(ec *v1alpha1.EdgeCluster) bool {
		return ec.Status.Join.TokenExpiresAt.UTC().Format(time.RFC3339) == string(second.Data[bootstrapapi.BootstrapTokenExpirationKey])
	})
	join := &corev1.Secret{}
	waitFor(t, "the join Secret to carry the new token", func() (bool, error) {
		if err := get(t, operatorNamespace, edge.JoinSecretName("tokens"), join); err != nil {
			return false, err
		}
		return strings.HasPrefix(string(join.Data[edge.JoinKeyToken]), string(second.Data[bootstrapapi.BootstrapTokenIDKey])+"."), nil
	})

	// Once the old token expires, it is deleted.
	clk.Step(2 * time.Minute)
	poke(t, "tokens")
	waitForTokens(t, "tokens", "the expired token to be deleted", func(s []corev1.Secret) bool {
		return len(s) == 1 && s[0].Name == second.Name
	})
	assertNoWritesAtRest(t, "tokens")

	// A new TTL takes effect at once: a new token, the old one removed.
	updatePool(t, "tokens", func(ec *v1alpha1.EdgeCluster) { ec.Spec.Join.TokenTTL = &metav1.Duration{Duration: time.Hour} })
	waitForTokens(t, "tokens", "a token with the new TTL only", func(s []corev1.Secret) bool {
		return len(s) == 1 && s[0].Name != second.Name && s[0].Annotations[edge.AnnotationTokenTTL] == "1h0m0s"
	})
}

// A token deleted by someone (or by kube-controller-manager's tokencleaner) is replaced.
func TestDeletedTokenReplaced(t *testing.T) {
	newPool(t, "token-deleted", v1alpha1.EdgeClusterSpec{})
	first := waitForTokens(t, "token-deleted", "a token", func(s []corev1.Secret) bool { return len(s) == 1 })[0]
	if err := k8s.Delete(ctxT(t), &first); err != nil {
		t.Fatal(err)
	}
	waitForTokens(t, "token-deleted", "a replacement token", func(s []corev1.Secret) bool {
		return len(s) == 1 && s[0].Name != first.Name
	})
}
