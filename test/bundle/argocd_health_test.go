package bundle

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/hack/bundle/bundlegen"
	"github.com/edgeforge/edgeforge/internal/conditions"
)

// argoHealthScripts returns the resource.customizations.health.* entries of the argocd-cm
// ConfigMap documented in docs/gitops.md, by key.
func argoHealthScripts(t *testing.T) map[string]string {
	t.Helper()
	doc := string(readFile(t, "docs/gitops.md"))
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(m[1], "name: argocd-cm") {
			continue
		}
		var cm struct {
			Kind string            `json:"kind"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(m[1]), &cm); err != nil {
			t.Fatalf("docs/gitops.md: the argocd-cm block is not valid YAML: %v", err)
		}
		if cm.Kind != "ConfigMap" {
			t.Fatalf("docs/gitops.md: the argocd-cm block is a %q, not a ConfigMap", cm.Kind)
		}
		return cm.Data
	}
	t.Fatal("docs/gitops.md has no argocd-cm ConfigMap block")
	return nil
}

// argoHealth runs a health script the way Argo CD runs a custom one (util/lua): a fresh state
// with only the package, base and table libraries, the object as the global `obj`, and the
// returned table read as {status, message}.
func argoHealth(script string, obj map[string]any) (status, message string, err error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned a %s, not a table", l.Get(-1).Type())
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message")), nil
}

// toLua converts a JSON-decoded object as Argo CD's decodeValue does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(toLua(l, e))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetH(lua.LString(k), toLua(l, e))
		}
		return t
	}
	return lua.LNil
}

// TestArgoCDHealthCheck runs the documented Argo CD health script for every edgeforge kind on
// objects in each state edgeforge's controllers produce (through internal/conditions, the
// helpers they use), and checks it agrees with kstatus (conditions.Summarize).
func TestArgoCDHealthCheck(t *testing.T) {
	scripts := argoHealthScripts(t)
	crds := bundleCRDs(t)
	if len(crds) == 0 {
		t.Fatal("no CRDs in bundle/manifests")
	}

	type state struct {
		name        string
		generation  int64
		status      *int64 // status.observedGeneration; nil: no status at all
		conds       func(*[]metav1.Condition)
		want        string
		wantMessage string
		kstatus     conditions.Health // "" when kstatus and Argo CD legitimately differ (documented)
	}
	gen := func(n int64) *int64 { return &n }
	states := []state{
		{name: "just created, no status", generation: 1, want: "Progressing",
			wantMessage: "Waiting for the edgeforge controller", kstatus: conditions.InProgress},
		{name: "status without conditions", generation: 1, status: gen(1), want: "Progressing",
			wantMessage: "Waiting for the edgeforge controller", kstatus: conditions.InProgress},
		{name: "reconciling", generation: 1, status: gen(1), want: "Progressing", wantMessage: "Build web-1 is running.",
			conds:   func(c *[]metav1.Condition) { conditions.MarkReconciling(c, 1, "Building", "Build web-1 is running.") },
			kstatus: conditions.InProgress},
		{name: "stalled", generation: 1, status: gen(1), want: "Degraded", wantMessage: "Secret regcred not found.",
			conds: func(c *[]metav1.Condition) {
				conditions.MarkStalled(c, 1, "SecretNotFound", "Secret regcred not found.")
			},
			kstatus: conditions.Failed},
		{name: "ready", generation: 2, status: gen(2), want: "Healthy", wantMessage: "2/2 replicas available.",
			conds:   func(c *[]metav1.Condition) { conditions.MarkReady(c, 2, "Available", "2/2 replicas available.") },
			kstatus: conditions.Current},
		{name: "ready for an older generation", generation: 3, status: gen(2), want: "Progressing",
			wantMessage: "Waiting for the edgeforge controller to observe generation 3",
			conds:       func(c *[]metav1.Condition) { conditions.MarkReady(c, 2, "Available", "2/2 replicas available.") },
			kstatus:     conditions.InProgress},
		{name: "finished, not ready", generation: 1, status: gen(1), want: "Degraded", wantMessage: "Build web-1 failed.",
			conds: func(c *[]metav1.Condition) { conditions.MarkNotReady(c, 1, "BuildFailed", "Build web-1 failed.") }},
		{name: "ready unknown", generation: 1, status: gen(1), want: "Progressing",
			conds: func(c *[]metav1.Condition) {
				conditions.Set(c, "Ready", metav1.ConditionUnknown, 1, "Unknown", "Not known yet.")
			},
			kstatus: conditions.InProgress},
	}

	for _, crd := range crds {
		kind := crd.Spec.Names.Kind
		key := "resource.customizations.health." + crd.Spec.Group + "_" + kind
		script, ok := scripts[key]
		if !ok || strings.TrimSpace(script) == "" {
			t.Errorf("docs/gitops.md: argocd-cm has no %s", key)
			continue
		}
		v, err := bundlegen.StorageVersion(crd)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			t.Run(kind+"/"+s.name, func(t *testing.T) {
				var conds []metav1.Condition
				if s.conds != nil {
					s.conds(&conds)
				}
				obj := map[string]any{
					"apiVersion": crd.Spec.Group + "/" + v.Name,
					"kind":       kind,
					"metadata":   map[string]any{"name": "web", "generation": s.generation},
				}
				if s.status != nil {
					obj["status"] = map[string]any{"observedGeneration": *s.status, "conditions": conds}
				}
				var decoded map[string]any // what Argo CD sees: the object as JSON
				data, _ := json.Marshal(obj)
				if err := json.Unmarshal(data, &decoded); err != nil {
					t.Fatal(err)
				}
				status, message, err := argoHealth(script, decoded)
				if err != nil {
					t.Fatalf("the health script fails: %v", err)
				}
				if status != s.want {
					t.Errorf("health = %s (%q), want %s", status, message, s.want)
				}
				if s.wantMessage != "" && message != s.wantMessage {
					t.Errorf("message = %q, want %q", message, s.wantMessage)
				}
				if s.kstatus != "" {
					observed := int64(0)
					if s.status != nil {
						observed = *s.status
					}
					k := conditions.Summarize(s.generation, observed, conds)
					argo := map[conditions.Health]string{conditions.Current: "Healthy", conditions.InProgress: "Progressing", conditions.Failed: "Degraded"}[k]
					if k != s.kstatus || argo != status {
						t.Errorf("kstatus says %s, Argo CD %s: they must agree here", k, status)
					}
				}
			})
		}
	}
}
