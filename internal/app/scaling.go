package app

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Defaults of spec.autoscaling, for objects that did not pass through the schema's defaulting.
const (
	defaultMinReplicas      = 1
	defaultTargetCPUPercent = 80
)

// DesiredHPA is the autoscaling/v2 HorizontalPodAutoscaler of spec.autoscaling: it scales the
// Deployment between minReplicas and maxReplicas on average CPU utilisation (of the container's
// CPU request). It is nil when spec.autoscaling is not set.
func DesiredHPA(app *v1alpha1.AppDeployment) *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration {
	as := app.Spec.Autoscaling
	if as == nil {
		return nil
	}
	minReplicas, target := int32(defaultMinReplicas), int32(defaultTargetCPUPercent)
	if as.MinReplicas != nil {
		minReplicas = *as.MinReplicas
	}
	if as.TargetCPUUtilizationPercentage != nil {
		target = *as.TargetCPUUtilizationPercentage
	}
	return autoscalingv2ac.HorizontalPodAutoscaler(app.Name, app.Namespace).
		WithLabels(Labels(app)).
		WithOwnerReferences(ownerReference(app)).
		WithSpec(autoscalingv2ac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
				WithAPIVersion("apps/v1").WithKind("Deployment").WithName(app.Name)).
			WithMinReplicas(minReplicas).
			WithMaxReplicas(as.MaxReplicas).
			WithMetrics(autoscalingv2ac.MetricSpec().
				WithType(autoscalingv2.ResourceMetricSourceType).
				WithResource(autoscalingv2ac.ResourceMetricSource().
					WithName(corev1.ResourceCPU).
					WithTarget(autoscalingv2ac.MetricTarget().
						WithType(autoscalingv2.UtilizationMetricType).
						WithAverageUtilization(target)))))
}

// DesiredPDB is the PodDisruptionBudget of spec.disruptionBudget over the app's pods. It is nil
// when spec.disruptionBudget is not set.
func DesiredPDB(app *v1alpha1.AppDeployment) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	db := app.Spec.DisruptionBudget
	if db == nil {
		return nil
	}
	spec := policyv1ac.PodDisruptionBudgetSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(app)))
	switch {
	case db.MinAvailable != nil:
		spec.WithMinAvailable(*db.MinAvailable)
	case db.MaxUnavailable != nil:
		spec.WithMaxUnavailable(*db.MaxUnavailable)
	}
	return policyv1ac.PodDisruptionBudget(app.Name, app.Namespace).
		WithLabels(Labels(app)).
		WithOwnerReferences(ownerReference(app)).
		WithSpec(spec)
}
