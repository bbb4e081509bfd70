package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// The operator runs as it would be installed: config/default is rendered and applied (CRDs,
// namespace, ServiceAccount, the RBAC generated from the +kubebuilder:rbac markers) except the
// Deployment, whose container cannot run here (no images). Instead the manager binary runs on
// this host with a token of that ServiceAccount, so every e2e test also proves the generated
// RBAC is sufficient: a forbidden error in the operator's log fails the suite.
const (
	operatorNamespace = "edgeforge-system"
	operatorSA        = "edgeforge-controller-manager"
	// clusterMonitoringNamespace holds Cluster-scoped MonitoringStacks that run node-exporter.
	clusterMonitoringNamespace = "edgeforge-monitoring"
	// kwokIndexImage is the --index-image of a kwok-only run: kwok plays the index Job's pod.
	kwokIndexImage = "edgeforge.test/edgeforge-index:kwok"
)

// startOperator installs config/default without the Deployment, builds bin/manager into the
// cluster dir and starts it with the ServiceAccount's identity (mainOperator). Its log is
// operatorLog.
func startOperator(ctx context.Context) (stop func(), err error) {
	out, err := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "render-default.sh"), "controller:e2e").Output()
	if err != nil {
		return nil, fmt.Errorf("render config/default: %w", exitDetail(err))
	}
	objs, err := decodeYAML(out)
	if err != nil {
		return nil, err
	}
	var install []*unstructured.Unstructured
	var deployment *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deployment = o
			continue
		}
		install = append(install, o)
	}
	if deployment == nil {
		return nil, errors.New("config/default renders no manager Deployment")
	}
	if operatorEnv, err = literalEnv(deployment, "manager"); err != nil {
		return nil, err
	}
	if err := applyObjects(ctx, install, ""); err != nil {
		return nil, fmt.Errorf("apply config/default: %w", err)
	}

	if operatorKubeconfig, err = serviceAccountKubeconfig(ctx); err != nil {
		return nil, err
	}
	// Stat main.go so that go test's cache sees the operator's entry point (see cache_test.go).
	if _, err := os.Stat(filepath.Join(repoRoot, "main.go")); err != nil {
		return nil, err
	}
	operatorBinary = filepath.Join(clusterDir, "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", operatorBinary, ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build manager: %w\n%s", err, out)
	}
	operatorLog = filepath.Join(clusterDir, "operator.log")
	if mainOperator, err = runOperator("operator", mainOperatorArgs()); err != nil {
		return nil, err
	}
	return func() { mainOperator.stop() }, nil
}

// mainOperatorArgs are the suite's operator's flags beyond those of every replica (runOperator).
func mainOperatorArgs() []string {
	var args []string
	if len(realEnv) > 0 {
		// The metrics endpoint (HTTPS, token and RBAC checked) on the real tier's bridge, where a
		// real Prometheus on a real node can scrape it (TestRealMonitoring).
		args = append(args, "--metrics-bind-address", operatorMetricsAddr())
	} else {
		args = append(args, "--metrics-bind-address", "0")
	}
	return args
}

// operatorEnv is the literal environment of the Deployment's manager container (GOMEMLIMIT):
// every operator process here runs with it, as the pod would.
var operatorEnv []string

// literalEnv is the NAME=value environment of the Deployment's container (entries with a plain
// value; those from fieldRef and the like only make sense in a pod).
func literalEnv(deployment *unstructured.Unstructured, container string) ([]string, error) {
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployment.Object, &d); err != nil {
		return nil, err
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != container {
			continue
		}
		var env []string
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env = append(env, e.Name+"="+e.Value)
			}
		}
		return env, nil
	}
	return nil, fmt.Errorf("the manager Deployment has no container %q", container)
}

// operatorProcess is one running operator binary.
type operatorProcess struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan error
}

// runOperator starts the built operator as the ServiceAccount, logging to <clusterDir>/<name>.log,
// with the Deployment's arguments (minus what only makes sense in a pod) and extra.
func runOperator(name string, extra []string) (*operatorProcess, error) {
	logPath := filepath.Join(clusterDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	operatorLogs = append(operatorLogs, logPath)
	args := []string{"--kubeconfig", operatorKubeconfig, "--namespace", operatorNamespace,
		"--health-probe-bind-address", "127.0.0.1:0", "--zap-devel",
		// Cluster-wide MonitoringStacks: the operator's namespace (Pod Security restricted: no
		// node-exporter) and a privileged monitoring namespace, as docs/monitoringstack.md advises.
		"--cluster-monitoring-namespaces", operatorNamespace + "," + clusterMonitoringNamespace,
		// kwok plays the index Job's pod; the real tier runs the image it built (below).
		"--index-image", kwokIndexImage}
	if len(realEnv) > 0 {
		// The images of the real tier, built here: what runs on the real nodes must be pullable.
		args = append(args, "--index-image", realEnv["INDEX_IMAGE"], "--kaniko-image", realEnv["KANIKO_IMAGE"],
			"--node-exporter-image", realEnv["NODE_EXPORTER_IMAGE"],
			"--kube-state-metrics-image", realEnv["KUBE_STATE_METRICS_IMAGE"],
			// Debian's Prometheus, whose version is the image's tag.
			"--prometheus-version", realEnv["PROMETHEUS_IMAGE"][strings.LastIndex(realEnv["PROMETHEUS_IMAGE"], ":")+1:])
	}
	cmd := exec.Command(operatorBinary, append(args, extra...)...)
	cmd.Env = append(os.Environ(), operatorEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	p := &operatorProcess{name: name, cmd: cmd, log: logPath, exited: make(chan error, 1)}
	go func() {
		p.exited <- cmd.Wait()
		_ = logFile.Close()
	}()
	select {
	case err := <-p.exited:
		p.exited <- err
		return nil, fmt.Errorf("the operator exited at start (%v); log: %s", err, logPath)
	case <-time.After(2 * time.Second):
	}
	fmt.Fprintf(os.Stderr, "e2e: %s running as %s/%s (pid %d), log %s\n", name, operatorNamespace, operatorSA, cmd.Process.Pid, logPath)
	return p, nil
}

// stop sends SIGTERM (SIGKILL after 15 s) and waits for the process to exit.
func (p *operatorProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (p *operatorProcess) kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the operator's
// ServiceAccount with a token from the TokenRequest API.
func serviceAccountKubeconfig(ctx context.Context) (string, error) {
	sa := &corev1.ServiceAccount{}
	sa.Namespace, sa.Name = operatorNamespace, operatorSA
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}
	if err := k8sClient.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", operatorNamespace, operatorSA, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: restConfig.Host, CertificateAuthorityData: restConfig.CAData, CertificateAuthority: restConfig.CAFile}
	kc.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["operator"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "operator"}
	kc.CurrentContext = "operator"
	path := filepath.Join(clusterDir, "operator.kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// forbiddenInOperatorLog returns the lines of every operator process's log where the API
// server's authorization refused the operator.
func forbiddenInOperatorLog() ([]string, error) {
	var lines []string
	for _, path := range operatorLogs {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			// (A namespace being deleted refuses new objects with "forbidden ... because it is
			// being terminated": admission, not RBAC.)
			if strings.Contains(sc.Text(), "forbidden") && !strings.Contains(sc.Text(), "because it is being terminated") {
				lines = append(lines, filepath.Base(path)+": "+sc.Text())
			}
		}
		_ = f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return err
}

// operatorMetricsPort is where the host-run operator serves its metrics on the real tier.
const operatorMetricsPort = 18443

// operatorMetricsAddr is the operator's metrics address on the real tier: the host's address on
// the real nodes' bridge (the registry's host).
func operatorMetricsAddr() string {
	host, _, _ := strings.Cut(realEnv["REGISTRY"], ":")
	return fmt.Sprintf("%s:%d", host, operatorMetricsPort)
}

// stepAside stops the suite's operator for the rest of the test and starts it again, as name,
// when the test ends.
func stepAside(t *testing.T, name string) {
	mainOperator.stop()
	t.Cleanup(func() {
		p, err := runOperator(name, mainOperatorArgs())
		if err != nil {
			t.Errorf("restarting the suite's operator: %v", err)
			return
		}
		mainOperator = p
	})
}
