package monitoringstack

import (
	"bytes"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// annotate changes an annotation of the stack (no generation change) to make the controller
// reconcile it again, and waits until a reconcile has finished.
func annotate(t *testing.T, ns, name, value string) {
	t.Helper()
	before := reconciles(t)
	s := getStack(t, ns, name)
	patch := client.MergeFrom(s.DeepCopy())
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations["test.edgeforge.io/poke"] = value
	if err := k8s.Patch(ctx(t), s, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a reconcile after the annotation", func() error {
		return testenv.Expect(reconciles(t) > before, "no reconcile yet")
	})
}

func TestGeneratedAdminSecretIsStable(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "main", nil)
	n := monitoring.NamesFor(s)

	secret := &corev1.Secret{}
	waitExists(t, secret, ns, n.GrafanaAdminSecret())
	pw := secret.Data[monitoring.AdminPasswordKey]
	if len(pw) < 20 || string(secret.Data[monitoring.AdminUserKey]) != "admin" {
		t.Fatalf("generated credentials look wrong: user %q, password of %d bytes", secret.Data[monitoring.AdminUserKey], len(pw))
	}
	if ref := metav1.GetControllerOf(secret); ref == nil || ref.Name != "main" {
		t.Fatalf("generated Secret is not owned by the stack: %+v", secret.OwnerReferences)
	}

	// The password is not rendered anywhere else: Grafana gets it from the Secret.
	for _, cm := range []string{n.GrafanaConfig(), n.GrafanaDatasources()} {
		c := &corev1.ConfigMap{}
		waitExists(t, c, ns, cm)
		for k, v := range c.Data {
			if strings.Contains(v, string(pw)) {
				t.Fatalf("ConfigMap %s key %s contains the admin password", cm, k)
			}
		}
	}
	d := &appsv1.Deployment{}
	waitExists(t, d, ns, n.Grafana())
	env := d.Spec.Template.Spec.Containers[0].Env
	if len(env) != 2 || env[1].Name != "GF_SECURITY_ADMIN_PASSWORD" || env[1].ValueFrom.SecretKeyRef.Name != n.GrafanaAdminSecret() {
		t.Fatalf("Grafana's env does not take the password from the Secret: %+v", env)
	}

	// Reconciles and spec changes never regenerate it.
	annotate(t, ns, "main", "1")
	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.Grafana.AllowEmbedding = true
	})
	eventually(t, "grafana.ini with embedding", func() error {
		c := &corev1.ConfigMap{}
		exists(t, c, ns, n.GrafanaConfig())
		return testenv.Expect(strings.Contains(c.Data["grafana.ini"], "allow_embedding = true"), "grafana.ini:\n%s", c.Data["grafana.ini"])
	})
	again := &corev1.Secret{}
	waitExists(t, again, ns, n.GrafanaAdminSecret())
	if again.UID != secret.UID || !bytes.Equal(again.Data[monitoring.AdminPasswordKey], pw) {
		t.Fatal("the generated admin Secret changed")
	}

	// A deleted generated Secret is made again at the next reconcile (Secrets are not watched:
	// the user asks for one with an annotation).
	if err := k8s.Delete(ctx(t), again); err != nil {
		t.Fatal(err)
	}
	annotate(t, ns, "main", "2")
	eventually(t, "a new admin Secret", func() error {
		fresh := &corev1.Secret{}
		return testenv.Expect(exists(t, fresh, ns, n.GrafanaAdminSecret()) && fresh.UID != secret.UID, "the old Secret or none")
	})
	deleteStack(t, ns, "main")
}

func TestGrafanaConfigChangeRollsGrafana(t *testing.T) {
	ns := newNamespace(t)
	s := newStack(t, ns, "main", nil)
	n := monitoring.NamesFor(s)
	d := &appsv1.Deployment{}
	waitExists(t, d, ns, n.Grafana())
	before := d.Spec.Template.Annotations[monitoring.AnnotationConfigChecksum]
	if before == "" {
		t.Fatal("no config checksum on Grafana's pod template")
	}

	updateStack(t, ns, "main", func(s *v1alpha1.MonitoringStack) {
		s.Spec.Grafana.Anonymous = &v1alpha1.AnonymousAccess{Enabled: true, Role: v1alpha1.GrafanaRoleViewer}
	})
	eventually(t, "a new checksum", func() error {
		exists(t, d, ns, n.Grafana())
		now := d.Spec.Template.Annotations[monitoring.AnnotationConfigChecksum]
		return testenv.Expect(now != before, "checksum %s", now)
	})
	c := &corev1.ConfigMap{}
	waitExists(t, c, ns, n.GrafanaConfig())
	if !strings.Contains(c.Data["grafana.ini"], "[auth.anonymous]\nenabled = true\norg_name = Main Org.\norg_role = Viewer") {
		t.Fatalf("grafana.ini:\n%s", c.Data["grafana.ini"])
	}
	deleteStack(t, ns, "main")
}

func TestMissingAdminSecretStallsUntilCreated(t *testing.T) {
	ns := newNamespace(t)
	newStack(t, ns, "main", func(s *v1alpha1.MonitoringStackSpec) {
		s.Grafana = &v1alpha1.GrafanaSpec{Enabled: true, AdminCredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "grafana-admin"}}
	})
	s := waitCondition(t, ns, "main", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonGrafanaAdminSecretMissing)
	if !strings.Contains(conditionMessage(s, v1alpha1.ConditionReady), "grafana-admin") {
		t.Fatalf("message should name the Secret: %+v", s.Status.Conditions)
	}

	// A Secret without the password key: still stalled, now for that.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grafana-admin"},
		Data: map[string][]byte{monitoring.AdminUserKey: []byte("boss")}}
	if err := k8s.Create(ctx(t), secret); err != nil {
		t.Fatal(err)
	}
	// Secrets are not watched: a stalled stack looks again every skeleton.UnwatchedRecheck, or
	// when asked with an annotation, as here.
	annotate(t, ns, "main", "1")
	waitCondition(t, ns, "main", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonGrafanaAdminSecretInvalid)

	secret.Data[monitoring.AdminPasswordKey] = []byte("s3cret-enough")
	if err := k8s.Update(ctx(t), secret); err != nil {
		t.Fatal(err)
	}
	annotate(t, ns, "main", "2")
	s = waitCondition(t, ns, "main", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.MonitoringStackReasonProgressing)
	if s.Status.Grafana == nil || s.Status.Grafana.AdminSecretRef == nil || s.Status.Grafana.AdminSecretRef.Name != "grafana-admin" {
		t.Fatalf("status.grafana.adminSecretRef: %+v", s.Status.Grafana)
	}
	d := &appsv1.Deployment{}
	waitExists(t, d, ns, "grafana-main")
	if ref := d.Spec.Template.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef; ref.Name != "grafana-admin" {
		t.Fatalf("Grafana reads the password from %q", ref.Name)
	}
	if exists(t, &corev1.Secret{}, ns, "grafana-main-admin") {
		t.Fatal("a password was generated although the stack names its own Secret")
	}
	deleteStack(t, ns, "main")
}

func conditionMessage(s *v1alpha1.MonitoringStack, condType string) string {
	for _, c := range s.Status.Conditions {
		if c.Type == condType {
			return c.Message
		}
	}
	return ""
}
