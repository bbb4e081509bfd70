package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests check the built-in rules and dashboards with the real Prometheus tools (Debian's
// prometheus package: promtool and prometheus). They fail, never skip, when the tools are
// missing: hack/test-deps.sh installs them.

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run hack/test-deps.sh (it installs Debian's prometheus package, which has promtool and prometheus)", name)
	}
	return p
}

func TestBuiltinRulesPassPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool")
	groups := BuiltinRuleGroups()
	out, err := RuleFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "edgeforge-rules.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "rules", file)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules failed: %v\n%s\nrule file:\n%s", err, res, out)
	}
	rules := 0
	for _, g := range groups {
		rules += len(g.Rules)
	}
	if !strings.Contains(string(res), fmt.Sprintf("SUCCESS: %d rules found", rules)) {
		t.Fatalf("promtool did not report %d rules:\n%s", rules, res)
	}

	// A broken rule file must fail, or the check above proves nothing.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum(\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(promtool, "check", "rules", bad).Run(); err == nil {
		t.Fatal("promtool accepted a broken rule file")
	}
}

func TestBuiltinAlertsAreDocumented(t *testing.T) {
	want := []string{"EdgeNodeNotReady", "ImageBuildFailed", "AppDeploymentDegraded",
		"NodeFilesystemAlmostFull", "NodeHighCPU", "NodeMemoryPressure"}
	seen := map[string]bool{}
	for _, g := range BuiltinRuleGroups() {
		for _, r := range g.Rules {
			seen[r.Alert] = true
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: needs summary and description annotations", r.Alert)
			}
			if r.Labels["severity"] == "" {
				t.Errorf("alert %s: needs a severity label", r.Alert)
			}
		}
	}
	for _, a := range want {
		if !seen[a] {
			t.Errorf("built-in alert %s is missing", a)
		}
	}
}

// grafanaVars replaces Grafana's variables with values Prometheus understands: the built-in
// interval variables with a duration, dashboard variables (used in =~ matchers) with ".*".
var (
	grafanaIntervalVar = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
	grafanaVar         = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)
)

func promQL(expr string) string {
	return grafanaVar.ReplaceAllString(grafanaIntervalVar.ReplaceAllString(expr, "5m"), ".*")
}

// startPrometheus runs Debian's prometheus on a free loopback port with an empty configuration
// and a temporary data directory, and returns its base URL.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+filepath.Join(dir, "consoles"),
		"--web.console.libraries="+filepath.Join(dir, "console_libraries"),
	)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited; _ = logFile.Close() })

	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus exited before it was ready:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus at %s not ready after 60s:\n%s", base, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query asks Prometheus to evaluate expr and returns its error ("" when it parsed and ran).
func query(t *testing.T, base, expr string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		t.Fatalf("query %q: %v", expr, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %q: decoding the answer: %v", expr, err)
	}
	if body.Status != "success" {
		return body.ErrorType + ": " + body.Error
	}
	return ""
}

func TestExpressionsParseInRealPrometheus(t *testing.T) {
	base := startPrometheus(t)

	// The check must be able to fail.
	if msg := query(t, base, `sum(rate(node_cpu_seconds_total[5m])`); !strings.Contains(msg, "bad_data") {
		t.Fatalf("a broken expression was not reported as bad_data: %q", msg)
	}

	n := 0
	for _, g := range BuiltinRuleGroups() {
		for _, r := range g.Rules {
			if msg := query(t, base, r.Expr.String()); msg != "" {
				t.Errorf("alert %s: Prometheus rejects %q: %s", r.Alert, r.Expr.String(), msg)
			}
			n++
		}
	}
	queries, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 20 {
		t.Fatalf("only %d dashboard queries found; the dashboards lost their panels?", len(queries))
	}
	for _, q := range queries {
		expr := promQL(q.Expr)
		if msg := query(t, base, expr); msg != "" {
			t.Errorf("dashboard %s, panel %q: Prometheus rejects %q: %s", q.Dashboard, q.Panel, expr, msg)
		}
		n++
	}
	t.Logf("%d expressions accepted by %s", n, base)
}
