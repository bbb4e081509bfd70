package appdeployment

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// benchWorkers is how many requests the test client has in flight, for the baseline and for
// creating the AppDeployments alike.
const benchWorkers = 16

// The convergence budget of DESIGN.md (EDGEFORGE_SCALE_TEST=1, make bench; N from
// EDGEFORGE_SCALE_N, default 1000): N AppDeployments (image + one port) converge — Deployment and
// Service applied, status.observedGeneration == generation — within 1.3× of the time the same
// client config needs to create those children directly; then nothing is written at rest.
// envtest has no kube-controller-manager, so Ready is not part of it.
func TestConvergenceOf1000Apps(t *testing.T) {
	if os.Getenv("EDGEFORGE_SCALE_TEST") == "" {
		t.Skip("a benchmark of the performance budget: run it with make bench (EDGEFORGE_SCALE_TEST=1)")
	}
	n := 1000
	if s := os.Getenv("EDGEFORGE_SCALE_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("EDGEFORGE_SCALE_N=%q: want a positive number", s)
		}
		n = v
	}
	// The client config the manager runs with (env.Config), for the baseline's client too.
	c, err := client.New(rest.CopyConfig(env.Config), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(ns, name string) *v1alpha1.AppDeployment {
		return &v1alpha1.AppDeployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AppDeployment"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("bench-" + name), Generation: 1},
			Spec:       v1alpha1.AppDeploymentSpec{Image: "nginx:1.27", Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}}},
		}
	}

	// (1) Baseline: the same children (the controller's own desired objects), applied directly.
	base := namespace(t)
	start := time.Now()
	parallel(t, n, func(i int) error {
		a := spec(base, fmt.Sprintf("app-%04d", i))
		if err := c.Apply(ctx(t), app.DesiredDeployment(a, a.Spec.Image, nil, nil), client.FieldOwner(settings.FieldOwner), client.ForceOwnership); err != nil {
			return err
		}
		return c.Apply(ctx(t), app.DesiredService(a), client.FieldOwner(settings.FieldOwner), client.ForceOwnership)
	})
	baseline := time.Since(start)
	t.Logf("baseline: %d Deployments + %d Services applied directly in %s", n, n, baseline.Round(time.Millisecond))

	// (2) N AppDeployments, until each has its children and its status observed.
	ns := namespace(t)
	r0 := reconciles(t)
	start = time.Now()
	parallel(t, n, func(i int) error {
		a := spec(ns, fmt.Sprintf("app-%04d", i))
		a.TypeMeta, a.UID, a.Generation = metav1.TypeMeta{}, "", 0
		return c.Create(ctx(t), a)
	})
	created := time.Since(start)
	deadline := time.Now().Add(10*baseline + time.Minute)
	for {
		missing, err := unconverged(t, ns, n)
		if err != nil {
			t.Fatal(err)
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged after %s: %s", time.Since(start).Round(time.Millisecond), missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	converged := time.Since(start)
	ratio := converged.Seconds() / baseline.Seconds()
	t.Logf("%d AppDeployments created in %s, converged (Deployment + Service, observedGeneration) in %s after %.0f reconciles",
		n, created.Round(time.Millisecond), converged.Round(time.Millisecond), reconciles(t)-r0)
	t.Logf("ratio converged/baseline: %.2f (budget 1.30)", ratio)
	if ratio > 1.3 {
		t.Errorf("%d AppDeployments converged in %s, %.2f× the %s of applying their children directly (budget 1.3×)",
			n, converged.Round(time.Millisecond), ratio, baseline.Round(time.Millisecond))
	}

	// (3) At rest: no write for a while.
	w0 := settledWrites(t)
	time.Sleep(10 * time.Second)
	if w := settledWrites(t); w != w0 {
		t.Errorf("%d AppDeployments at rest made %d write requests in 10s", n, w-w0)
	} else {
		t.Logf("at rest: 0 write requests in 10s")
	}
}

// parallel runs f(0..n-1) with benchWorkers in flight and fails the test on the first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, benchWorkers)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// unconverged lists the namespace's AppDeployments, Deployments and Services (three list
// requests) and describes the first of the n apps that has not converged, or "" when all have.
func unconverged(t *testing.T, ns string, n int) (string, error) {
	apps := &v1alpha1.AppDeploymentList{}
	deps := &appsv1.DeploymentList{}
	svcs := &corev1.ServiceList{}
	for _, l := range []client.ObjectList{apps, deps, svcs} {
		if err := k8s.List(ctx(t), l, client.InNamespace(ns)); err != nil && !apierrors.IsNotFound(err) {
			return "", err
		}
	}
	if len(apps.Items) < n {
		return fmt.Sprintf("%d of %d AppDeployments listed", len(apps.Items), n), nil
	}
	has := map[string]int{}
	for _, d := range deps.Items {
		has[d.Name]++
	}
	for _, s := range svcs.Items {
		has[s.Name] += 2
	}
	pending := 0
	var first string
	for _, a := range apps.Items {
		if a.Status.ObservedGeneration != a.Generation || has[a.Name] != 3 {
			if pending == 0 {
				first = fmt.Sprintf("%s: observedGeneration %d of %d, children %d/3", a.Name, a.Status.ObservedGeneration, a.Generation, has[a.Name])
			}
			pending++
		}
	}
	if pending > 0 {
		return fmt.Sprintf("%d of %d pending, e.g. %s", pending, n, first), nil
	}
	return "", nil
}
