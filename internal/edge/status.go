package edge

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// Pass is what one reconcile of a pool found, for Summarize.
type Pass struct {
	// Health is the pool's health; nil when the nodes could not be read.
	Health *PoolHealth
	// Join is the rendered join commands; nil when they could not be made.
	Join *JoinResult
	// Err is the error that ended the pass early, if any.
	Err error
	// Stalled: the pass stalled and Stalled/Ready were already set.
	Stalled bool
}

// Summarize sets the pool's conditions from a pass: Degraded from the node health, and Ready:
//   - stalled: left as the stall set it;
//   - an error, or health or join commands not known yet: Reconciling, with the error (a
//     conflict only means a cached object was a moment old, and the retry follows at once: it
//     does not deserve its own message);
//   - fewer Ready members than spec.minReadyNodes: Ready=False, NotEnoughReadyNodes;
//   - otherwise Ready=True, PoolReady, naming missing nodes and join methods without a command.
func Summarize(ec *v1alpha1.EdgeCluster, p Pass) {
	conds, gen := &ec.Status.Conditions, ec.Generation
	if h := p.Health; h != nil {
		status, reason := metav1.ConditionFalse, v1alpha1.EdgeClusterReasonConnected
		if h.Disconnected(&ec.Spec) {
			status, reason = metav1.ConditionTrue, v1alpha1.EdgeClusterReasonNodesUnreachable
		}
		conditions.Set(conds, v1alpha1.ConditionDisconnected, status, gen, reason, h.DisconnectedMessage(&ec.Spec))
		grace := GracePeriod(&ec.Spec)
		if msg := h.DegradedMessage(grace); msg != "" {
			conditions.Set(conds, v1alpha1.ConditionDegraded, metav1.ConditionTrue, gen, v1alpha1.EdgeClusterReasonNodesNotReady, msg)
		} else {
			conditions.Set(conds, v1alpha1.ConditionDegraded, metav1.ConditionFalse, gen, v1alpha1.EdgeClusterReasonNodesHealthy,
				fmt.Sprintf("no member node has been NotReady for longer than %s", grace))
		}
	}
	if p.Join != nil {
		setJoinReady(ec, p.Join)
	}
	err := p.Err
	if apierrors.IsConflict(err) {
		err = nil
	}
	switch {
	case p.Stalled:
	case err != nil || p.Health == nil || p.Join == nil:
		msg := "working on the join token, join commands and node template"
		if err != nil {
			msg = "retrying after an error: " + err.Error()
		}
		conditions.MarkReconciling(conds, gen, v1alpha1.EdgeClusterReasonProgressing, msg)
	case p.Health.Ready < MinReadyNodes(&ec.Spec):
		conditions.MarkNotReady(conds, gen, v1alpha1.EdgeClusterReasonNotEnoughReadyNodes,
			fmt.Sprintf("%d of %d member node(s) Ready, spec.minReadyNodes is %d%s", p.Health.Ready, p.Health.Total,
				MinReadyNodes(&ec.Spec), readySuffix(p)))
	default:
		conditions.MarkReady(conds, gen, v1alpha1.EdgeClusterReasonPoolReady,
			fmt.Sprintf("%d of %d member node(s) Ready (minimum %d)%s", p.Health.Ready, p.Health.Total,
				MinReadyNodes(&ec.Spec), readySuffix(p)))
	}
}

// readySuffix adds missing nodes and join methods that cannot be used to the Ready message.
func readySuffix(p Pass) string {
	var parts []string
	if p.Health.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of spec.expectedNodes missing", p.Health.Missing))
	}
	if notReady := p.Join.NotReady(); len(notReady) > 0 {
		parts = append(parts, fmt.Sprintf("no join command for %s (see status.join.methods)", strings.Join(notReady, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// setJoinReady: JoinReady=True when at least one requested method has a command (naming the
// others and why they cannot work), False with every method's reason when none has.
func setJoinReady(ec *v1alpha1.EdgeCluster, join *JoinResult) {
	var usable, unusable []string
	for _, m := range join.Methods {
		if m.Ready {
			usable = append(usable, string(m.Method))
		} else {
			unusable = append(unusable, fmt.Sprintf("%s: %s", m.Method, m.Message))
		}
	}
	conds, gen := &ec.Status.Conditions, ec.Generation
	if len(usable) == 0 {
		conditions.Set(conds, v1alpha1.ConditionJoinReady, metav1.ConditionFalse, gen, v1alpha1.EdgeClusterReasonNoUsableJoinMethod,
			"none of spec.join.methods can work on this cluster: "+strings.Join(unusable, "; "))
		return
	}
	msg := fmt.Sprintf("join commands for %s in Secret %s", strings.Join(usable, ", "), JoinSecretName(ec.Name))
	if len(unusable) > 0 {
		msg += "; not usable here: " + strings.Join(unusable, "; ")
	}
	conditions.Set(conds, v1alpha1.ConditionJoinReady, metav1.ConditionTrue, gen, v1alpha1.EdgeClusterReasonJoinCommandsReady, msg)
}
