package imagebuild

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// podSecurity evaluates pods as the PodSecurity admission plugin does: its own checks, at every
// version it knows.
var podSecurity = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic(fmt.Sprintf("pod security checks: %v", err)) // the library's own checks
	}
	return e
}()

// PodSecurityProblem says why the PodSecurity admission plugin would refuse the build Job's pod in
// a namespace with these labels (pod-security.kubernetes.io/enforce and enforce-version), in the
// plugin's own words ("violates PodSecurity ..."); "" when it would admit it. A namespace without
// an enforce label is judged privileged: the cluster's own default (its AdmissionConfiguration)
// and exemptions are not visible to the operator.
func PodSecurityProblem(nsLabels map[string]string, job *batchv1.Job) string {
	pol, _ := psaapi.PolicyToEvaluate(nsLabels, psaapi.Policy{
		Enforce: psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
	}) // invalid labels: the plugin evaluates the policy returned with them, and so do we
	tmpl := &job.Spec.Template
	res := policy.AggregateCheckResults(podSecurity.EvaluatePod(pol.Enforce, &tmpl.ObjectMeta, &tmpl.Spec))
	if res.Allowed {
		return ""
	}
	return fmt.Sprintf("violates PodSecurity %q: %s", pol.Enforce.String(), res.ForbiddenDetail())
}
