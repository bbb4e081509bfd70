package skeleton

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// StallError is a problem only a human can fix (a missing reference, a spec admission should have
// rejected, a child the API server refuses). The object is marked Stalled with Reason and
// Message, and waits for a watched object or its spec to change.
type StallError struct {
	Reason  string
	Message string
	// RecheckAfter, for a stall whose end no watch reports (an object edgeforge does not cache
	// is in the way), looks again after this long instead of waiting for a watch event.
	RecheckAfter time.Duration
}

func (e *StallError) Error() string { return e.Message }

// Stall makes a StallError with a formatted message.
func Stall(reason, format string, args ...any) error {
	return &StallError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// UnwatchedRecheck is how soon an object stalled on an object edgeforge does not watch looks
// again: Secrets (least privilege: never listed or watched outside edgeforge's namespaces) and
// users' ConfigMaps (no cluster-wide cache a tenant could fill), so no event says one was fixed.
const UnwatchedRecheck = time.Minute

// StallOnUnwatched is a Stall that looks again after UnwatchedRecheck.
func StallOnUnwatched(reason, format string, args ...any) error {
	return &StallError{Reason: reason, Message: fmt.Sprintf(format, args...), RecheckAfter: UnwatchedRecheck}
}

// AsStall returns the StallError in err's chain, or nil.
func AsStall(err error) *StallError {
	var s *StallError
	if errors.As(err, &s) {
		return s
	}
	return nil
}

// MarkStalled sets Stalled=True and Ready=False with the stall's reason and message, and records
// a Warning event (once the status is written) when the problem is new: a pass that finds the
// same stall again records nothing.
func MarkStalled(obj Object, p *Patcher, rec events.EventRecorder, s *StallError) {
	conds := obj.StatusConditions()
	prev := meta.FindStatusCondition(*conds, v1alpha1.ConditionStalled)
	conditions.MarkStalled(conds, obj.GetGeneration(), s.Reason, s.Message)
	if prev == nil || prev.Status != metav1.ConditionTrue || prev.Reason != s.Reason || prev.Message != s.Message {
		p.Eventf(rec, obj, nil, corev1.EventTypeWarning, s.Reason, "Stalled", "%s", s.Message)
	}
}
