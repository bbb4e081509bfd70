// Package controllers wires the reconcilers into a manager. Each kind has its own package
// (controllers/<kind>) with one reconciler that does I/O only: read objects, call the pure
// functions in internal/ to decide, apply the result and write status.
package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/edgeforge/edgeforge/controllers/appdeployment"
	"github.com/edgeforge/edgeforge/controllers/imagebuild"
	"github.com/edgeforge/edgeforge/controllers/monitoringstack"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Every reconciler records events for `kubectl describe`.
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers every reconciler with the manager.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	for _, setup := range []func(ctrl.Manager, settings.Options) error{
		// One line per kind: <kind>.SetupWithManager.
		imagebuild.SetupWithManager,
		appdeployment.SetupWithManager,
		monitoringstack.SetupWithManager,
	} {
		if err := setup(mgr, opts); err != nil {
			return err
		}
	}
	return nil
}
