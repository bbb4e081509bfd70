package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels and values shared with hack/cluster.sh and the kwok stages in hack/kwok/.
const (
	// edgePoolLabel marks members of an EdgeCluster (a label kubelets cannot set); the fake edge
	// nodes carry edgePoolLabel=edgePool, as an admin admitted them.
	edgePoolLabel = "node-restriction.kubernetes.io/edge-cluster"
	edgePool      = "site-a"
	// buildLabel on a pod (any value) makes kwok finish it like a Kaniko build: Succeeded with a
	// "sha256:<64 hex>" termination message.
	buildLabel = "edgeforge.io/build"
	// The build argument simulateBuildArg=fail (ImageBuild spec.buildArgs, the executor's
	// --build-arg) makes a build pod fail (exit 1, "error building image: simulated failure");
	// =hang keeps it Running; EDGEFORGE_SIMULATE_DURATION (a Go duration such as 30s) sets how
	// long it "runs" (default 1s). See hack/kwok/build-stages.yaml.
	simulateBuildArg = "EDGEFORGE_SIMULATE"
	// fieldOwner is the server-side apply field manager of the tests.
	fieldOwner = "edgeforge-e2e"
)

// digestPattern is what a build pod's termination message looks like on success.
var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// Poll interval of waitFor; kwok and the controllers react within a few hundred milliseconds.
const pollInterval = 250 * time.Millisecond

// waitFor polls cond until it returns true and fails the test after timeout. Return (false, nil)
// to keep polling (e.g. on NotFound); an error stops polling and fails the test at once.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, cond)
	switch {
	case err == nil:
	case wait.Interrupted(err):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	default:
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// createNamespace creates a namespace named <prefix>-<random> and deletes it when the test ends.
func createNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k8sClient.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = k8sClient.Delete(context.Background(), ns)
	})
	return ns.Name
}

// applyYAMLFile server-side applies every object of a (multi-document) YAML file, with
// namespaced objects that name no namespace going to "default". See applyYAMLFileIn.
func applyYAMLFile(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	return applyYAMLFileIn(t, path, "")
}

// applyYAMLFileIn is applyYAMLFile with namespaced objects that name no namespace going to
// namespace (empty: "default").
func applyYAMLFileIn(t testing.TB, path, namespace string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeYAML(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := applyObjects(t.Context(), objs, namespace); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

// applyYAML server-side applies the objects of an inline manifest (see applyYAMLFileIn).
func applyYAML(t testing.TB, manifest, namespace string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decodeYAML([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := applyObjects(t.Context(), objs, namespace); err != nil {
		t.Fatal(err)
	}
	return objs
}

// decodeYAML splits a multi-document YAML (or JSON) stream into objects, skipping empty documents.
func decodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(o) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: o}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("document %d has no apiVersion/kind", len(objs)+1)
		}
		objs = append(objs, u)
	}
}

// applyObjects server-side applies objs in order (field manager fieldOwner, forcing ownership).
// Namespaced objects without a namespace get namespace (empty: "default"). On success each
// object holds the state the server returned.
func applyObjects(ctx context.Context, objs []*unstructured.Unstructured, namespace string) error {
	if namespace == "" {
		namespace = corev1.NamespaceDefault
	}
	for _, o := range objs {
		namespaced, err := k8sClient.IsObjectNamespaced(o)
		if err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if namespaced && o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		o.SetManagedFields(nil)
		o.SetResourceVersion("")
		ac := client.ApplyConfigurationFromUnstructured(o)
		if err := k8sClient.Apply(ctx, ac, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	return nil
}

// deleteOnCleanup deletes objs (ignoring NotFound) when the test ends.
func deleteOnCleanup(t testing.TB, objs ...client.Object) {
	t.Cleanup(func() {
		for _, o := range objs {
			err := k8sClient.Delete(context.Background(), o, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) {
				t.Logf("cleanup: delete %s %s: %v", o.GetObjectKind().GroupVersionKind().Kind, client.ObjectKeyFromObject(o), err)
			}
		}
	})
}
