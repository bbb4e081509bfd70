// Package bundlegen generates edgeforge's OLM bundle (registry+v1) from what kustomize renders
// for config/default, the CRDs in config/crd/bases, the samples in config/samples and the
// hand-written CSV metadata in config/manifests. It is deterministic: the same inputs give the
// same bytes (no timestamps, stable ordering), so the bundle can be committed and checked.
//
// `make bundle` runs it through hack/bundle; test/bundle regenerates it to prove the committed
// bundle is up to date.
package bundlegen

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/internal/settings"
)

// Paths, relative to the repository root.
const (
	BaseCSVPath      = "config/manifests/bases/edgeforge.clusterserviceversion.yaml"
	IconPath         = "config/manifests/icon.svg"
	CRDDir           = "config/crd/bases"
	SamplesDir       = "config/samples"
	BundleDir        = "bundle"
	BundleDockerfile = "bundle.Dockerfile"
	ManifestsDir     = BundleDir + "/manifests"
	CSVPath          = ManifestsDir + "/" + PackageName + ".clusterserviceversion.yaml"
	AnnotationsPath  = BundleDir + "/metadata/annotations.yaml"
	ScorecardPath    = BundleDir + "/tests/scorecard/config.yaml"
	// OutsideRBACPath holds the Roles the operator needs in kube-system, which OLM cannot grant
	// (it grants namespaced permissions in the install namespace only); not part of the image.
	OutsideRBACPath = BundleDir + "/kube-system-rbac.yaml"
)

// PackageName is the OLM package; CSV names are <PackageName>.v<version>.
const PackageName = "edgeforge"

// ScorecardImage is the pinned image of operator-sdk's built-in scorecard tests.
const ScorecardImage = "quay.io/operator-framework/scorecard-test:v1.42.2"

// Options are the release-specific inputs (make bundle VERSION=… REPLACES=… IMG=…).
type Options struct {
	// Version of this bundle, semver without a leading v, e.g. 0.1.0.
	Version string
	// Replaces is the CSV this one upgrades from (edgeforge.v<older>), or empty.
	Replaces string
	// Image of the operator, written into the Deployment by the render and into containerImage.
	Image string
	// Channels the bundle is published in, and the default one.
	Channels       []string
	DefaultChannel string
}

// File is one generated file, its path relative to the repository root.
type File struct {
	Path string
	Data []byte
}

// Inputs are the files the bundle is made from.
type Inputs struct {
	// Rendered is config/default rendered by hack/render-default.sh with the operator image set.
	Rendered []byte
	// BaseCSV is the hand-written CSV metadata (BaseCSVPath).
	BaseCSV []byte
	// Icon is the SVG icon (IconPath).
	Icon []byte
	// CRDs are the files of CRDDir, sorted by name.
	CRDs []File
	// Samples are the documents of the files config/samples/kustomization.yaml lists, in order.
	Samples [][]byte
}

// ReadInputs reads everything but the render from the repository at root.
func ReadInputs(root string, rendered []byte) (*Inputs, error) {
	in := &Inputs{Rendered: rendered}
	var err error
	if in.BaseCSV, err = os.ReadFile(filepath.Join(root, BaseCSVPath)); err != nil {
		return nil, err
	}
	if in.Icon, err = os.ReadFile(filepath.Join(root, IconPath)); err != nil {
		return nil, err
	}
	crds, err := filepath.Glob(filepath.Join(root, CRDDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(crds)
	for _, p := range crds {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		in.CRDs = append(in.CRDs, File{Path: filepath.Base(p), Data: data})
	}
	if len(in.CRDs) == 0 {
		return nil, fmt.Errorf("no CRDs in %s: run make manifests", CRDDir)
	}
	in.Samples, err = readSamples(filepath.Join(root, SamplesDir))
	return in, err
}

// readSamples returns the YAML documents of the files dir/kustomization.yaml lists, in order.
func readSamples(dir string) ([][]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	var docs [][]byte
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", r, err)
		}
		d, err := SplitYAML(data)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", r, err)
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// SplitYAML splits a multi-document YAML stream into its non-empty documents.
func SplitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, err
		}
		if len(m) > 0 {
			docs = append(docs, doc)
		}
	}
}

// ParseObjects parses a multi-document YAML stream into objects.
func ParseObjects(data []byte) ([]*unstructured.Unstructured, error) {
	docs, err := SplitYAML(data)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, 0, len(docs))
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(d, &u.Object); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// ParseVersion parses a bundle version: semver without a leading "v".
func ParseVersion(s string) (*version.Version, error) {
	if strings.HasPrefix(s, "v") {
		return nil, fmt.Errorf("version %q: write it without the leading v (e.g. 0.1.0)", s)
	}
	v, err := version.ParseSemantic(s)
	if err != nil {
		return nil, fmt.Errorf("version %q is not semver: %w", s, err)
	}
	return v, nil
}

// CSVName is the name of the CSV of a version.
func CSVName(v string) string { return PackageName + ".v" + v }

func (o Options) validate() error {
	v, err := ParseVersion(o.Version)
	if err != nil {
		return err
	}
	if o.Replaces != "" {
		old, ok := strings.CutPrefix(o.Replaces, PackageName+".v")
		if !ok {
			return fmt.Errorf("replaces %q must name a CSV of this package: %s.v<version>", o.Replaces, PackageName)
		}
		ov, err := ParseVersion(old)
		if err != nil {
			return fmt.Errorf("replaces %q: %w", o.Replaces, err)
		}
		if !ov.LessThan(v) {
			return fmt.Errorf("replaces %q must be an older version than %s", o.Replaces, o.Version)
		}
	}
	if o.Image == "" {
		return errors.New("the operator image is empty (IMG)")
	}
	if len(o.Channels) == 0 || !slices.Contains(o.Channels, o.DefaultChannel) {
		return fmt.Errorf("default channel %q must be one of the channels %v", o.DefaultChannel, o.Channels)
	}
	return nil
}

// Generate builds the bundle's files (sorted by path).
func Generate(opts Options, in *Inputs) ([]File, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	objs, err := ParseObjects(in.Rendered)
	if err != nil {
		return nil, fmt.Errorf("parsing the rendered config/default: %w", err)
	}
	csv, extra, err := buildCSV(opts, in, objs)
	if err != nil {
		return nil, err
	}
	csvYAML, err := yaml.Marshal(csv)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: CSVPath, Data: append([]byte(generatedHeader), csvYAML...)}}
	for _, c := range in.CRDs {
		files = append(files, File{Path: ManifestsDir + "/" + c.Path, Data: c.Data})
	}
	files = append(files, extra...)
	ann := Annotations(opts)
	files = append(files,
		File{Path: AnnotationsPath, Data: annotationsYAML(ann)},
		File{Path: BundleDockerfile, Data: bundleDockerfile(ann)},
	)
	sc, err := scorecardConfig()
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: ScorecardPath, Data: sc})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

const generatedHeader = "# Generated by `make bundle` (hack/bundle) from config/; do not edit.\n"

const outsideRBACHeader = generatedHeader +
	"# OLM grants a bundle's namespaced permissions only in the install namespace. EdgeCluster also needs\n" +
	"# this Role in kube-system (bootstrap-token Secrets live there): an admin applies this file once,\n" +
	"# after changing the ServiceAccount's namespace if the operator is installed elsewhere. Until then\n" +
	"# EdgeClusters are Stalled, reason BootstrapTokensForbidden (docs/install.md).\n"

// Write replaces bundle/ and bundle.Dockerfile under root with files.
func Write(root string, files []File) error {
	if err := os.RemoveAll(filepath.Join(root, BundleDir)); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildCSV makes the CSV and the other manifests the bundle carries (Services, unbound
// ClusterRoles).
func buildCSV(opts Options, in *Inputs, objs []*unstructured.Unstructured) (*ClusterServiceVersion, []File, error) {
	csv := &ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(in.BaseCSV, csv); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", BaseCSVPath, err)
	}
	csv.APIVersion, csv.Kind = CSVAPIVersion, CSVKind
	csv.Metadata.Name = CSVName(opts.Version)
	csv.Spec.Version = opts.Version
	csv.Spec.Replaces = opts.Replaces
	if len(csv.Spec.Icon) == 0 {
		csv.Spec.Icon = []Icon{{Data: base64.StdEncoding.EncodeToString(in.Icon), MediaType: "image/svg+xml"}}
	}

	strategy, extra, err := installStrategy(objs, in.CRDs)
	if err != nil {
		return nil, nil, err
	}
	csv.Spec.InstallStrategy = NamedInstallStrategy{StrategyName: "deployment", StrategySpec: *strategy}

	owned, err := ownedCRDs(csv.Spec.CustomResourceDefinitions.Owned, in.CRDs)
	if err != nil {
		return nil, nil, err
	}
	csv.Spec.CustomResourceDefinitions.Owned = owned

	examples, err := almExamples(in.Samples)
	if err != nil {
		return nil, nil, err
	}
	if csv.Metadata.Annotations == nil {
		csv.Metadata.Annotations = map[string]string{}
	}
	csv.Metadata.Annotations["alm-examples"] = examples
	csv.Metadata.Annotations["containerImage"] = opts.Image

	csv.Spec.RelatedImages = []RelatedImage{
		{Name: "manager", Image: opts.Image},
		{Name: "kaniko-executor", Image: settings.DefaultKanikoImage},
		{Name: "grafana", Image: settings.DefaultGrafanaImage},
		{Name: "node-exporter", Image: settings.DefaultNodeExporterImage},
		{Name: "kube-state-metrics", Image: settings.DefaultKubeStateMetricsImage},
	}
	return csv, extra, nil
}

// bundleKinds are the kinds (besides the CSV and CRDs) OLM accepts as bundle manifests; a
// rendered object of another kind is an error, not silently dropped.
var bundleKinds = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
	"ConfigMap": true, "Secret": true, "Service": true, "ServiceAccount": true,
	"PodDisruptionBudget": true, "PriorityClass": true, "PrometheusRule": true,
	"ServiceMonitor": true, "VerticalPodAutoscaler": true,
}

// installStrategy turns the rendered objects into the CSV's deployment strategy: the
// Deployments, and the rules of the (Cluster)Roles bound to their service accounts. Objects
// OLM installs from the bundle as they are (Services, ClusterRoles bound to nobody, ...) are
// returned as extra files; the Namespace, the service accounts and their bindings are left to
// OLM.
func installStrategy(objs []*unstructured.Unstructured, crds []File) (*StrategyDetailsDeployment, []File, error) {
	var (
		deployments []*unstructured.Unstructured
		roles       = map[string]*unstructured.Unstructured{} // "Role/namespace/name" or "ClusterRole/name"
		bindings    []*unstructured.Unstructured
		others      []*unstructured.Unstructured
		crdNames    []string
		serviceAccs = map[string]*unstructured.Unstructured{}
		namespace   string
	)
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			namespace = o.GetName()
		case "CustomResourceDefinition":
			crdNames = append(crdNames, o.GetName())
		case "Deployment":
			deployments = append(deployments, o)
		case "ClusterRole":
			roles["ClusterRole/"+o.GetName()] = o
		case "Role":
			roles["Role/"+o.GetNamespace()+"/"+o.GetName()] = o
		case "RoleBinding", "ClusterRoleBinding":
			bindings = append(bindings, o)
		case "ServiceAccount":
			serviceAccs[o.GetName()] = o
		default:
			if !bundleKinds[o.GetKind()] {
				return nil, nil, fmt.Errorf("config/default renders a %s (%s) and OLM bundles cannot carry that kind: "+
					"teach hack/bundle what to do with it", o.GetKind(), o.GetName())
			}
			others = append(others, o)
		}
	}
	if err := sameCRDs(crdNames, crds); err != nil {
		return nil, nil, err
	}
	if len(deployments) == 0 {
		return nil, nil, errors.New("config/default renders no Deployment")
	}
	sortObjects(deployments)
	sortObjects(bindings)
	sortObjects(others)

	s := &StrategyDetailsDeployment{}
	accounts := map[string]bool{}
	for _, d := range deployments {
		var dep appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, &dep); err != nil {
			return nil, nil, fmt.Errorf("deployment %s: %w", d.GetName(), err)
		}
		if namespace == "" {
			namespace = dep.Namespace
		}
		sa := dep.Spec.Template.Spec.ServiceAccountName
		if sa == "" {
			return nil, nil, fmt.Errorf("deployment %s sets no serviceAccountName", dep.Name)
		}
		accounts[sa] = true
		s.DeploymentSpecs = append(s.DeploymentSpecs, StrategyDeploymentSpec{Name: dep.Name, Spec: dep.Spec, Label: dep.Labels})
	}

	usedRoles := map[string]bool{}
	var outside []*unstructured.Unstructured // kube-system's Roles and bindings
	clusterRules := map[string][]rbacv1.PolicyRule{}
	nsRules := map[string][]rbacv1.PolicyRule{}
	for _, b := range bindings {
		var rb rbacv1.RoleBinding // RoleBinding and ClusterRoleBinding share roleRef and subjects
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(b.Object, &rb); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", b.GetKind(), b.GetName(), err)
		}
		var ours, theirs int
		for _, sub := range rb.Subjects {
			if sub.Kind == rbacv1.ServiceAccountKind && accounts[sub.Name] && sub.Namespace == namespace {
				ours++
			} else {
				theirs++
			}
		}
		if ours == 0 {
			others = append(others, b)
			continue
		}
		if theirs > 0 || ours > 1 {
			return nil, nil, fmt.Errorf("%s %s binds the operator's service account together with other subjects: "+
				"OLM cannot express that; use one binding per service account", b.GetKind(), b.GetName())
		}
		key := rb.RoleRef.Kind + "/" + rb.RoleRef.Name
		if rb.RoleRef.Kind == "Role" {
			key = "Role/" + b.GetNamespace() + "/" + rb.RoleRef.Name
		}
		role, ok := roles[key]
		if !ok {
			return nil, nil, fmt.Errorf("%s %s refers to %s, which config/default does not render", b.GetKind(), b.GetName(), key)
		}
		usedRoles[key] = true
		// OLM grants namespaced permissions only in the install namespace. A Role the operator
		// needs elsewhere (EdgeCluster's bootstrap-token Secrets in kube-system) is not widened
		// to the cluster: it goes, with its binding, to OutsideRBACPath for an admin to apply
		// (docs/install.md); without it the controller that needs it stalls with a reason.
		if b.GetKind() == "RoleBinding" && b.GetNamespace() != namespace {
			if b.GetNamespace() != metav1.NamespaceSystem {
				return nil, nil, fmt.Errorf("RoleBinding %s/%s: only kube-system's Roles can ship beside the bundle", b.GetNamespace(), b.GetName())
			}
			outside = append(outside, role, b)
			continue
		}
		rules, err := policyRules(role)
		if err != nil {
			return nil, nil, err
		}
		sa := rb.Subjects[0].Name
		if b.GetKind() == "ClusterRoleBinding" {
			clusterRules[sa] = append(clusterRules[sa], rules...)
		} else {
			nsRules[sa] = append(nsRules[sa], rules...)
		}
	}
	for _, sa := range sortedKeys(accounts) {
		if r := nsRules[sa]; len(r) > 0 {
			s.Permissions = append(s.Permissions, StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: r})
		}
		if r := clusterRules[sa]; len(r) > 0 {
			s.ClusterPermissions = append(s.ClusterPermissions, StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: r})
		}
	}
	for _, key := range sortedKeys(roles) {
		if !usedRoles[key] {
			others = append(others, roles[key])
		}
	}
	for _, name := range sortedKeys(serviceAccs) {
		if !accounts[name] {
			others = append(others, serviceAccs[name])
		}
	}

	var files []File
	if len(outside) > 0 {
		data := []byte(outsideRBACHeader)
		for _, o := range outside {
			y, err := yaml.Marshal(o.Object)
			if err != nil {
				return nil, nil, err
			}
			data = append(append(data, "---\n"...), y...)
		}
		files = append(files, File{Path: OutsideRBACPath, Data: data})
	}
	for _, o := range others {
		o = o.DeepCopy()
		o.SetNamespace("") // OLM puts namespaced objects into the install namespace
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, nil, err
		}
		gv := o.GroupVersionKind().GroupVersion()
		group := gv.Group
		if group != "" {
			group += "_"
		}
		name := fmt.Sprintf("%s_%s%s_%s.yaml", o.GetName(), group, gv.Version, strings.ToLower(o.GetKind()))
		files = append(files, File{Path: ManifestsDir + "/" + name, Data: data})
	}
	return s, files, nil
}

func policyRules(role *unstructured.Unstructured) ([]rbacv1.PolicyRule, error) {
	var r rbacv1.ClusterRole // Role and ClusterRole share rules
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(role.Object, &r); err != nil {
		return nil, fmt.Errorf("%s %s: %w", role.GetKind(), role.GetName(), err)
	}
	if r.AggregationRule != nil {
		return nil, fmt.Errorf("%s %s aggregates other roles: OLM cannot express that", role.GetKind(), role.GetName())
	}
	return r.Rules, nil
}

func sameCRDs(rendered []string, files []File) error {
	var bases []string
	for _, f := range files {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(f.Data, &crd); err != nil {
			return fmt.Errorf("%s/%s: %w", CRDDir, f.Path, err)
		}
		bases = append(bases, crd.Name)
	}
	sort.Strings(bases)
	sort.Strings(rendered)
	if !slices.Equal(bases, rendered) {
		return fmt.Errorf("config/default renders the CRDs %v but %s holds %v: list every CRD in config/crd/kustomization.yaml",
			rendered, CRDDir, bases)
	}
	return nil
}

func sortObjects(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		return a.GetName() < b.GetName()
	})
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// almExamples is the JSON array of the samples, for the console's "create" forms.
func almExamples(samples [][]byte) (string, error) {
	var list []map[string]any
	for _, s := range samples {
		var m map[string]any
		if err := yaml.Unmarshal(s, &m); err != nil {
			return "", fmt.Errorf("sample: %w", err)
		}
		list = append(list, m)
	}
	if len(list) == 0 {
		return "", fmt.Errorf("no samples in %s", SamplesDir)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(list); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Annotation is one bundle annotation (a key of metadata/annotations.yaml and a LABEL of
// bundle.Dockerfile).
type Annotation struct{ Key, Value string }

// Annotations are the bundle's annotations, in the order they are written.
func Annotations(o Options) []Annotation {
	return []Annotation{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", PackageName},
		{"operators.operatorframework.io.bundle.channels.v1", strings.Join(o.Channels, ",")},
		{"operators.operatorframework.io.bundle.channel.default.v1", o.DefaultChannel},
		{"operators.operatorframework.io.test.mediatype.v1", "scorecard+v1"},
		{"operators.operatorframework.io.test.config.v1", "tests/scorecard/"},
	}
}

func annotationsYAML(ann []Annotation) []byte {
	var b strings.Builder
	b.WriteString(generatedHeader)
	b.WriteString("# The same keys and values are the LABELs of bundle.Dockerfile.\nannotations:\n")
	for _, a := range ann {
		fmt.Fprintf(&b, "  %s: %s\n", a.Key, a.Value)
	}
	return []byte(b.String())
}

func bundleDockerfile(ann []Annotation) []byte {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(generatedHeader, "from config/", "from config/ (its LABELs are bundle/metadata/annotations.yaml)"))
	b.WriteString("# The OLM bundle image. Its build context is bundle/:\n")
	b.WriteString("#   make bundle-build BUNDLE_IMG=…   (docker build -f bundle.Dockerfile -t BUNDLE_IMG bundle)\n")
	b.WriteString("FROM scratch\n\n")
	for _, a := range ann {
		fmt.Fprintf(&b, "LABEL %s=%s\n", a.Key, a.Value)
	}
	b.WriteString("\n# Copy files to the locations the labels name.\n")
	b.WriteString("COPY manifests /manifests/\n")
	b.WriteString("COPY metadata /metadata/\n")
	b.WriteString("COPY tests/scorecard /tests/scorecard/\n")
	return []byte(b.String())
}

// ScorecardTests are the entrypoints of the scorecard tests the bundle configures.
var ScorecardTests = []struct{ Suite, Test string }{
	{"basic", "basic-check-spec"},
	{"olm", "olm-bundle-validation"},
	{"olm", "olm-crds-have-validation"},
	{"olm", "olm-crds-have-resources"},
	{"olm", "olm-spec-descriptors"},
	{"olm", "olm-status-descriptors"},
}

// ScorecardConfiguration is scorecard.operatorframework.io/v1alpha3 Configuration.
type ScorecardConfiguration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Stages []struct {
		Parallel bool            `json:"parallel"`
		Tests    []ScorecardTest `json:"tests"`
	} `json:"stages"`
	Storage struct {
		Spec struct {
			MountPath struct{} `json:"mountPath"`
		} `json:"spec"`
	} `json:"storage"`
}

// ScorecardTest is one scorecard test: an image and its entrypoint.
type ScorecardTest struct {
	Entrypoint []string          `json:"entrypoint"`
	Image      string            `json:"image"`
	Labels     map[string]string `json:"labels"`
}

func scorecardConfig() ([]byte, error) {
	c := ScorecardConfiguration{APIVersion: "scorecard.operatorframework.io/v1alpha3", Kind: "Configuration"}
	c.Metadata.Name = "config"
	c.Stages = make([]struct {
		Parallel bool            `json:"parallel"`
		Tests    []ScorecardTest `json:"tests"`
	}, 1)
	c.Stages[0].Parallel = true
	for _, t := range ScorecardTests {
		c.Stages[0].Tests = append(c.Stages[0].Tests, ScorecardTest{
			Entrypoint: []string{"scorecard-test", t.Test},
			Image:      ScorecardImage,
			Labels:     map[string]string{"suite": t.Suite, "test": t.Test + "-test"},
		})
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	header := generatedHeader + "# Run against a cluster with OLM: operator-sdk scorecard bundle/\n"
	return append([]byte(header), data...), nil
}
