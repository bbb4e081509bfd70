package app

import (
	"slices"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestPullSecrets(t *testing.T) {
	build := &v1alpha1.ImageBuild{Spec: v1alpha1.ImageBuildSpec{Output: v1alpha1.BuildOutput{
		Image: "registry.local/web:1", PushSecretRef: &v1alpha1.LocalObjectReference{Name: "push"}}}}
	noSecret := &v1alpha1.ImageBuild{Spec: v1alpha1.ImageBuildSpec{Output: v1alpha1.BuildOutput{Image: "registry.local/web:1"}}}
	from := func(use *bool) *v1alpha1.ImageSource {
		return &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}, UsePushSecret: use}
	}
	refs := func(names ...string) []v1alpha1.LocalObjectReference {
		var out []v1alpha1.LocalObjectReference
		for _, n := range names {
			out = append(out, v1alpha1.LocalObjectReference{Name: n})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		spec  v1alpha1.AppDeploymentSpec
		build *v1alpha1.ImageBuild
		want  []string
	}{
		{"image without secrets", v1alpha1.AppDeploymentSpec{Image: "nginx"}, nil, nil},
		{"image with secrets", v1alpha1.AppDeploymentSpec{Image: "nginx", ImagePullSecrets: refs("a", "b")}, nil, []string{"a", "b"}},
		{"imageFrom uses the push Secret by default", v1alpha1.AppDeploymentSpec{ImageFrom: from(nil)}, build, []string{"push"}},
		{"imageFrom usePushSecret true", v1alpha1.AppDeploymentSpec{ImageFrom: from(ptr.To(true))}, build, []string{"push"}},
		{"imageFrom usePushSecret false", v1alpha1.AppDeploymentSpec{ImageFrom: from(ptr.To(false))}, build, nil},
		{"own secrets first, push Secret once", v1alpha1.AppDeploymentSpec{ImageFrom: from(nil), ImagePullSecrets: refs("own", "push")}, build, []string{"own", "push"}},
		{"build without a push Secret", v1alpha1.AppDeploymentSpec{ImageFrom: from(nil)}, noSecret, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PullSecrets(&v1alpha1.AppDeployment{Spec: tc.spec}, tc.build)
			if !slices.Equal(got, tc.want) {
				t.Errorf("PullSecrets = %q, want %q", got, tc.want)
			}
			d := DesiredDeployment(&v1alpha1.AppDeployment{Spec: tc.spec}, "img", nil, tc.build)
			var inPod []string
			for _, r := range d.Spec.Template.Spec.ImagePullSecrets {
				inPod = append(inPod, *r.Name)
			}
			if !slices.Equal(inPod, tc.want) {
				t.Errorf("pod imagePullSecrets = %q, want %q", inPod, tc.want)
			}
		})
	}
}

func TestAutomountToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec v1alpha1.AppDeploymentSpec
		want bool
	}{
		{"default: no token", v1alpha1.AppDeploymentSpec{}, false},
		{"a named ServiceAccount is there to be used", v1alpha1.AppDeploymentSpec{ServiceAccountName: "reader"}, true},
		{"asked for", v1alpha1.AppDeploymentSpec{AutomountServiceAccountToken: ptr.To(true)}, true},
		{"refused even with a ServiceAccount", v1alpha1.AppDeploymentSpec{ServiceAccountName: "reader", AutomountServiceAccountToken: ptr.To(false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1alpha1.AppDeployment{Spec: tc.spec}
			got := DesiredDeployment(a, "img", nil, nil).Spec.Template.Spec.AutomountServiceAccountToken
			if got == nil || *got != tc.want {
				t.Fatalf("automountServiceAccountToken = %v, want %v", got, tc.want)
			}
		})
	}
}
