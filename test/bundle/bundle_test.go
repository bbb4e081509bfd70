// Package bundle checks what edgeforge ships: the OLM bundle (the essentials of `operator-sdk
// bundle validate`, which cannot run here, plus a real API server accepting alm-examples), the
// single install YAML of `make build-installer`, the Dockerfile and its build context, the
// docker-build target's message when it cannot build, and the Argo CD health check of
// docs/gitops.md.
package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/hack/bundle/bundlegen"
	"github.com/edgeforge/edgeforge/test/testenv"
)

const regenerate = "run `make bundle` (same VERSION, REPLACES and IMG as the committed CSV) and commit bundle/ and bundle.Dockerfile"

func root() string { return testenv.RepoRoot() }

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadCSV parses the committed CSV strictly with the OLM field names edgeforge uses.
func loadCSV(t *testing.T) *bundlegen.ClusterServiceVersion {
	t.Helper()
	csv := &bundlegen.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(readFile(t, bundlegen.CSVPath), csv); err != nil {
		t.Fatalf("%s: %v", bundlegen.CSVPath, err)
	}
	return csv
}

// managerImage is the image of the CSV's manager container: what the bundle was rendered with.
func managerImage(t *testing.T, csv *bundlegen.ClusterServiceVersion) string {
	t.Helper()
	deps := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	if len(deps) == 0 {
		t.Fatalf("the CSV has no deployments: %s", regenerate)
	}
	for _, c := range deps[0].Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c.Image
		}
	}
	t.Fatalf("the CSV's deployment %s has no container named manager", deps[0].Name)
	return ""
}

// render runs hack/render-default.sh, as make deploy/build-installer/bundle do.
func render(t *testing.T, image string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(root(), "hack", "render-default.sh"), image)
	cmd.Dir = root()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/render-default.sh %s: %v\n%s", image, err, stderr.String())
	}
	return out
}

func renderedObjects(t *testing.T, image string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := bundlegen.ParseObjects(render(t, image))
	if err != nil {
		t.Fatalf("parsing the render: %v", err)
	}
	return objs
}

func annotations(t *testing.T) map[string]string {
	t.Helper()
	var a struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, bundlegen.AnnotationsPath), &a); err != nil {
		t.Fatalf("%s: %v", bundlegen.AnnotationsPath, err)
	}
	return a.Annotations
}

// TestBundleUpToDate regenerates the bundle from today's config/ with the committed CSV's
// version, replaces and image and the committed channels, and compares every file.
func TestBundleUpToDate(t *testing.T) {
	csv := loadCSV(t)
	ann := annotations(t)
	opts := bundlegen.Options{
		Version:        csv.Spec.Version,
		Replaces:       csv.Spec.Replaces,
		Image:          managerImage(t, csv),
		Channels:       strings.Split(ann["operators.operatorframework.io.bundle.channels.v1"], ","),
		DefaultChannel: ann["operators.operatorframework.io.bundle.channel.default.v1"],
	}
	in, err := bundlegen.ReadInputs(root(), render(t, opts.Image))
	if err != nil {
		t.Fatal(err)
	}
	files, err := bundlegen.Generate(opts, in)
	if err != nil {
		t.Fatalf("make bundle would fail: %v", err)
	}
	want := map[string][]byte{}
	for _, f := range files {
		want[f.Path] = f.Data
	}
	got := map[string][]byte{bundlegen.BundleDockerfile: readFile(t, bundlegen.BundleDockerfile)}
	err = filepath.WalkDir(filepath.Join(root(), bundlegen.BundleDir), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root(), p)
		data, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedKeys(want) {
		switch g, ok := got[p]; {
		case !ok:
			t.Errorf("%s is missing: %s", p, regenerate)
		case !bytes.Equal(g, want[p]):
			t.Errorf("%s is out of date with config/ (CRDs, RBAC markers, manager, samples or config/manifests changed):\n%s\n%s",
				p, firstDiff(g, want[p]), regenerate)
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is not generated any more: %s", p, regenerate)
		}
	}
}

// firstDiff shows the first differing line of committed vs generated.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("  line %d committed: %q\n  line %d generated: %q", i+1, gl, i+1, wl)
		}
	}
	return "  (same lines, different bytes)"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// bundleCRDs returns the CRDs of bundle/manifests by name.
func bundleCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root(), bundlegen.ManifestsDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if meta.Kind != "CustomResourceDefinition" {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		crds[crd.Name] = crd
	}
	return crds
}

// TestCRDsEqualBases: the bundle carries exactly config/crd/bases, byte for byte.
func TestCRDsEqualBases(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join(root(), bundlegen.CRDDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bases) == 0 {
		t.Fatal("no CRDs in config/crd/bases")
	}
	for _, b := range bases {
		want, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root(), bundlegen.ManifestsDir, filepath.Base(b)))
		if err != nil {
			t.Errorf("bundle lacks %s: %s", filepath.Base(b), regenerate)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("bundle/manifests/%s differs from config/crd/bases: %s", filepath.Base(b), regenerate)
		}
	}
	if got := len(bundleCRDs(t)); got != len(bases) {
		t.Errorf("bundle has %d CRDs, config/crd/bases %d: %s", got, len(bases), regenerate)
	}
}

// TestOwnedCRDs: every owned CRD of the CSV is in the bundle with a served version and the
// kind the CSV names, every bundle CRD is owned, and descriptors point at real fields.
func TestOwnedCRDs(t *testing.T) {
	csv := loadCSV(t)
	crds := bundleCRDs(t)
	owned := map[string]bool{}
	for _, o := range csv.Spec.CustomResourceDefinitions.Owned {
		owned[o.Name] = true
		crd, ok := crds[o.Name]
		if !ok {
			t.Errorf("owned CRD %s is not in bundle/manifests", o.Name)
			continue
		}
		if o.Kind != crd.Spec.Names.Kind {
			t.Errorf("owned CRD %s: kind %q, the CRD says %q", o.Name, o.Kind, crd.Spec.Names.Kind)
		}
		var v *apiextensionsv1.CustomResourceDefinitionVersion
		for i := range crd.Spec.Versions {
			if crd.Spec.Versions[i].Name == o.Version {
				v = &crd.Spec.Versions[i]
			}
		}
		if v == nil || !v.Served {
			t.Errorf("owned CRD %s: version %q is not a served version of the CRD", o.Name, o.Version)
			continue
		}
		if o.DisplayName == "" || o.Description == "" {
			t.Errorf("owned CRD %s needs a displayName and a description", o.Name)
		}
		schema := v.Schema.OpenAPIV3Schema
		for _, d := range o.SpecDescriptors {
			if !fieldExists(schema.Properties["spec"], d.Path) {
				t.Errorf("%s: spec descriptor %q is not a field of spec", o.Kind, d.Path)
			}
		}
		for _, d := range o.StatusDescriptors {
			if !fieldExists(schema.Properties["status"], d.Path) {
				t.Errorf("%s: status descriptor %q is not a field of status", o.Kind, d.Path)
			}
		}
		if !hasDescriptor(o.StatusDescriptors, "conditions", "urn:alm:descriptor:io.kubernetes.conditions") {
			t.Errorf("%s: status.conditions needs the io.kubernetes.conditions descriptor", o.Kind)
		}
		if len(o.Resources) == 0 {
			t.Errorf("%s lists no resources it creates (scorecard olm-crds-have-resources)", o.Kind)
		}
	}
	for name := range crds {
		if !owned[name] {
			t.Errorf("bundle CRD %s is not owned by the CSV", name)
		}
	}
}

// fieldExists resolves a descriptor path ("a.b", "a[0].b") in a schema.
func fieldExists(s apiextensionsv1.JSONSchemaProps, path string) bool {
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		p, ok := s.Properties[name]
		if !ok {
			return false
		}
		s = p
		for range strings.Count(rest, "]") {
			if s.Items == nil || s.Items.Schema == nil {
				return false
			}
			s = *s.Items.Schema
		}
	}
	return true
}

func hasDescriptor(ds []bundlegen.Descriptor, path, x string) bool {
	for _, d := range ds {
		if d.Path == path && slices.Contains(d.XDescriptors, x) {
			return true
		}
	}
	return false
}

// almExamples parses the CSV's alm-examples annotation.
func almExamples(t *testing.T, csv *bundlegen.ClusterServiceVersion) []*unstructured.Unstructured {
	t.Helper()
	raw, ok := csv.Metadata.Annotations["alm-examples"]
	if !ok {
		t.Fatal("the CSV has no alm-examples annotation")
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		t.Fatalf("alm-examples is not a JSON array of objects: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, m := range list {
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// TestALMExamples: one example per owned kind, each spec field described (scorecard's
// olm-spec-descriptors), and each example accepted by a real API server with the CRDs
// installed (server-side dry run: defaulting, OpenAPI and CEL validation all run).
func TestALMExamples(t *testing.T) {
	csv := loadCSV(t)
	examples := almExamples(t, csv)
	byKind := map[string]bundlegen.CRDDescription{}
	for _, o := range csv.Spec.CustomResourceDefinitions.Owned {
		byKind[o.Kind] = o
	}
	seen := map[string]bool{}
	for _, ex := range examples {
		o, ok := byKind[ex.GetKind()]
		if !ok {
			t.Errorf("alm-examples has a %s, which the CSV does not own", ex.GetKind())
			continue
		}
		if want := "edgeforge.io/" + o.Version; ex.GetAPIVersion() != want {
			t.Errorf("alm-examples %s/%s: apiVersion %q, want %q", ex.GetKind(), ex.GetName(), ex.GetAPIVersion(), want)
		}
		seen[ex.GetKind()] = true
		spec, _, _ := unstructured.NestedMap(ex.Object, "spec")
		for field := range spec {
			if !slices.ContainsFunc(o.SpecDescriptors, func(d bundlegen.Descriptor) bool { return d.Path == field }) {
				t.Errorf("alm-examples %s: spec.%s has no spec descriptor", ex.GetKind(), field)
			}
		}
	}
	for kind := range byKind {
		if !seen[kind] {
			t.Errorf("alm-examples has no %s: add a sample to config/samples and its kustomization.yaml", kind)
		}
	}

	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scope := map[string]apiextensionsv1.ResourceScope{}
	for _, crd := range bundleCRDs(t) {
		scope[crd.Spec.Names.Kind] = crd.Spec.Scope
	}
	for _, ex := range examples {
		obj := ex.DeepCopy()
		if scope[obj.GetKind()] == apiextensionsv1.NamespaceScoped && obj.GetNamespace() == "" {
			obj.SetNamespace("default") // OLM's console creates examples in the namespace you are in
		}
		if err := env.Client.Create(t.Context(), obj, client.DryRunAll); err != nil {
			t.Errorf("the API server rejects alm-examples %s/%s: %v", ex.GetKind(), ex.GetName(), err)
		}
	}
}

// TestInstallStrategyMatchesRender: the CSV installs what config/default renders today: the
// manager Deployment's spec, the rules of the ClusterRoles bound to its service account
// (clusterPermissions) and of the Roles bound to it (permissions).
func TestInstallStrategyMatchesRender(t *testing.T) {
	csv := loadCSV(t)
	strategy := csv.Spec.InstallStrategy
	if strategy.StrategyName != "deployment" {
		t.Fatalf("install strategy %q, want deployment", strategy.StrategyName)
	}
	objs := renderedObjects(t, managerImage(t, csv))

	var deps []appsv1.Deployment
	roles := map[string][]rbacv1.PolicyRule{}
	var bindings []unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			var d appsv1.Deployment
			mustConvert(t, o, &d)
			deps = append(deps, d)
		case "Role", "ClusterRole":
			var r rbacv1.ClusterRole
			mustConvert(t, o, &r)
			roles[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = r.Rules
		case "RoleBinding", "ClusterRoleBinding":
			bindings = append(bindings, *o)
		}
	}
	if len(deps) != 1 {
		t.Fatalf("config/default renders %d Deployments, want 1", len(deps))
	}
	dep := deps[0]
	got := strategy.StrategySpec.DeploymentSpecs
	if len(got) != 1 || got[0].Name != dep.Name {
		t.Fatalf("the CSV's deployments are not the rendered %s: %s", dep.Name, regenerate)
	}
	if !equality.Semantic.DeepEqual(got[0].Spec, dep.Spec) {
		a, _ := yaml.Marshal(got[0].Spec)
		b, _ := yaml.Marshal(dep.Spec)
		t.Errorf("the CSV's Deployment spec differs from config/manager as rendered:\n%s\n%s", firstDiff(a, b), regenerate)
	}

	sa := dep.Spec.Template.Spec.ServiceAccountName
	ns := dep.Namespace
	var wantCluster, wantNS []rbacv1.PolicyRule
	var outside []string // kind/namespace/name of the Roles and bindings outside ns
	for _, b := range bindings {
		var rb rbacv1.RoleBinding
		mustConvert(t, &b, &rb)
		if !slices.ContainsFunc(rb.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == ns
		}) {
			continue
		}
		// OLM grants namespaced permissions only in the install namespace, so a Role bound in
		// kube-system (bootstrap-token Secrets) ships beside the bundle, never widened to the
		// cluster: the file holds exactly that Role and binding.
		if b.GetKind() == "RoleBinding" && b.GetNamespace() != ns {
			outside = append(outside, b.GetKind()+"/"+b.GetNamespace()+"/"+b.GetName(),
				rb.RoleRef.Kind+"/"+b.GetNamespace()+"/"+rb.RoleRef.Name)
			continue
		}
		roleNS := ""
		if rb.RoleRef.Kind == "Role" {
			roleNS = b.GetNamespace()
		}
		rules, ok := roles[rb.RoleRef.Kind+"/"+roleNS+"/"+rb.RoleRef.Name]
		if !ok {
			t.Fatalf("%s %s binds %s %s, which is not rendered", b.GetKind(), b.GetName(), rb.RoleRef.Kind, rb.RoleRef.Name)
		}
		if b.GetKind() == "ClusterRoleBinding" {
			wantCluster = append(wantCluster, rules...)
		} else {
			wantNS = append(wantNS, rules...)
		}
	}
	if len(wantCluster) == 0 || len(wantNS) == 0 {
		t.Fatalf("expected the manager's service account %s to have cluster and namespaced rules", sa)
	}
	var shipped []string
	shippedObjs, err := bundlegen.ParseObjects(readFile(t, bundlegen.OutsideRBACPath))
	if err != nil {
		t.Fatalf("%s: %v", bundlegen.OutsideRBACPath, err)
	}
	for _, o := range shippedObjs {
		if o.GetNamespace() != "kube-system" {
			t.Errorf("%s holds %s %s in namespace %q, want kube-system only", bundlegen.OutsideRBACPath, o.GetKind(), o.GetName(), o.GetNamespace())
		}
		shipped = append(shipped, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(outside)
	slices.Sort(shipped)
	if len(outside) == 0 || !slices.Equal(outside, shipped) {
		t.Errorf("%s holds %v, want the rendered Roles and bindings outside %s: %v (%s)", bundlegen.OutsideRBACPath, shipped, ns, outside, regenerate)
	}
	checkPermissions(t, "clusterPermissions", strategy.StrategySpec.ClusterPermissions, sa, wantCluster)
	checkPermissions(t, "permissions", strategy.StrategySpec.Permissions, sa, wantNS)

	for _, r := range wantCluster {
		for _, f := range [][]string{r.Verbs, r.Resources, r.APIGroups} {
			if slices.Contains(f, "*") {
				t.Errorf("least privilege: the manager's RBAC has a wildcard rule %v", r)
			}
		}
	}
}

func checkPermissions(t *testing.T, what string, got []bundlegen.StrategyDeploymentPermissions, sa string, want []rbacv1.PolicyRule) {
	t.Helper()
	if len(got) != 1 || got[0].ServiceAccountName != sa {
		t.Errorf("CSV %s: want one entry for service account %s, got %d: %s", what, sa, len(got), regenerate)
		return
	}
	g, w := canonicalRules(got[0].Rules), canonicalRules(want)
	if !slices.Equal(g, w) {
		for _, r := range w {
			if !slices.Contains(g, r) {
				t.Errorf("CSV %s lacks the rendered rule %s", what, r)
			}
		}
		for _, r := range g {
			if !slices.Contains(w, r) {
				t.Errorf("CSV %s has the rule %s, which config/ no longer renders", what, r)
			}
		}
		t.Errorf("the CSV's %s differ from the RBAC config/ renders now (did a +kubebuilder:rbac marker change?): "+
			"run `make manifests bundle`", what)
	}
}

// canonicalRules are the rules as sorted JSON strings (the order of rules carries no meaning).
func canonicalRules(rules []rbacv1.PolicyRule) []string {
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func mustConvert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// TestAnnotationsMatchDockerfileLabels: metadata/annotations.yaml and the LABELs of
// bundle.Dockerfile are the same, carry the required keys, and the COPYs put the directories
// where the labels say.
func TestAnnotationsMatchDockerfileLabels(t *testing.T) {
	ann := annotations(t)
	labels := map[string]string{}
	var copies []string
	for _, line := range strings.Split(string(readFile(t, bundlegen.BundleDockerfile)), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "LABEL "), "="); ok && strings.HasPrefix(line, "LABEL ") {
			labels[k] = v
		}
		if f := strings.Fields(line); len(f) == 3 && f[0] == "COPY" {
			copies = append(copies, f[2])
		}
	}
	if !equalMaps(ann, labels) {
		t.Errorf("annotations.yaml %v\nand bundle.Dockerfile LABELs %v differ: %s", ann, labels, regenerate)
	}
	want := map[string]string{
		"operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
		"operators.operatorframework.io.bundle.manifests.v1": "manifests/",
		"operators.operatorframework.io.bundle.metadata.v1":  "metadata/",
		"operators.operatorframework.io.bundle.package.v1":   bundlegen.PackageName,
		"operators.operatorframework.io.test.mediatype.v1":   "scorecard+v1",
		"operators.operatorframework.io.test.config.v1":      "tests/scorecard/",
	}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	channels := strings.Split(ann["operators.operatorframework.io.bundle.channels.v1"], ",")
	if def := ann["operators.operatorframework.io.bundle.channel.default.v1"]; !slices.Contains(channels, def) {
		t.Errorf("default channel %q is not one of the channels %v", def, channels)
	}
	for _, k := range []string{"manifests.v1", "metadata.v1"} {
		dir := "/" + ann["operators.operatorframework.io.bundle."+k]
		if !slices.Contains(copies, dir) {
			t.Errorf("bundle.Dockerfile does not COPY anything to %s (label %s)", dir, k)
		}
	}
	if dir := "/" + ann["operators.operatorframework.io.test.config.v1"]; !slices.Contains(copies, dir) {
		t.Errorf("bundle.Dockerfile does not COPY the scorecard config to %s", dir)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

var csvNameRE = regexp.MustCompile(`^edgeforge\.v(.+)$`)

// TestVersionAndReplaces: the CSV is named after its version, versions are semver, and
// replaces names an older edgeforge CSV.
func TestVersionAndReplaces(t *testing.T) {
	csv := loadCSV(t)
	m := csvNameRE.FindStringSubmatch(csv.Metadata.Name)
	if m == nil || m[1] != csv.Spec.Version {
		t.Errorf("CSV name %q does not match spec.version %q (want edgeforge.v%[2]s)", csv.Metadata.Name, csv.Spec.Version)
	}
	v, err := version.ParseSemantic(csv.Spec.Version)
	if err != nil {
		t.Fatalf("spec.version %q is not semver: %v", csv.Spec.Version, err)
	}
	if csv.Spec.Replaces != "" {
		r := csvNameRE.FindStringSubmatch(csv.Spec.Replaces)
		if r == nil {
			t.Fatalf("replaces %q is not an edgeforge CSV name (edgeforge.v<semver>)", csv.Spec.Replaces)
		}
		old, err := version.ParseSemantic(r[1])
		if err != nil {
			t.Fatalf("replaces %q: %v", csv.Spec.Replaces, err)
		}
		if !old.LessThan(v) {
			t.Errorf("replaces %s is not older than %s", csv.Spec.Replaces, csv.Spec.Version)
		}
	}
	if _, err := version.ParseSemantic(csv.Spec.MinKubeVersion); err != nil {
		t.Errorf("minKubeVersion %q is not semver: %v", csv.Spec.MinKubeVersion, err)
	}
}

// TestCSVMetadata: what OperatorHub shows and requires.
func TestCSVMetadata(t *testing.T) {
	csv := loadCSV(t)
	if csv.APIVersion != "operators.coreos.com/v1alpha1" || csv.Kind != "ClusterServiceVersion" {
		t.Errorf("apiVersion/kind = %s/%s", csv.APIVersion, csv.Kind)
	}
	modes := map[bundlegen.InstallModeType]bool{}
	for _, m := range csv.Spec.InstallModes {
		modes[m.Type] = m.Supported
	}
	if len(modes) != 4 {
		t.Errorf("installModes must list all four modes, got %v", csv.Spec.InstallModes)
	}
	for _, m := range []bundlegen.InstallModeType{bundlegen.InstallModeOwnNamespace, bundlegen.InstallModeAllNamespaces} {
		if !modes[m] {
			t.Errorf("install mode %s must be supported", m)
		}
	}
	s := csv.Spec
	for what, v := range map[string]string{
		"displayName": s.DisplayName, "description": s.Description, "maturity": s.Maturity,
		"provider.name": s.Provider.Name, "minKubeVersion": s.MinKubeVersion,
	} {
		if v == "" {
			t.Errorf("spec.%s is empty", what)
		}
	}
	if len(s.Keywords) == 0 || len(s.Links) == 0 || len(s.Maintainers) == 0 {
		t.Error("spec needs keywords, links and maintainers")
	}
	for _, m := range s.Maintainers {
		if m.Name == "" || !strings.Contains(m.Email, "@") {
			t.Errorf("maintainer %+v needs a name and an email", m)
		}
	}
	if len(s.Icon) != 1 || s.Icon[0].MediaType != "image/svg+xml" {
		t.Fatalf("want one SVG icon, got %d", len(s.Icon))
	}
	svg, err := base64.StdEncoding.DecodeString(s.Icon[0].Data)
	if err != nil {
		t.Fatalf("icon is not base64: %v", err)
	}
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(svg, &root); err != nil || root.XMLName.Local != "svg" {
		t.Errorf("icon is not an SVG document (%v, root %q)", err, root.XMLName.Local)
	}

	a := csv.Metadata.Annotations
	capabilities := []string{"Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights", "Auto Pilot"}
	if !slices.Contains(capabilities, a["capabilities"]) {
		t.Errorf("capabilities %q is not one of %v", a["capabilities"], capabilities)
	}
	// OperatorHub's categories (operator-framework/api's validation list).
	categories := []string{"AI/Machine Learning", "Application Runtime", "Big Data", "Cloud Provider",
		"Database", "Developer Tools", "Drivers and plugins", "Integration & Delivery", "Logging & Tracing",
		"Modernization & Migration", "Monitoring", "Networking", "OpenShift Optional", "Security", "Storage",
		"Streaming & Messaging"}
	for _, c := range strings.Split(a["categories"], ",") {
		if !slices.Contains(categories, strings.TrimSpace(c)) {
			t.Errorf("category %q is not an OperatorHub category", c)
		}
	}
	if img := managerImage(t, csv); a["containerImage"] != img {
		t.Errorf("containerImage %q is not the manager's image %q", a["containerImage"], img)
	}
	if !slices.ContainsFunc(s.RelatedImages, func(r bundlegen.RelatedImage) bool { return r.Image == a["containerImage"] }) {
		t.Errorf("relatedImages lacks the operator image %s", a["containerImage"])
	}
}

// TestScorecardConfig: the scorecard configuration parses, pins its image and runs the basic
// and OLM suites.
func TestScorecardConfig(t *testing.T) {
	var c bundlegen.ScorecardConfiguration
	if err := yaml.UnmarshalStrict(readFile(t, bundlegen.ScorecardPath), &c); err != nil {
		t.Fatalf("%s: %v", bundlegen.ScorecardPath, err)
	}
	if c.APIVersion != "scorecard.operatorframework.io/v1alpha3" || c.Kind != "Configuration" || len(c.Stages) == 0 {
		t.Fatalf("not a scorecard v1alpha3 Configuration: %+v", c)
	}
	tests := map[string]bool{}
	for _, st := range c.Stages {
		for _, tc := range st.Tests {
			if !strings.HasPrefix(tc.Image, "quay.io/operator-framework/scorecard-test:v") {
				t.Errorf("scorecard test %v: image %q is not a pinned scorecard-test release", tc.Entrypoint, tc.Image)
			}
			if len(tc.Entrypoint) == 2 {
				tests[tc.Entrypoint[1]] = true
			}
		}
	}
	for _, want := range []string{"basic-check-spec", "olm-bundle-validation", "olm-crds-have-validation",
		"olm-crds-have-resources", "olm-spec-descriptors", "olm-status-descriptors"} {
		if !tests[want] {
			t.Errorf("scorecard config does not run %s", want)
		}
	}
}
