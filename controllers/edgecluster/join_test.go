package edgecluster

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/test/testenv"
)

func testCA(t *testing.T) []byte {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "internal", "edge", "testdata", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func joinSecret(t *testing.T, pool string) map[string]string {
	t.Helper()
	s := &corev1.Secret{}
	if err := get(t, operatorNamespace, edge.JoinSecretName(pool), s); err != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

func methodStatus(ec *v1alpha1.EdgeCluster, m v1alpha1.JoinMethod) *v1alpha1.JoinMethodStatus {
	if ec.Status.Join == nil {
		return nil
	}
	for i := range ec.Status.Join.Methods {
		if ec.Status.Join.Methods[i].Method == m {
			return &ec.Status.Join.Methods[i]
		}
	}
	return nil
}

func methodReady(m v1alpha1.JoinMethod, ready bool) func(*v1alpha1.EdgeCluster) bool {
	return func(ec *v1alpha1.EdgeCluster) bool {
		s := methodStatus(ec, m)
		return s != nil && s.Ready == ready
	}
}

// configMap creates (or replaces) a ConfigMap and deletes it at the end of the test.
func configMap(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	_ = k8s.Delete(ctxT(t), cm)
	create(t, cm)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), cm) })
}

// Join commands follow what the cluster offers: kubeadm only on a kubeadm control plane whose
// cluster-info bootstrapsigner signed for the token; microk8s only with its own join string;
// the plain kubelet bootstrap wherever endpoint and CA are known.
func TestJoinCommands(t *testing.T) {
	ca := testCA(t)
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://203.0.113.10:6443\n" +
		"    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca) + "\n"
	configMap(t, "kube-public", "cluster-info", map[string]string{bootstrapapi.KubeConfigKey: kubeconfig})

	newPool(t, "join", v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{
		Methods:  []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubeadm, v1alpha1.JoinMethodMicroK8s},
		MicroK8s: &v1alpha1.MicroK8sJoin{JoinSecretRef: &v1alpha1.SecretKeyRef{Name: "mk8s"}},
	}})
	ec := waitForPool(t, "join", "join status", methodReady(v1alpha1.JoinMethodKubeadm, false))
	if msg := methodStatus(ec, v1alpha1.JoinMethodKubeadm).Message; !strings.Contains(msg, "kubeadm-config not found") {
		t.Errorf("kubeadm message %q", msg)
	}
	if msg := methodStatus(ec, v1alpha1.JoinMethodMicroK8s).Message; !strings.Contains(msg, "Secret edgeforge-test/mk8s (spec.join.microk8s.joinSecretRef) not found") {
		t.Errorf("microk8s message %q", msg)
	}
	if ref := ec.Status.Join.SecretRef; ref == nil || ref.Name != "join-join" || ref.Namespace != operatorNamespace {
		t.Errorf("secretRef %+v", ref)
	}
	if c := condition(ec, v1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, "no join command for kubeadm, microk8s") {
		t.Errorf("Ready condition %+v does not name the unusable methods", c)
	}
	data := joinSecret(t, "join")
	if data["kubeadm"] != "" || data["microk8s"] != "" {
		t.Error("a command that cannot work was rendered")
	}
	if data[edge.JoinKeyEndpoint] != "203.0.113.10:6443" || !strings.HasPrefix(data[edge.JoinKeyCACertHash], "sha256:") ||
		!strings.Contains(data[edge.JoinKeyBootstrapKubeconfig], data[edge.JoinKeyToken]) || data[edge.JoinKeyKubelet] == "" {
		t.Errorf("join Secret keys: %v", keys(data))
	}

	// A kubeadm control plane: kubeadm-config exists, but cluster-info is not signed yet.
	configMap(t, "kube-system", "kubeadm-config", map[string]string{"ClusterConfiguration": "kind: ClusterConfiguration\n"})
	ec = waitForPool(t, "join", "waiting for the signature", func(ec *v1alpha1.EdgeCluster) bool {
		s := methodStatus(ec, v1alpha1.JoinMethodKubeadm)
		return s != nil && strings.Contains(s.Message, "bootstrapsigner")
	})
	// Play bootstrapsigner: sign cluster-info for the pool's token.
	id, _, _ := strings.Cut(joinSecret(t, "join")[edge.JoinKeyToken], ".")
	configMap(t, "kube-public", "cluster-info", map[string]string{bootstrapapi.KubeConfigKey: kubeconfig, bootstrapapi.JWSSignatureKeyPrefix + id: "sig"})
	waitForPool(t, "join", "kubeadm ready", methodReady(v1alpha1.JoinMethodKubeadm, true))
	waitFor(t, "the kubeadm command", func() (bool, error) {
		return strings.Contains(joinSecret(t, "join")["kubeadm"], "kubeadm join --config"), nil
	})

	// microk8s gets its connection string: ready, command rendered (the Secret is watched).
	mk := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "mk8s"},
		StringData: map[string]string{"join": "10.0.0.1:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05"}}
	create(t, mk)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), mk) })
	waitForPool(t, "join", "microk8s ready", methodReady(v1alpha1.JoinMethodMicroK8s, true))
	waitFor(t, "the microk8s command", func() (bool, error) {
		return strings.Contains(joinSecret(t, "join")["microk8s"], "microk8s join '10.0.0.1:25000/"), nil
	})
	assertNoWritesAtRest(t, "join")

	// The method goes (its key too) when its credential goes.
	if err := k8s.Delete(ctxT(t), mk); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the microk8s command removed", func() (bool, error) {
		_, ok := joinSecret(t, "join")["microk8s"]
		return !ok, nil
	})
}

// k3s: on a k3s server the pool's bootstrap token is used in k3s's secure format; elsewhere the
// method says why it cannot work.
func TestJoinK3s(t *testing.T) {
	newPool(t, "k3s", v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{
		Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodK3s}, APIServerEndpoint: "198.51.100.7:6443",
	}})
	ec := waitForPool(t, "k3s", "k3s not ready", methodReady(v1alpha1.JoinMethodK3s, false))
	if msg := methodStatus(ec, v1alpha1.JoinMethodK3s).Message; !strings.Contains(msg, "not a k3s server") {
		t.Errorf("k3s message %q", msg)
	}

	configMap(t, operatorNamespace, "kube-root-ca.crt", map[string]string{"ca.crt": string(testCA(t))})
	edgeNode(t, "k3s-server", "", func(n *corev1.Node) {
		n.Labels["node-role.kubernetes.io/control-plane"] = "true"
		n.Status = readyStatus("k3s-server", "198.51.100.7", corev1.ConditionTrue, clk.Now().Add(-time.Hour))
		n.Status.NodeInfo.KubeletVersion = "v1.33.4+k3s1"
	})
	waitForPool(t, "k3s", "k3s ready", methodReady(v1alpha1.JoinMethodK3s, true))
	var cmd string
	waitFor(t, "the k3s command", func() (bool, error) {
		cmd = joinSecret(t, "k3s")["k3s"]
		return cmd != "", nil
	})
	token := joinSecret(t, "k3s")[edge.JoinKeyToken]
	for _, want := range []string{"K3S_URL='https://198.51.100.7:6443'", "K3S_TOKEN='K10" + edge.K3sCAHash(testCA(t)) + "::" + token + "'",
		"--node-label 'edgeforge.io/edge-cluster=k3s'"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("k3s command lacks %s:\n%s", want, cmd)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
