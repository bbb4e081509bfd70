// Package edgecluster reconciles EdgeClusters: pools of edge nodes. For each pool it keeps a
// rotating bootstrap token in kube-system, the join commands of its methods in a Secret of the
// operator's namespace, the node template on its members, and the pool's health in status; it
// approves its members' kubelet-serving CSRs when asked. Decisions are made in internal/edge;
// this package reads, writes and records.
package edgecluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/patch"
	"github.com/edgeforge/edgeforge/internal/conditions"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// Reconciler reconciles EdgeClusters.
type Reconciler struct {
	// Client reads EdgeClusters from the manager's cache and writes to the API server.
	client.Client
	// APIReader reads the pool's token Secrets from the API server before a token is created
	// (the cache may not show one created a moment ago).
	APIReader client.Reader
	// Cache is this controller's own cache: trimmed Nodes, kubelet-serving CSRs, edgeforge's
	// Secrets (token Secrets in kube-system, the operator namespace's Secrets), the few
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
// are readable (a ClusterRole, so installing edgeforge does not need the kubeedge namespace).
// +kubebuilder:rbac:groups="",resources=secrets,resourceNames=tokensecret,verbs=get;list;watch
//
// What join commands are made from, by name: kube-public/cluster-info (endpoint, CA, token
// signatures), kube-system/kubeadm-config (is this a kubeadm control plane?) and
// kube-root-ca.crt (the CA where there is no cluster-info).
// +kubebuilder:rbac:groups="",resources=configmaps,resourceNames=cluster-info;kubeadm-config;kube-root-ca.crt,verbs=get;list;watch
// Whether the operator's namespace exists (the join Secret goes there).
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
//
// The RBAC kubeadm sets up for bootstrap tokens, created when absent: three
// ClusterRoleBindings, by name. Binding a ClusterRole needs either its permissions or "bind" on
// it: "bind" on exactly the three built-in roles keeps edgeforge from holding their permissions.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,resourceNames=edgeforge:node-bootstrapper;edgeforge:node-autoapprove-bootstrap;edgeforge:node-autoapprove-certificate-rotation,verbs=create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,resourceNames=system:node-bootstrapper;system:certificates.k8s.io:certificatesigningrequests:nodeclient;system:certificates.k8s.io:certificatesigningrequests:selfnodeclient,verbs=bind
//
// approveServingCSRs: read kubelet-serving CSRs, approve those of members, for that signer only.
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/approval,verbs=update
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,resourceNames=kubernetes.io/kubelet-serving,verbs=approve

// pass is the state of one reconcile, handed from step to step.
type pass struct {
	ec  *v1alpha1.EdgeCluster
	now time.Time
	// token is the current bootstrap token (nil when it could not be made).
	token *edge.Token
	// join is the rendered join commands (nil until rendered).
	join *edge.JoinResult
	// health is the pool's health (nil until computed).
	health *edge.PoolHealth
	// requeue is when a clock (token rotation, a grace period) needs the pool looked at again.
	requeue time.Duration
	// stalled: a human must act (the conditions say so).
	stalled bool
}

func (p *pass) requeueAfter(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// Reconcile brings an EdgeCluster's token, join commands, node template and status up to date,
// writing the status once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	ec := &v1alpha1.EdgeCluster{}
	if err := r.Get(ctx, req.NamespacedName, ec); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ec.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, ec)
	}
	if !controllerutil.ContainsFinalizer(ec, v1alpha1.EdgeClusterFinalizer) {
		orig := ec.DeepCopy()
		controllerutil.AddFinalizer(ec, v1alpha1.EdgeClusterFinalizer)
		if err := r.Patch(ctx, ec, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, err
		}
	}
	patcher := patch.NewStatusPatcher(r.Client, ec)
	p := &pass{ec: ec, now: r.Clock.Now()}
	var errs []error
	defer func() {
		r.summarize(p, errs)
		retErr = kerrors.NewAggregate([]error{retErr, patcher.Patch(ctx, ec)})
	}()

	// Each step does its part and leaves what later steps need in p; a step whose input is
	// missing (no token: no join commands) does nothing, so one failure never hides the rest
	// (a stalled join still leaves node health up to date).
	var stalled *stallError
	for _, step := range []func(context.Context, *pass) error{
		r.reconcileBootstrapRBAC,
		r.reconcileToken,
		r.reconcileJoinCommands,
		r.reconcileNodes,
		r.reconcileServingCSRs,
	} {
		if err := step(ctx, p); err != nil {
			if !errors.As(err, &stalled) {
				errs = append(errs, err)
			}
		}
	}
	if stalled != nil && len(errs) == 0 {
		p.stalled = true
		r.markStalled(ec, stalled) // waits for the missing object's watch event
		if p.requeue > 0 {
			return ctrl.Result{RequeueAfter: p.requeue}, nil // a clock still runs (token, grace period)
		}
		return ctrl.Result{}, reconcile.TerminalError(stalled)
	}
	return ctrl.Result{RequeueAfter: p.requeue}, kerrors.NewAggregate(errs)
}

// summarize sets the conditions from what the steps found.
func (r *Reconciler) summarize(p *pass, errs []error) {
	ec := p.ec
	ec.Status.ObservedGeneration = ec.Generation
	if p.health != nil {
		grace := edge.GracePeriod(&ec.Spec)
		if msg := p.health.DegradedMessage(grace); msg != "" {
			conditions.Set(&ec.Status.Conditions, v1alpha1.ConditionDegraded, metav1.ConditionTrue, ec.Generation, v1alpha1.EdgeClusterReasonNodesNotReady, msg)
		} else {
			conditions.Set(&ec.Status.Conditions, v1alpha1.ConditionDegraded, metav1.ConditionFalse, ec.Generation, v1alpha1.EdgeClusterReasonNodesHealthy,
				fmt.Sprintf("no member node has been NotReady for longer than %s", grace))
		}
	}
	// A conflict only means a cached object was a moment old; the retry follows at once and
	// does not deserve flipping Ready (kstatus tools would show the pool progressing).
	errs = slices.DeleteFunc(slices.Clone(errs), func(err error) bool { return apierrors.IsConflict(err) })
	switch {
	case p.stalled:
		// markStalled set Ready and Stalled
	case len(errs) > 0 || p.health == nil || p.join == nil:
		msg := "working on the join token, join commands and node template"
		if len(errs) > 0 {
			msg = "retrying after an error: " + kerrors.NewAggregate(errs).Error()
		}
		conditions.MarkReconciling(&ec.Status.Conditions, ec.Generation, v1alpha1.EdgeClusterReasonProgressing, msg)
	case p.health.Ready < edge.MinReadyNodes(&ec.Spec):
		conditions.MarkNotReady(&ec.Status.Conditions, ec.Generation, v1alpha1.EdgeClusterReasonNotEnoughReadyNodes,
			fmt.Sprintf("%d of %d member node(s) Ready, spec.minReadyNodes is %d%s", p.health.Ready, p.health.Total,
				edge.MinReadyNodes(&ec.Spec), r.readySuffix(p)))
	default:
		conditions.MarkReady(&ec.Status.Conditions, ec.Generation, v1alpha1.EdgeClusterReasonPoolReady,
			fmt.Sprintf("%d of %d member node(s) Ready (minimum %d)%s", p.health.Ready, p.health.Total,
				edge.MinReadyNodes(&ec.Spec), r.readySuffix(p)))
	}
}

// readySuffix adds missing nodes and join methods that cannot be used to the Ready message.
func (r *Reconciler) readySuffix(p *pass) string {
	var parts []string
	if p.health.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of spec.expectedNodes missing", p.health.Missing))
	}
	if notReady := p.join.NotReady(); len(notReady) > 0 {
		parts = append(parts, fmt.Sprintf("no join command for %s (see status.join.methods)", strings.Join(notReady, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// stallError is a problem only a human can fix; the pool waits for a watched object to change.
type stallError struct{ reason, message string }

func (e *stallError) Error() string { return e.message }

func (r *Reconciler) markStalled(ec *v1alpha1.EdgeCluster, s *stallError) {
	prev := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionStalled)
	conditions.MarkStalled(&ec.Status.Conditions, ec.Generation, s.reason, s.message)
	if prev == nil || prev.Status != metav1.ConditionTrue || prev.Reason != s.reason || prev.Message != s.message {
		r.Recorder.Eventf(ec, nil, corev1.EventTypeWarning, s.reason, "Stalled", "%s", s.message)
	}
}

// finalize removes what the pool put outside itself: the node template from every node that
// carries it, the token Secrets, the join Secret and, with the last pool, the bootstrap RBAC.
// Nodes themselves are never deleted.
func (r *Reconciler) finalize(ctx context.Context, ec *v1alpha1.EdgeCluster) error {
	if !controllerutil.ContainsFinalizer(ec, v1alpha1.EdgeClusterFinalizer) {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	nodes, err := r.poolNodes(ctx, ec.Name)
	if err != nil {
		return err
	}
	for i := range nodes {
		if nodes[i].Annotations[v1alpha1.AnnotationNodeTemplate] != ec.Name {
			continue // a member carrying another pool's template (or none): not ours to strip
		}
		if err := r.applyNodeTemplate(ctx, &nodes[i], edge.PlanNodeTemplate("", nil, &nodes[i])); err != nil {
			return err
		}
	}
	tokens, err := r.tokenSecrets(ctx, ec.Name)
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

	orig := ec.DeepCopy()
	controllerutil.RemoveFinalizer(ec, v1alpha1.EdgeClusterFinalizer)
	if err := r.Patch(ctx, ec, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(err)
	}
	log.Info("EdgeCluster cleaned up", "nodes", len(nodes), "tokens", len(tokens))
	return nil
}
