package monitoring

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Whatever a stored MonitoringStack holds, grafana.ini has edgeforge's sections only, each line a
// comment, a section or key = value, and anonymous users are never more than Editor.
func FuzzGrafanaINI(f *testing.F) {
	f.Add("team", "main", "Viewer", true, true, false)
	f.Add("team\n[security]", "x\ndisable_login_form = true", "Admin\n[server]", true, false, true)
	f.Add("", "", "Editor", false, false, false)
	sections := []string{"[server]", "[paths]", "[log]", "[analytics]", "[users]", "[security]", "[snapshots]", "[auth.anonymous]"}
	f.Fuzz(func(t *testing.T, ns, name, role string, anonymous, embed, https bool) {
		stack := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.MonitoringStackSpec{
			Grafana: &v1alpha1.GrafanaSpec{Enabled: true, AllowEmbedding: embed, ServedOverHTTPS: https,
				Anonymous: &v1alpha1.AnonymousAccess{Enabled: anonymous, Role: v1alpha1.GrafanaRole(role)}}}}
		ini := GrafanaINI(stack)
		var seen []string
		for _, line := range strings.Split(strings.TrimSuffix(ini, "\n"), "\n") {
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "["):
				if !slices.Contains(sections, line) || slices.Contains(seen, line) {
					t.Fatalf("section %q (seen %v) in:\n%s", line, seen, ini)
				}
				seen = append(seen, line)
			case strings.Contains(line, " = "):
				if strings.HasPrefix(line, "org_role = ") && line != "org_role = Viewer" && line != "org_role = Editor" {
					t.Fatalf("anonymous role line %q", line)
				}
			default:
				t.Fatalf("line %q is neither a comment, a section nor key = value:\n%s", line, ini)
			}
		}
		if len(seen) != len(sections) {
			t.Fatalf("sections %v", seen)
		}
	})
}
