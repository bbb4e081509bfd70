package crd

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestPrinterColumns asks the API server for the Table view kubectl prints.
func TestPrinterColumns(t *testing.T) {
	want := map[string][]string{
		"imagebuilds":      {"Name", "Phase", "Image", "Status", "Age"},
		"appdeployments":   {"Name", "Ready", "Image", "Wave", "URL", "Status", "Age"},
		"edgeclusters":     {"Name", "Ready", "Methods", "Join", "Status", "Age"},
		"monitoringstacks": {"Name", "Ready", "Scope", "Prometheus", "Grafana", "Status", "Age"},
	}
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &metav1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = kscheme.Codecs.WithoutConversion()
	rc, err := rest.UnversionedRESTClientFor(c)
	if err != nil {
		t.Fatal(err)
	}
	for resource, cols := range want {
		table := &metav1.Table{}
		err := rc.Get().AbsPath("/apis/edgeforge.io/v1alpha1", resource).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx(t)).Into(table)
		if err != nil {
			t.Fatalf("%s: %v", resource, err)
		}
		var got []string
		for _, col := range table.ColumnDefinitions {
			got = append(got, col.Name)
		}
		if !reflect.DeepEqual(got, cols) {
			t.Errorf("%s columns = %v, want %v", resource, got, cols)
		}
	}
}

// TestExplain runs the real kubectl explain against the API server: field docs must reach users.
func TestExplain(t *testing.T) {
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl not found next to kube-apiserver: %v", err)
	}
	kubeconfig := writeKubeconfig(t)
	cases := map[string][]string{
		"imagebuild.spec.source.git":   {"url", "Kaniko clones over HTTP(S) only", "revision", "contextDir", "cloneSecretRef"},
		"appdeployment.spec.imageFrom": {"imageBuildRef", "ImageBuild"},
		"edgecluster.spec.join":        {"methods", "tokenTTL", "apiServerEndpoint", "bootstrap token"},
		"monitoringstack.spec.grafana": {"allowEmbedding", "iframe", "anonymous"},
	}
	for path, wants := range cases {
		out, err := exec.CommandContext(ctx(t), kubectl, "--kubeconfig", kubeconfig, "explain", path).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl explain %s: %v\n%s", path, err, out)
		}
		for _, w := range wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("kubectl explain %s: missing %q in\n%s", path, w, out)
			}
		}
	}
}

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
