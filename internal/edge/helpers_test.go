package edge

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testToken is a fixed token (not a real credential).
var testToken = Token{ID: "abcdef", Secret: "0123456789abcdef", Expiration: t0.Add(24 * time.Hour), TTL: 24 * time.Hour,
	Groups: "system:bootstrappers:edgeforge,system:bootstrappers:edgeforge:site-a,system:bootstrappers:kubeadm:default-node-token"}

func pool(mutate func(*v1alpha1.EdgeCluster)) *v1alpha1.EdgeCluster {
	ec := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "site-a", UID: "5f0c8f6e-1b7a-4d3e-9a0b-2c4d6e8f0a1b", Generation: 1},
		Spec:       v1alpha1.EdgeClusterSpec{},
	}
	if mutate != nil {
		mutate(ec)
	}
	return ec
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
