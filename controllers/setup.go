// Package controllers holds one reconciler per edgeforge kind. Reconcilers do I/O only: they
// read objects, call the pure functions in internal/ to decide, apply the result and write status.
package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"
)

// FieldOwner is the server-side apply field manager of every object edgeforge writes.
const FieldOwner = "edgeforge"

// Pinned default images. Operators override them with flags (see main.go); an ImageBuild or a
// MonitoringStack can override some of them per object.
const (
	DefaultKanikoImage           = "gcr.io/kaniko-project/executor:v1.23.2"
	DefaultGrafanaImage          = "docker.io/grafana/grafana:12.1.1"
	DefaultNodeExporterImage     = "quay.io/prometheus/node-exporter:v1.9.1"
	DefaultKubeStateMetricsImage = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0"
)

// Options are the operator-wide settings every reconciler may need.
type Options struct {
	// Namespace the operator runs in; it holds operator-owned objects such as join-command Secrets.
	Namespace string
	// KanikoImage is the default Kaniko executor image for build Jobs.
	KanikoImage string
	// GrafanaImage is the default Grafana image.
	GrafanaImage string
	// NodeExporterImage is the node-exporter image.
	NodeExporterImage string
	// KubeStateMetricsImage is the kube-state-metrics image.
	KubeStateMetricsImage string
}

// setupFunc registers one reconciler with the manager.
type setupFunc func(mgr ctrl.Manager, opts Options) error

// reconcilers lists every reconciler the operator runs; each controller file adds itself here.
var reconcilers []setupFunc

// SetupWithManager registers every reconciler with the manager.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	for _, setup := range reconcilers {
		if err := setup(mgr, opts); err != nil {
			return err
		}
	}
	return nil
}
