package monitoring

import (
	"slices"
	"strings"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Cluster is what the stacks of a cluster share, decided from all of them.
type Cluster struct {
	// NodeExporterRunner is the stack ("namespace/name") that runs node-exporter for the whole
	// cluster; "" when none does.
	NodeExporterRunner string
}

// Key is a stack's "namespace/name".
func Key(stack *v1alpha1.MonitoringStack) string { return stack.Namespace + "/" + stack.Name }

// SharedBy decides what the stacks share. node-exporter listens on port 9100 of every node (host
// network), so only one stack can run it: the oldest (by creation time, then namespace/name)
// that wants it and is not being deleted. The others' Prometheus scrapes that one's
// node-exporter (its ServiceMonitor is one of edgeforge's, which every stack selects by default).
func SharedBy(stacks []v1alpha1.MonitoringStack) Cluster {
	var candidates []*v1alpha1.MonitoringStack
	for i := range stacks {
		s := &stacks[i]
		if s.DeletionTimestamp == nil && Effective(s.Spec).NodeExporter.Enabled {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		return Cluster{}
	}
	oldest := slices.MinFunc(candidates, func(a, b *v1alpha1.MonitoringStack) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		if a.Namespace != b.Namespace {
			return strings.Compare(a.Namespace, b.Namespace)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return Cluster{NodeExporterRunner: Key(oldest)}
}

// RunsNodeExporter: the stack wants node-exporter and is the one that runs it.
func (c Cluster) RunsNodeExporter(stack *v1alpha1.MonitoringStack) bool {
	return Effective(stack.Spec).NodeExporter.Enabled && (c.NodeExporterRunner == "" || c.NodeExporterRunner == Key(stack))
}
