package edgecluster

import (
	"context"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// reconcileServingCSRs approves the pending kubelet-serving CSRs of the pool's members that ask
// for what spec.servingCertificates allows and denies those that ask for more
// (spec.approveServingCSRs). Other CSRs (not a member's own) are left for other approvers.
func (r *Reconciler) reconcileServingCSRs(ctx context.Context, p *pass) error {
	if !p.ec.Spec.ApproveServingCSRs {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	list := &certificatesv1.CertificateSigningRequestList{}
	if err := r.Cache.List(ctx, list); err != nil { // kubelet CSRs, both signers (ServingCSRDecision checks)
		return err
	}
	for i := range list.Items {
		csr := &list.Items[i]
		nodeName := edge.CSRRequestor(csr)
		if nodeName == "" || !edge.CSRPending(csr) {
			continue
		}
		node := &corev1.Node{}
		if err := r.Cache.Get(ctx, types.NamespacedName{Name: nodeName}, node); err != nil {
			if !apierrors.IsNotFound(err) {
				return err
			}
			node = nil
		}
		if node != nil && edge.MemberOf(node) != p.ec.Name {
			continue // another pool's (or no pool's) node: not this pool's call
		}
		decision, why := edge.ServingCSRDecision(p.ec.Name, p.ec.Spec.ServingCertificates, csr, node)
		switch decision {
		case edge.LeaveAlone:
			log.V(1).Info("leaving kubelet-serving CSR alone", "csr", csr.Name, "node", nodeName, "reason", why)
		case edge.Deny:
			denied := csr.DeepCopy()
			denied.Status.Conditions = append(denied.Status.Conditions, edge.DeniedCondition(p.ec.Name, why))
			if err := r.SubResource("approval").Update(ctx, denied); err != nil {
				return fmt.Errorf("denying CSR %s: %w", csr.Name, err)
			}
			log.Info("denied kubelet-serving CSR", "csr", csr.Name, "node", nodeName, "reason", why)
			r.Recorder.Eventf(p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventServingCSRDenied, "DenyCSR",
				"denied kubelet-serving CSR %s of node %s: %s", csr.Name, nodeName, why)
		case edge.Approve:
			approved := csr.DeepCopy()
			approved.Status.Conditions = append(approved.Status.Conditions, edge.ApprovedCondition(p.ec.Name))
			if err := r.SubResource("approval").Update(ctx, approved); err != nil {
				return fmt.Errorf("approving CSR %s: %w", csr.Name, err)
			}
			log.Info("approved kubelet-serving CSR", "csr", csr.Name, "node", nodeName)
			r.Recorder.Eventf(p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventServingCSRApproved, "ApproveCSR",
				"approved kubelet-serving CSR %s of node %s: %s", csr.Name, nodeName, why)
		}
	}
	return nil
}
