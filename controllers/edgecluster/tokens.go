package edgecluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// reconcileBootstrapRBAC makes sure the ClusterRoleBindings bootstrap tokens need exist (the
// ones kubeadm creates, under edgeforge's names). They serve every pool, so any pool creates
// them and the last one deleted removes them.
func (r *Reconciler) reconcileBootstrapRBAC(ctx context.Context, p *pass) error {
	// The bindings bootstrap tokens need, and those of earlier versions that must go (one let
	// kube-controller-manager approve any node name): deleted only when edgeforge made them.
	children := map[string]runtime.ApplyConfiguration{}
	for _, want := range edge.BootstrapRBAC() {
		children[*want.Name] = want
	}
	for _, name := range edge.RetiredBootstrapRBACBindingNames {
		children[name] = nil
	}
	var created []string
	for _, name := range slices.Sorted(maps.Keys(children)) {
		out, err := apply.New(r.Client, r.APIReader, settings.FieldOwner).Reconcile(ctx, p.ec, apply.Child{
			Live: &rbacv1.ClusterRoleBinding{}, Key: client.ObjectKey{Name: name}, Reader: r.Cache, Desired: children[name],
			Owned: func(live client.Object) bool { return live.GetLabels()[v1alpha1.LabelName] == edge.BootstrapRBACName },
		})
		if err != nil {
			return apply.AsStall(err, v1alpha1.EdgeClusterReasonChildRejected)
		}
		if out.Created {
			created = append(created, name)
		}
	}
	if len(created) > 0 {
		r.Recorder.Eventf(p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventBootstrapRBACCreated, "CreateRBAC",
			"created ClusterRoleBindings %s so bootstrap tokens can request node certificates", edge.NameList(created, 3))
	}
	return nil
}

// deleteBootstrapRBACIfLast removes the bootstrap ClusterRoleBindings when ec is the last pool.
func (r *Reconciler) deleteBootstrapRBACIfLast(ctx context.Context, ec *v1alpha1.EdgeCluster) error {
	pools := &v1alpha1.EdgeClusterList{}
	if err := r.List(ctx, pools); err != nil {
		return err
	}
	for _, other := range pools.Items {
		if other.Name != ec.Name && other.DeletionTimestamp.IsZero() {
			return nil // still needed
		}
	}
	for _, name := range append(slices.Clone(edge.BootstrapRBACBindingNames), edge.RetiredBootstrapRBACBindingNames...) {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := r.Delete(ctx, crb); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// reconcileToken keeps one valid bootstrap token for the pool: creates it, rotates it at 80%
// of its lifetime (coming back then), deletes expired and superseded ones.
func (r *Reconciler) reconcileToken(ctx context.Context, p *pass) error {
	ttl, groups := p.ec.Spec.TokenTTL(), edge.TokenGroups(p.ec)
	secrets, err := r.tokenSecrets(ctx, p.ec.Name)
	if err != nil {
		return err
	}
	plan := edge.PlanTokens(secrets, ttl, groups, p.now)
	if plan.Create {
		tok, err := edge.NewToken(p.now, ttl, groups)
		if err != nil {
			return err
		}
		if err := r.Apply(ctx, edge.TokenSecret(p.ec, tok), client.FieldOwner(settings.FieldOwner), client.ForceOwnership); err != nil {
			return tokensForbidden(fmt.Errorf("creating bootstrap token Secret %s/%s: %w", edge.TokenNamespace, tok.SecretName(), err))
		}
		ctrl.LoggerFrom(ctx).Info("bootstrap token created", "tokenID", tok.ID, "expires", tok.Expiration, "rotation", plan.Rotation)
		if plan.Rotation {
			r.Recorder.Eventf(p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventTokenRotated, "RotateToken",
				"bootstrap token %s replaces the previous one; it expires at %s", tok.ID, tok.Expiration.Format(time.RFC3339))
		}
		plan = edge.PlanTokens(append(secrets, edge.TokenSecretObject(p.ec, tok)), ttl, groups, p.now)
	}
	for _, name := range plan.Delete {
		if err := r.deleteSecret(ctx, edge.TokenNamespace, name); err != nil {
			return tokensForbidden(err)
		}
	}
	if plan.Current == nil {
		return fmt.Errorf("no usable bootstrap token after creating one") // cannot happen: PlanTokens keeps a fresh token
	}
	p.token = plan.Current
	p.requeueAfter(plan.RequeueAfter)
	return nil
}

// tokenSecrets are the pool's token Secrets as the API server has them. They are read live, not
// from a cache: a token created a moment ago must not be made twice, and the operator may lack
// its kube-system Role (an OLM install before the admin applied it), where an informer would
// never sync; the pool then stalls with a reason (tokensForbidden). The watch on them
// (tokenWatch) only brings pools back when one changes.
func (r *Reconciler) tokenSecrets(ctx context.Context, pool string) ([]corev1.Secret, error) {
	list := &corev1.SecretList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(edge.TokenNamespace), client.MatchingLabels{v1alpha1.LabelEdgeCluster: pool}); err != nil {
		return nil, tokensForbidden(err)
	}
	return list.Items, nil
}

// tokensForbidden turns the API server's refusal to let the operator read or write Secrets in
// kube-system into a stall that says which Role is missing (looked at again every minute, or
// when the pool is annotated); other errors pass through.
func tokensForbidden(err error) error {
	if !apierrors.IsForbidden(err) {
		return err
	}
	return skeleton.StallOnUnwatched(v1alpha1.EdgeClusterReasonBootstrapTokensForbidden,
		"the operator may not manage bootstrap-token Secrets in %s (%v): bind the Role edgeforge-edgecluster-bootstrap-tokens "+
			"there to its ServiceAccount (an OLM install: apply bundle/kube-system-rbac.yaml; docs/install.md)",
		edge.TokenNamespace, apierrors.ReasonForError(err))
}

func (r *Reconciler) deleteSecret(ctx context.Context, namespace, name string) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := r.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s/%s: %w", namespace, name, err)
	}
	return nil
}
