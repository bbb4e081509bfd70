package appdeployment

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/test/testenv"
)

// In a namespace being deleted the API server refuses new objects (NamespaceTerminating). An
// AppDeployment whose children went first must not report that as a failure and retry: the
// namespace takes the AppDeployment with it. (envtest runs no namespace controller, so the
// namespace stays Terminating for the test.)
func TestTerminatingNamespaceIsNotAnError(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "going", nil)
	d := &appsv1.Deployment{}
	testenv.WaitFor(t, timeout, "the Deployment", func() (bool, error) {
		return k8s.Get(ctx(t), client.ObjectKeyFromObject(a), d) == nil, nil
	})
	nsObj := &corev1.Namespace{}
	nsObj.Name = ns
	if err := k8s.Delete(ctx(t), nsObj); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: k8s, RESTMapper: k8s.RESTMapper(), Recorder: events.NewFakeRecorder(10)}
	res, err := r.Reconcile(ctx(t), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(a)})
	if err != nil || !res.IsZero() {
		t.Fatalf("Reconcile in a terminating namespace = %+v, %v; want no error and no requeue", res, err)
	}
	if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(a), &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after the reconcile: %v, want NotFound (the namespace refuses it)", err)
	}
}
