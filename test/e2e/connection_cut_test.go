package e2e

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// The operator's own connection is cut while a pool's token rotation is due (issue 15). The
// operator reaches the API server through a relay that, cut, delivers nothing (a dropped link,
// not a refusal: what is sent waits, as TCP retransmits it, and arrives once the link is back).
// The pool's token is made due for rotation 30 s after the operator saw it, by moving its
// expiration closer (waiting out 80% of the shortest TTL, 10m, would take 8 minutes); the link
// is cut for 60 s from then. Nothing can rotate while cut; once the link is back the rotation
// happens, within a minute, and the old token is kept, unchanged and valid, until it expires.
func TestOperatorCutOffDuringTokenRotation(t *testing.T) {
	requireReliability(t)
	ctx := t.Context()
	pool := "e2e-cut-" + randomHex(3)
	ec := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec: v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet},
			TokenTTL: &metav1.Duration{Duration: 10 * time.Minute}}},
	}
	if err := k8sClient.Create(ctx, ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)
	waitForJoinSecret(t, ec)
	old := poolTokens(t, pool)
	if len(old) != 1 {
		t.Fatalf("%d token Secrets for %s, want 1", len(old), pool)
	}

	// The operator, through the relay.
	api, err := url.Parse(restConfig.Host)
	if err != nil {
		t.Fatal(err)
	}
	relay := newBlackhole(t, api.Host)
	kc, err := clientcmd.LoadFromFile(operatorKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + relay.Addr()
	}
	relayed := filepath.Join(clusterDir, "operator-relayed.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, relayed); err != nil {
		t.Fatal(err)
	}
	mainOperator.stop()
	p, err := runOperator("operator-cut-off", append(mainOperatorArgs(), "--kubeconfig", relayed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		relay.heal()
		p.stop()
		if next, err := runOperator("operator-after-cut", mainOperatorArgs()); err != nil {
			t.Errorf("restarting the suite's operator: %v", err)
		} else {
			mainOperator = next
		}
	})

	// The token due for rotation in 30 s; the operator has seen it when the pool's status says so.
	tok := old[0]
	exp := time.Now().Add(2*time.Minute + 30*time.Second).UTC().Truncate(time.Second)
	tok.Data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(exp.Format(time.RFC3339))
	if err := k8sClient.Update(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "status.join.tokenExpiresAt at the shortened expiration", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: pool}, ec); err != nil {
			return false, err
		}
		return ec.Status.Join != nil && ec.Status.Join.TokenExpiresAt != nil && ec.Status.Join.TokenExpiresAt.Time.Equal(exp), nil
	})
	relay.cut()
	cutAt := time.Now()
	time.Sleep(time.Minute)
	if n := len(poolTokens(t, pool)); n != 1 {
		t.Fatalf("%d token Secrets after a minute cut off (rotation due after 30 s), want the 1 from before: the relay did not cut the operator off", n)
	}
	relay.heal()
	healed := time.Now()
	t.Logf("operator cut off for %s; rotation was due %s into it", healed.Sub(cutAt).Round(time.Second), 30*time.Second)

	var tokens []corev1.Secret
	var fresh *corev1.Secret
	waitFor(t, time.Minute, "a new token once the operator's link is back", func(context.Context) (bool, error) {
		tokens = poolTokens(t, pool)
		for i := range tokens {
			if tokens[i].Name != tok.Name {
				fresh = &tokens[i]
			}
		}
		return fresh != nil, nil
	})
	t.Logf("token rotated %s after the link came back", time.Since(healed).Round(time.Second))
	for _, l := range grepLog(t, p.log, "bootstrap token created") {
		t.Logf("operator: %s", l)
	}
	t.Logf("operator: %d reconcile errors while cut off", len(grepLog(t, p.log, "Reconciler error")))
	kept := false
	for _, s := range tokens {
		if s.Name != tok.Name {
			continue
		}
		kept = true
		if got := string(s.Data[bootstrapapi.BootstrapTokenExpirationKey]); got != exp.Format(time.RFC3339) {
			t.Errorf("the old token's expiration changed to %s, want %s", got, exp.Format(time.RFC3339))
		}
	}
	if !kept {
		t.Fatalf("the old token %s was deleted at the rotation: it must stay valid until it expires (%s), for joins in flight", tok.Name, exp.Format(time.RFC3339))
	}
	// Both tokens authenticate: the old one until its expiration.
	for _, s := range []*corev1.Secret{&tok, fresh} {
		if time.Now().After(exp) {
			t.Fatalf("the old token expired before it could be tried")
		}
		cfg := rest.AnonymousClientConfig(restConfig)
		cfg.BearerToken = string(s.Data[bootstrapapi.BootstrapTokenIDKey]) + "." + string(s.Data[bootstrapapi.BootstrapTokenSecretKey])
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Errorf("token %s does not authenticate: %v", s.Name, err)
			continue
		}
		if !slices.Contains(review.Status.UserInfo.Groups, edge.PoolGroup(pool)) {
			t.Errorf("token %s authenticates as %s %v, not in %s", s.Name, review.Status.UserInfo.Username, review.Status.UserInfo.Groups, edge.PoolGroup(pool))
		}
	}
	waitFor(t, 30*time.Second, "a TokenRotated event", func(ctx context.Context) (bool, error) {
		list := &corev1.EventList{}
		if err := k8sClient.List(ctx, list, client.MatchingFields{"involvedObject.name": pool}); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Reason == v1alpha1.EdgeClusterEventTokenRotated {
				return true, nil
			}
		}
		return false, nil
	})
}

// poolTokens lists the bootstrap token Secrets of pool.
func poolTokens(t *testing.T, pool string) []corev1.Secret {
	t.Helper()
	list := &corev1.SecretList{}
	if err := k8sClient.List(t.Context(), list, client.InNamespace(edge.TokenNamespace), client.MatchingLabels{v1alpha1.LabelEdgeCluster: pool}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}
