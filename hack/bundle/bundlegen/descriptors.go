package bundlegen

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// x-descriptors the console understands (github.com/openshift/console, OLM descriptor docs).
const (
	XText                 = "urn:alm:descriptor:text"
	XConditions           = "urn:alm:descriptor:io.kubernetes.conditions"
	XPhase                = "urn:alm:descriptor:io.kubernetes.phase"
	XLink                 = "urn:alm:descriptor:org.w3:link"
	XBooleanSwitch        = "urn:alm:descriptor:com.tectonic.ui:booleanSwitch"
	XNumber               = "urn:alm:descriptor:com.tectonic.ui:number"
	XUIText               = "urn:alm:descriptor:com.tectonic.ui:text"
	XResourceRequirements = "urn:alm:descriptor:com.tectonic.ui:resourceRequirements"
)

// ownedCRDs completes the base CSV's owned-CRD entries from the CRDs: version and kind, a
// default display name and description, and a descriptor for every top-level spec and status
// field the base does not describe. Base entries for CRDs that do not exist, and descriptors
// whose path is not in the schema, are errors: the base must follow the API.
func ownedCRDs(base []CRDDescription, files []File) ([]CRDDescription, error) {
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	var names []string
	for _, f := range files {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(f.Data, crd); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", CRDDir, f.Path, err)
		}
		crds[crd.Name] = crd
		names = append(names, crd.Name)
	}
	sort.Strings(names)
	var out []CRDDescription
	done := map[string]bool{}
	for _, b := range base {
		crd, ok := crds[b.Name]
		if !ok {
			return nil, fmt.Errorf("%s owns the CRD %q, which is not in %s: fix or remove the entry", BaseCSVPath, b.Name, CRDDir)
		}
		if done[b.Name] {
			return nil, fmt.Errorf("%s lists the CRD %q twice", BaseCSVPath, b.Name)
		}
		done[b.Name] = true
		d, err := describeCRD(b, crd)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	for _, n := range names {
		if done[n] {
			continue
		}
		d, err := describeCRD(CRDDescription{Name: n}, crds[n])
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// StorageVersion is the CRD version stored in etcd (the one OLM's owned entry names).
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensionsv1.CustomResourceDefinitionVersion, error) {
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Storage {
			return &crd.Spec.Versions[i], nil
		}
	}
	return nil, fmt.Errorf("CRD %s has no storage version", crd.Name)
}

func describeCRD(d CRDDescription, crd *apiextensionsv1.CustomResourceDefinition) (CRDDescription, error) {
	v, err := StorageVersion(crd)
	if err != nil {
		return d, err
	}
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return d, fmt.Errorf("CRD %s version %s has no schema", crd.Name, v.Name)
	}
	schema := v.Schema.OpenAPIV3Schema
	d.Version = v.Name
	d.Kind = crd.Spec.Names.Kind
	if d.DisplayName == "" {
		d.DisplayName = Humanize(d.Kind)
	}
	if d.Description == "" {
		d.Description = FirstSentence(schema.Description)
	}
	if d.SpecDescriptors, err = descriptors(crd.Name, "spec", d.SpecDescriptors, schema.Properties["spec"], specX); err != nil {
		return d, err
	}
	if d.StatusDescriptors, err = descriptors(crd.Name, "status", d.StatusDescriptors, schema.Properties["status"], statusX); err != nil {
		return d, err
	}
	return d, nil
}

// descriptors returns the base's descriptors (completed) followed by one for every other
// top-level field of root, alphabetically.
func descriptors(crdName, section string, base []Descriptor, root apiextensionsv1.JSONSchemaProps,
	infer func(string, apiextensionsv1.JSONSchemaProps) []string) ([]Descriptor, error) {
	seen := map[string]bool{}
	out := make([]Descriptor, 0, len(base)+len(root.Properties))
	for _, b := range base {
		p, err := SchemaAt(root, b.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %s descriptor %q of %s: %w: fix or remove it", BaseCSVPath, section, b.Path, crdName, err)
		}
		if seen[b.Path] {
			return nil, fmt.Errorf("%s: %s descriptor %q of %s is listed twice", BaseCSVPath, section, b.Path, crdName)
		}
		seen[b.Path] = true
		field := lastField(b.Path)
		if b.DisplayName == "" {
			b.DisplayName = Humanize(field)
		}
		if b.Description == "" {
			b.Description = FirstSentence(p.Description)
		}
		if b.XDescriptors == nil { // an explicit empty list means "none"
			b.XDescriptors = infer(field, p)
		}
		out = append(out, b)
	}
	names := make([]string, 0, len(root.Properties))
	for n := range root.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if seen[n] {
			continue
		}
		p := root.Properties[n]
		out = append(out, Descriptor{Path: n, DisplayName: Humanize(n), Description: FirstSentence(p.Description), XDescriptors: infer(n, p)})
	}
	return out, nil
}

func specX(name string, p apiextensionsv1.JSONSchemaProps) []string {
	switch {
	case name == "resources" && p.Type == "object":
		return []string{XResourceRequirements}
	case p.Type == "boolean":
		return []string{XBooleanSwitch}
	case p.Type == "integer":
		return []string{XNumber}
	case p.Type == "string":
		return []string{XUIText}
	}
	return nil
}

func statusX(name string, p apiextensionsv1.JSONSchemaProps) []string {
	switch {
	case name == "conditions":
		return []string{XConditions}
	case name == "phase":
		return []string{XPhase}
	case strings.EqualFold(name, "url") || strings.HasSuffix(name, "URL"):
		return []string{XLink}
	case p.Type == "string" || p.Type == "integer" || p.Type == "boolean":
		return []string{XText}
	}
	return nil
}

// SchemaAt returns the schema of a descriptor path ("a.b", "a[0].b") below root.
func SchemaAt(root apiextensionsv1.JSONSchemaProps, path string) (apiextensionsv1.JSONSchemaProps, error) {
	cur := root
	walked := ""
	for _, seg := range strings.Split(path, ".") {
		name, _, _ := strings.Cut(seg, "[")
		next, ok := cur.Properties[name]
		if !ok {
			return cur, fmt.Errorf("the schema has no field %q", strings.TrimPrefix(walked+"."+name, "."))
		}
		walked = strings.TrimPrefix(walked+"."+name, ".")
		cur = next
		for range strings.Count(seg, "[") {
			if cur.Items == nil || cur.Items.Schema == nil {
				return cur, fmt.Errorf("%q is not a list", walked)
			}
			cur = *cur.Items.Schema
			walked += "[]"
		}
	}
	return cur, nil
}

func lastField(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		path = path[i+1:]
	}
	name, _, _ := strings.Cut(path, "[")
	return name
}

// Humanize turns a field or kind name into words: "approveServingCSRs" → "Approve Serving
// CSRs", "tokenTTL" → "Token TTL", "ImageBuild" → "Image Build".
func Humanize(s string) string {
	r := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		prev, cur := r[i-1], r[i]
		if !unicode.IsUpper(cur) {
			continue
		}
		// a new word starts at an upper-case letter after a lower-case one or a digit ("tokenTTL"),
		// or at the last capital of an acronym followed by a word ("HTTPServer"), but not before
		// a plural "s" ("CSRs")
		nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
		plural := i+2 == len(r) && r[i+1] == 's'
		if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower && !plural) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	words = append(words, string(r[start:]))
	if len(words[0]) > 0 {
		w := []rune(words[0])
		w[0] = unicode.ToUpper(w[0])
		words[0] = string(w)
	}
	return strings.Join(words, " ")
}

// FirstSentence is the first sentence of a schema description, on one line.
func FirstSentence(desc string) string {
	s := strings.Join(strings.Fields(desc), " ")
	for off := 0; ; {
		i := strings.Index(s[off:], ". ")
		if i < 0 {
			return s
		}
		end := off + i
		word := strings.TrimLeft(s[strings.LastIndex(s[:end], " ")+1:end], "(\"'`")
		if word != "e.g" && word != "i.e" && word != "etc" {
			return s[:end+1]
		}
		off = end + 2
	}
}
