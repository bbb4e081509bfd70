// Package app decides what an AppDeployment turns into and what its status says, without a
// client: the desired children as server-side apply configurations (DesiredDeployment,
// DesiredService, DesiredIngress, DesiredHPA, DesiredPDB, DesiredServiceMonitor), which image
// to run (DecideRollout: follow the spec, or stay rolled back from a failed image), how far a
// Deployment's rollout is (Progress), and the resulting status (Summarize).
// controllers/appdeployment does the I/O.
//
// Every child has the AppDeployment's name (they are of different kinds), carries the labels of
// Labels and a controller owner reference to the AppDeployment, so garbage collection removes
// them with it. The renders are deterministic: equal inputs give equal apply configurations,
// which is what lets the controller skip applying an unchanged child.
package app

import (
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/owner"
)

// ContainerName is the name of the application container in the pod template.
const ContainerName = "app"

// Labels are the labels of every object created for an AppDeployment (API.md shared
// conventions): managed-by, name and instance (both the AppDeployment's name: the app is the
// user's application) and edgeforge.io/appdeployment.
func Labels(app *v1alpha1.AppDeployment) map[string]string {
	return map[string]string{
		v1alpha1.LabelManagedBy:     v1alpha1.ManagedByValue,
		v1alpha1.LabelName:          app.Name,
		v1alpha1.LabelInstance:      app.Name,
		v1alpha1.LabelAppDeployment: app.Name,
	}
}

// SelectorLabels select the app's pods (Deployment selector, Service selector, PDB, topology
// spread). They depend on the name only, so the Deployment's immutable selector never changes.
func SelectorLabels(app *v1alpha1.AppDeployment) map[string]string {
	return map[string]string{
		v1alpha1.LabelName:     app.Name,
		v1alpha1.LabelInstance: app.Name,
	}
}

// ownerReference makes the AppDeployment the controller of a child.
func ownerReference(app *v1alpha1.AppDeployment) *metav1ac.OwnerReferenceApplyConfiguration {
	return owner.ControllerReference(app, "AppDeployment")
}

// servicePort is the port the Service exposes for p: servicePort, defaulting to containerPort.
func servicePort(p v1alpha1.AppPort) int32 {
	if p.ServicePort != nil {
		return *p.ServicePort
	}
	return p.ContainerPort
}

// protocol defaults an empty protocol to TCP (the schema defaults it; objects built in code may not).
func protocol(p v1alpha1.AppPort) string {
	if p.Protocol == "" {
		return "TCP"
	}
	return string(p.Protocol)
}

// HasService reports whether the app gets a Service: a type other than None and at least one port
// (a Service without ports is invalid).
func HasService(app *v1alpha1.AppDeployment) bool {
	return serviceType(app) != v1alpha1.ServiceTypeNone && len(app.Spec.Ports) > 0
}

func serviceType(app *v1alpha1.AppDeployment) v1alpha1.ServiceType {
	if app.Spec.Service == nil || app.Spec.Service.Type == "" {
		return v1alpha1.ServiceTypeClusterIP
	}
	return app.Spec.Service.Type
}

// port returns the entry of spec.ports called name, or the first port when name is empty.
func port(app *v1alpha1.AppDeployment, name string) (v1alpha1.AppPort, bool) {
	for _, p := range app.Spec.Ports {
		if name == "" || p.Name == name {
			return p, true
		}
	}
	return v1alpha1.AppPort{}, false
}
