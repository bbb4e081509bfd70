package app

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// DesiredService is the Service in front of the app: every entry of spec.ports, by name, with
// spec.service.nodePort on the first port. It is nil when the app has no Service (type None, or
// no ports: a Service needs at least one).
func DesiredService(app *v1alpha1.AppDeployment) *corev1ac.ServiceApplyConfiguration {
	if !HasService(app) {
		return nil
	}
	typ := serviceType(app)
	spec := corev1ac.ServiceSpec().
		WithType(corev1.ServiceType(typ)).
		WithSelector(SelectorLabels(app))
	for i, p := range app.Spec.Ports {
		sp := corev1ac.ServicePort().
			WithName(p.Name).
			WithProtocol(corev1.Protocol(protocol(p))).
			WithPort(servicePort(p)).
			WithTargetPort(intstr.FromString(p.Name))
		if i == 0 && typ == v1alpha1.ServiceTypeNodePort && app.Spec.Service.NodePort != nil {
			sp.WithNodePort(*app.Spec.Service.NodePort)
		}
		spec.WithPorts(sp)
	}
	return corev1ac.Service(app.Name, app.Namespace).
		WithLabels(Labels(app)).
		WithOwnerReferences(ownerReference(app)).
		WithSpec(spec)
}

// DesiredIngress routes spec.ingress.host and path (a prefix) to the Service port named by
// spec.ingress.port (default: the first port), with TLS from spec.ingress.tlsSecretName. It is
// nil when spec.ingress is not set or the app has no Service to route to.
func DesiredIngress(app *v1alpha1.AppDeployment) *networkingv1ac.IngressApplyConfiguration {
	in := app.Spec.Ingress
	if in == nil || !HasService(app) {
		return nil
	}
	p, ok := port(app, in.Port)
	if !ok {
		return nil // rejected at admission; Validate reports it
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	rule := networkingv1ac.IngressRule().WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(
		networkingv1ac.HTTPIngressPath().
			WithPath(path).
			WithPathType(networkingv1.PathTypePrefix).
			WithBackend(networkingv1ac.IngressBackend().WithService(
				networkingv1ac.IngressServiceBackend().
					WithName(app.Name).
					WithPort(networkingv1ac.ServiceBackendPort().WithName(p.Name))))))
	if in.Host != "" {
		rule.WithHost(in.Host)
	}
	spec := networkingv1ac.IngressSpec().WithRules(rule)
	if in.ClassName != "" {
		spec.WithIngressClassName(in.ClassName)
	}
	if in.TLSSecretName != "" {
		spec.WithTLS(networkingv1ac.IngressTLS().WithHosts(in.Host).WithSecretName(in.TLSSecretName))
	}
	return networkingv1ac.Ingress(app.Name, app.Namespace).
		WithLabels(Labels(app)).
		WithOwnerReferences(ownerReference(app)).
		WithSpec(spec)
}
