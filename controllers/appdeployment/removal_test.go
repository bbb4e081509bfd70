package appdeployment

import (
	"fmt"
	"maps"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A map key or list entry removed from the spec is removed from the children too ("already
// current" compares the render with what edgeforge owns, so the removed field makes a
// difference and the next apply drops it).
func TestRemovedSpecFieldsLeaveTheChildren(t *testing.T) {
	ns := namespace(t)
	a := newApp(t, ns, "trim", func(a *v1alpha1.AppDeployment) {
		a.Spec.Env = []corev1.EnvVar{{Name: "MODE", Value: "edge"}, {Name: "DEBUG", Value: "1"}}
		a.Spec.Placement = &v1alpha1.Placement{NodeSelector: map[string]string{"zone": "a", "kubernetes.io/arch": "arm64"}}
		a.Spec.Ports = []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}
	})
	key := client.ObjectKeyFromObject(a)
	deployment(t, key, "env, selector and ports as in the spec", func(d *appsv1.Deployment) error {
		c := d.Spec.Template.Spec.Containers[0]
		if len(c.Env) != 2 || len(d.Spec.Template.Spec.NodeSelector) != 2 || len(c.Ports) != 2 {
			return fmt.Errorf("env %v, nodeSelector %v, ports %v", c.Env, d.Spec.Template.Spec.NodeSelector, c.Ports)
		}
		return nil
	})
	eventually(t, "a Service with both ports", func() error {
		svc := &corev1.Service{}
		if err := k8s.Get(ctx(t), key, svc); err != nil {
			return err
		}
		if len(svc.Spec.Ports) != 2 {
			return fmt.Errorf("ports %v", svc.Spec.Ports)
		}
		return nil
	})

	updateApp(t, key, func(a *v1alpha1.AppDeployment) {
		a.Spec.Env = a.Spec.Env[:1]
		delete(a.Spec.Placement.NodeSelector, "kubernetes.io/arch")
		a.Spec.Ports = a.Spec.Ports[:1]
	})
	deployment(t, key, "the removed env var, selector key and port gone", func(d *appsv1.Deployment) error {
		c := d.Spec.Template.Spec.Containers[0]
		if len(c.Env) != 1 || c.Env[0].Name != "MODE" || !maps.Equal(d.Spec.Template.Spec.NodeSelector, map[string]string{"zone": "a"}) || len(c.Ports) != 1 {
			return fmt.Errorf("env %v, nodeSelector %v, ports %v", c.Env, d.Spec.Template.Spec.NodeSelector, c.Ports)
		}
		return nil
	})
	eventually(t, "the Service's removed port gone", func() error {
		svc := &corev1.Service{}
		if err := k8s.Get(ctx(t), key, svc); err != nil {
			return err
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" {
			return fmt.Errorf("ports %v", svc.Spec.Ports)
		}
		return nil
	})
}
