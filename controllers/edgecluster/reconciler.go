// Package edgecluster reconciles EdgeClusters: pools of edge nodes. For each pool it keeps a
// rotating bootstrap token in kube-system, the join commands of its methods in a Secret of the
// operator's namespace, the node template on its members, and the pool's health in status; it
// approves its members' kubelet-serving CSRs when asked. Decisions are made in internal/edge;
// this package reads, writes and records.
package edgecluster

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// Reconciler reconciles EdgeClusters.
type Reconciler struct {
	// Client reads EdgeClusters from the manager's cache and writes to the API server.
	client.Client
	// APIReader reads from the API server: the pool's token Secrets (tokenSecrets), a Node a
	// client CSR names, kubeedge's token Secret.
	APIReader client.Reader
	// Cache is this controller's own cache: trimmed Nodes, kubelet CSRs, edgeforge's Secrets
	// (token Secrets in kube-system when it may watch them, the operator namespace's), the few
	// ConfigMaps join commands are made from, and the bootstrap ClusterRoleBindings. Never
	// read other kinds through it.
	Cache client.Reader
	// Recorder records NodeJoined, NodeLeft, NodeNotReady, NodeReady, TokenRotated,
	// ServingCSRApproved and BootstrapRBACCreated events.
	Recorder events.EventRecorder
	// Namespace is the operator's namespace: the join Secret and referenced Secrets live there.
	Namespace string
	// Clock tells the time for token rotation and grace periods (a fake one in tests).
	Clock clock.PassiveClock

	mu sync.Mutex
	// notified remembers, per pool and node, the NotReady episode (its start) a NodeNotReady
	// event was recorded for, so each episode is reported once.
	notified map[string]map[string]time.Time
	// Shard selects the objects this operator reconciles (settings.Options.Shard); nil: all.
	Shard labels.Selector
}

// The pool itself.
// +kubebuilder:rbac:groups=edgeforge.io,resources=edgeclusters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=edgeforge.io,resources=edgeclusters/status,verbs=get;update;patch
// Owner references with blockOwnerDeletion on token and join Secrets need this where the
// OwnerReferencesPermissionEnforcement admission plugin is on; it also covers the finalizer.
// +kubebuilder:rbac:groups=edgeforge.io,resources=edgeclusters/finalizers,verbs=update
//
// Members: a trimmed watch of every Node, and server-side apply (patch) of the node template's
// labels, annotations and taints. Nodes are never created or deleted.
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch
//
// Bootstrap tokens live in kube-system (the only place the API server looks for them):
// create, rotate and delete the pool's token Secrets; list/watch serve a cache narrowed by label
// to edgeforge's own tokens (RBAC cannot narrow by label, so this Role is kube-system-only).
// +kubebuilder:rbac:groups="",namespace=kube-system,roleName=edgecluster-bootstrap-tokens,resources=secrets,verbs=get;list;watch;create;patch;delete
//
// The join commands Secret is written in the operator's namespace ("system" is kustomize's
// placeholder for it); Secrets users reference (k3s token, microk8s join string, CloudCore
// token) are read there too.
// +kubebuilder:rbac:groups="",namespace=system,roleName=edgecluster-join-secrets,resources=secrets,verbs=get;list;watch;create;patch;delete
//
// CloudCore keeps its join token in the Secret kubeedge/tokensecret: only Secrets of that name
// can be read, by name only (a ClusterRole, so installing edgeforge does not need the kubeedge
// namespace; no list or watch).
// +kubebuilder:rbac:groups="",resources=secrets,resourceNames=tokensecret,verbs=get
//
// What join commands are made from, by name: kube-public/cluster-info (endpoint, CA, token
// signatures), kube-system/kubeadm-config (is this a kubeadm control plane?) and
// kube-root-ca.crt (the CA where there is no cluster-info).
// +kubebuilder:rbac:groups="",resources=configmaps,resourceNames=cluster-info;kubeadm-config;kube-root-ca.crt,verbs=get;list;watch
// Whether the operator's namespace exists (the join Secret goes there).
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
//
// The RBAC bootstrap tokens need (edge.BootstrapRBAC), created when absent: two
// ClusterRoleBindings, by name (and one of earlier versions, deleted). Binding a ClusterRole needs
// either its permissions or "bind" on it: "bind" on exactly the two built-in roles keeps edgeforge
// from holding their permissions.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,resourceNames=edgeforge:node-bootstrapper;edgeforge:node-autoapprove-bootstrap;edgeforge:node-autoapprove-certificate-rotation,verbs=create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,resourceNames=system:node-bootstrapper;system:certificates.k8s.io:certificatesigningrequests:selfnodeclient,verbs=bind
//
// Kubelet CSRs: approve or deny members' serving certificates and the client certificates of
// the pools' tokens (nothing else approves those: edgeforge checks the node's name), for those
// two signers only.
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/approval,verbs=update
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,resourceNames=kubernetes.io/kubelet-serving;kubernetes.io/kube-apiserver-client-kubelet,verbs=approve

// pass is the state of one reconcile, handed from step to step.
type pass struct {
	ec      *v1alpha1.EdgeCluster
	patcher *skeleton.Patcher
	now     time.Time
	// token is the current bootstrap token (nil when it could not be made).
	token *edge.Token
	// join is the rendered join commands (nil until rendered).
	join *edge.JoinResult
	// health is the pool's health (nil until computed).
	health *edge.PoolHealth
	// requeue is when a clock (token rotation, a grace period) needs the pool looked at again.
	requeue time.Duration
	// admitted are the nodes admitted in this pass (the cache may not show their label yet).
	admitted map[string]bool
}

// admit records that node was made a member in this pass.
func (p *pass) admit(node string) {
	if p.admitted == nil {
		p.admitted = map[string]bool{}
	}
	p.admitted[node] = true
}

func (p *pass) requeueAfter(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// Reconcile brings an EdgeCluster's node health, token, join commands and node template up to
// date, writing the status once at the end (controllers/skeleton). Node health comes first, so
// a pool whose join commands cannot be written (a stall) or whose token step fails still
// reports its nodes.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sk := skeleton.Reconciler[*v1alpha1.EdgeCluster, *pass]{
		Shard:     r.Shard,
		Client:    r.Client,
		Recorder:  r.Recorder,
		NewObject: func() *v1alpha1.EdgeCluster { return &v1alpha1.EdgeCluster{} },
		Finalizer: v1alpha1.EdgeClusterFinalizer,
		Finalize:  r.finalize,
		NewPass: func(ec *v1alpha1.EdgeCluster, p *skeleton.Patcher) *pass {
			return &pass{ec: ec, patcher: p, now: r.Clock.Now()}
		},
		Steps: []skeleton.Step[*pass]{
			step(r.admitJoinedNodes), // nodes that joined with the pool's token become members
			step(r.reconcileNodes),   // members, node template, health
			step(r.reconcileServingCSRs),
			step(r.reconcileBootstrapRBAC),
			step(r.reconcileToken),
			step(r.reconcileJoinCommands), // needs the token
		},
		Summarize: func(_ context.Context, p *pass, out skeleton.Outcome) {
			edge.Summarize(p.ec, edge.Pass{Health: p.health, Join: p.join, Err: out.Err, Stalled: out.Stall != nil})
		},
	}
	return sk.Reconcile(ctx, req)
}

// step adapts a step to the skeleton; the clocks the steps found (token rotation, a grace
// period) become the pass's requeue.
func step(f func(context.Context, *pass) error) skeleton.Step[*pass] {
	return func(ctx context.Context, p *pass) (skeleton.Result, error) {
		err := f(ctx, p)
		return skeleton.Result{RequeueAfter: p.requeue}, err
	}
}

// finalize removes what the pool put outside itself: the node template from every node that
// carries it, the token Secrets, the join Secret and, with the last pool, the bootstrap RBAC.
// Nodes themselves are never deleted. The skeleton then removes the finalizer.
func (r *Reconciler) finalize(ctx context.Context, ec *v1alpha1.EdgeCluster) error {
	log := ctrl.LoggerFrom(ctx)
	nodes, err := r.poolNodes(ctx, ec.Name)
	if err != nil {
		return err
	}
	for i := range nodes {
		if nodes[i].Annotations[v1alpha1.AnnotationNodeTemplate] != ec.Name {
			continue // a member carrying another pool's template (or none): not ours to strip
		}
		applied := append(edge.AppliedTaints(ec.Spec.NodeTemplate, nil, nil), ec.Status.AppliedTaints...)
		if err := r.applyNodeTemplate(ctx, &nodes[i], edge.PlanNodeTemplate("", nil, &nodes[i], applied)); err != nil {
			return err
		}
	}
	if err := r.releaseMembers(ctx, nodes, ec.Name); err != nil {
		return err
	}
	tokens, err := r.tokenSecrets(ctx, ec.Name)
	if skeleton.AsStall(err) != nil {
		// Without rights in kube-system: the tokens (if any) are owned by the pool, and the
		// garbage collector deletes them with it.
		log.Info("cannot delete the pool's token Secrets; the garbage collector will", "reason", err.Error())
		tokens, err = nil, nil
	}
	if err != nil {
		return err
	}
	for i := range tokens {
		if err := r.deleteSecret(ctx, tokens[i].Namespace, tokens[i].Name); err != nil {
			return err
		}
	}
	if err := r.deleteSecret(ctx, r.Namespace, edge.JoinSecretName(ec.Name)); err != nil {
		return err
	}
	if err := r.deleteBootstrapRBACIfLast(ctx, ec); err != nil {
		return err
	}
	forgetPool(ec.Name)
	r.mu.Lock()
	delete(r.notified, ec.Name)
	r.mu.Unlock()

	log.Info("EdgeCluster cleaned up", "nodes", len(nodes), "tokens", len(tokens))
	return nil
}
