package edge

import (
	"encoding/base64"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testdata/ca.crt was made with openssl; the expected pin was computed the way the kubeadm
// documentation shows, independently of this code:
//
//	openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der | sha256sum
//	sha256sum ca.crt   # k3s's hash: of the PEM file itself
func TestCACertHash(t *testing.T) {
	ca := readTestdata(t, "ca.crt")
	got, err := CACertHash(ca)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:d6442107e18cc41a589a993bd9ac608c9476e292bef92f3badf5c918e6cb76f9"; got != want {
		t.Errorf("CACertHash = %s, want %s", got, want)
	}
	if got, want := K3sCAHash(ca), "b937f0b830cce5c9e5558c327a8355bfc87ce2270fd00edf24149f4e8b00f7f7"; got != want {
		t.Errorf("K3sCAHash = %s, want %s", got, want)
	}
	if _, err := CACertHash([]byte("not a certificate")); err == nil {
		t.Error("CACertHash of garbage: no error")
	}
}

func TestParseClusterInfo(t *testing.T) {
	ca := readTestdata(t, "ca.crt")
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-public", Name: "cluster-info"},
		Data: map[string]string{
			"kubeconfig":              clusterInfoKubeconfig("https://203.0.113.10:6443", ca),
			"jws-kubeconfig-zzzzzz":   "sig",
			"jws-kubeconfig-abcdef":   "sig",
			"something-else-entirely": "x",
		},
	}
	info, err := ParseClusterInfo(cm)
	if err != nil {
		t.Fatal(err)
	}
	if info.Endpoint != "203.0.113.10:6443" || string(info.CACert) != string(ca) {
		t.Errorf("endpoint %q, CA %d bytes", info.Endpoint, len(info.CACert))
	}
	if len(info.SignedTokenIDs) != 2 || info.SignedTokenIDs[0] != "abcdef" || info.SignedTokenIDs[1] != "zzzzzz" {
		t.Errorf("signed token IDs %v", info.SignedTokenIDs)
	}

	cm.Data["kubeconfig"] = "nonsense: ["
	if _, err := ParseClusterInfo(cm); err == nil {
		t.Error("a broken kubeconfig parsed")
	}
}

func TestEndpointFromServer(t *testing.T) {
	for server, want := range map[string]string{
		"https://203.0.113.10:6443":      "203.0.113.10:6443",
		"https://api.example.com":        "api.example.com:443",
		"https://api.example.com:8443/x": "api.example.com:8443",
		"https://[2001:db8::1]:6443":     "[2001:db8::1]:6443",
		"http://insecure:8080":           "",
		"not a url":                      "",
	} {
		got, err := EndpointFromServer(server)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("EndpointFromServer(%q) = %q, %v; want %q", server, got, err, want)
		}
	}
}

func clusterInfoKubeconfig(server string, ca []byte) string {
	return "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: " + server +
		"\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca) + "\n"
}
