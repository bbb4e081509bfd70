package edgecluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Field indexes.
const (
	// indexPool indexes Nodes by the pool they belong to and the pool whose template they carry.
	indexPool = "edgeforge.io/pool"
	// indexK3sServer marks k3s control-plane Nodes ("true").
	indexK3sServer = "edgeforge.io/k3s-server"
	// indexSecretRefs indexes EdgeClusters by the names of the Secrets their spec.join references.
	indexSecretRefs = "edgeforge.io/join-secret-refs"
)

// SetupWithManager registers the EdgeCluster controller, with a cache of its own (see
// newCache) so the manager's caches need no option for it.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	return setup(mgr, opts, clock.RealClock{})
}

// setup is SetupWithManager with a clock (tests drive token rotation and grace periods).
func setup(mgr ctrl.Manager, opts settings.Options, clk clock.PassiveClock) error {
	ctx := context.Background()
	c, err := newCache(mgr, opts.Namespace, canWatchTokens(ctx, mgr))
	if err != nil {
		return err
	}
	if err := index.Register(ctx, c, &corev1.Node{},
		index.Field[*corev1.Node]{Name: indexPool, Extract: edge.TemplatedNodeKeys},
		index.Field[*corev1.Node]{Name: indexK3sServer, Extract: func(n *corev1.Node) []string {
			if isK3sServer(n) {
				return []string{"true"}
			}
			return nil
		}},
	); err != nil {
		return err
	}
	if err := index.Register(ctx, mgr.GetFieldIndexer(), &v1alpha1.EdgeCluster{},
		index.Field[*v1alpha1.EdgeCluster]{Name: indexSecretRefs, Extract: secretRefs}); err != nil {
		return err
	}
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Cache:     c,
		Recorder:  mgr.GetEventRecorder("edgeforge-edgecluster"),
		Namespace: opts.Namespace,
		Clock:     clk,
		Shard:     opts.Shard,
	}
	m := &mapper{c: mgr.GetClient(), cache: c, namespace: opts.Namespace}
	return ctrl.NewControllerManagedBy(mgr).
		Named("edgecluster").
		For(&v1alpha1.EdgeCluster{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, // spec changes, and deletion (a finalizer is set)
			predicate.AnnotationChangedPredicate{}, // `kubectl annotate` asks for a reconcile
		))).
		WatchesRawSource(source.Kind(c, &corev1.Node{},
			skeleton.CoalescedEnqueue(NodeEventWindow, m.nodeToPools),
			predicate.TypedFuncs[*corev1.Node]{UpdateFunc: func(e event.TypedUpdateEvent[*corev1.Node]) bool {
				return edge.NodeChanged(e.ObjectOld, e.ObjectNew) // heartbeats of Ready nodes wake nothing
			}})).
		WatchesRawSource(source.Kind(c, &corev1.Secret{}, handler.TypedEnqueueRequestsFromMapFunc(m.secretToPools))).
		WatchesRawSource(source.Kind(c, &corev1.ConfigMap{}, handler.TypedEnqueueRequestsFromMapFunc(allPools[*corev1.ConfigMap](m)))).
		WatchesRawSource(source.Kind(c, &corev1.Namespace{}, handler.TypedEnqueueRequestsFromMapFunc(allPools[*corev1.Namespace](m)))).
		WatchesRawSource(source.Kind(c, &rbacv1.ClusterRoleBinding{}, handler.TypedEnqueueRequestsFromMapFunc(allPools[*rbacv1.ClusterRoleBinding](m)))).
		WatchesRawSource(source.Kind(c, &certificatesv1.CertificateSigningRequest{},
			handler.TypedEnqueueRequestsFromMapFunc(m.csrToPool),
			predicate.NewTypedPredicateFuncs(func(csr *certificatesv1.CertificateSigningRequest) bool {
				if _, _, ok := edge.ClientCSRPool(csr); ok {
					// Pending: edgeforge decides it; approved: the node can register.
					return edge.CSRPending(csr) || edge.CSRApproved(csr)
				}
				return csr.Spec.SignerName == certificatesv1.KubeletServingSignerName && edge.CSRPending(csr)
			}))).
		Complete(r)
}

// NodeEventWindow coalesces node events: the changes of a pool's nodes within it make one
// reconcile of the pool and at most one status write (a site's link flapping, or a thousand
// nodes changing at once, would otherwise write the pool's status once per node). A node's Ready
// change reaches the status within about this long.
const NodeEventWindow = time.Second

// canWatchTokens asks the API server (SelfSubjectAccessReview, allowed to every user) whether
// the operator may list and watch Secrets in kube-system. Without that Role (an OLM install
// before the admin applied bundle/kube-system-rbac.yaml) an informer there would never sync and
// the controller would not start; so the token Secrets are then not watched (they are read
// live anyway), and pools say BootstrapTokensForbidden until the Role is there. Once granted,
// pools work at their next reconcile; changes to token Secrets wake them after a restart.
func canWatchTokens(ctx context.Context, mgr ctrl.Manager) bool {
	log := mgr.GetLogger().WithName("edgecluster")
	for _, verb := range []string{"list", "watch"} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: edge.TokenNamespace, Verb: verb, Resource: "secrets"}}}
		if err := mgr.GetClient().Create(ctx, review); err != nil {
			log.Error(err, "cannot tell whether bootstrap-token Secrets may be watched; not watching them")
			return false
		}
		if !review.Status.Allowed {
			log.Error(nil, "the operator may not "+verb+" Secrets in "+edge.TokenNamespace+
				": EdgeClusters stay Stalled (BootstrapTokensForbidden) until its Role there is bound (docs/install.md)")
			return false
		}
	}
	return true
}

// newCache is the controller's own cache, holding only what EdgeClusters read:
//   - Nodes, trimmed by edge.TrimNode (a few hundred bytes each, heartbeats filtered out);
//   - Secrets: edgeforge's token Secrets in kube-system (by label; when watchTokens), the
//     operator namespace's Secrets (the join Secret and those users reference); never a
//     cluster-wide Secret cache (kubeedge/tokensecret is read by name when a pool needs it);
//   - ConfigMaps by name: kube-public/cluster-info, kube-system/kubeadm-config and the
//     operator namespace's kube-root-ca.crt;
//   - the operator's Namespace, kubelet-serving CSRs (by signer) and edgeforge's bootstrap
//     ClusterRoleBindings (by label).
//
// Reading any other kind through it fails instead of silently starting a cluster-wide informer.
// The operator's namespace is expected to be its own (not kube-system, kube-public or kubeedge).
func newCache(mgr ctrl.Manager, namespace string, watchTokens bool) (cache.Cache, error) {
	if namespace == "" {
		return nil, fmt.Errorf("edgecluster: the operator namespace is not set")
	}
	hasPool, err := labels.NewRequirement(v1alpha1.LabelEdgeCluster, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	byName := func(name string) cache.Config {
		return cache.Config{FieldSelector: fields.OneTermEqualSelector("metadata.name", name)}
	}
	secrets := map[string]cache.Config{namespace: {}}
	if watchTokens {
		secrets[edge.TokenNamespace] = cache.Config{LabelSelector: labels.NewSelector().Add(*hasPool)}
	}
	configMaps := map[string]cache.Config{
		edge.ClusterInfoNamespace:   byName(edge.ClusterInfoName),
		edge.KubeadmConfigNamespace: byName(edge.KubeadmConfigName),
		namespace:                   byName(edge.RootCAConfigMapName),
	}
	return skeleton.PrivateCache(mgr, cache.Options{
		ReaderFailOnMissingInformer: true,
		ByObject: map[client.Object]cache.ByObject{
			// Read-only use (copies are made before patching), so no deep copy on every read.
			&corev1.Node{}:      {Transform: edge.TrimNode, UnsafeDisableDeepCopy: ptr.To(true)},
			&corev1.Secret{}:    {Namespaces: secrets},
			&corev1.ConfigMap{}: {Namespaces: configMaps},
			&corev1.Namespace{}: {Field: fields.OneTermEqualSelector("metadata.name", namespace)},
			// Kubelet CSRs of both signers: serving ones to approve, client ones to admit the
			// nodes that joined with a pool's token. (CSRs are few: kube-controller-manager
			// deletes them an hour after they are issued.)
			&certificatesv1.CertificateSigningRequest{}: {Transform: edge.TrimCSR},
			&rbacv1.ClusterRoleBinding{}:                {Label: labels.SelectorFromSet(labels.Set{v1alpha1.LabelName: edge.BootstrapRBACName})},
		},
	})
}

// isK3sServer: a control-plane node whose kubelet is k3s's (its version carries "+k3s").
func isK3sServer(n *corev1.Node) bool {
	_, cp := n.Labels["node-role.kubernetes.io/control-plane"]
	_, master := n.Labels["node-role.kubernetes.io/master"]
	return (cp || master) && strings.Contains(n.Status.NodeInfo.KubeletVersion, "+k3s")
}

func secretRefs(ec *v1alpha1.EdgeCluster) []string {
	j := ec.Spec.Join
	if j == nil {
		return nil
	}
	var out []string
	if j.K3s != nil && j.K3s.TokenSecretRef != nil {
		out = append(out, j.K3s.TokenSecretRef.Name)
	}
	if j.MicroK8s != nil && j.MicroK8s.JoinSecretRef != nil {
		out = append(out, j.MicroK8s.JoinSecretRef.Name)
	}
	if j.KubeEdge != nil && j.KubeEdge.TokenSecretRef != nil {
		out = append(out, j.KubeEdge.TokenSecretRef.Name)
	}
	return out
}

func requests(pools ...string) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(pools))
	for _, p := range pools {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p}})
	}
	return out
}

// mapper maps watched objects to the pools they concern.
type mapper struct {
	c         client.Client // the manager's client: EdgeClusters
	cache     client.Reader // the controller's cache: Nodes
	namespace string
}

func (m *mapper) all(ctx context.Context) []reconcile.Request {
	list := &v1alpha1.EdgeClusterList{}
	if err := m.c.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing EdgeClusters")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, ec := range list.Items {
		out = append(out, requests(ec.Name)...)
	}
	return out
}

// allPools maps an object every pool depends on (cluster-info, the operator namespace, the
// bootstrap RBAC) to every pool.
func allPools[T client.Object](m *mapper) func(context.Context, T) []reconcile.Request {
	return func(ctx context.Context, _ T) []reconcile.Request { return m.all(ctx) }
}

// secretToPools: a token or join Secret belongs to the pool of its label; a Secret in the
// operator namespace may be referenced by pools.
func (m *mapper) secretToPools(ctx context.Context, s *corev1.Secret) []reconcile.Request {
	if p := s.Labels[v1alpha1.LabelEdgeCluster]; p != "" {
		return requests(p)
	}
	if s.Namespace != m.namespace {
		return nil
	}
	return index.Requests(ctx, m.c, &v1alpha1.EdgeClusterList{}, client.MatchingFields{indexSecretRefs: s.Name})
}

// nodeToPools: a node concerns the pool it belongs to and the pool whose template it carries; a
// k3s server concerns every pool (it makes the k3s join method possible).
func (m *mapper) nodeToPools(ctx context.Context, n *corev1.Node) []reconcile.Request {
	if isK3sServer(n) {
		return m.all(ctx)
	}
	return requests(edge.TemplatedNodeKeys(n)...)
}

// csrToPool: a kubelet client CSR made with a pool's bootstrap token concerns that pool (it
// admits the node); a pending kubelet-serving CSR concerns the pool of the node that asks.
func (m *mapper) csrToPool(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) []reconcile.Request {
	if _, pool, ok := edge.ClientCSRPool(csr); ok {
		return requests(pool)
	}
	name := edge.CSRRequestor(csr)
	if name == "" {
		return nil
	}
	n := &corev1.Node{}
	if err := m.cache.Get(ctx, types.NamespacedName{Name: name}, n); err != nil {
		return nil // no such node (yet): its Node event maps to its pool, which then sees the CSR
	}
	if p := edge.MemberOf(n); p != "" {
		return requests(p)
	}
	return nil
}
