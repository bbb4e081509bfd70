package imagebuild

import (
	"strings"
	"testing"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Kaniko's pod (root, a few capabilities) is Pod Security baseline: refused only where the
// namespace enforces restricted, in the admission plugin's words.
func TestPodSecurityProblem(t *testing.T) {
	ib := &v1alpha1.ImageBuild{}
	ib.Name, ib.Namespace = "web", "team"
	ib.Spec.Source.Inline = &v1alpha1.InlineSource{Dockerfile: "FROM scratch"}
	ib.Spec.Output.Image = "registry.example.com/web:1"
	job, err := RenderJob(ib, JobInput{Number: 1, DefaultExecutorImage: "kaniko:test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   []string // in the message; none: admitted
	}{
		{"no label", nil, nil},
		{"privileged", map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, nil},
		{"baseline", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, nil},
		{"restricted", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
			[]string{`violates PodSecurity "restricted:latest"`, "runAsNonRoot", "unrestricted capabilities"}},
		{"restricted at a version", map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"},
			[]string{`"restricted:v1.30"`}},
		{"warn only", map[string]string{"pod-security.kubernetes.io/warn": "restricted"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PodSecurityProblem(tc.labels, job)
			if (got == "") != (len(tc.want) == 0) {
				t.Fatalf("PodSecurityProblem = %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}
