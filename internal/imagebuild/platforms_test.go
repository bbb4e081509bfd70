package imagebuild

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func multiPlatformBuild() *v1alpha1.ImageBuild {
	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team", Generation: 2, UID: "u1"},
		Spec: v1alpha1.ImageBuildSpec{
			Source:    v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM busybox\n"}},
			Output:    v1alpha1.BuildOutput{Image: "reg.example:5000/team/web:1.0", PushSecretRef: &v1alpha1.LocalObjectReference{Name: "push"}},
			Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		},
	}
	return ib
}

func TestPlatformNames(t *testing.T) {
	for _, tc := range []struct{ platform, slug, dest string }{
		{"linux/amd64", "amd64", "reg.example:5000/team/web:1.0-amd64"},
		{"linux/arm64", "arm64", "reg.example:5000/team/web:1.0-arm64"},
		{"linux/arm/v7", "armv7", "reg.example:5000/team/web:1.0-armv7"},
	} {
		if got := PlatformSlug(tc.platform); got != tc.slug {
			t.Errorf("PlatformSlug(%s) = %s, want %s", tc.platform, got, tc.slug)
		}
		if got := PlatformDestination("reg.example:5000/team/web:1.0", tc.platform); got != tc.dest {
			t.Errorf("PlatformDestination(%s) = %s, want %s", tc.platform, got, tc.dest)
		}
	}
	if got, want := PlatformDestination("reg.example:5000/team/web", "linux/arm64"), "reg.example:5000/team/web:latest-arm64"; got != want {
		t.Errorf("untagged: %s, want %s", got, want)
	}
	long := "reg/web:" + string(slices.Repeat([]byte("t"), 128))
	if got := PlatformDestination(long, "linux/arm64"); len(got)-len("reg/web:") != 128 {
		t.Errorf("a 128-character tag grew to %d characters", len(got)-len("reg/web:"))
	}
}

func TestRenderBuildJobsOnePerPlatform(t *testing.T) {
	ib := multiPlatformBuild()
	jobs, err := RenderBuildJobs(ib, JobInput{Number: 4, DefaultExecutorImage: "kaniko"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, arch, dest string }{
		{"web-4-amd64", "amd64", "reg.example:5000/team/web:1.0-amd64"},
		{"web-4-arm64", "arm64", "reg.example:5000/team/web:1.0-arm64"},
		{"web-4-armv7", "arm", "reg.example:5000/team/web:1.0-armv7"},
	}
	if len(jobs) != len(want) {
		t.Fatalf("%d Jobs, want %d", len(jobs), len(want))
	}
	for i, w := range want {
		j := jobs[i]
		if j.Name != w.name || j.Labels[v1alpha1.LabelBuild] != w.name || j.Spec.Template.Labels[v1alpha1.LabelBuild] != w.name {
			t.Errorf("Job %d: name %s, labels %v", i, j.Name, j.Labels)
		}
		if got := j.Spec.Template.Spec.NodeSelector[corev1.LabelArchStable]; got != w.arch {
			t.Errorf("%s runs on arch %q, want %q", j.Name, got, w.arch)
		}
		if j.Annotations[AnnotationPlatform] != ib.Spec.Platforms[i] || j.Annotations[AnnotationBuildNumber] != "4" {
			t.Errorf("%s annotations %v", j.Name, j.Annotations)
		}
		if args := j.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--destination="+w.dest) {
			t.Errorf("%s pushes with %v, want --destination=%s", j.Name, args, w.dest)
		}
	}
	single := multiPlatformBuild()
	single.Spec.Platforms = nil
	jobs, err = RenderBuildJobs(single, JobInput{Number: 4, DefaultExecutorImage: "kaniko"})
	if err != nil || len(jobs) != 1 || jobs[0].Name != "web-4" {
		t.Fatalf("without spec.platforms: %v, %v; want the one Job web-4", jobs, err)
	}
}

func TestFoldPlatforms(t *testing.T) {
	t0, t1 := metav1.Unix(100, 0), metav1.Unix(200, 0)
	record := func() *v1alpha1.BuildRecord {
		return &v1alpha1.BuildRecord{Name: "web-4", Number: 4, Platforms: PlatformRecords(multiPlatformBuild(), 4)[:2]}
	}
	pushed := func(d, node string, start metav1.Time) Observation {
		return Observation{Finished: true, Succeeded: true, Digest: d, Node: node, Attempt: 1, StartTime: &start}
	}
	for _, tc := range []struct {
		name        string
		obs         map[string]Observation
		wantPushed  bool
		wantFailure string
		wantReason  string
		wantDigests []string
	}{
		{name: "nothing seen yet", obs: map[string]Observation{}, wantDigests: []string{"", ""}},
		{name: "one pushed, one waits for a node", obs: map[string]Observation{
			"linux/amd64": pushed("sha256:a", "n1", t1),
			"linux/arm64": {Reason: "Unschedulable", Message: "0/3 nodes are available", Attempt: 1},
		}, wantReason: "Unschedulable", wantDigests: []string{"sha256:a", ""}},
		{name: "both pushed", obs: map[string]Observation{
			"linux/amd64": pushed("sha256:a", "n1", t1), "linux/arm64": pushed("sha256:b", "n2", t0),
		}, wantPushed: true, wantDigests: []string{"sha256:a", "sha256:b"}},
		{name: "one failed", obs: map[string]Observation{
			"linux/amd64": pushed("sha256:a", "n1", t1),
			"linux/arm64": {Finished: true, Reason: v1alpha1.ImageBuildReasonOOMKilled, Message: "out of memory"},
		}, wantFailure: "linux/arm64 (Job web-4-arm64): out of memory", wantDigests: []string{"sha256:a", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record()
			failed := FoldPlatforms(rec, tc.obs)
			if AllPushed(rec) != tc.wantPushed {
				t.Errorf("AllPushed = %v, want %v", AllPushed(rec), tc.wantPushed)
			}
			switch {
			case tc.wantFailure == "" && failed != nil:
				t.Errorf("failure %+v, want none", failed)
			case tc.wantFailure != "" && (failed == nil || failed.Message != tc.wantFailure):
				t.Errorf("failure %+v, want message %q", failed, tc.wantFailure)
			}
			if rec.Reason != tc.wantReason {
				t.Errorf("reason %q, want %q", rec.Reason, tc.wantReason)
			}
			var digests []string
			for _, p := range rec.Platforms {
				digests = append(digests, p.Digest)
			}
			if !reflect.DeepEqual(digests, tc.wantDigests) {
				t.Errorf("digests %v, want %v", digests, tc.wantDigests)
			}
			if tc.wantPushed && (!rec.StartTime.Equal(&t0) || rec.Platforms[0].Node != "n1" || rec.Platforms[1].Node != "n2") {
				t.Errorf("start %v (want the earliest platform's, %v), nodes %+v", rec.StartTime, t0, rec.Platforms)
			}
		})
	}
	if AllPushed(&v1alpha1.BuildRecord{Name: "web-1"}) {
		t.Error("a single-platform record counts as all pushed")
	}
}

func TestRenderIndexJob(t *testing.T) {
	ib := multiPlatformBuild()
	ib.Spec.Output.Insecure = true
	rec := &v1alpha1.BuildRecord{Name: "web-4", Number: 4, Platforms: []v1alpha1.PlatformImage{
		{Platform: "linux/amd64", Digest: "sha256:aa"}, {Platform: "linux/arm64", Digest: "sha256:bb"}}}
	job := RenderIndexJob(ib, IndexInput{Number: 4, Image: "edgeforge:dev", Manifests: IndexManifests(ib, rec)})
	if job.Name != "web-4" || job.Labels[v1alpha1.LabelBuild] != "web-4" || job.OwnerReferences[0].UID != "u1" {
		t.Errorf("Job %s labels %v owners %v", job.Name, job.Labels, job.OwnerReferences)
	}
	c := job.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"--destination=reg.example:5000/team/web:1.0", "--digest-file=/dev/termination-log",
		"--manifest=linux/amd64=reg.example:5000/team/web@sha256:aa", "--manifest=linux/arm64=reg.example:5000/team/web@sha256:bb", "--insecure"}
	if c.Image != "edgeforge:dev" || !reflect.DeepEqual(c.Command, []string{"/edgeforge-index"}) || !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("container %s %v %v, want args %v", c.Image, c.Command, c.Args, wantArgs)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/docker" || len(c.Env) != 1 || c.Env[0].Value != "/docker" {
		t.Errorf("push Secret mounts %v env %v, want it at DOCKER_CONFIG=/docker", c.VolumeMounts, c.Env)
	}
	// The non-root tool can read the push Secret (found on the real tier: mode 0400 is root's only).
	pod := job.Spec.Template.Spec
	if v := pod.Volumes[0].Secret; v == nil || *v.DefaultMode != 0o440 || pod.SecurityContext.FSGroup == nil ||
		*pod.SecurityContext.FSGroup != *pod.SecurityContext.RunAsUser {
		t.Errorf("push Secret volume %+v, pod security %+v: want mode 0440 and fsGroup = the tool's user", pod.Volumes[0], pod.SecurityContext)
	}
	if why := PodSecurityProblem(map[string]string{psaapi.EnforceLevelLabel: "restricted"}, job); why != "" {
		t.Errorf("the index pod is not Pod Security restricted: %s", why)
	}
	if *job.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Error("the index pod mounts an API token")
	}
}

func TestIndexNodeRequirement(t *testing.T) {
	os, archs := IndexNodeRequirement([]v1alpha1.PlatformImage{{Platform: "linux/arm64"}, {Platform: "linux/amd64"}, {Platform: "linux/arm/v7"}})
	if os != "linux" || !reflect.DeepEqual(archs, []string{"amd64", "arm", "arm64"}) {
		t.Errorf("= %s %v, want linux [amd64 arm arm64]", os, archs)
	}
	if os, archs := IndexNodeRequirement(nil); os != "" || archs != nil {
		t.Errorf("no platforms: %s %v", os, archs)
	}
}
