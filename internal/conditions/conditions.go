// Package conditions keeps the kstatus trio Ready / Reconciling / Stalled consistent, so every
// kind tells one story: Ready summarises, Reconciling says work is in flight, Stalled says a
// human must act. Timestamps move only when a condition's status changes (meta.SetStatusCondition).
package conditions

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// MarkReady records that generation gen is fully realised: Ready=True, no Reconciling, no Stalled.
func MarkReady(conds *[]metav1.Condition, gen int64, reason, message string) {
	set(conds, v1alpha1.ConditionReady, metav1.ConditionTrue, gen, reason, message)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// MarkReconciling records that work for generation gen is in flight: Reconciling=True,
// Ready=False with the same reason and message, no Stalled.
func MarkReconciling(conds *[]metav1.Condition, gen int64, reason, message string) {
	set(conds, v1alpha1.ConditionReconciling, metav1.ConditionTrue, gen, reason, message)
	set(conds, v1alpha1.ConditionReady, metav1.ConditionFalse, gen, reason, message)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// MarkStalled records that the controller cannot progress until a human acts: Stalled=True,
// Ready=False with the same reason and message, no Reconciling.
func MarkStalled(conds *[]metav1.Condition, gen int64, reason, message string) {
	set(conds, v1alpha1.ConditionStalled, metav1.ConditionTrue, gen, reason, message)
	set(conds, v1alpha1.ConditionReady, metav1.ConditionFalse, gen, reason, message)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
}

// MarkNotReady records Ready=False without claiming work is in flight or that a human must act
// (e.g. a failed build that a new spec will retry). Reconciling and Stalled are removed.
func MarkNotReady(conds *[]metav1.Condition, gen int64, reason, message string) {
	set(conds, v1alpha1.ConditionReady, metav1.ConditionFalse, gen, reason, message)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
}

// Set sets any other condition (e.g. Degraded, RolledBack) for generation gen.
func Set(conds *[]metav1.Condition, condType string, status metav1.ConditionStatus, gen int64, reason, message string) {
	set(conds, condType, status, gen, reason, message)
}

func set(conds *[]metav1.Condition, condType string, status metav1.ConditionStatus, gen int64, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: condType, Status: status, ObservedGeneration: gen, Reason: reason, Message: message,
	})
}

// Health is how kstatus-style tools (Flux, Argo CD, kubectl wait) read an object.
type Health string

// Health values.
const (
	Current    Health = "Current"    // Ready=True for the current generation
	InProgress Health = "InProgress" // Reconciling=True, or the status is not yet for this generation
	Failed     Health = "Failed"     // Stalled=True
)

// Summarize computes the kstatus health of an object from its generation, status
// observedGeneration and conditions.
func Summarize(generation, observedGeneration int64, conds []metav1.Condition) Health {
	switch {
	case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionStalled):
		return Failed
	case observedGeneration != generation:
		return InProgress
	case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionReconciling):
		return InProgress
	case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionReady):
		return Current
	default:
		return InProgress
	}
}
