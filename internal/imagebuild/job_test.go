package imagebuild

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/testutil/golden"
)

const executor = "gcr.io/kaniko-project/executor:v1.23.2"

func imageBuild(mutate func(*v1alpha1.ImageBuild)) *v1alpha1.ImageBuild {
	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo", UID: "0b3c1c8e-5d2a-4c55-9a43-6a8f0e7b1d10", Generation: 4},
		Spec: v1alpha1.ImageBuildSpec{
			Source:     v1alpha1.BuildSource{Git: &v1alpha1.GitSource{URL: "https://git.example.com/team/web.git"}},
			Dockerfile: "Dockerfile",
			Output:     v1alpha1.BuildOutput{Image: "registry.example.com/team/web:1.0"},
			Timeout:    &metav1.Duration{Duration: 30 * time.Minute},
		},
	}
	if mutate != nil {
		mutate(ib)
	}
	return ib
}

func edgeCluster() *v1alpha1.EdgeCluster {
	return &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "site-a"},
		Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: &v1alpha1.NodeTemplate{Taints: []v1alpha1.Taint{
			{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule},
			{Key: "site", Effect: corev1.TaintEffectPreferNoSchedule},
		}}},
	}
}

// mixedPool is site-a with two Ready arm64 nodes, one Ready amd64 node and a NotReady amd64 one.
func mixedPool() *v1alpha1.EdgeCluster {
	ec := edgeCluster()
	ec.Status.Nodes = []v1alpha1.EdgeNodeStatus{
		{Name: "a1", Ready: true, Arch: "arm64", OS: "linux"}, {Name: "a2", Ready: true, Arch: "arm64", OS: "linux"},
		{Name: "x1", Ready: true, Arch: "amd64", OS: "linux"}, {Name: "x2", Ready: false, Arch: "amd64", OS: "linux"},
	}
	return ec
}

// Every source kind and every option, rendered to a golden file.
var jobCases = []struct {
	name string
	ib   *v1alpha1.ImageBuild
	in   JobInput
}{
	{"git-default-branch", imageBuild(nil), JobInput{Number: 1}},
	{"git-private-branch-subdir", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Source.Git = &v1alpha1.GitSource{
			URL: "http://git.internal:3000/team/web.git", Revision: "main", ContextDir: "services/web",
			CloneSecretRef: &v1alpha1.LocalObjectReference{Name: "git-creds"},
		}
		ib.Spec.Dockerfile = "docker/Dockerfile.prod"
	}), JobInput{Number: 2}},
	{"git-commit", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Source.Git.Revision = "4f1c2a9e8b7d6c5f4a3b2c1d0e9f8a7b6c5d4e3f"
	}), JobInput{Number: 3}},
	{"git-ref", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Source.Git.Revision = "refs/tags/v1.2.0"
	}), JobInput{Number: 4}},
	{"inline-all-options", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Labels = map[string]string{"team": "web"} // not copied to the pods
		ib.Spec.Source = v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{
			Dockerfile: "FROM nginx:1.27\nCOPY . /usr/share/nginx/html/\n",
			Files: map[string]string{
				"index.html":          "<h1>hi</h1>",
				"static/css/site.css": "h1 {}",
				"..hidden":            "x",
			},
		}}
		ib.Spec.Output.PushSecretRef = &v1alpha1.LocalObjectReference{Name: "regcred"}
		ib.Spec.BuildArgs = []v1alpha1.BuildArg{{Name: "VERSION", Value: "1.0"}, {Name: "GREETING", Value: "hello world"}}
		ib.Spec.Target = "runtime"
		ib.Spec.Retries = 2
		ib.Spec.Timeout = &metav1.Duration{Duration: 90*time.Second + 500*time.Millisecond}
		ib.Spec.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
		}
		ib.Spec.RunOn = &v1alpha1.BuildPlacement{
			EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"},
			Tolerations:    []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
		}
	}), JobInput{Number: 7, EdgeCluster: edgeCluster()}},
	{"configmap-cache-insecure", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Source = v1alpha1.BuildSource{ConfigMap: &v1alpha1.LocalObjectReference{Name: "web-context"}}
		ib.Spec.Output = v1alpha1.BuildOutput{Image: "localhost:5000/web", Insecure: true}
		ib.Spec.Cache = &v1alpha1.BuildCache{Enabled: true, Repo: "localhost:5000/web/cache"}
		ib.Spec.ExecutorImage = "registry.internal/kaniko/executor:v1.23.2-debug"
		ib.Spec.Timeout = nil
		ib.Spec.RunOn = &v1alpha1.BuildPlacement{NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"}}
	}), JobInput{Number: 1, ConfigMapKeys: []string{"main.go", "Dockerfile", "go.mod"}}},
	{"mixed-pool-pinned-to-its-main-arch", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}}
	}), JobInput{Number: 2, EdgeCluster: mixedPool()}},
	{"platform-arm-v7", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.RunOn = &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: "site-a"}, Platform: "linux/arm/v7"}
	}), JobInput{Number: 3, EdgeCluster: mixedPool()}},
	{"cache-disabled-ignores-repo", imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Cache = &v1alpha1.BuildCache{Enabled: false, Repo: "registry.example.com/team/web/cache"}
	}), JobInput{Number: 1}},
}

func TestRenderJobGolden(t *testing.T) {
	for _, tc := range jobCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.DefaultExecutorImage = executor
			got := renderYAML(t, func() (any, error) { return RenderJob(tc.ib, tc.in) })
			golden.Assert(t, "job-"+tc.name+".yaml", got)
		})
	}
}

func TestRenderContextConfigMapGolden(t *testing.T) {
	ib := jobCases[4].ib
	golden.Assert(t, "configmap-inline.yaml", renderYAML(t, func() (any, error) { return RenderContextConfigMap(ib) }))
	golden.Assert(t, "serviceaccount.yaml", renderYAML(t, func() (any, error) { return RenderServiceAccount(ib), nil }))
	if cm, err := RenderContextConfigMap(imageBuild(nil)); cm != nil || err != nil {
		t.Errorf("git source: want no ConfigMap, got %v, %v", cm, err)
	}
}

// Properties every build pod must have, whatever the spec.
func TestBuildPodHardening(t *testing.T) {
	for _, tc := range jobCases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := RenderJob(tc.ib, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the service account token must not be mounted")
			}
			if pod.ServiceAccountName != "web-builder" {
				t.Errorf("serviceAccountName = %q", pod.ServiceAccountName)
			}
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy = %s", pod.RestartPolicy)
			}
			c := pod.Containers[0]
			sc := c.SecurityContext
			if *sc.Privileged || *sc.AllowPrivilegeEscalation {
				t.Error("the executor must not be privileged nor escalate privileges")
			}
			if len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("capabilities.drop = %v, want [ALL]", sc.Capabilities.Drop)
			}
			for _, cap := range sc.Capabilities.Add {
				if cap == "SYS_ADMIN" || cap == "NET_ADMIN" || cap == "NET_RAW" || cap == "ALL" {
					t.Errorf("capability %s must not be added", cap)
				}
			}
			if !hasArg(c.Args, "--digest-file=/dev/termination-log") || c.TerminationMessagePath != "/dev/termination-log" {
				t.Error("the digest must go to the termination message")
			}
			if job.Spec.Template.Labels[v1alpha1.LabelBuild] != job.Name {
				t.Errorf("pod label %s = %q, want %q", v1alpha1.LabelBuild, job.Spec.Template.Labels[v1alpha1.LabelBuild], job.Name)
			}
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "GIT_") && e.Name != "GIT_PULL_METHOD" && e.ValueFrom == nil {
					t.Errorf("credential %s must come from a Secret", e.Name)
				}
			}
			for _, a := range c.Args {
				if strings.Contains(a, "password") || strings.Contains(a, "git-creds") {
					t.Errorf("credential reference on the command line: %s", a)
				}
			}
			for _, m := range c.VolumeMounts {
				if m.Name == "docker-config" && (!m.ReadOnly || m.MountPath != "/kaniko/.docker") {
					t.Errorf("docker config mount = %+v, want read-only at /kaniko/.docker", m)
				}
				if m.Name == "context" && !m.ReadOnly {
					t.Errorf("context mount %s must be read-only", m.MountPath)
				}
			}
		})
	}
}

func TestRenderJobRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ib     *v1alpha1.ImageBuild
		in     JobInput
		reason string
		msg    string
	}{
		{"ssh url", imageBuild(func(ib *v1alpha1.ImageBuild) { ib.Spec.Source.Git.URL = "ssh://git@git.example.com/team/web.git" }),
			JobInput{}, v1alpha1.ImageBuildReasonUnsupportedGitURL, "HTTP(S) only"},
		{"scp-like url", imageBuild(func(ib *v1alpha1.ImageBuild) { ib.Spec.Source.Git.URL = "git@github.com:team/web.git" }),
			JobInput{}, v1alpha1.ImageBuildReasonUnsupportedGitURL, "https://"},
		{"credentials in url", imageBuild(func(ib *v1alpha1.ImageBuild) { ib.Spec.Source.Git.URL = "https://bob:hunter2@git.example.com/web.git" }),
			JobInput{}, v1alpha1.ImageBuildReasonUnsupportedGitURL, "must not carry credentials"},
		{"fragment in url", imageBuild(func(ib *v1alpha1.ImageBuild) { ib.Spec.Source.Git.URL = "https://git.example.com/web.git#main" }),
			JobInput{}, v1alpha1.ImageBuildReasonUnsupportedGitURL, "revision"},
		{"configmap without dockerfile", imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.Source = v1alpha1.BuildSource{ConfigMap: &v1alpha1.LocalObjectReference{Name: "ctx"}}
		}), JobInput{ConfigMapKeys: []string{"main.go"}}, v1alpha1.ImageBuildReasonInvalidContext, `ConfigMap ctx has no key "Dockerfile"`},
		{"inline dockerfile twice", imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.Source = v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM x", Files: map[string]string{"./Dockerfile": "FROM y"}}}
		}), JobInput{}, v1alpha1.ImageBuildReasonInvalidContext, "must not contain the Dockerfile path"},
		{"inline same file twice", imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.Source = v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM x", Files: map[string]string{"a/b": "1", "a//b": "2"}}}
		}), JobInput{}, v1alpha1.ImageBuildReasonInvalidContext, `"a//b" and "a/b" name the same file`},
		{"inline file is a directory", imageBuild(func(ib *v1alpha1.ImageBuild) {
			ib.Spec.Source = v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM x", Files: map[string]string{"a": "1", "a/b": "2"}}}
		}), JobInput{}, v1alpha1.ImageBuildReasonInvalidContext, `"a" is a file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderJob(tc.ib, tc.in)
			var inv *InvalidSpecError
			if !errors.As(err, &inv) {
				t.Fatalf("want an InvalidSpecError, got %v", err)
			}
			if inv.Reason != tc.reason || !strings.Contains(inv.Message, tc.msg) {
				t.Errorf("got %s: %s; want %s containing %q", inv.Reason, inv.Message, tc.reason, tc.msg)
			}
		})
	}
}

func TestContextKeys(t *testing.T) {
	ib := imageBuild(func(ib *v1alpha1.ImageBuild) {
		ib.Spec.Source = v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM x", Files: map[string]string{
			"index.html": "", "static/site.css": "", "..hidden": "", "with space.txt": "", "ünïcode": "",
		}}}
	})
	files, err := InlineContextFiles(ib)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if !validConfigMapKey(f.Key) {
			t.Errorf("%s: key %q is not a valid ConfigMap key", f.Path, f.Key)
		}
		if seen[f.Key] {
			t.Errorf("key %q used twice", f.Key)
		}
		seen[f.Key] = true
		if validConfigMapKey(f.Path) && f.Key != f.Path {
			t.Errorf("%s: a valid key should be kept as is, got %q", f.Path, f.Key)
		}
	}
}

func TestImageWithDigest(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		"registry.example.com/team/web:1.0": "registry.example.com/team/web@" + d,
		"registry.example.com/team/web":     "registry.example.com/team/web@" + d,
		"localhost:5000/web":                "localhost:5000/web@" + d,
		"localhost:5000/web:v1":             "localhost:5000/web@" + d,
		"web":                               "web@" + d,
		"web:latest":                        "web@" + d,
	} {
		if got := ImageWithDigest(in, d); got != want {
			t.Errorf("ImageWithDigest(%q) = %q, want %q", in, got, want)
		}
	}
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// renderYAML renders twice and fails unless both renderings are byte-identical: a
// non-deterministic render would be a write at rest.
func renderYAML(t *testing.T, render func() (any, error)) []byte {
	t.Helper()
	var out [2][]byte
	for i := range out {
		obj, err := render()
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = yaml.Marshal(obj); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatalf("rendering is not deterministic:\n%s\n---\n%s", out[0], out[1])
	}
	return out[0]
}
