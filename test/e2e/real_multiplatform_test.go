package e2e

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// A multi-platform ImageBuild on the real tier, for the one architecture the real nodes have:
// real Kaniko builds and pushes <tag>-<arch>, the index Job runs edgeforge-index (built here) on
// a real node and pushes an image index under the tag, whose one entry is the platform's image;
// an AppDeployment following the build runs the index, pulled by the real containerd.
func TestRealMultiPlatformBuild(t *testing.T) {
	requireRealTier(t)
	ns := createNamespace(t, "e2e-real-multi")
	createRegistrySecret(t, ns, "regcred", realEnv["REGISTRY_PASSWORD"])
	node := &corev1.Node{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: realNodeNames()[0]}, node); err != nil {
		t.Fatal(err)
	}
	platform := "linux/" + node.Labels[corev1.LabelArchStable]
	repo := realEnv["REGISTRY"] + "/" + ns + "/web"
	token := randomHex(6)

	ib := &v1alpha1.ImageBuild{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.ImageBuildSpec{
			Source:    v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: webDockerfile(""), Files: map[string]string{"index.html": "multi " + token}}},
			Output:    v1alpha1.BuildOutput{Image: repo + ":1", PushSecretRef: &v1alpha1.LocalObjectReference{Name: "regcred"}, Insecure: true},
			RunOn:     &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
			Platforms: []string{platform},
			Timeout:   &metav1.Duration{Duration: 5 * time.Minute},
		},
	}
	if err := k8sClient.Create(t.Context(), ib); err != nil {
		t.Fatal(err)
	}
	ib = waitForBuild(t, ns, "web", 1)
	checkPushedDigest(t, ib, repo+":1") // the tag is the index, and status says so

	// The registry's index lists the platform's image, which is what <tag>-<arch> holds.
	auth := remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: realEnv["REGISTRY_USER"], Password: realEnv["REGISTRY_PASSWORD"]}))
	desc, err := remote.Get(insecureRef(t, repo+":1"), auth)
	if err != nil {
		t.Fatal(err)
	}
	if !desc.MediaType.IsIndex() {
		t.Fatalf("%s:1 is a %s, want an image index", repo, desc.MediaType)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	ps := ib.Status.Platforms
	if len(ps) != 1 || ps[0].Platform != platform || ps[0].Digest == "" || len(im.Manifests) != 1 ||
		im.Manifests[0].Digest.String() != ps[0].Digest || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.String() != platform {
		t.Fatalf("status.platforms %+v, index manifests %+v: want one entry, %s at the platform build's digest", ps, im.Manifests, platform)
	}
	assertOnRealNode(t, ps[0].Node)
	archTag, err := remote.Head(insecureRef(t, repo+":1-"+node.Labels[corev1.LabelArchStable]), auth)
	if err != nil || archTag.Digest.String() != ps[0].Digest {
		t.Errorf("the platform tag %s:1-%s: %v, %v; want %s", repo, node.Labels[corev1.LabelArchStable], archTag, err, ps[0].Digest)
	}

	nodePort := int32(30000 + time.Now().UnixNano()%2000)
	app := &v1alpha1.AppDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.AppDeploymentSpec{
			ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}},
			Replicas:  ptr.To[int32](1),
			Ports:     []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
			Service:   &v1alpha1.AppService{Type: v1alpha1.ServiceTypeNodePort, NodePort: &nodePort},
			Placement: &v1alpha1.Placement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: realPool()}},
		},
	}
	if err := k8sClient.Create(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	waitForAppImage(t, ns, "web", ib.Status.LatestImage, 3*time.Minute)
	checkAppPods(t, ns, "web", ib.Status.Digest) // containerd resolved the index to the platform's image
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(t.Context(), client.ObjectKeyFromObject(app), d); err != nil {
		t.Fatal(err)
	}
	if a := d.Spec.Template.Spec.Affinity; a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
		a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != node.Labels[corev1.LabelArchStable] {
		t.Errorf("the app's affinity %+v, want kubernetes.io/arch In [%s]", d.Spec.Template.Spec.Affinity, node.Labels[corev1.LabelArchStable])
	}
	svc := &corev1.Service{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
		t.Fatal(err)
	}
	expectServed(t, svc, nodePort, "/index.html", "multi "+token)
}

func insecureRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
