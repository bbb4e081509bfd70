package app

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Pods are Pod Security "restricted" by default, and each field the user sets wins on its own.
func TestSecurityContextDefaults(t *testing.T) {
	runtimeDefault := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	dropAll := &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	for _, tc := range []struct {
		name          string
		pod           *corev1.PodSecurityContext
		container     *corev1.SecurityContext
		wantPod       *corev1.PodSecurityContext
		wantContainer *corev1.SecurityContext
	}{
		{name: "defaults",
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: dropAll}},
		{name: "a user id keeps the other defaults",
			pod:           &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)},
			wantPod:       &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000), RunAsNonRoot: ptr.To(true), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: dropAll}},
		{name: "root on purpose",
			pod:           &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(false)},
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(false), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: dropAll}},
		{name: "own capabilities replace drop ALL",
			container:     &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}},
		{name: "privileged gets no allowPrivilegeEscalation false (the API server refuses both)",
			container:     &corev1.SecurityContext{Privileged: ptr.To(true)},
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{Privileged: ptr.To(true), Capabilities: dropAll}},
		{name: "SYS_ADMIN likewise",
			container:     &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}},
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: runtimeDefault},
			wantContainer: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}},
		{name: "an Unconfined profile is the user's",
			pod:           &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
			wantPod:       &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
			wantContainer: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: dropAll}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := appDeployment(func(a *v1alpha1.AppDeployment) {
				a.Spec.SecurityContext, a.Spec.ContainerSecurityContext = tc.pod, tc.container
			})
			before := a.DeepCopy()
			if got := PodSecurityContext(a); !equality.Semantic.DeepEqual(got, tc.wantPod) {
				t.Errorf("pod: %+v, want %+v", got, tc.wantPod)
			}
			if got := ContainerSecurityContext(a); !equality.Semantic.DeepEqual(got, tc.wantContainer) {
				t.Errorf("container: %+v, want %+v", got, tc.wantContainer)
			}
			if !equality.Semantic.DeepEqual(a, before) {
				t.Error("the AppDeployment was modified")
			}
		})
	}
}
