package monitoringstack

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
)

// A user's ConfigMap with the name of the stack's grafana.ini is left alone: the stack stalls
// with ObjectExists, naming it, and the ConfigMap keeps its data.
func TestExistingConfigMapIsNotTakenOver(t *testing.T) {
	ns := newNamespace(t)
	n := monitoring.NamesFor(&v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "main"}})
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.GrafanaConfig()}, Data: map[string]string{"grafana.ini": "mine"}}
	if err := k8s.Create(ctx(t), theirs); err != nil {
		t.Fatal(err)
	}
	newStack(t, ns, "main", nil)
	s := waitCondition(t, ns, "main", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonObjectExists)
	if msg := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "ConfigMap "+ns+"/"+n.GrafanaConfig()) {
		t.Errorf("Ready's message should name the ConfigMap: %s", msg)
	}
	cm := &corev1.ConfigMap{}
	if !exists(t, cm, ns, n.GrafanaConfig()) || cm.Data["grafana.ini"] != "mine" || len(cm.OwnerReferences) != 0 {
		t.Fatalf("the ConfigMap was changed: %+v", cm)
	}
}
