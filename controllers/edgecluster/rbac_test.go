package edgecluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// As an OLM install runs before an admin applies bundle/kube-system-rbac.yaml: the operator has
// its generated ClusterRole and operator-namespace Role but not its kube-system Role. The
// controller still starts (no informer that can never sync), a pool is Stalled
// BootstrapTokensForbidden naming the Role, and once the Role is bound the pool gets its token
// at its next look (an annotation here; every minute by itself), with no restart.
func TestWithoutKubeSystemRole(t *testing.T) {
	e, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	ctx := testenv.Context(t, 2*time.Minute)
	const ns, sa = "edgeforge-olm", "edgeforge-controller-manager"
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}

	// config/rbac/role.yaml, as generated from the markers: bind all but the kube-system Role.
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	var kubeSystem *rbacv1.Role
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ClusterRole":
			role := &rbacv1.ClusterRole{}
			mustUnmarshal(t, doc, role)
			create := []client.Object{role, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "olm-" + role.Name},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, Subjects: subject}}
			for _, o := range create {
				if err := e.Client.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
		case "Role":
			role := &rbacv1.Role{}
			mustUnmarshal(t, doc, role)
			if role.Namespace == edge.TokenNamespace {
				kubeSystem = role
				continue
			}
			role.Namespace = ns // "system", the operator's namespace before kustomize names it
			bindRole(t, e, role, subject)
		}
	}
	if kubeSystem == nil {
		t.Fatal("config/rbac/role.yaml has no kube-system Role")
	}

	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	stop, err := e.StartManager(func(mgr ctrl.Manager) error {
		return setup(mgr, settings.Options{Namespace: ns}, clock.RealClock{})
	}, testenv.WithConfig(cfg))
	if err != nil {
		t.Fatalf("the controller must start without its kube-system Role: %v", err)
	}
	t.Cleanup(stop)

	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: "olm"},
		Spec: v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet}}}}
	if err := e.Client.Create(ctx, ec); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForCondition(t, e.Client, ec, testenv.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: v1alpha1.EdgeClusterReasonBootstrapTokensForbidden}, timeout)
	if c := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionStalled); !strings.Contains(c.Message, "edgeforge-edgecluster-bootstrap-tokens") {
		t.Errorf("the stall does not name the missing Role: %q", c.Message)
	}

	bindRole(t, e, kubeSystem, subject)
	if err := testenv.Poke(ctx, e.Client, ec); err != nil {
		t.Fatal(err)
	}
	waitForToken := func() (bool, error) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(ec), ec); err != nil {
			return false, err
		}
		return ec.Status.Join != nil && ec.Status.Join.TokenExpiresAt != nil &&
			meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionStalled) == nil, nil
	}
	testenv.WaitFor(t, timeout, "the pool's token once the Role is bound", waitForToken)
	secrets := &corev1.SecretList{}
	if err := e.Client.List(ctx, secrets, client.InNamespace(edge.TokenNamespace), client.MatchingLabels{v1alpha1.LabelEdgeCluster: ec.Name}); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 1 {
		t.Fatalf("%d token Secrets once the Role is bound, want 1", len(secrets.Items))
	}
}

func mustUnmarshal(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatal(err)
	}
}

// bindRole creates role and a RoleBinding of it to subject, in the role's namespace.
func bindRole(t *testing.T, e *testenv.Env, role *rbacv1.Role, subject []rbacv1.Subject) {
	t.Helper()
	ctx := testenv.Context(t, timeout)
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: role.Namespace, Name: "olm-" + role.Name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, Subjects: subject}
	for _, o := range []client.Object{role, binding} {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}
