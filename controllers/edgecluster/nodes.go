package edgecluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// reconcileNodes applies the node template to members (and takes it off nodes that left), then
// computes the pool's health, records membership and readiness events, and comes back when a
// NotReady member's grace period ends.
func (r *Reconciler) reconcileNodes(ctx context.Context, p *pass) error {
	nodes, err := r.poolNodes(ctx, p.ec.Name)
	if err != nil {
		return err
	}
	// What the pool applied before, and its template now: the taints it may take off.
	applied := edge.AppliedTaints(p.ec.Spec.NodeTemplate, p.ec.Status.AppliedTaints, nil)
	applied = append(applied, p.ec.Status.AppliedTaints...)
	var members []corev1.Node
	var work []nodeWork
	var unadmitted []string
	for i := range nodes {
		if p.admitted[nodes[i].Name] {
			// Admitted in this pass: the cache may not show the member label yet.
			nodes[i] = *edge.AsMember(&nodes[i], p.ec.Name)
		}
		n := &nodes[i]
		if edge.Unadmitted(p.ec.Name, n) {
			unadmitted = append(unadmitted, n.Name)
		}
		var plan edge.NodeTemplatePlan
		switch owner := edge.MemberOf(n); {
		case owner == p.ec.Name:
			members = append(members, *n)
			plan = edge.PlanNodeTemplate(p.ec.Name, p.ec.Spec.NodeTemplate, n, applied)
		case owner != "" && r.poolExists(ctx, owner):
			continue // moved to another pool: that pool applies its own template over this one
		default:
			plan = edge.PlanNodeTemplate("", nil, n, applied) // left the pool: take the template off
		}
		if !plan.Empty() {
			work = append(work, nodeWork{node: n, plan: plan})
		}
	}
	errs := r.applyNodeTemplates(ctx, work)
	// Nodes still recording an old taint keep it listed until the next pass has taken it off.
	p.ec.Status.AppliedTaints = edge.AppliedTaints(p.ec.Spec.NodeTemplate, applied, nodes)

	h := edge.EvaluateHealth(members, &p.ec.Spec, p.now)
	r.recordDisconnection(p, h)
	r.recordNodeEvents(p, h)
	r.recordUnadmitted(p, unadmitted)
	st := &p.ec.Status
	st.TotalNodes, st.ReadyNodes, st.MissingNodes, st.Ready = h.Total, h.Ready, h.Missing, h.ReadyColumn()
	st.Nodes, st.NodesOmitted = edge.ListedNodes(h.Nodes)
	st.Platforms = edge.Platforms(h.Nodes)
	setNodeGauge(p.ec.Name, h.Ready, h.Total-h.Ready)
	if !h.NextDeadline.IsZero() {
		p.requeueAfter(h.NextDeadline.Sub(p.now))
	}
	p.health = &h
	if len(errs) > 0 {
		return fmt.Errorf("applying the node template: %w", errs[0])
	}
	return nil
}

type nodeWork struct {
	node *corev1.Node
	plan edge.NodeTemplatePlan
}

// templateWorkers bounds the concurrent node writes of one reconcile: a new template on 1,000
// nodes is 1,000-2,000 requests, each mostly waiting on the API server.
const templateWorkers = 8

// applyNodeTemplates carries out the plans, a few nodes at a time, and returns the errors.
func (r *Reconciler) applyNodeTemplates(ctx context.Context, work []nodeWork) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, templateWorkers)
	)
	for _, w := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.applyNodeTemplate(ctx, w.node, w.plan); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// poolNodes are the pool's members and the nodes still carrying its template.
func (r *Reconciler) poolNodes(ctx context.Context, pool string) ([]corev1.Node, error) {
	list := &corev1.NodeList{}
	if err := r.Cache.List(ctx, list, client.MatchingFields{indexPool: pool}); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (r *Reconciler) poolExists(ctx context.Context, name string) bool {
	err := r.Get(ctx, types.NamespacedName{Name: name}, &v1alpha1.EdgeCluster{})
	return err == nil || !apierrors.IsNotFound(err) // when unsure, leave the node alone
}

// applyNodeTemplate carries out a plan on one node: the merged taint list with an
// optimistic-lock patch (taints are an atomic list: see edge.NodeTemplatePlan), then the labels
// and annotations with server-side apply under edge.FieldManager.
func (r *Reconciler) applyNodeTemplate(ctx context.Context, node *corev1.Node, plan edge.NodeTemplatePlan) error {
	if plan.Taints != nil {
		base := node.DeepCopy() // the cache shares its objects: never modify node itself
		mod := node.DeepCopy()
		mod.Spec.Taints = plan.Taints
		if err := r.Patch(ctx, mod, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(edge.FieldManager)); err != nil {
			return fmt.Errorf("node %s taints: %w", node.Name, err)
		}
	}
	if plan.Apply != nil {
		if err := r.applyNode(ctx, plan.Apply, client.FieldOwner(edge.FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("node %s labels and annotations: %w", node.Name, err)
		}
	}
	return nil
}

// applyNode server-side applies ac to an existing Node. A Node deleted meanwhile is not an error:
// an apply to a missing object is a create, which the operator may not do (Forbidden) and must
// not do; the node's watch event ends the matter. When the node cannot be read either (the
// operator is stopping, its context cancelled), that is the error: the refused create says
// nothing about the operator's permissions.
func (r *Reconciler) applyNode(ctx context.Context, ac *corev1ac.NodeApplyConfiguration, opts ...client.ApplyOption) error {
	err := r.Apply(ctx, ac, opts...)
	if err == nil || !(apierrors.IsForbidden(err) || apierrors.IsNotFound(err)) {
		return err
	}
	switch getErr := r.APIReader.Get(ctx, client.ObjectKey{Name: *ac.Name}, &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}}); {
	case apierrors.IsNotFound(getErr):
		return nil
	case getErr != nil:
		return fmt.Errorf("the node may be gone (its apply was refused) and could not be read: %w", getErr)
	}
	return err
}

// recordNodeEvents compares the new health with the last status and records what changed:
// NodeJoined, NodeLeft, NodeReady (a NotReady member is Ready again) and NodeNotReady (a member
// passed the grace period; once per NotReady episode).
// Events are recorded, and the episode memory updated, once the status is written.
func (r *Reconciler) recordNodeEvents(p *pass, h edge.PoolHealth) {
	ec := p.ec
	ch := edge.DiffNodes(ec.Status.Nodes, ec.Status.NodesOmitted, h.Nodes)
	if len(ch.Joined) > 0 {
		p.patcher.Eventf(r.Recorder, ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventNodeJoined, "Join",
			"%d node(s) joined the pool: %s", len(ch.Joined), edge.NameList(ch.Joined, 10))
	}
	if len(ch.Left) > 0 {
		p.patcher.Eventf(r.Recorder, ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventNodeLeft, "Leave",
			"%d node(s) left the pool: %s", len(ch.Left), edge.NameList(ch.Left, 10))
	}
	if len(ch.Recovered) > 0 {
		p.patcher.Eventf(r.Recorder, ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventNodeReady, "Recover",
			"%d node(s) Ready again: %s", len(ch.Recovered), edge.NameList(ch.Recovered, 10))
	}

	since := map[string]time.Time{}
	for _, n := range h.Nodes {
		if !n.Ready {
			since[n.Name] = n.NotReadySince.Time
		}
	}
	r.mu.Lock()
	seen := r.notified[ec.Name]
	r.mu.Unlock()
	next := map[string]time.Time{}
	var fresh []string
	for _, name := range h.Unhealthy {
		if t, ok := seen[name]; !ok || !t.Equal(since[name]) {
			fresh = append(fresh, name)
		}
		next[name] = since[name]
	}
	p.patcher.Announce(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.notified == nil {
			r.notified = map[string]map[string]time.Time{}
		}
		r.notified[ec.Name] = next
	})
	// While the pool is Disconnected, its Disconnected event speaks for the site, not one per node.
	if len(fresh) > 0 && ec.Status.DisconnectedSince == nil {
		p.patcher.Eventf(r.Recorder, ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventNodeNotReady, "Degrade",
			"%d node(s) NotReady for longer than %s: %s", len(fresh), edge.GracePeriod(&ec.Spec), edge.NameList(fresh, 10))
	}
}

// recordDisconnection keeps status.disconnectedSince and lastDisconnection, with one event when
// the pool becomes Disconnected and one when it is connected again, saying after how long.
func (r *Reconciler) recordDisconnection(p *pass, h edge.PoolHealth) {
	ch := edge.UpdateDisconnection(&p.ec.Status, h.Disconnected(&p.ec.Spec), p.now)
	switch {
	case ch.Began:
		d, forever := p.ec.Spec.DisconnectionTolerance()
		stay := "for " + d.String()
		if forever {
			stay = "with no limit"
		}
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventDisconnected, "Disconnect",
			"%s; the pool's app pods stay on their nodes %s (spec.autonomy.tolerateDisconnectionFor)", h.DisconnectedMessage(&p.ec.Spec), stay)
	case ch.Ended:
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeNormal, v1alpha1.EdgeClusterEventReconnected, "Reconnect",
			"the pool is connected again after %s (%d of %d member node(s) unreachable now)", ch.Away, h.Unreachable, h.Total)
	}
}

// maxUnadmittedListed caps status.unadmittedNodes.
const maxUnadmittedListed = 20

// recordUnadmitted writes status.unadmittedNodes (nodes claiming the pool by their own label
// without being members) and warns once about each newly seen one.
func (r *Reconciler) recordUnadmitted(p *pass, names []string) {
	slices.Sort(names)
	st := &p.ec.Status
	var fresh []string
	for _, n := range names {
		if !slices.Contains(st.UnadmittedNodes, n) {
			fresh = append(fresh, n)
		}
	}
	st.UnadmittedNodeCount = int32(len(names))
	st.UnadmittedNodes = nil
	if len(names) > 0 {
		st.UnadmittedNodes = slices.Clone(names[:min(len(names), maxUnadmittedListed)])
	}
	for _, n := range fresh[:min(len(fresh), 5)] {
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventNodeNotAdmitted, "Admit",
			"%s", edge.UnadmittedMessage(p.ec.Name, n))
	}
	if len(fresh) > 5 {
		p.patcher.Eventf(r.Recorder, p.ec, nil, corev1.EventTypeWarning, v1alpha1.EdgeClusterEventNodeNotAdmitted, "Admit",
			"%d more node(s) claim the pool without being members: %s", len(fresh)-5, edge.NameList(fresh[5:], 10))
	}
}
