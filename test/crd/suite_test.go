// Package crd tests the edgeforge CRDs as users meet them: installed into a real kube-apiserver
// (envtest), every sample accepted, defaults applied and invalid objects rejected at admission
// with messages that name the offending field.
package crd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/test/testenv"
)

var (
	cfg       *rest.Config
	k8sClient client.Client
	repoRoot  = filepath.Join("..", "..")
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	cfg, k8sClient = env.Config, env.Client
	return m.Run()
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}
