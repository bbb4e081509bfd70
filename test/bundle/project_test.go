package bundle

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// kubebuilder's PROJECT file names exactly the kinds the CRDs define, with their group, version,
// scope and Go package.
func TestProjectFileMatchesTheCRDs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Domain    string   `json:"domain"`
		Layout    []string `json:"layout"`
		Repo      string   `json:"repo"`
		Name      string   `json:"projectName"`
		Version   string   `json:"version"`
		Resources []struct {
			API struct {
				CRDVersion string `json:"crdVersion"`
				Namespaced bool   `json:"namespaced"`
			} `json:"api"`
			Controller bool   `json:"controller"`
			Domain     string `json:"domain"`
			Group      string `json:"group"`
			Kind       string `json:"kind"`
			Path       string `json:"path"`
			Version    string `json:"version"`
		} `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(data, &project); err != nil {
		t.Fatalf("PROJECT: %v", err)
	}
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "module " + project.Repo + "\n"; !strings.HasPrefix(string(gomod), want) {
		t.Errorf("PROJECT repo %q is not go.mod's module", project.Repo)
	}
	if project.Version != "3" || !slices.Equal(project.Layout, []string{"go.kubebuilder.io/v3"}) {
		t.Errorf("PROJECT version %q, layout %v; want 3 and go.kubebuilder.io/v3 (controllers/, api/ and main.go at the root)", project.Version, project.Layout)
	}

	crdFiles, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crdFiles) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	crds := map[string]apiextensionsv1.CustomResourceDefinition{}
	for _, f := range crdFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		crds[crd.Spec.Names.Kind] = crd
	}
	seen := map[string]bool{}
	for _, r := range project.Resources {
		seen[r.Kind] = true
		crd, ok := crds[r.Kind]
		if !ok {
			t.Errorf("PROJECT names %s, which has no CRD", r.Kind)
			continue
		}
		group := r.Domain
		if r.Group != "" {
			group = r.Group + "." + r.Domain
		}
		if group != crd.Spec.Group || r.Domain != project.Domain {
			t.Errorf("%s: PROJECT group %q (domain %q), CRD group %q", r.Kind, group, r.Domain, crd.Spec.Group)
		}
		if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != r.Version {
			t.Errorf("%s: PROJECT version %q, CRD versions %v", r.Kind, r.Version, crd.Spec.Versions)
		}
		if r.API.Namespaced != (crd.Spec.Scope == apiextensionsv1.NamespaceScoped) {
			t.Errorf("%s: PROJECT namespaced %t, CRD scope %s", r.Kind, r.API.Namespaced, crd.Spec.Scope)
		}
		if r.Path != project.Repo+"/api/"+r.Version || r.API.CRDVersion != "v1" || !r.Controller {
			t.Errorf("%s: path %q, crdVersion %q, controller %t", r.Kind, r.Path, r.API.CRDVersion, r.Controller)
		}
	}
	for kind := range crds {
		if !seen[kind] {
			t.Errorf("CRD %s is missing from PROJECT", kind)
		}
	}
}
