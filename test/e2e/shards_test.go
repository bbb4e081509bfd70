package e2e

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers"
)

// The two shards of docs/install.md's example (issue 16), on the local cluster: two operators,
// each with --leader-elect and its --watch-label-selector, as two Deployments would run them.
// With only the default shard's operator running, the unlabelled app becomes Ready and the
// factory shard's app is not touched; once the factory shard's operator starts, its app becomes
// Ready too. Each shard holds its own leader election lease. The suite's operator steps aside
// meanwhile.
func TestShardedOperators(t *testing.T) {
	stepAside(t, "operator-after-shards")
	const defaultShard, factoryShard = "!edgeforge.io/shard", "edgeforge.io/shard=factory"
	start := func(name, selector string) {
		p, err := runOperator(name, []string{"--leader-elect", "--metrics-bind-address", "0", "--watch-label-selector=" + selector})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
	}
	ns := createNamespace(t, "e2e-shards")
	newApp := func(name string, lbls map[string]string) *v1alpha1.AppDeployment {
		a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls},
			Spec: v1alpha1.AppDeploymentSpec{Image: "registry.example.com/team/web:1",
				Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}}}}
		if err := k8sClient.Create(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	ready := func(a *v1alpha1.AppDeployment) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a); err != nil {
				return false, err
			}
			return meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionReady), nil
		}
	}

	start("operator-shard-default", defaultShard)
	plain := newApp("plain", nil)
	factory := newApp("factory", map[string]string{"edgeforge.io/shard": "factory"})
	waitFor(t, 2*time.Minute, "the default shard's app to become Ready", ready(plain))
	// The default shard's operator has reconciled its own app; the other shard's app it leaves
	// alone: no status, no children.
	if err := k8sClient.Get(t.Context(), client.ObjectKeyFromObject(factory), factory); err != nil {
		t.Fatal(err)
	}
	if factory.Status.ObservedGeneration != 0 || len(factory.Status.Conditions) != 0 {
		t.Fatalf("the default shard's operator touched the factory shard's app: %+v", factory.Status)
	}

	start("operator-shard-factory", factoryShard)
	waitFor(t, 2*time.Minute, "the factory shard's app to become Ready", ready(factory))

	holders := map[string]string{}
	for _, sel := range []string{defaultShard, factoryShard} {
		s, err := labels.Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		lease := &coordinationv1.Lease{}
		key := client.ObjectKey{Namespace: operatorNamespace, Name: controllers.LeaderElectionID(s)}
		if err := k8sClient.Get(t.Context(), key, lease); err != nil {
			t.Fatalf("shard %q: %v", sel, err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Fatalf("shard %q: lease %s has no holder", sel, key.Name)
		}
		holders[sel] = *lease.Spec.HolderIdentity
	}
	if holders[defaultShard] == holders[factoryShard] {
		t.Errorf("both shards' leases are held by %s", holders[defaultShard])
	}
	t.Logf("leases: %v", holders)
}
