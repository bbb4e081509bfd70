package monitoring

import (
	"fmt"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

var edgeforgeMade = map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}

// A Prometheus picks monitors as prometheus-operator does: nil label selector none, {} all;
// nil namespace selector its own namespace, {} all, otherwise by the namespace's labels.
func TestSelectionSelects(t *testing.T) {
	all, team := &metav1.LabelSelector{}, &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	prom := func(sel, nsSel *metav1.LabelSelector) Selection {
		return SelectionOf(&monitoringv1.Prometheus{
			ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "p"},
			Spec: monitoringv1.PrometheusSpec{CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				ServiceMonitorSelector: sel, ServiceMonitorNamespaceSelector: nsSel,
				PodMonitorSelector: sel, PodMonitorNamespaceSelector: nsSel,
			}},
		})
	}
	here := Monitor{Kind: KindServiceMonitor, Namespace: "monitoring", Name: "m", Labels: map[string]string{"team": "a"}}
	there := Monitor{Kind: KindPodMonitor, Namespace: "shop", Name: "m", Labels: map[string]string{"team": "b"}}
	for _, tc := range []struct {
		name     string
		sel      Selection
		m        Monitor
		nsLabels map[string]string
		want     bool
		why      string
	}{
		{"nil selector selects none", prom(nil, nil), here, nil, false, "selects no ServiceMonitors"},
		{"{} in its own namespace", prom(all, nil), here, nil, true, ""},
		{"nil namespace selector: own namespace only", prom(all, nil), there, nil, false, "watches only namespace monitoring"},
		{"{} namespace selector: every namespace", prom(all, all), there, nil, true, ""},
		{"namespace labels match", prom(all, team), there, map[string]string{"team": "a"}, true, ""},
		{"namespace labels do not match", prom(all, team), there, map[string]string{"team": "b"}, false, "watches namespaces matching team=a"},
		{"monitor labels match", prom(team, nil), here, nil, true, ""},
		{"monitor labels do not match", prom(team, all), there, nil, false, "selects PodMonitors labelled team=a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := tc.sel.Selects(tc.m, tc.nsLabels)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Fatalf("Selects = %v, %q; want %v, %q", got, why, tc.want, tc.why)
			}
			if !got && !strings.Contains(why, "Prometheus monitoring/p") {
				t.Fatalf("reason %q does not name the Prometheus", why)
			}
		})
	}
}

// status.prometheus: the monitors in reach the stack selects, the edgeforge-made ones it does
// not (with the reason), nothing outside its reach, capped lists with true totals.
func TestMonitors(t *testing.T) {
	mons := []Monitor{
		{Kind: KindServiceMonitor, Namespace: "monitoring", Name: "user", Labels: map[string]string{"team": "a"}},
		{Kind: KindServiceMonitor, Namespace: "monitoring", Name: "app", Labels: edgeforgeMade},
		{Kind: KindPodMonitor, Namespace: "monitoring", Name: "other-team", Labels: map[string]string{"team": "b"}},
		{Kind: KindServiceMonitor, Namespace: "shop", Name: "web", Labels: edgeforgeMade},
		{Kind: KindServiceMonitor, Namespace: "shop", Name: "mine", Labels: map[string]string{"team": "a"}},
	}
	noLabels := func(string) map[string]string { return nil }
	ref := func(kind, ns, name string) string { return kind + " " + ns + "/" + name }
	names := func(ms MonitorStatus) (sel, ign []string) {
		for _, m := range ms.Selected {
			sel = append(sel, ref(m.Kind, m.Namespace, m.Name))
		}
		for _, m := range ms.Ignored {
			ign = append(ign, ref(m.Kind, m.Namespace, m.Name))
		}
		return sel, ign
	}
	for _, tc := range []struct {
		name         string
		scope        v1alpha1.MonitoringScope
		sel          *metav1.LabelSelector
		wantSel      string
		wantIgnored  string
		reasonSubstr string
	}{
		{"namespace scope, default selector: everything in its namespace", v1alpha1.MonitoringScopeNamespace, nil,
			"[PodMonitor monitoring/other-team ServiceMonitor monitoring/app ServiceMonitor monitoring/user]", "[]", ""},
		{"namespace scope, team selector: the app's monitor ignored, the other team's not listed", v1alpha1.MonitoringScopeNamespace,
			&metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			"[ServiceMonitor monitoring/user]", "[ServiceMonitor monitoring/app]", "spec.prometheus.serviceMonitorSelector (team=a)"},
		{"cluster scope, default selector: every namespace", v1alpha1.MonitoringScopeCluster, nil,
			"[PodMonitor monitoring/other-team ServiceMonitor monitoring/app ServiceMonitor monitoring/user ServiceMonitor shop/mine ServiceMonitor shop/web]", "[]", ""},
		{"cluster scope, team selector", v1alpha1.MonitoringScopeCluster, &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			"[ServiceMonitor monitoring/user ServiceMonitor shop/mine]", "[ServiceMonitor monitoring/app ServiceMonitor shop/web]", "do not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stack(func(s *v1alpha1.MonitoringStackSpec) {
				s.Scope = tc.scope
				s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: tc.sel}
			})
			ms := Monitors(s, mons, noLabels)
			sel, ign := names(ms)
			if fmt.Sprint(sel) != tc.wantSel || fmt.Sprint(ign) != tc.wantIgnored {
				t.Fatalf("selected %v, ignored %v; want %s, %s", sel, ign, tc.wantSel, tc.wantIgnored)
			}
			if int(ms.SelectedCount) != len(sel) || int(ms.IgnoredCount) != len(ign) {
				t.Fatalf("counts %d/%d, lists %d/%d", ms.SelectedCount, ms.IgnoredCount, len(sel), len(ign))
			}
			for _, m := range ms.Ignored {
				if !strings.Contains(m.Reason, tc.reasonSubstr) {
					t.Fatalf("reason %q lacks %q", m.Reason, tc.reasonSubstr)
				}
			}
		})
	}

	t.Run("a monitor reading files of the Prometheus pod is not selected: prometheus-operator drops it", func(t *testing.T) {
		tenant := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "steal", Labels: map[string]string{"team": "a"}},
			Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "web"},
				{Port: "x", BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"}}}}
		keyFile := monitoringv1.Endpoint{Port: "x"}
		keyFile.TLSConfig = &monitoringv1.TLSConfig{TLSFilesConfig: monitoringv1.TLSFilesConfig{KeyFile: "/etc/prometheus/secrets/key"}}
		tlsFiles := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "tls", Labels: edgeforgeMade},
			Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{keyFile}}}
		var ms []Monitor
		for _, sm := range []*monitoringv1.ServiceMonitor{tenant, tlsFiles} {
			// As the cache holds them: trimmed, and still telling.
			trimmed, err := TrimMonitor(sm)
			if err != nil {
				t.Fatal(err)
			}
			tsm := trimmed.(*monitoringv1.ServiceMonitor)
			if tsm.Spec.Endpoints[0].Port != "" || len(tsm.Annotations) > 0 {
				t.Fatalf("TrimMonitor kept more than identity, labels and file accesses: %+v", tsm)
			}
			ms = append(ms, Monitor{Kind: KindServiceMonitor, Namespace: sm.Namespace, Name: sm.Name, Labels: sm.Labels, FileAccess: ServiceMonitorFileAccess(tsm)})
		}
		st := Monitors(stack(nil), ms, noLabels)
		if st.SelectedCount != 0 || st.IgnoredCount != 1 || st.Ignored[0].Name != "tls" || !strings.Contains(st.Ignored[0].Reason, "tlsConfig reads files") {
			t.Fatalf("selected %v, ignored %+v: want none selected, the edgeforge-made one ignored for its files", st.Selected, st.Ignored)
		}
		if why := ms[0].FileAccess; !strings.Contains(why, "bearer token file") {
			t.Fatalf("bearerTokenFile: %q", why)
		}
	})

	t.Run("lists are capped, counts are not", func(t *testing.T) {
		var many []Monitor
		for i := range v1alpha1.MaxListedMonitors + 20 {
			many = append(many, Monitor{Kind: KindServiceMonitor, Namespace: "monitoring", Name: fmt.Sprintf("m%03d", i)})
		}
		ms := Monitors(stack(nil), many, noLabels)
		if len(ms.Selected) != v1alpha1.MaxListedMonitors || int(ms.SelectedCount) != len(many) || ms.Selected[0].Name != "m000" {
			t.Fatalf("listed %d (first %v), count %d", len(ms.Selected), ms.Selected[0], ms.SelectedCount)
		}
	})
}

// An app's ServiceMonitor: who selects it, or why nobody does and what would.
func TestSelectedBy(t *testing.T) {
	m := Monitor{Kind: KindServiceMonitor, Namespace: "shop", Name: "web", Labels: edgeforgeMade}
	nsStack := func(ns string, sel *metav1.LabelSelector, scope v1alpha1.MonitoringScope) Selection {
		s := stack(func(s *v1alpha1.MonitoringStackSpec) {
			s.Scope = scope
			s.Prometheus = &v1alpha1.PrometheusSpec{ServiceMonitorSelector: sel}
		})
		s.Namespace = ns
		return SelectionOf(PrometheusCR(s, ""))
	}
	by, why := SelectedBy(m, nil, nil)
	if by != nil || !strings.Contains(why, "there is no Prometheus") || !strings.Contains(why, "MonitoringStack in namespace shop") {
		t.Fatalf("no Prometheus: %v, %q", by, why)
	}
	by, why = SelectedBy(m, nil, []Selection{nsStack("monitoring", nil, v1alpha1.MonitoringScopeNamespace)})
	if by != nil || !strings.Contains(why, "watches only namespace monitoring") {
		t.Fatalf("a stack elsewhere: %v, %q", by, why)
	}
	by, _ = SelectedBy(m, nil, []Selection{nsStack("shop", nil, v1alpha1.MonitoringScopeNamespace)})
	if fmt.Sprint(by) != "[Prometheus shop/main]" {
		t.Fatalf("a stack in the monitor's namespace: %v", by)
	}
	by, _ = SelectedBy(m, nil, []Selection{nsStack("monitoring", nil, v1alpha1.MonitoringScopeCluster), nsStack("shop", &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}, v1alpha1.MonitoringScopeNamespace)})
	if fmt.Sprint(by) != "[Prometheus monitoring/main]" {
		t.Fatalf("a Cluster-scoped stack: %v", by)
	}
}
