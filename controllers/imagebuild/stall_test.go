package imagebuild

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A missing push Secret stalls the ImageBuild (no Job); a Secret of the wrong type keeps it
// stalled with another reason; the right Secret lets the build start. Secrets are not watched
// (no list/watch of Secrets): a stalled build looks again every skeleton.UnwatchedRecheck, or at
// once when asked with an annotation, as here.
func TestMissingPushSecretStallsThenRecovers(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "site")
	ib.Spec.Output.PushSecretRef = &v1alpha1.LocalObjectReference{Name: "regcred"}
	create(t, ib)

	st := waitForStatus(t, ns, "site", "Stalled PushSecretNotFound", stalledWith(v1alpha1.ImageBuildReasonPushSecretNotFound))
	if c := condition(st, v1alpha1.ConditionStalled); !strings.Contains(c.Message, ns+"/regcred") || st.Status.Phase != v1alpha1.BuildPhasePending {
		t.Errorf("Stalled = %+v, phase %s", c, st.Status.Phase)
	}
	if c := condition(st, v1alpha1.ConditionReady); c == nil || c.Status != "False" || c.Reason != v1alpha1.ImageBuildReasonPushSecretNotFound {
		t.Errorf("Ready = %+v", c)
	}
	waitForEvent(t, ns, "site", v1alpha1.ImageBuildReasonPushSecretNotFound)
	if err := get(t, ns, "site-1", &batchv1.Job{}); err == nil {
		t.Fatal("no Job may start without its push Secret")
	}
	assertNoWritesAtRest(t, ns, "site")

	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "regcred"}, StringData: map[string]string{"password": "hunter2"}}
	create(t, opaque)
	poke(t, ib)
	st = waitForStatus(t, ns, "site", "Stalled InvalidPushSecret", stalledWith(v1alpha1.ImageBuildReasonInvalidPushSecret))
	if msg := condition(st, v1alpha1.ConditionStalled).Message; strings.Contains(msg, "hunter2") || !strings.Contains(msg, "kubernetes.io/dockerconfigjson") {
		t.Errorf("Stalled message = %q", msg)
	}

	if err := k8s.Delete(ctxT(t), opaque); err != nil {
		t.Fatal(err)
	}
	create(t, dockerConfigSecret(ns, "regcred"))
	poke(t, ib)
	waitForJob(t, ns, "site-1")
	st = waitForStatus(t, ns, "site", "Building", phase(v1alpha1.BuildPhaseBuilding))
	if condition(st, v1alpha1.ConditionStalled) != nil {
		t.Errorf("Stalled must be gone once the build starts: %+v", st.Status.Conditions)
	}
}

// A missing EdgeCluster stalls the build until the pool exists.
func TestMissingEdgeClusterStallsThenRecovers(t *testing.T) {
	ns := namespace(t)
	pool := uniquePool()
	ib := inlineBuild(ns, "edge")
	ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}
	create(t, ib)
	st := waitForStatus(t, ns, "edge", "Stalled EdgeClusterNotFound", stalledWith(v1alpha1.ImageBuildReasonEdgeClusterNotFound))
	if msg := condition(st, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "EdgeCluster "+pool) {
		t.Errorf("Stalled message = %q", msg)
	}
	create(t, &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: pool}})
	job := waitForJob(t, ns, "edge-1")
	if job.Spec.Template.Spec.NodeSelector[v1alpha1.LabelEdgeClusterMember] != pool {
		t.Errorf("nodeSelector = %v", job.Spec.Template.Spec.NodeSelector)
	}
}

// A missing context ConfigMap or clone Secret stalls the build; once they exist, the build
// mounts the ConfigMap's files / reads the credentials from the Secret.
func TestMissingContextConfigMapAndCloneSecret(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "cm")
	ib.Spec.Source = v1alpha1.BuildSource{ConfigMap: &v1alpha1.LocalObjectReference{Name: "cm-context"}}
	create(t, ib)
	waitForStatus(t, ns, "cm", "Stalled ContextConfigMapNotFound", stalledWith(v1alpha1.ImageBuildReasonContextConfigMapNotFound))

	// ConfigMaps are not watched either: the build looks again every minute, or when poked.
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm-context"}, Data: map[string]string{"main.go": "package main"}})
	poke(t, ib)
	st := waitForStatus(t, ns, "cm", "Stalled InvalidContext", stalledWith(v1alpha1.ImageBuildReasonInvalidContext))
	if msg := condition(st, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, `no key "Dockerfile"`) {
		t.Errorf("Stalled message = %q", msg)
	}
	cm := &corev1.ConfigMap{}
	if err := get(t, ns, "cm-context", cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["Dockerfile"] = "FROM golang:1.26\nCOPY . .\n"
	if err := k8s.Update(ctxT(t), cm); err != nil {
		t.Fatal(err)
	}
	poke(t, ib)
	job := waitForJob(t, ns, "cm-1")
	var mounted []string
	for _, m := range job.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = append(mounted, m.MountPath)
	}
	if !slices.Contains(mounted, "/workspace/Dockerfile") || !slices.Contains(mounted, "/workspace/main.go") {
		t.Errorf("mounts = %v", mounted)
	}

	git := inlineBuild(ns, "git")
	git.Spec.Source = v1alpha1.BuildSource{Git: &v1alpha1.GitSource{
		URL: "https://git.example.com/team/web.git", Revision: "main", CloneSecretRef: &v1alpha1.LocalObjectReference{Name: "git-creds"},
	}}
	create(t, git)
	waitForStatus(t, ns, "git", "Stalled CloneSecretNotFound", stalledWith(v1alpha1.ImageBuildReasonCloneSecretNotFound))
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git-creds"}, Type: corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"username": "bot", "password": "token"}})
	poke(t, git) // Secrets are not watched (see TestMissingPushSecretStallsThenRecovers)
	job = waitForJob(t, ns, "git-1")
	env := job.Spec.Template.Spec.Containers[0].Env
	if len(env) != 2 || env[1].Name != "GIT_PASSWORD" || env[1].ValueFrom.SecretKeyRef.Name != "git-creds" {
		t.Errorf("env = %+v", env)
	}
	for _, a := range job.Spec.Template.Spec.Containers[0].Args {
		if strings.Contains(a, "token") || strings.Contains(a, "bot") {
			t.Errorf("credentials on the command line: %s", a)
		}
	}
}

// A URL with credentials in it (they would show in the build pod's command line) cannot be used:
// Stalled with a reason, no Job. (ssh:// and git@ URLs are rejected at admission; objects stored
// before that rule stall the same way, with the same reason.)
func TestUnsupportedGitURLStalls(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "ssh")
	ib.Spec.Source = v1alpha1.BuildSource{Git: &v1alpha1.GitSource{URL: "https://user:token@git.example.com/team/web.git"}}
	create(t, ib)
	st := waitForStatus(t, ns, "ssh", "Stalled UnsupportedGitURL", stalledWith(v1alpha1.ImageBuildReasonUnsupportedGitURL))
	if msg := condition(st, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "cloneSecretRef") {
		t.Errorf("Stalled message = %q", msg)
	}
	if err := get(t, ns, "ssh-1", &batchv1.Job{}); err == nil {
		t.Error("no Job expected")
	}
}
