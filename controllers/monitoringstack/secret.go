package monitoringstack

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// settleAdminSecret makes sure Grafana has admin credentials: the user's Secret
// (spec.grafana.adminCredentialsSecretRef) must exist with keys admin-user and admin-password;
// without one, a Secret with a random password is generated once and kept.
func (r *Reconciler) settleAdminSecret(ctx context.Context, p *pass) (skeleton.Result, error) {
	stack := p.stack
	g := monitoring.Effective(stack.Spec).Grafana
	if !g.Enabled {
		return skeleton.Result{}, nil
	}
	if ref := g.AdminCredentialsSecretRef; ref != nil {
		return skeleton.Result{}, r.checkUserSecret(ctx, stack, ref.Name)
	}
	return skeleton.Result{}, r.ensureGeneratedSecret(ctx, p)
}

// checkUserSecret reads the user's Secret from the API server (no cache holds Secret data) and
// checks that its keys are set; the values are not looked at. Secrets are not watched: a stalled
// stack looks again every skeleton.UnwatchedRecheck.
func (r *Reconciler) checkUserSecret(ctx context.Context, stack *v1alpha1.MonitoringStack, name string) error {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: stack.Namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return skeleton.StallOnUnwatched(v1alpha1.MonitoringStackReasonGrafanaAdminSecretMissing,
				"Secret %s/%s (spec.grafana.adminCredentialsSecretRef) does not exist: create it with keys %s and %s, "+
					"or remove the reference to have a password generated", stack.Namespace, name, monitoring.AdminUserKey, monitoring.AdminPasswordKey)
		}
		return err
	}
	for _, k := range []string{monitoring.AdminUserKey, monitoring.AdminPasswordKey} {
		if len(s.Data[k]) == 0 {
			return skeleton.StallOnUnwatched(v1alpha1.MonitoringStackReasonGrafanaAdminSecretInvalid,
				"Secret %s/%s (spec.grafana.adminCredentialsSecretRef) has no key %s: it needs %s and %s",
				stack.Namespace, name, k, monitoring.AdminUserKey, monitoring.AdminPasswordKey)
		}
	}
	return nil
}

// ensureGeneratedSecret creates the generated admin Secret when it does not exist. It is never
// updated, so the password stays what it was; deleting it makes a new one.
func (r *Reconciler) ensureGeneratedSecret(ctx context.Context, p *pass) error {
	stack := p.stack
	name := monitoring.NamesFor(stack).GrafanaAdminSecret()
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(monitoring.GVKSecret)
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: stack.Namespace, Name: name}, m)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	secret := monitoring.AdminSecret(stack, rand.Text())
	if err := r.Create(ctx, secret, client.FieldOwner(settings.FieldOwner)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil // made since the read above
		}
		return fmt.Errorf("creating Grafana's admin Secret %s/%s: %w", stack.Namespace, name, err)
	}
	p.patcher.Eventf(r.Recorder, stack, secret, corev1.EventTypeNormal, "AdminSecretGenerated", "Create",
		"Generated Grafana's admin credentials in Secret %s (keys %s, %s)", name, monitoring.AdminUserKey, monitoring.AdminPasswordKey)
	return nil
}
