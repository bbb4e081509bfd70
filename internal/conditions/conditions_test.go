package conditions

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestTransitionsTellOneStory(t *testing.T) {
	var conds []metav1.Condition
	MarkReconciling(&conds, 1, "Progressing", "rolling out")
	assertStatus(t, conds, map[string]metav1.ConditionStatus{"Ready": "False", "Reconciling": "True", "Stalled": ""})
	if got := Summarize(1, 1, conds); got != InProgress {
		t.Errorf("health = %s, want InProgress", got)
	}

	MarkStalled(&conds, 1, "MissingSecret", "Secret regcred not found")
	assertStatus(t, conds, map[string]metav1.ConditionStatus{"Ready": "False", "Reconciling": "", "Stalled": "True"})
	if got := Summarize(1, 1, conds); got != Failed {
		t.Errorf("health = %s, want Failed", got)
	}
	if r := meta.FindStatusCondition(conds, v1alpha1.ConditionReady); r.Reason != "MissingSecret" || r.Message != "Secret regcred not found" {
		t.Errorf("Ready does not carry the stall reason: %+v", r)
	}

	MarkReady(&conds, 2, "Succeeded", "done")
	assertStatus(t, conds, map[string]metav1.ConditionStatus{"Ready": "True", "Reconciling": "", "Stalled": ""})
	if got := Summarize(2, 2, conds); got != Current {
		t.Errorf("health = %s, want Current", got)
	}
	if got := Summarize(3, 2, conds); got != InProgress {
		t.Errorf("health for a newer generation = %s, want InProgress", got)
	}

	MarkNotReady(&conds, 3, "BuildFailed", "build failed")
	assertStatus(t, conds, map[string]metav1.ConditionStatus{"Ready": "False", "Reconciling": "", "Stalled": ""})
}

func TestTimestampMovesOnlyOnStatusChange(t *testing.T) {
	var conds []metav1.Condition
	MarkReady(&conds, 1, "A", "a")
	first := meta.FindStatusCondition(conds, "Ready").LastTransitionTime
	first.Time = first.Add(-3600e9) // pretend it was an hour ago
	conds[0].LastTransitionTime = first
	MarkReady(&conds, 2, "B", "b")
	if got := meta.FindStatusCondition(conds, "Ready"); !got.LastTransitionTime.Equal(&first) || got.ObservedGeneration != 2 || got.Reason != "B" {
		t.Errorf("same status must keep the transition time but update the rest: %+v", got)
	}
	MarkStalled(&conds, 2, "C", "c")
	if got := meta.FindStatusCondition(conds, "Ready"); got.LastTransitionTime.Equal(&first) {
		t.Errorf("a status change must move the transition time")
	}
}

func assertStatus(t *testing.T, conds []metav1.Condition, want map[string]metav1.ConditionStatus) {
	t.Helper()
	for typ, w := range want {
		c := meta.FindStatusCondition(conds, typ)
		switch {
		case w == "" && c != nil:
			t.Errorf("%s present (%s), want absent", typ, c.Status)
		case w != "" && (c == nil || c.Status != w):
			t.Errorf("%s = %v, want %s", typ, c, w)
		}
	}
}
