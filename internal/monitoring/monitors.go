package monitoring

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Which Prometheus selects which monitor, decided the way prometheus-operator decides it: a
// Prometheus picks a ServiceMonitor (PodMonitor) when its serviceMonitorSelector
// (podMonitorSelector) matches the monitor's labels, a nil selector matching nothing and {}
// everything, and its serviceMonitorNamespaceSelector (podMonitorNamespaceSelector) matches the
// monitor's namespace, a nil selector meaning the Prometheus' own namespace only.

// Monitor kinds.
const (
	KindServiceMonitor = monitoringv1.ServiceMonitorsKind
	KindPodMonitor     = monitoringv1.PodMonitorsKind
)

// Monitor is what selection needs of a ServiceMonitor or PodMonitor (its metadata).
type Monitor struct {
	Kind      string
	Namespace string
	Name      string
	Labels    map[string]string
	// FileAccess says why prometheus-operator refuses the monitor for a Prometheus with
	// arbitraryFSAccessThroughSMs.deny (every stack's): an endpoint reads a file of the
	// Prometheus pod (ServiceMonitorFileAccess); "" when it does not.
	FileAccess string
}

// ServiceMonitorFileAccess says why prometheus-operator drops sm from a Prometheus that denies
// arbitrary file system access through ServiceMonitors (as it checks: an endpoint's
// bearerTokenFile, or a tlsConfig caFile, certFile or keyFile), or "".
func ServiceMonitorFileAccess(sm *monitoringv1.ServiceMonitor) string {
	for i, e := range sm.Spec.Endpoints {
		//nolint:staticcheck // the deprecated field is exactly what is checked
		if e.BearerTokenFile != "" {
			return fmt.Sprintf("endpoint %d reads a bearer token file, which the stack's Prometheus forbids (arbitraryFSAccessThroughSMs.deny): use bearerTokenSecret or authorization", i)
		}
		if t := e.TLSConfig; t != nil && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
			return fmt.Sprintf("endpoint %d's tlsConfig reads files (caFile, certFile or keyFile), which the stack's Prometheus forbids (arbitraryFSAccessThroughSMs.deny): use the ca, cert and keySecret fields", i)
		}
	}
	return ""
}

// TrimMonitor is the cache transform of the monitors the operator watches: identity and labels,
// and of a ServiceMonitor only the endpoints' file accesses (ServiceMonitorFileAccess), which is
// all selection reads. A cluster's monitors then cost a few hundred bytes each.
func TrimMonitor(in any) (any, error) {
	switch m := in.(type) {
	case *monitoringv1.ServiceMonitor:
		out := &monitoringv1.ServiceMonitor{ObjectMeta: trimmedMeta(m.ObjectMeta)}
		for _, e := range m.Spec.Endpoints {
			var kept monitoringv1.Endpoint
			kept.BearerTokenFile = e.BearerTokenFile //nolint:staticcheck // see ServiceMonitorFileAccess
			if t := e.TLSConfig; t != nil && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
				kept.TLSConfig = &monitoringv1.TLSConfig{TLSFilesConfig: monitoringv1.TLSFilesConfig{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile}}
			}
			out.Spec.Endpoints = append(out.Spec.Endpoints, kept)
		}
		return out, nil
	case *monitoringv1.PodMonitor:
		return &monitoringv1.PodMonitor{ObjectMeta: trimmedMeta(m.ObjectMeta)}, nil
	}
	return in, nil
}

func trimmedMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, Labels: m.Labels, DeletionTimestamp: m.DeletionTimestamp}
}

func (m Monitor) String() string { return fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name) }

// MadeByEdgeforge: the monitor carries edgeforge's managed-by label (an AppDeployment's, a
// stack's own, the operator's).
func (m Monitor) MadeByEdgeforge() bool {
	return m.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue
}

// Selection is how one Prometheus picks monitors of both kinds.
type Selection struct {
	// Owner names the Prometheus in messages, e.g. "Prometheus monitoring/main".
	Owner string
	// Namespace of the Prometheus.
	Namespace string
	// Monitors and Namespaces per kind (KindServiceMonitor, KindPodMonitor).
	Monitors   map[string]*metav1.LabelSelector
	Namespaces map[string]*metav1.LabelSelector
}

// SelectionOf is the selection of a Prometheus object.
func SelectionOf(p *monitoringv1.Prometheus) Selection {
	return Selection{
		Owner:     fmt.Sprintf("Prometheus %s/%s", p.Namespace, p.Name),
		Namespace: p.Namespace,
		Monitors: map[string]*metav1.LabelSelector{
			KindServiceMonitor: p.Spec.ServiceMonitorSelector, KindPodMonitor: p.Spec.PodMonitorSelector},
		Namespaces: map[string]*metav1.LabelSelector{
			KindServiceMonitor: p.Spec.ServiceMonitorNamespaceSelector, KindPodMonitor: p.Spec.PodMonitorNamespaceSelector},
	}
}

// StackSelection is the selection of the stack's Prometheus, as PrometheusCR writes it.
func StackSelection(stack *v1alpha1.MonitoringStack) Selection {
	sel, ns := MonitorSelector(stack), monitorNamespaceSelector(stack)
	return Selection{
		Owner:      fmt.Sprintf("MonitoringStack %s/%s", stack.Namespace, stack.Name),
		Namespace:  stack.Namespace,
		Monitors:   map[string]*metav1.LabelSelector{KindServiceMonitor: sel, KindPodMonitor: sel},
		Namespaces: map[string]*metav1.LabelSelector{KindServiceMonitor: ns, KindPodMonitor: ns},
	}
}

// Reaches: the selection's namespaces include the monitor's (its namespace has nsLabels).
func (s Selection) Reaches(m Monitor, nsLabels map[string]string) (bool, string) {
	nsSel := s.Namespaces[m.Kind]
	if nsSel == nil {
		if m.Namespace == s.Namespace {
			return true, ""
		}
		return false, fmt.Sprintf("%s watches only namespace %s", s.Owner, s.Namespace)
	}
	sel, err := metav1.LabelSelectorAsSelector(nsSel)
	if err != nil {
		return false, fmt.Sprintf("%s has an invalid %s namespace selector: %v", s.Owner, m.Kind, err)
	}
	if !sel.Matches(labels.Set(nsLabels)) {
		return false, fmt.Sprintf("%s watches namespaces matching %s, and %s's labels do not", s.Owner, sel, m.Namespace)
	}
	return true, ""
}

// Selects: the selection picks the monitor (whose namespace has nsLabels) and prometheus-operator
// keeps it; if not, why not.
func (s Selection) Selects(m Monitor, nsLabels map[string]string) (bool, string) {
	if ok, why := s.Reaches(m, nsLabels); !ok {
		return false, why
	}
	if m.FileAccess != "" {
		return false, m.FileAccess
	}
	lsel := s.Monitors[m.Kind]
	if lsel == nil {
		return false, fmt.Sprintf("%s selects no %ss (its selector is unset)", s.Owner, m.Kind)
	}
	sel, err := metav1.LabelSelectorAsSelector(lsel)
	if err != nil {
		return false, fmt.Sprintf("%s has an invalid %s selector: %v", s.Owner, m.Kind, err)
	}
	if !sel.Matches(labels.Set(m.Labels)) {
		return false, fmt.Sprintf("%s selects %ss labelled %s, and this one's labels do not match", s.Owner, m.Kind, sel)
	}
	return true, ""
}

// MonitorStatus is status.prometheus's account of the monitors: those in the stack's reach
// that its Prometheus selects, and the edgeforge-made ones in its reach it does not select,
// each list sorted and capped at v1alpha1.MaxListedMonitors, with the totals.
type MonitorStatus struct {
	Selected      []v1alpha1.MonitorReference
	SelectedCount int32
	Ignored       []v1alpha1.IgnoredMonitor
	IgnoredCount  int32
}

// Monitors decides MonitorStatus from every monitor the operator sees (nsLabels gives a
// namespace's labels). A monitor out of the stack's reach (another namespace, for a
// Namespace-scoped stack) is neither selected nor ignored: it is none of the stack's business.
func Monitors(stack *v1alpha1.MonitoringStack, all []Monitor, nsLabels func(string) map[string]string) MonitorStatus {
	s := StackSelection(stack)
	ms := slices.Clone(all)
	slices.SortFunc(ms, func(a, b Monitor) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	var out MonitorStatus
	for _, m := range ms {
		nl := nsLabels(m.Namespace)
		if ok, _ := s.Reaches(m, nl); !ok {
			continue
		}
		ok, why := s.Selects(m, nl)
		switch {
		case ok:
			out.SelectedCount++
			if len(out.Selected) < v1alpha1.MaxListedMonitors {
				out.Selected = append(out.Selected, v1alpha1.MonitorReference{Kind: m.Kind, Namespace: m.Namespace, Name: m.Name})
			}
		case m.MadeByEdgeforge():
			out.IgnoredCount++
			if len(out.Ignored) < v1alpha1.MaxListedMonitors {
				if sel, err := metav1.LabelSelectorAsSelector(s.Monitors[m.Kind]); err == nil && m.FileAccess == "" {
					why = fmt.Sprintf("its labels do not match spec.prometheus.serviceMonitorSelector (%s)", sel)
				}
				out.Ignored = append(out.Ignored, v1alpha1.IgnoredMonitor{Kind: m.Kind, Namespace: m.Namespace, Name: m.Name, Reason: why})
			}
		}
	}
	return out
}

// SelectedBy names the Prometheuses among proms that select m (whose namespace has nsLabels).
// When none does, it says why each one does not, and what would select the monitor.
func SelectedBy(m Monitor, nsLabels map[string]string, proms []Selection) (by []string, why string) {
	var reasons []string
	for _, p := range proms {
		if ok, r := p.Selects(m, nsLabels); ok {
			by = append(by, p.Owner)
		} else {
			reasons = append(reasons, r)
		}
	}
	if len(by) > 0 {
		slices.Sort(by)
		return by, ""
	}
	slices.Sort(reasons)
	msg := fmt.Sprintf("no Prometheus selects %s", m)
	if len(reasons) > 0 {
		msg += ": " + strings.Join(reasons, "; ")
	} else {
		msg += ": there is no Prometheus in the cluster"
	}
	return nil, msg + fmt.Sprintf(". A MonitoringStack in namespace %s would select it (a stack scrapes every monitor of its namespace), "+
		"or a Cluster-scoped MonitoringStack (every namespace)", m.Namespace)
}
