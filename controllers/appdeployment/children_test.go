package appdeployment

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Every child the spec asks for is created, controlled by the AppDeployment and labelled; the
// status tells what runs and where.
func TestChildrenAreCreatedAndOwned(t *testing.T) {
	ns := namespace(t)
	nodePort := freeNodePort()
	a := newApp(t, ns, "shop", func(a *v1alpha1.AppDeployment) {
		a.Spec.Replicas = ptr.To[int32](3)
		a.Spec.Service = &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: ptr.To(nodePort)}
		a.Spec.Ingress = &v1alpha1.AppIngress{Host: "shop.example.com", TLSSecretName: "shop-tls"}
		a.Spec.Autoscaling = &v1alpha1.Autoscaling{MaxReplicas: 5}
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MinAvailable: ptr.To(intstr.FromInt32(1))}
	})
	key := client.ObjectKeyFromObject(a)
	a = getApp(t, key) // with its UID

	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &networkingv1.Ingress{},
		&autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{}} {
		eventually(t, fmt.Sprintf("%T exists and is owned", obj), func() error {
			if err := k8s.Get(ctx(t), key, obj); err != nil {
				return err
			}
			return controlledBy(obj, a)
		})
	}
	svc := &corev1.Service{}
	if err := k8s.Get(ctx(t), key, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != nodePort {
		t.Errorf("Service %s nodePort %d, want NodePort %d", svc.Spec.Type, svc.Spec.Ports[0].NodePort, nodePort)
	}

	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
	hasEvent(t, key, "RolloutStarted", "Rolling out nginx:1.27")
	rollOut(t, key)
	got := waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRolledOut)
	st := got.Status
	// the HPA owns replicas: the Deployment was created without them, so it has the default 1
	if st.Ready != "1/1" || st.Image != "nginx:1.27" || st.LastGoodImage != "nginx:1.27" || st.URL != "https://shop.example.com/" {
		t.Errorf("status ready=%q image=%q lastGood=%q url=%q", st.Ready, st.Image, st.LastGoodImage, st.URL)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReconciling); c != nil {
		t.Errorf("Reconciling still set when Ready: %+v", c)
	}
	hasEvent(t, key, v1alpha1.AppDeploymentReasonRolledOut, "nginx:1.27 is rolled out")
}

// A spec change that no longer asks for the Ingress, the HPA, the PDB or the Service deletes
// them; the Deployment takes its replicas back from the HPA.
func TestObsoleteChildrenAreDeleted(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "cart", func(a *v1alpha1.AppDeployment) {
		a.Spec.Ingress = &v1alpha1.AppIngress{Host: "cart.example.com"}
		a.Spec.Autoscaling = &v1alpha1.Autoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}
		a.Spec.DisruptionBudget = &v1alpha1.DisruptionBudget{MaxUnavailable: ptr.To(intstr.FromString("50%"))}
	})
	key := client.ObjectKeyFromObject(a)
	for _, obj := range []client.Object{&networkingv1.Ingress{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{}} {
		eventually(t, fmt.Sprintf("%T exists", obj), func() error { return k8s.Get(ctx(t), key, obj) })
	}

	updateApp(t, key, func(a *v1alpha1.AppDeployment) {
		a.Spec.Ingress, a.Spec.Autoscaling, a.Spec.DisruptionBudget = nil, nil, nil
		a.Spec.Replicas = ptr.To[int32](4)
	})
	for _, obj := range []client.Object{&networkingv1.Ingress{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{}} {
		eventually(t, fmt.Sprintf("%T is deleted", obj), func() error {
			if err := k8s.Get(ctx(t), key, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (err %v)", err)
			}
			return nil
		})
	}
	deployment(t, key, "4 replicas from the spec", func(d *appsv1.Deployment) error {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 4 {
			return fmt.Errorf("replicas %v", d.Spec.Replicas)
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Service.Type = v1alpha1.ServiceTypeNone })
	eventually(t, "Service is deleted", func() error {
		if err := k8s.Get(ctx(t), key, &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (err %v)", err)
		}
		return nil
	})
	rollOut(t, key)
	if got := waitFor(t, key, v1alpha1.ConditionReady, metav1.ConditionTrue, ""); got.Status.URL != "" {
		t.Errorf("url %q without a Service", got.Status.URL)
	}
}

// Turning autoscaling on hands the running replica count to the HPA instead of letting the
// Deployment fall back to 1 replica when edgeforge stops applying the field.
func TestAutoscalingTakesOverReplicas(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "api", func(a *v1alpha1.AppDeployment) { a.Spec.Replicas = ptr.To[int32](3) })
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "3 replicas", func(d *appsv1.Deployment) error {
		if *d.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d", *d.Spec.Replicas)
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Autoscaling = &v1alpha1.Autoscaling{MaxReplicas: 6} })
	eventually(t, "HPA exists", func() error { return k8s.Get(ctx(t), key, &autoscalingv2.HorizontalPodAutoscaler{}) })
	d := deployment(t, key, "edgeforge no longer owns replicas", func(d *appsv1.Deployment) error {
		for _, e := range d.ManagedFields {
			if e.Manager == fieldOwner && e.FieldsV1 != nil && bytes.Contains(e.FieldsV1.Raw, []byte(`"f:replicas"`)) {
				return fmt.Errorf("still owned by %s", fieldOwner)
			}
		}
		return nil
	})
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d after handing them to the HPA, want 3", *d.Spec.Replicas)
	}
}

// A child the API server refuses (here: a node port another Service has) stalls the
// AppDeployment with the server's message; fixing the spec recovers it.
func TestRejectedChildStalls(t *testing.T) {
	ns := namespace(t)
	nodePort := freeNodePort()
	first := newApp(t, ns, "first", func(a *v1alpha1.AppDeployment) {
		a.Spec.Service = &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: ptr.To(nodePort)}
	})
	eventually(t, "the first app's Service", func() error {
		return k8s.Get(ctx(t), client.ObjectKeyFromObject(first), &corev1.Service{})
	})
	second := newApp(t, ns, "second", func(a *v1alpha1.AppDeployment) {
		a.Spec.Service = &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: ptr.To(nodePort)}
	})
	key := client.ObjectKeyFromObject(second)
	got := waitFor(t, key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonChildRejected)
	if msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "The API server rejected Service "+ns+"/second") ||
		!strings.Contains(msg, "already allocated") {
		t.Errorf("Ready message %q", msg)
	}
	updateApp(t, key, func(a *v1alpha1.AppDeployment) { a.Spec.Service.NodePort = nil })
	waitFor(t, key, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.AppDeploymentReasonRollingOut)
}

// freeNodePort picks a node port no other test of this run uses (envtest deletes nothing).
func freeNodePort() int32 {
	nodePortMu.Lock()
	defer nodePortMu.Unlock()
	nextNodePort++
	return nextNodePort
}

var (
	nodePortMu   sync.Mutex
	nextNodePort = int32(30000 + rand.Intn(2000))
)
