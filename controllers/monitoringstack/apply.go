package monitoringstack

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// applyChildren makes every child match the spec through the apply package: applied when what
// edgeforge owns of it differs from the render (so a field or key removed from the spec is
// removed from the child too), deleted when its component is disabled and it belongs to the
// stack. A reconcile of an unchanged stack sends no request at all.
func (r *Reconciler) applyChildren(ctx context.Context, p *pass) (skeleton.Result, error) {
	stacks := &v1alpha1.MonitoringStackList{}
	if err := r.List(ctx, stacks); err != nil {
		return skeleton.Result{}, err
	}
	p.obs.Cluster = monitoring.SharedBy(stacks.Items)
	if p.obs.Cluster.RunsNodeExporter(p.stack) {
		labels, err := pools.NamespaceLabels(ctx, r.Client, p.stack.Namespace)
		if err != nil {
			return skeleton.Result{}, err
		}
		if why := monitoring.NodeExporterForbidden(p.stack, labels); why != "" {
			return skeleton.Result{}, skeleton.Stall(v1alpha1.MonitoringStackReasonNodeExporterForbidden, "%s", why)
		}
	}
	objs, err := monitoring.Desired(p.stack, r.Options, p.obs.Cluster)
	if err != nil {
		return skeleton.Result{}, err
	}
	for _, o := range objs {
		if _, err := r.reconcileChild(ctx, p.stack, o); err != nil {
			return skeleton.Result{}, err
		}
	}
	return skeleton.Result{}, nil
}

// reconcileChild applies or deletes one child. A child the API server refuses stalls the stack
// with the server's message.
func (r *Reconciler) reconcileChild(ctx context.Context, stack *v1alpha1.MonitoringStack, o monitoring.Object) (apply.Outcome, error) {
	c := apply.Child{
		Key:    types.NamespacedName{Namespace: o.Namespace, Name: o.Name},
		Reader: r.reader(o.GVK),
		Owned:  func(live client.Object) bool { return belongsTo(live, stack) },
	}
	if o.Apply != nil {
		c.Desired = o.Apply
	}
	if o.GVK == monitoring.GVKSecret {
		// Secrets are only watched as metadata (never cached in full); the generated one is
		// only ever deleted here (secret.go creates it).
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(o.GVK)
		c.Live = m
	} else {
		obj, err := r.Scheme.New(o.GVK)
		if err != nil {
			return apply.Outcome{}, err
		}
		c.Live = obj.(client.Object)
	}
	out, err := apply.New(r.Client, r.APIReader, settings.FieldOwner).Reconcile(ctx, stack, c)
	if apierrors.IsForbidden(err) {
		return out, skeleton.Stall(v1alpha1.MonitoringStackReasonChildRejected, "%s", err.Error())
	}
	return out, apply.AsStall(err, v1alpha1.MonitoringStackReasonChildRejected)
}

// get reads o's current state from the cache that holds its kind; nil when absent.
func (r *Reconciler) get(ctx context.Context, o monitoring.Object) (client.Object, error) {
	obj, err := r.Scheme.New(o.GVK)
	if err != nil {
		return nil, err
	}
	co := obj.(client.Object)
	if err := r.reader(o.GVK).Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return co, nil
}

// belongsTo: a namespaced child is owned by the stack, a cluster-scoped one labelled with it.
func belongsTo(obj client.Object, stack *v1alpha1.MonitoringStack) bool {
	if obj.GetNamespace() == "" {
		l := obj.GetLabels()
		return l[v1alpha1.LabelMonitoringStack] == stack.Name && l[monitoring.LabelStackNamespace] == stack.Namespace
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == stack.UID {
			return true
		}
	}
	return false
}
