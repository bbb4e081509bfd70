package app

import (
	"errors"
	"fmt"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Validate checks what the schema already rejects at admission, for objects stored before a
// rule existed: a controller must never render a child from a spec that names missing ports.
// The error is a sentence for the Stalled condition.
func Validate(app *v1alpha1.AppDeployment) error {
	s := &app.Spec
	var errs []error
	if (s.Image == "") == (s.ImageFrom == nil) {
		errs = append(errs, errors.New("exactly one of spec.image or spec.imageFrom must be set"))
	}
	if s.Metrics != nil {
		if _, ok := port(app, s.Metrics.Port); !ok || s.Metrics.Port == "" {
			errs = append(errs, fmt.Errorf("spec.metrics.port %q must name one of spec.ports", s.Metrics.Port))
		}
	}
	if in := s.Ingress; in != nil {
		if len(s.Ports) == 0 {
			errs = append(errs, errors.New("spec.ingress requires at least one entry in spec.ports"))
		} else if _, ok := port(app, in.Port); !ok {
			errs = append(errs, fmt.Errorf("spec.ingress.port %q must name one of spec.ports", in.Port))
		}
		if serviceType(app) == v1alpha1.ServiceTypeNone {
			errs = append(errs, errors.New("spec.ingress requires a Service: spec.service.type must not be None"))
		}
	}
	return errors.Join(errs...)
}

// BuildImage is the image spec.imageFrom's ImageBuild offers: its status.latestImage, the last
// image it pushed (by digest). A failed newer build leaves it as it was, so the app keeps running
// the last successful build.
//
// When there is none yet, wait says why in a sentence and failed reports whether the build
// failed (a human must act: Stalled) rather than being on its way (Reconciling).
func BuildImage(ib *v1alpha1.ImageBuild) (image, wait string, failed bool) {
	if ib.Status.LatestImage != "" {
		return ib.Status.LatestImage, "", false
	}
	name := ib.Namespace + "/" + ib.Name
	switch ib.Status.Phase {
	case v1alpha1.BuildPhaseFailed:
		msg := fmt.Sprintf("ImageBuild %s has not succeeded yet (phase Failed", name)
		if lb := ib.Status.LastBuild; lb != nil && lb.Reason != "" {
			msg += ": " + lb.Reason
		}
		return "", msg + "); fix the build, the app rolls out once it succeeds", true
	case "":
		return "", fmt.Sprintf("Waiting for ImageBuild %s to start its first build", name), false
	default:
		return "", fmt.Sprintf("Waiting for the first build of ImageBuild %s (phase %s)", name, ib.Status.Phase), false
	}
}
