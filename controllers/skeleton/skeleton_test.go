package skeleton

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// terminating is the error the API server returns for a create in a namespace being deleted.
func terminating() error {
	err := apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "app", errors.New("namespace is terminating"))
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	return err
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	ok := func(context.Context, *[]string) (Result, error) { return Result{}, nil }
	wait := func(d time.Duration) Step[*[]string] {
		return func(context.Context, *[]string) (Result, error) { return Result{RequeueAfter: d}, nil }
	}
	fail := func(err error) Step[*[]string] {
		return func(context.Context, *[]string) (Result, error) { return Result{}, err }
	}
	stop := func(context.Context, *[]string) (Result, error) { return Result{Stop: true}, nil }

	for _, tc := range []struct {
		name      string
		steps     []Step[*[]string]
		ran       int // steps that ran
		completed bool
		stall     bool
		err       error
		requeue   time.Duration
		terminal  bool // the reconcile returns a terminal error
	}{
		{name: "all run", steps: []Step[*[]string]{ok, ok, ok}, ran: 3, completed: true},
		{name: "first error stops", steps: []Step[*[]string]{ok, fail(boom), ok}, ran: 2, err: boom},
		{name: "a stall stops and is terminal", steps: []Step[*[]string]{fail(Stall("Missing", "x %d", 1)), ok}, ran: 1, stall: true, terminal: true},
		{name: "a stall with a clock running requeues", steps: []Step[*[]string]{wait(time.Minute), fail(Stall("Missing", "x"))}, ran: 2, stall: true, requeue: time.Minute},
		{name: "a stall on a Secret looks again", steps: []Step[*[]string]{fail(StallOnUnwatched("Missing", "x")), ok}, ran: 1, stall: true, requeue: UnwatchedRecheck},
		{name: "stop ends without error", steps: []Step[*[]string]{stop, ok}, ran: 1},
		{name: "terminating namespace ends quietly", steps: []Step[*[]string]{fail(terminating()), ok}, ran: 1},
		{name: "shortest requeue wins", steps: []Step[*[]string]{wait(time.Hour), wait(time.Second), wait(time.Minute)}, ran: 3, completed: true, requeue: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			steps := make([]Step[*[]string], len(tc.steps))
			for i, s := range tc.steps {
				steps[i] = func(ctx context.Context, r *[]string) (Result, error) { *r = append(*r, "x"); return s(ctx, r) }
			}
			out := Run(context.Background(), &ran, steps...)
			if len(ran) != tc.ran {
				t.Errorf("%d steps ran, want %d", len(ran), tc.ran)
			}
			if out.Completed() != tc.completed || (out.Stall != nil) != tc.stall || !errors.Is(out.Err, tc.err) || out.RequeueAfter != tc.requeue {
				t.Errorf("outcome %+v", out)
			}
			res, err := out.Result()
			if got := err != nil && errors.Is(err, reconcile.TerminalError(nil)); got != tc.terminal {
				t.Errorf("Result() = %+v, %v; terminal %v, want %v", res, err, got, tc.terminal)
			}
			if res.RequeueAfter != tc.requeue {
				t.Errorf("Result().RequeueAfter = %s, want %s", res.RequeueAfter, tc.requeue)
			}
		})
	}
}
