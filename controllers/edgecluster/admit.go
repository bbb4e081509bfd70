package edgecluster

import (
	"context"
	"fmt"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// membershipFieldManager owns the member label edgeforge sets on admitted nodes; kept apart from
// the node template's manager so that neither apply drops the other's fields.
const membershipFieldManager = "edgeforge-membership"

// registrationWait is how long after its client certificate was approved a node is waited for:
// the kubelet registers its Node right after it has the certificate.
const registrationWait = 10 * time.Minute

// admitJoinedNodes makes members of the nodes whose kubelets joined with this pool's bootstrap
// token: an approved client CSR whose requestor carries the pool's auth group (edge.ClientCSRPool)
// names the node, and the node gets the member label, which kubelets cannot set themselves.
func (r *Reconciler) admitJoinedNodes(ctx context.Context, p *pass) error {
	list := &certificatesv1.CertificateSigningRequestList{}
	if err := r.Cache.List(ctx, list); err != nil {
		return err
	}
	for i := range list.Items {
		csr := &list.Items[i]
		name, pool, ok := edge.ClientCSRPool(csr)
		if !ok || pool != p.ec.Name {
			continue
		}
		if edge.CSRPending(csr) {
			if err := r.decideClientCSR(ctx, p, csr, name); err != nil {
				return err
			}
		}
		if !edge.CSRApproved(csr) {
			continue
		}
		node := &corev1.Node{}
		if err := r.Cache.Get(ctx, types.NamespacedName{Name: name}, node); err != nil {
			if !apierrors.IsNotFound(err) {
				return err
			}
			// Not registered yet: its Node event brings the pool back only if the node claims
			// it by label, so look again shortly while the registration may still come.
			if p.now.Sub(csr.CreationTimestamp.Time) < registrationWait {
				p.requeueAfter(5 * time.Second)
			}
			continue
		}
		a := edge.AdmitJoined(p.ec.Name, node)
		if a.Conflict != "" {
			p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventNodeNotAdmitted, "Admit", "%s", a.Conflict)
			continue
		}
		if !a.Admit {
			continue
		}
		ac := corev1ac.Node(name).WithLabels(map[string]string{v1alpha1.LabelEdgeClusterMember: p.ec.Name})
		if err := r.applyNode(ctx, ac, client.FieldOwner(membershipFieldManager)); err != nil {
			return fmt.Errorf("admitting node %s: %w", name, err)
		}
		p.admit(name)
		ctrl.LoggerFrom(ctx).Info("admitted node", "node", name, "csr", csr.Name)
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventNodeAdmitted, "Admit",
			"node %s joined with the pool's bootstrap token (CSR %s): labelled %s=%s", name, csr.Name, v1alpha1.LabelEdgeClusterMember, p.ec.Name)
	}
	return nil
}

// decideClientCSR approves or denies a pending client CSR of the pool's token (edge.ClientCSRDecision):
// nothing else approves them (no binding gives edgeforge's tokens kube-controller-manager's
// automatic approval), so a token cannot take an existing node's name. The Node is read from the
// API server, not the cache, so a node registered a moment ago is not mistaken for a new one.
// On approval csr is updated in place (its node is admitted once it registers).
func (r *Reconciler) decideClientCSR(ctx context.Context, p *pass, csr *certificatesv1.CertificateSigningRequest, name string) error {
	node := &corev1.Node{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, node); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		node = nil
	}
	decision, why := edge.ClientCSRDecision(p.ec.Name, csr, node)
	var cond certificatesv1.CertificateSigningRequestCondition
	switch decision {
	case edge.Approve:
		cond = edge.ClientApprovedCondition(p.ec.Name, why)
	case edge.Deny:
		cond = edge.ClientDeniedCondition(p.ec.Name, why)
	default:
		return nil
	}
	decided := csr.DeepCopy()
	decided.Status.Conditions = append(decided.Status.Conditions, cond)
	if err := r.SubResource("approval").Update(ctx, decided); err != nil {
		return fmt.Errorf("deciding node client CSR %s: %w", csr.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("decided node client CSR", "csr", csr.Name, "node", name, "decision", cond.Type, "reason", why)
	if decision == edge.Deny {
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventNodeClientCSRDenied, "DenyCSR",
			"denied node client CSR %s: %s", csr.Name, why)
		return nil
	}
	*csr = *decided
	return nil
}

// releaseMembers takes the member label off the nodes edgeforge admitted to the pool (those an
// admin labelled keep it: edgeforge does not own their label).
func (r *Reconciler) releaseMembers(ctx context.Context, nodes []corev1.Node, pool string) error {
	for i := range nodes {
		if edge.MemberOf(&nodes[i]) != pool {
			continue
		}
		// An empty apply by the membership manager drops the fields it owns, nothing else.
		if err := r.applyNode(ctx, corev1ac.Node(nodes[i].Name), client.FieldOwner(membershipFieldManager)); err != nil {
			return fmt.Errorf("releasing node %s: %w", nodes[i].Name, err)
		}
	}
	return nil
}
