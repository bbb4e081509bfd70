package edgecluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// reconcileBootstrapRBAC makes sure the ClusterRoleBindings bootstrap tokens need exist (the
// ones kubeadm creates, under edgeforge's names). They serve every pool, so any pool creates
// them and the last one deleted removes them.
func (r *Reconciler) reconcileBootstrapRBAC(ctx context.Context, p *pass) error {
	var created []string
	for _, want := range edge.BootstrapRBAC() {
		out, err := apply.New(r.Client, r.APIReader, settings.FieldOwner).Reconcile(ctx, p.ec, apply.Child{
			Live: &rbacv1.ClusterRoleBinding{}, Key: client.ObjectKey{Name: *want.Name}, Reader: r.Cache, Desired: want,
			Owned: func(live client.Object) bool { return live.GetLabels()[v1alpha1.LabelName] == edge.BootstrapRBACName },
		})
		if err != nil {
			return apply.AsStall(err, v1alpha1.EdgeClusterReasonChildRejected)
		}
		if out.Created {
			created = append(created, *want.Name)
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
	for _, name := range edge.BootstrapRBACBindingNames {
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
	ttl := p.ec.Spec.TokenTTL()
	secrets, err := r.tokenSecrets(ctx, p.ec.Name)
	if err != nil {
		return err
	}
	plan := edge.PlanTokens(secrets, ttl, p.now)
	if plan.Create {
		// The cache may lag behind a token created a moment ago: ask the API server before
		// making another one (a read only when a token is about to be created).
		live := &corev1.SecretList{}
		if err := r.APIReader.List(ctx, live, client.InNamespace(edge.TokenNamespace), client.MatchingLabels{v1alpha1.LabelEdgeCluster: p.ec.Name}); err != nil {
			return err
		}
		secrets = live.Items
		plan = edge.PlanTokens(secrets, ttl, p.now)
	}
	if plan.Create {
		tok, err := edge.NewToken(p.now, ttl)
		if err != nil {
			return err
		}
		if err := r.Apply(ctx, edge.TokenSecret(p.ec, tok), client.FieldOwner(settings.FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("creating bootstrap token Secret %s/%s: %w", edge.TokenNamespace, tok.SecretName(), err)
		}
		ctrl.LoggerFrom(ctx).Info("bootstrap token created", "tokenID", tok.ID, "expires", tok.Expiration, "rotation", plan.Rotation)
		if plan.Rotation {
			r.Recorder.Eventf(p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventTokenRotated, "RotateToken",
				"bootstrap token %s replaces the previous one; it expires at %s", tok.ID, tok.Expiration.Format(time.RFC3339))
		}
		plan = edge.PlanTokens(append(secrets, edge.TokenSecretObject(p.ec, tok)), ttl, p.now)
	}
	for _, name := range plan.Delete {
		if err := r.deleteSecret(ctx, edge.TokenNamespace, name); err != nil {
			return err
		}
	}
	if plan.Current == nil {
		return fmt.Errorf("no usable bootstrap token after creating one") // cannot happen: PlanTokens keeps a fresh token
	}
	p.token = plan.Current
	p.requeueAfter(plan.RequeueAfter)
	return nil
}

func (r *Reconciler) tokenSecrets(ctx context.Context, pool string) ([]corev1.Secret, error) {
	list := &corev1.SecretList{}
	if err := r.Cache.List(ctx, list, client.InNamespace(edge.TokenNamespace), client.MatchingLabels{v1alpha1.LabelEdgeCluster: pool}); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (r *Reconciler) deleteSecret(ctx context.Context, namespace, name string) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := r.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s/%s: %w", namespace, name, err)
	}
	return nil
}
