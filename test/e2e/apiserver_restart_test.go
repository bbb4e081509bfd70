package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// kube-apiserver is SIGKILLed and started again 3 times (outages of 10, 30 and 60 s) under a
// running operator (issue 15). After each restart a new AppDeployment is reconciled (its
// Deployment made: the operator's part) and becomes Ready (kube-controller-manager's part too);
// both times are reported. Nothing that existed before is recreated or duplicated, no informer
// fails a list or watch across the restarts (each waits for the API server to be ready:
// controllers/reconnect), and the operator logs that it lost and regained the API server.
func TestAPIServerRestarts(t *testing.T) {
	requireReliability(t)
	ns := createNamespace(t, "e2e-apiserver")
	before := map[string]types.UID{}
	for i := range 3 {
		name := fmt.Sprintf("before-%d", i)
		appReady(t, ns, name, time.Minute)
		d := &appsv1.Deployment{}
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			t.Fatal(err)
		}
		before[name] = d.UID
	}

	for i, outage := range []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second} {
		if err := clusterScript("apiserver", "kill"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(outage)
		if err := clusterScript("apiserver", "start"); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		name := fmt.Sprintf("after-%d", i)
		waitFor(t, time.Minute, "the API server to accept AppDeployment "+name, func(ctx context.Context) (bool, error) {
			createErr := k8sClient.Create(ctx, &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: v1alpha1.AppDeploymentSpec{Image: "registry.invalid/app:1", Replicas: new(int32)}})
			return createErr == nil, nil
		})
		waitFor(t, 3*time.Minute, "the operator to make "+name+"'s Deployment", func(ctx context.Context) (bool, error) {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{}) == nil, nil
		})
		reconciled := time.Since(began)
		appReady(t, ns, name, 3*time.Minute)
		t.Logf("outage %s: a new AppDeployment's Deployment made %s after the restart, Ready after %s",
			outage, reconciled.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
	}

	// Nothing recreated or duplicated.
	for name, uid := range before {
		d := &appsv1.Deployment{}
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			t.Fatal(err)
		}
		if d.UID != uid {
			t.Errorf("Deployment %s was recreated across the restarts", name)
		}
	}
	deps := &appsv1.DeploymentList{}
	if err := k8sClient.List(t.Context(), deps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 6 {
		t.Errorf("%d Deployments for 6 AppDeployments", len(deps.Items))
	}
	// The informers waited for the API server to be ready instead of failing into client-go's
	// backoff (up to a minute): no reflector reports a failed list or watch (a restarted API
	// server refuses connections, then answers 403 until its authorizer has synced).
	for _, what := range []string{"Failed to watch", "Failed to list", "failed to list"} {
		for _, l := range grepLog(t, mainOperator.log, what) {
			t.Errorf("an informer failed across the restarts instead of waiting for the API server: %.300s", l)
		}
	}
	if lines := grepLog(t, mainOperator.log, "API server reachable again"); len(lines) < 3 {
		t.Errorf("the operator logged %d reconnections for 3 restarts: %v", len(lines), lines)
	}
}
