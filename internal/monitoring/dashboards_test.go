package monitoring

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashboardsAreWellFormed(t *testing.T) {
	files := Dashboards()
	for _, want := range []string{"edge-pools.json", "nodes.json", "builds.json", "apps.json"} {
		if _, ok := files[want]; !ok {
			t.Errorf("built-in dashboard %s is missing", want)
		}
	}
	uids := map[string]string{}
	for name, raw := range files {
		var d struct {
			UID    string `json:"uid"`
			Title  string `json:"title"`
			Panels []struct {
				ID         int    `json:"id"`
				Title      string `json:"title"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
				Targets []struct {
					Expr       string `json:"expr"`
					RefID      string `json:"refId"`
					Datasource struct {
						UID string `json:"uid"`
					} `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Errorf("%s: not JSON: %v", name, err)
			continue
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: needs a uid and a title", name)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", name, other, d.UID)
		}
		uids[d.UID] = name
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", name, p.ID)
			}
			ids[p.ID] = true
			if p.Datasource.UID != DatasourceUID {
				t.Errorf("%s, panel %q: datasource uid %q, want the provisioned %q", name, p.Title, p.Datasource.UID, DatasourceUID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s, panel %q: no query", name, p.Title)
			}
			for _, q := range p.Targets {
				if q.Expr == "" || q.RefID == "" || q.Datasource.UID != DatasourceUID {
					t.Errorf("%s, panel %q: target needs expr, refId and the provisioned datasource: %+v", name, p.Title, q)
				}
			}
		}
	}
}

// docs/monitoringstack.md lists every built-in alert and dashboard.
func TestDocsListEveryAlertAndDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "monitoringstack.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, g := range BuiltinRuleGroups() {
		for _, r := range g.Rules {
			if !strings.Contains(doc, "`"+r.Alert+"`") {
				t.Errorf("docs/monitoringstack.md does not list alert %s", r.Alert)
			}
		}
	}
	for name, d := range Dashboards() {
		var meta struct{ UID, Title string }
		if err := json.Unmarshal([]byte(d), &meta); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, "`"+meta.Title+"` (`"+meta.UID+"`)") {
			t.Errorf("docs/monitoringstack.md does not list dashboard %s (%s, uid %s)", name, meta.Title, meta.UID)
		}
	}
}
