package monitoringstack

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// Two stacks cannot both run node-exporter on every node's port 9100: the older one runs it,
// the second runs none, is Ready without it and says whose it uses; when the first goes, the
// second starts its own.
func TestTwoStacksShareOneNodeExporter(t *testing.T) {
	nsA, nsB := newNamespace(t), newNamespace(t)
	first := newStack(t, nsA, "main", nil)
	waitExists(t, &appsv1.DaemonSet{}, nsA, monitoring.NamesFor(first).NodeExporter())
	time.Sleep(1100 * time.Millisecond) // creation timestamps have a resolution of one second
	second := newStack(t, nsB, "main", nil)
	nB := monitoring.NamesFor(second)

	waitExists(t, &appsv1.Deployment{}, nsB, nB.KubeStateMetrics())
	waitExists(t, &appsv1.Deployment{}, nsB, nB.Grafana())
	markStackParts(t, nsB, "main")
	s := waitCondition(t, nsB, "main", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonReady)
	if msg := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "node-exporter is the one of MonitoringStack "+nsA+"/main") {
		t.Errorf("Ready's message does not name the stack whose node-exporter is used: %s", msg)
	}
	if exists(t, &appsv1.DaemonSet{}, nsB, nB.NodeExporter()) {
		t.Fatal("the second stack runs a node-exporter too")
	}

	// The first stack goes: the second runs node-exporter now.
	deleteStack(t, nsA, "main")
	waitExists(t, &appsv1.DaemonSet{}, nsB, nB.NodeExporter())
	testenv.Eventually(t, timeout, "the second stack waiting for its own node-exporter", func() error {
		s := getStack(t, nsB, "main")
		ready := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
		return testenv.Expect(ready != nil && strings.Contains(ready.Message, "node-exporter: DaemonSet"), "Ready: %+v", ready)
	})
}
