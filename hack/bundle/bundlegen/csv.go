package bundlegen

import (
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The ClusterServiceVersion types below are the subset of
// github.com/operator-framework/api/pkg/operators/v1alpha1 that edgeforge's bundle uses, with the
// same field names and JSON tags (that module is not available here). Fields not listed here do
// not appear in the bundle; a base CSV that uses one fails to parse (strict decoding).

// CSVAPIVersion and CSVKind identify a ClusterServiceVersion.
const (
	CSVAPIVersion = "operators.coreos.com/v1alpha1"
	CSVKind       = "ClusterServiceVersion"
)

// ClusterServiceVersion describes one version of an operator for OLM.
type ClusterServiceVersion struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       CSVSpec    `json:"spec"`
}

// ObjectMeta is the part of metav1.ObjectMeta a CSV carries (no timestamps, no status fields).
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CSVSpec is ClusterServiceVersionSpec.
type CSVSpec struct {
	DisplayName               string                    `json:"displayName"`
	Description               string                    `json:"description,omitempty"`
	Version                   string                    `json:"version,omitempty"`
	Replaces                  string                    `json:"replaces,omitempty"`
	Maturity                  string                    `json:"maturity,omitempty"`
	MinKubeVersion            string                    `json:"minKubeVersion,omitempty"`
	Provider                  AppLink                   `json:"provider,omitempty"`
	Maintainers               []Maintainer              `json:"maintainers,omitempty"`
	Links                     []AppLink                 `json:"links,omitempty"`
	Keywords                  []string                  `json:"keywords,omitempty"`
	Icon                      []Icon                    `json:"icon,omitempty"`
	InstallModes              []InstallMode             `json:"installModes,omitempty"`
	CustomResourceDefinitions CustomResourceDefinitions `json:"customresourcedefinitions,omitempty"`
	RelatedImages             []RelatedImage            `json:"relatedImages,omitempty"`
	InstallStrategy           NamedInstallStrategy      `json:"install"`
}

// AppLink is a named URL.
type AppLink struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Maintainer is a person or team to contact.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Icon is a base64-encoded image.
type Icon struct {
	Data      string `json:"base64data"`
	MediaType string `json:"mediatype"`
}

// InstallModeType is one of the four OLM install modes.
type InstallModeType string

// The install modes.
const (
	InstallModeOwnNamespace    InstallModeType = "OwnNamespace"
	InstallModeSingleNamespace InstallModeType = "SingleNamespace"
	InstallModeMultiNamespace  InstallModeType = "MultiNamespace"
	InstallModeAllNamespaces   InstallModeType = "AllNamespaces"
)

// InstallMode says whether an install mode is supported.
type InstallMode struct {
	Type      InstallModeType `json:"type"`
	Supported bool            `json:"supported"`
}

// CustomResourceDefinitions lists the CRDs the operator owns and requires.
type CustomResourceDefinitions struct {
	Owned []CRDDescription `json:"owned,omitempty"`
}

// CRDDescription describes one owned CRD for OLM and the console.
type CRDDescription struct {
	Name              string                 `json:"name"`
	Version           string                 `json:"version"`
	Kind              string                 `json:"kind"`
	DisplayName       string                 `json:"displayName,omitempty"`
	Description       string                 `json:"description,omitempty"`
	Resources         []APIResourceReference `json:"resources,omitempty"`
	SpecDescriptors   []Descriptor           `json:"specDescriptors,omitempty"`
	StatusDescriptors []Descriptor           `json:"statusDescriptors,omitempty"`
}

// APIResourceReference names a kind the CRD's controller creates.
type APIResourceReference struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// Descriptor is a SpecDescriptor or StatusDescriptor: how the console shows one field.
type Descriptor struct {
	Path         string   `json:"path"`
	DisplayName  string   `json:"displayName,omitempty"`
	Description  string   `json:"description,omitempty"`
	XDescriptors []string `json:"x-descriptors,omitempty"`
}

// RelatedImage is an image the operator runs or makes others run (for mirroring).
type RelatedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// NamedInstallStrategy is the install strategy; edgeforge uses "deployment".
type NamedInstallStrategy struct {
	StrategyName string                    `json:"strategy"`
	StrategySpec StrategyDetailsDeployment `json:"spec,omitempty"`
}

// StrategyDetailsDeployment holds the operator's Deployments and their RBAC.
type StrategyDetailsDeployment struct {
	DeploymentSpecs    []StrategyDeploymentSpec        `json:"deployments"`
	Permissions        []StrategyDeploymentPermissions `json:"permissions,omitempty"`
	ClusterPermissions []StrategyDeploymentPermissions `json:"clusterPermissions,omitempty"`
}

// StrategyDeploymentSpec is one Deployment OLM creates.
type StrategyDeploymentSpec struct {
	Name  string                `json:"name"`
	Spec  appsv1.DeploymentSpec `json:"spec"`
	Label map[string]string     `json:"label,omitempty"`
}

// StrategyDeploymentPermissions are RBAC rules OLM grants to a service account: as a Role in
// the install namespace(s) (permissions) or as a ClusterRole (clusterPermissions).
type StrategyDeploymentPermissions struct {
	ServiceAccountName string              `json:"serviceAccountName"`
	Rules              []rbacv1.PolicyRule `json:"rules"`
}
