package bundle

import (
	"fmt"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// clusterSecretVerbsDenied are the verbs on Secrets no cluster-wide grant may hold: listing or
// watching every namespace's Secrets reads all of them, and patch/update rewrites them.
var clusterSecretVerbsDenied = []string{"list", "watch", "patch", "update", "deletecollection"}

// leastPrivilegeProblems says what in rules is too wide for a cluster-wide grant: any wildcard,
// and list, watch, patch, update or deletecollection of Secrets (even of Secrets by name).
func leastPrivilegeProblems(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, f := range [][]string{r.Verbs, r.Resources, r.APIGroups, r.ResourceNames, r.NonResourceURLs} {
			if slices.Contains(f, "*") {
				out = append(out, fmt.Sprintf("wildcard in %v", r))
			}
		}
		if !slices.Contains(r.APIGroups, "") || !slices.Contains(r.Resources, "secrets") {
			continue
		}
		for _, v := range clusterSecretVerbsDenied {
			if slices.Contains(r.Verbs, v) {
				out = append(out, fmt.Sprintf("%s of Secrets at cluster scope in %v", v, r))
			}
		}
	}
	return out
}

// TestClusterRolesLeastPrivilege fails the build when a ClusterRole the installer renders (the
// manager's from +kubebuilder:rbac markers, and the others of config/) grants a wildcard, or
// list, watch or patch of Secrets: edgeforge reads the Secrets it needs by name, and keeps
// list/watch to Roles in its own namespace and kube-system (docs/security.md).
func TestClusterRolesLeastPrivilege(t *testing.T) {
	seen := 0
	for _, o := range renderedObjects(t, "example.com/edgeforge:test") {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		var cr rbacv1.ClusterRole
		mustConvert(t, o, &cr)
		seen++
		for _, p := range leastPrivilegeProblems(cr.Rules) {
			t.Errorf("ClusterRole %s: %s", cr.Name, p)
		}
	}
	if seen == 0 {
		t.Fatal("the installer renders no ClusterRole: is config/default still rendered?")
	}
}

// The guard itself: each rule it must refuse is refused, and the manager's real kinds of rules
// pass.
func TestLeastPrivilegeProblems(t *testing.T) {
	core := []string{""}
	for _, tc := range []struct {
		name string
		rule rbacv1.PolicyRule
		bad  bool
	}{
		{"get Secrets by name", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "delete"}}, false},
		{"list Secrets", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}, true},
		{"watch Secrets of one name", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"secrets"}, ResourceNames: []string{"tokensecret"}, Verbs: []string{"watch"}}, true},
		{"patch Secrets among others", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"patch"}}, true},
		{"wildcard verb", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"pods"}, Verbs: []string{"*"}}, true},
		{"wildcard resource", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"*"}, Verbs: []string{"get"}}, true},
		{"wildcard group", rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}, true},
		{"list pods", rbacv1.PolicyRule{APIGroups: core, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}, false},
		{"a CRD's secrets resource", rbacv1.PolicyRule{APIGroups: []string{"example.com"}, Resources: []string{"secrets"}, Verbs: []string{"list"}}, false},
	} {
		if got := len(leastPrivilegeProblems([]rbacv1.PolicyRule{tc.rule})) > 0; got != tc.bad {
			t.Errorf("%s: refused = %v, want %v", tc.name, got, tc.bad)
		}
	}
}
