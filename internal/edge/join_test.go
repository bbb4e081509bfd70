package edge

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/testutil/golden"
)

func joinInput(t *testing.T, mutate func(*JoinInput)) JoinInput {
	in := JoinInput{
		Pool:      "site-a",
		Namespace: "edgeforge-system",
		Methods:   []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubeadm},
		Token:     testToken,
		Facts: ClusterFacts{
			Endpoint:           "203.0.113.10:6443",
			CACert:             readTestdata(t, "ca.crt"),
			ClusterInfoFound:   true,
			SignedTokenIDs:     []string{"abcdef"},
			KubeadmConfigFound: true,
		},
	}
	if mutate != nil {
		mutate(&in)
	}
	return in
}

var allMethods = []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubeadm, v1alpha1.JoinMethodK3s, v1alpha1.JoinMethodMicroK8s, v1alpha1.JoinMethodKubeEdge, v1alpha1.JoinMethodKubelet}

// Every method rendered in the situations that make it work or not, to golden files that show
// the whole join Secret and the method status.
func TestJoinCommandsGolden(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*JoinInput)
	}{
		{"kubeadm-cluster", nil},
		{"kubeadm-cluster-all-methods", func(in *JoinInput) {
			in.Methods = allMethods
			in.CloudCoreAddress = "203.0.113.10:10000"
			in.KubeEdgeToken = &Credential{Value: "3f2b.eyJhbGciOiJIUzI1NiJ9.e30.sig\n"}
			in.MicroK8sJoin = &Credential{Value: "microk8s join 10.0.0.1:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05"}
		}},
		{"k3s-cluster-bootstrap-token", func(in *JoinInput) {
			in.Methods = []v1alpha1.JoinMethod{v1alpha1.JoinMethodK3s, v1alpha1.JoinMethodKubeadm}
			in.Facts.K3sServer = true
			in.Facts.ClusterInfoFound, in.Facts.KubeadmConfigFound, in.Facts.SignedTokenIDs = false, false, nil
		}},
		{"k3s-token-from-secret", func(in *JoinInput) {
			in.Methods = []v1alpha1.JoinMethod{v1alpha1.JoinMethodK3s}
			in.K3sToken = &Credential{Value: "K10abc::server:it's-secret"}
		}},
		{"plain-cluster-nothing-configured", func(in *JoinInput) {
			in.Methods = allMethods
			in.Facts.KubeadmConfigFound = false
		}},
		{"no-endpoint-no-ca", func(in *JoinInput) {
			in.Methods = allMethods
			in.Facts = ClusterFacts{}
			in.K3sToken = &Credential{Problem: "Secret edgeforge-system/k3s-token not found (spec.join.k3s.tokenSecretRef)"}
			in.MicroK8sJoin = &Credential{Value: "definitely not a connection string"}
			in.CloudCoreAddress = "cloudcore.example.com:10000"
			in.KubeEdgeToken = &Credential{Problem: "Secret edgeforge-system/ke has no key \"tokendata\" (spec.join.kubeedge.tokenSecretRef)"}
		}},
		{"kubeadm-unsigned-cluster-info", func(in *JoinInput) { in.Facts.SignedTokenIDs = []string{"zzzzzz"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := renderJoin(JoinCommands(joinInput(t, tc.mutate)))
			if again := renderJoin(JoinCommands(joinInput(t, tc.mutate))); again != first {
				t.Fatal("rendering twice gives different results")
			}
			golden.Assert(t, "join-"+tc.name+".txt", []byte(first))
		})
	}
}

// renderJoin prints a JoinResult: method statuses, then every key of the Secret, sorted.
func renderJoin(r JoinResult) string {
	var b strings.Builder
	for _, m := range r.Methods {
		fmt.Fprintf(&b, "method %s: ready=%v %s\n", m.Method, m.Ready, m.Message)
	}
	keys := make([]string, 0, len(r.Data))
	for k := range r.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n===== %s\n%s\n", k, r.Data[k])
	}
	return b.String()
}

func TestJoinCommandsSemantics(t *testing.T) {
	res := JoinCommands(joinInput(t, func(in *JoinInput) { in.Methods = allMethods }))
	if got := res.NotReady(); strings.Join(got, ",") != "k3s,microk8s,kubeedge" {
		t.Errorf("not ready = %v, want k3s (not a k3s cluster), microk8s and kubeedge (nothing configured)", got)
	}
	for _, key := range []string{"kubeadm", JoinKeyBootstrapKubeconfig, JoinKeyKubelet, JoinKeyToken, JoinKeyCACertHash, JoinKeyEndpoint} {
		if res.Data[key] == "" {
			t.Errorf("key %s missing", key)
		}
	}
	if _, ok := res.Data["k3s"]; ok {
		t.Error("a k3s command was rendered for a cluster that is not k3s")
	}
	for _, k := range []string{"kubeadm", JoinKeyBootstrapKubeconfig, JoinKeyToken} {
		if !strings.Contains(res.Data[k], testToken.Value()) {
			t.Errorf("key %s does not carry the token", k)
		}
	}
	if !strings.Contains(res.Data["kubeadm"], "value: \"edgeforge.io/edge-cluster=site-a\"") {
		t.Error("kubeadm does not label the node with its pool")
	}

	// The bootstrap kubeconfig is a real kubeconfig that authenticates with the token.
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(res.Data[JoinKeyBootstrapKubeconfig]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://203.0.113.10:6443" || cfg.BearerToken != testToken.Value() || len(cfg.CAData) == 0 {
		t.Errorf("bootstrap kubeconfig: host %s, token set %v, CA %d bytes", cfg.Host, cfg.BearerToken != "", len(cfg.CAData))
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"plain": "'plain'", "it's": `'it'\''s'`, "": "''", "$(rm -rf /)": "'$(rm -rf /)'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// Credentials of other systems reach the join Secret only for the method that needs them: a pool
// without kubeedge (or k3s, or microk8s) in spec.join.methods does not copy CloudCore's token
// (or the k3s token, or the microk8s join string), though they exist in the cluster.
func TestJoinSecretHoldsOnlyRequestedCredentials(t *testing.T) {
	secrets := map[string]string{"kubeedge": "3f2b.eyJhbGciOiJIUzI1NiJ9.cloudcore.sig", "k3s": "K10abc::server:k3s-secret",
		"microk8s": "10.0.0.1:25000/92b2db237428470dc4fcfc4ebbd9dc81"}
	with := func(methods ...v1alpha1.JoinMethod) JoinResult {
		return JoinCommands(joinInput(t, func(in *JoinInput) {
			in.Methods = methods
			in.CloudCoreAddress = "203.0.113.10:10000"
			in.KubeEdgeToken = &Credential{Value: secrets["kubeedge"]}
			in.K3sToken = &Credential{Value: secrets["k3s"]}
			in.MicroK8sJoin = &Credential{Value: secrets["microk8s"]}
		}))
	}
	for _, m := range allMethods {
		res := with(m)
		for method, secret := range secrets {
			found := strings.Contains(renderJoin(res), secret)
			if found != (string(m) == method) {
				t.Errorf("methods [%s]: %s's credential in the join Secret: %v", m, method, found)
			}
		}
	}
}
