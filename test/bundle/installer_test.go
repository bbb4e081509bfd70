package bundle

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/edgeforge/edgeforge/hack/bundle/bundlegen"
)

// makeTarget runs a Makefile target from the repository root. `make test` has already run
// `make manifests`, so targets that depend on it get -o manifests: a test must not regenerate
// files in the working tree while other packages' tests run.
func makeTarget(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed (the Makefile is the index of tasks; install make)")
	}
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-o", "manifests"}, args...)...)
	cmd.Dir = root()
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestBuildInstaller runs `make build-installer` and checks the single install YAML: one
// Namespace, every CRD, the manager Deployment with the requested image, its RBAC and the
// metrics Service, all in edgeforge-system with the edgeforge- prefix.
func TestBuildInstaller(t *testing.T) {
	const img = "registry.example.com/edgeforge/edgeforge:v9.9.9"
	out := filepath.Join(t.TempDir(), "dist", "install.yaml")
	if _, stderr, err := makeTarget(t, nil, "build-installer", "IMG="+img, "INSTALLER="+out); err != nil {
		t.Fatalf("make build-installer: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("make build-installer left %s.tmp behind", out)
	}
	objs, err := bundlegen.ParseObjects(data)
	if err != nil {
		t.Fatalf("install.yaml does not parse: %v", err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		switch o.GetKind() {
		case "Namespace":
			if o.GetName() != "edgeforge-system" {
				t.Errorf("namespace %q, want edgeforge-system", o.GetName())
			}
		case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding":
		case "Role", "RoleBinding": // a controller may need a Role elsewhere (bootstrap tokens live in kube-system)
			if ns := o.GetNamespace(); ns != "edgeforge-system" && ns != "kube-system" {
				t.Errorf("%s %s is in namespace %q", o.GetKind(), o.GetName(), ns)
			}
		default:
			if o.GetNamespace() != "edgeforge-system" {
				t.Errorf("%s %s is in namespace %q, want edgeforge-system", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		}
		if k := o.GetKind(); k != "CustomResourceDefinition" && k != "Namespace" && !strings.HasPrefix(o.GetName(), "edgeforge-") {
			t.Errorf("%s %s lacks the edgeforge- name prefix", k, o.GetName())
		}
	}
	bases, _ := filepath.Glob(filepath.Join(root(), bundlegen.CRDDir, "*.yaml"))
	want := map[string]int{
		"Namespace": 1, "CustomResourceDefinition": len(bases), "Deployment": 1, "Service": 1,
		// The manager's and metrics-reader's (the identity the operator's ServiceMonitor scrapes
		// with), its token Secret and that ServiceMonitor.
		"ServiceAccount": 2, "Secret": 1, "ServiceMonitor": 1,
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("install.yaml has %d %s, want %d (all kinds: %v)", kinds[k], k, n, kinds)
		}
	}
	if kinds["Role"] < 1 || kinds["RoleBinding"] < 1 {
		t.Errorf("install.yaml has %d Roles and %d RoleBindings, want at least the leader-election pair", kinds["Role"], kinds["RoleBinding"])
	}
	// manager-role, metrics-auth-role, metrics-reader; the first two bound to the manager.
	if kinds["ClusterRole"] < 3 || kinds["ClusterRoleBinding"] < 2 {
		t.Errorf("install.yaml has %d ClusterRoles and %d ClusterRoleBindings, want ≥3 and ≥2", kinds["ClusterRole"], kinds["ClusterRoleBinding"])
	}

	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		mustConvert(t, o, &d)
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 || pod.Containers[0].Image != img {
			t.Fatalf("manager Deployment does not run %s: %+v", img, pod.Containers)
		}
		c := pod.Containers[0]
		if !slices.Contains(c.Args, "--leader-elect") {
			t.Error("the manager must run with --leader-elect (replicas > 1 must be safe)")
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Error("the manager needs liveness and readiness probes")
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Error("the manager needs resource requests and limits")
		}
		if problem := memoryLimitProblem(c); problem != "" {
			t.Error(problem)
		}
		// Multi-platform ImageBuilds' index Job runs edgeforge-index from the manager's own image.
		indexImage := ""
		for _, e := range c.Env {
			if e.Name == "EDGEFORGE_INDEX_IMAGE" {
				indexImage = e.Value
			}
		}
		if indexImage != img {
			t.Errorf("EDGEFORGE_INDEX_IMAGE (the default --index-image) is %q, want the manager's image %s", indexImage, img)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Error("the manager pod must run as non-root")
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("the manager container must be restricted: no privilege escalation, read-only root filesystem")
		}
	}
}

// TestInstallDocsExplainEveryPermission: every permission config/default grants the manager has
// a row in the RBAC table of docs/install.md (which says why it exists).
func TestInstallDocsExplainEveryPermission(t *testing.T) {
	doc := string(readFile(t, "docs/install.md"))
	_, table, ok := strings.Cut(doc, "## RBAC")
	if !ok {
		t.Fatal("docs/install.md has no RBAC section")
	}
	parens := regexp.MustCompile(`\([^)]*\)`)
	documented := map[string]map[string]bool{} // "group/resource" -> verbs
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 6 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") || strings.TrimSpace(cells[0]) == "API group" {
			continue
		}
		rows++
		words := func(cell string) []string {
			var out []string
			for _, w := range strings.Split(parens.ReplaceAllString(cell, ""), ",") {
				if w = strings.Trim(strings.TrimSpace(w), "`"); w != "" {
					out = append(out, w)
				}
			}
			return out
		}
		for _, g := range words(cells[0]) {
			if g == "core" {
				g = ""
			}
			for _, r := range words(cells[1]) {
				key := g + "/" + r
				if documented[key] == nil {
					documented[key] = map[string]bool{}
				}
				for _, v := range words(cells[2]) {
					documented[key][v] = true
				}
			}
		}
	}
	if rows == 0 {
		t.Fatal("docs/install.md: the RBAC table has no rows")
	}

	objs := renderedObjects(t, "example.com/edgeforge:test")
	roles := map[string][]rbacv1.PolicyRule{}
	var sa, ns string
	for _, o := range objs {
		switch o.GetKind() {
		case "Role", "ClusterRole":
			var r rbacv1.ClusterRole
			mustConvert(t, o, &r)
			roles[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = r.Rules
		case "Deployment":
			var d appsv1.Deployment
			mustConvert(t, o, &d)
			sa, ns = d.Spec.Template.Spec.ServiceAccountName, d.Namespace
		}
	}
	for _, o := range objs {
		if k := o.GetKind(); k != "RoleBinding" && k != "ClusterRoleBinding" {
			continue
		}
		var rb rbacv1.RoleBinding
		mustConvert(t, o, &rb)
		if !slices.ContainsFunc(rb.Subjects, func(s rbacv1.Subject) bool { return s.Name == sa && s.Namespace == ns }) {
			continue
		}
		roleNS := ""
		if rb.RoleRef.Kind == "Role" {
			roleNS = o.GetNamespace()
		}
		for _, rule := range roles[rb.RoleRef.Kind+"/"+roleNS+"/"+rb.RoleRef.Name] {
			var keys []string
			for _, u := range rule.NonResourceURLs {
				keys = append(keys, "—/"+u)
			}
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					keys = append(keys, g+"/"+r)
				}
			}
			for _, key := range keys {
				for _, v := range rule.Verbs {
					if !documented[key][v] {
						t.Errorf("docs/install.md: the manager may %q %s (%s %s) but the RBAC table has no row saying why",
							v, key, rb.RoleRef.Kind, rb.RoleRef.Name)
					}
				}
			}
		}
	}
}

// memoryLimitProblem: the manager must run with a GOMEMLIMIT (docs/performance.md, Memory) well
// under its container's memory limit, so the collector works harder before the kernel's OOM
// killer would. "" when it does.
func memoryLimitProblem(c corev1.Container) string {
	var soft string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			soft = e.Value
		}
	}
	if soft == "" {
		return "the manager container sets no GOMEMLIMIT"
	}
	// The runtime's suffixes are B, KiB, MiB, GiB, TiB; without the B they are quantities.
	q, err := resource.ParseQuantity(strings.TrimSuffix(soft, "B"))
	if err != nil {
		return fmt.Sprintf("GOMEMLIMIT %q is not a size the Go runtime reads: %v", soft, err)
	}
	if hard := c.Resources.Limits.Memory(); q.Value() > hard.Value()*3/4 {
		return fmt.Sprintf("GOMEMLIMIT %s is over 3/4 of the container's memory limit %s", soft, hard)
	}
	return ""
}
