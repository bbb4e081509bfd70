package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// Set up by TestMain for every test in the package.
var (
	repoRoot       string                // the repository checkout
	clusterDir     string                // hack/cluster.sh state dir of the e2e cluster
	kubeconfigPath string                // admin kubeconfig: <clusterDir>/kubeconfig
	restConfig     *rest.Config          // admin access to the e2e cluster
	scheme         = testenv.NewScheme() // client-go, apiextensions, prometheus-operator and edgeforge types
	k8sClient      client.Client         // uncached client with scheme above
	operatorOpts   = settings.Defaults() // options of the operator the suite runs
	operatorLog    string                // where the operator's log goes: <clusterDir>/operator.log
	// operatorKubeconfig and operatorBinary are what every operator process of the suite runs
	// with: the ServiceAccount's token, and the binary built from this tree.
	operatorKubeconfig, operatorBinary string
	// mainOperator is the suite's operator (a test may stop it and start another).
	mainOperator *operatorProcess
	// operatorLogs are the logs of every operator process the suite started.
	operatorLogs []string
	// realNodes is how many real (kubelet + containerd) nodes the e2e cluster runs:
	// EDGEFORGE_E2E_REAL_NODES, default 2; 0 leaves the real tier out.
	realNodes = 2
	// realEnv is <clusterDir>/env, what hack/cluster.sh writes about the real tier (REGISTRY,
	// BASE_IMAGE, KANIKO_IMAGE, REAL_POOL, ...); empty without real nodes.
	realEnv = map[string]string{}
)

func TestMain(m *testing.M) {
	if os.Getenv("EDGEFORGE_E2E") == "0" {
		fmt.Println("e2e: skipped (EDGEFORGE_E2E=0)")
		os.Exit(0)
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	var err error
	// The suite's own controller-runtime clients and caches log nothing.
	ctrllog.SetLogger(logr.Discard())
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "hack", "cluster.sh")); err != nil {
		return fatal(fmt.Errorf("cannot find hack/cluster.sh from %s: %w", repoRoot, err))
	}
	clusterDir = envOr("EDGEFORGE_E2E_CLUSTER_DIR", filepath.Join(repoRoot, ".cluster-e2e"))
	if realNodes, err = strconv.Atoi(envOr("EDGEFORGE_E2E_REAL_NODES", "2")); err != nil || realNodes < 0 {
		return fatal(fmt.Errorf("EDGEFORGE_E2E_REAL_NODES=%q: want a number >= 0", os.Getenv("EDGEFORGE_E2E_REAL_NODES")))
	}
	kubeconfigPath = filepath.Join(clusterDir, "kubeconfig")

	// Two e2e runs on one machine (say, two clones) would fight over the same ports: take turns.
	unlock, err := lockPorts()
	if err != nil {
		return fatal(err)
	}
	defer unlock()
	// (deferred after the unlock above, so the cluster is down before the next run may start)
	if os.Getenv("EDGEFORGE_E2E_KEEP") == "1" {
		defer fmt.Fprintf(os.Stderr, "e2e: cluster kept (EDGEFORGE_E2E_KEEP=1): export KUBECONFIG=%s\n", kubeconfigPath)
	} else {
		defer func() {
			if err := clusterScript("down"); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: cluster down: %v\n", err)
			}
		}()
	}
	start := time.Now()
	if err := clusterScript("up"); err != nil {
		return fatal(fmt.Errorf("cluster up: %w", err))
	}
	fmt.Fprintf(os.Stderr, "e2e: cluster up in %s\n", time.Since(start).Round(time.Second))
	if realNodes > 0 {
		if realEnv, err = readEnvFile(filepath.Join(clusterDir, "env")); err != nil {
			return fatal(fmt.Errorf("the real tier's env file: %w", err))
		}
	}

	restConfig, err = clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return fatal(err)
	}
	restConfig.QPS, restConfig.Burst = 50, 100
	k8sClient, err = client.New(restConfig, client.Options{Scheme: scheme})
	if err != nil {
		return fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := installCRDs(ctx, filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
		return fatal(fmt.Errorf("install CRDs: %w", err))
	}
	if err := installCRDs(ctx, testenv.PrometheusOperatorCRDDir()); err != nil {
		return fatal(fmt.Errorf("install prometheus-operator CRDs: %w", err))
	}
	stop, err := startOperator(ctx)
	if err != nil {
		return fatal(fmt.Errorf("start operator: %w", err))
	}
	defer stop()
	if realNodes > 0 {
		// The real nodes join through the join Secret the operator publishes for REAL_POOL.
		start := time.Now()
		if err := clusterScript("join"); err != nil {
			return fatal(fmt.Errorf("real nodes join: %w", err))
		}
		fmt.Fprintf(os.Stderr, "e2e: %d real nodes joined in %s\n", realNodes, time.Since(start).Round(time.Second))
	}
	code := m.Run()
	// Every e2e test ran against the operator with config/default's RBAC: it must never have been refused.
	if lines, err := forbiddenInOperatorLog(); err != nil || len(lines) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: the operator's RBAC is insufficient (%v):\n%s\n", err, strings.Join(lines, "\n"))
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: operator log: %s\n", operatorLog)
	}
	return code
}

// clusterScript runs hack/cluster.sh <verb> for the e2e cluster. It pins the state dir and moves
// every port by EDGEFORGE_E2E_PORT_OFFSET (default 1000), ignoring port variables meant for the
// demo cluster, so the two never collide.
func clusterScript(verb string, args ...string) error {
	env := []string{
		"EDGEFORGE_CLUSTER_DIR=" + clusterDir,
		"EDGEFORGE_PORT_OFFSET=" + envOr("EDGEFORGE_E2E_PORT_OFFSET", "1000"),
		"REAL_NODES=" + strconv.Itoa(realNodes),
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "EDGEFORGE_") && strings.HasSuffix(name, "_PORT")) ||
			name == "EDGEFORGE_CLUSTER_DIR" || name == "EDGEFORGE_PORT_OFFSET" || name == "REAL_NODES" || name == "REAL_POOL" {
			continue
		}
		env = append(env, kv)
	}
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), append([]string{verb}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// installCRDs server-side applies every CRD in dir and waits until all are Established.
func installCRDs(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintf(os.Stderr, "e2e: no CRDs in %s\n", dir)
		return nil
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := decodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := applyObjects(ctx, objs, ""); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				names = append(names, o.GetName())
			}
		}
	}
	for _, name := range names {
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				return false, nil
			}
			return crdEstablished(&crd), nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not Established: %w", name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: %d CRDs installed and Established\n", len(names))
	return nil
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

// lockPorts takes an exclusive lock tied to the e2e port offset, waiting for another run to finish.
func lockPorts() (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "edgeforge-e2e-ports-"+envOr("EDGEFORGE_E2E_PORT_OFFSET", "1000")+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: another e2e run holds %s; waiting for it\n", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return func() { _ = f.Close() }, nil
}

// readEnvFile reads the KEY=value lines of a shell env file (comments and blank lines skipped).
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: line %q is not KEY=value", path, line)
		}
		env[k] = strings.Trim(v, `"`)
	}
	return env, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatal(err error) int {
	fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
	return 1
}
