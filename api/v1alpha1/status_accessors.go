package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Every kind's status has conditions and an observedGeneration. These accessors let the shared
// reconcile skeleton (controllers/skeleton) set them, and tests (test/testenv) read them, without
// knowing the kind.

// StatusConditions returns the conditions of the AppDeployment's status, for changing in place.
func (o *AppDeployment) StatusConditions() *[]metav1.Condition { return &o.Status.Conditions }

// SetObservedGeneration records the generation the status describes.
func (o *AppDeployment) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// GetObservedGeneration is the generation the status describes.
func (o *AppDeployment) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// StatusConditions returns the conditions of the ImageBuild's status, for changing in place.
func (o *ImageBuild) StatusConditions() *[]metav1.Condition { return &o.Status.Conditions }

// SetObservedGeneration records the generation the status describes.
func (o *ImageBuild) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// GetObservedGeneration is the generation the status describes.
func (o *ImageBuild) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// StatusConditions returns the conditions of the EdgeCluster's status, for changing in place.
func (o *EdgeCluster) StatusConditions() *[]metav1.Condition { return &o.Status.Conditions }

// SetObservedGeneration records the generation the status describes.
func (o *EdgeCluster) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// GetObservedGeneration is the generation the status describes.
func (o *EdgeCluster) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }

// StatusConditions returns the conditions of the MonitoringStack's status, for changing in place.
func (o *MonitoringStack) StatusConditions() *[]metav1.Condition { return &o.Status.Conditions }

// SetObservedGeneration records the generation the status describes.
func (o *MonitoringStack) SetObservedGeneration(g int64) { o.Status.ObservedGeneration = g }

// GetObservedGeneration is the generation the status describes.
func (o *MonitoringStack) GetObservedGeneration() int64 { return o.Status.ObservedGeneration }
