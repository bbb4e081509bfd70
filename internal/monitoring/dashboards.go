package monitoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// The built-in dashboards (spec.dashboards.builtin), provisioned into Grafana's "edgeforge"
// folder. Their queries use the Prometheus datasource with uid DatasourceUID.
//
//go:embed dashboards/*.json
var dashboardFiles embed.FS

// Dashboards returns the built-in dashboards: file name → JSON.
func Dashboards() map[string]string {
	out := map[string]string{}
	entries, err := fs.Glob(dashboardFiles, "dashboards/*.json")
	if err != nil {
		panic(err) // a constant, valid pattern
	}
	for _, e := range entries {
		b, err := dashboardFiles.ReadFile(e)
		if err != nil {
			panic(err) // embedded at build time
		}
		out[path.Base(e)] = string(b)
	}
	return out
}

// DashboardQuery is one PromQL expression of a built-in dashboard.
type DashboardQuery struct {
	Dashboard string // file name
	Panel     string // panel title
	Expr      string // as written, with Grafana variables such as $__rate_interval
}

// DashboardQueries returns every PromQL expression of the built-in dashboards' panels.
func DashboardQueries() ([]DashboardQuery, error) {
	var out []DashboardQuery
	files := Dashboards()
	for _, name := range sortedKeys(files) {
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(files[name]), &d); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		for _, p := range d.Panels {
			for _, t := range p.Targets {
				out = append(out, DashboardQuery{Dashboard: name, Panel: p.Title, Expr: t.Expr})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Dashboard < out[j].Dashboard })
	return out, nil
}
