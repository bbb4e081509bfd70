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

// reconcileServingCSRs approves pending kubelet-serving CSRs of the pool's members whose names
// and addresses are the node's own (spec.approveServingCSRs). Anything else is left for other
// approvers or a human: edgeforge never denies.
func (r *Reconciler) reconcileServingCSRs(ctx context.Context, p *pass) error {
	if !p.ec.Spec.ApproveServingCSRs {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	list := &certificatesv1.CertificateSigningRequestList{}
	if err := r.Cache.List(ctx, list); err != nil { // the cache holds kubelet-serving CSRs only
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
		ok, why := edge.ServingCSRDecision(p.ec.Name, csr, node)
		if !ok {
			log.V(1).Info("leaving kubelet-serving CSR alone", "csr", csr.Name, "node", nodeName, "reason", why)
			continue
		}
		approved := csr.DeepCopy()
		approved.Status.Conditions = append(approved.Status.Conditions, edge.ApprovedCondition(p.ec.Name))
		if err := r.SubResource("approval").Update(ctx, approved); err != nil {
			return fmt.Errorf("approving CSR %s: %w", csr.Name, err)
		}
		log.Info("approved kubelet-serving CSR", "csr", csr.Name, "node", nodeName)
		r.Recorder.Eventf(p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventServingCSRApproved, "ApproveCSR",
			"approved kubelet-serving CSR %s of node %s: %s", csr.Name, nodeName, why)
	}
	return nil
}
