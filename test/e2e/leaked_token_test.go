package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

// What a leaked join token can and cannot do, tried against the real API server as its holder
// would (docs/security.md): it authenticates as the pool's bootstrap group and may request a
// node client certificate for a new node, which is what it is for, but not for an existing
// node's name; it reads no Secret (not even the join Secret
// it came from), no Node and no Pod, creates no Pod and labels no Node; and it stops working
// once its pool is deleted.
// takenNodeName is a node of no pool that hack/cluster.sh creates.
const takenNodeName = "worker-1"

func TestLeakedJoinToken(t *testing.T) {
	pool := "e2e-leak-" + randomHex(3)
	ec := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: pool},
		Spec:       v1alpha1.EdgeClusterSpec{Join: &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubelet}}},
	}
	if err := k8sClient.Create(t.Context(), ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)
	joinSecret := waitForJoinSecret(t, ec)
	ref := ec.Status.Join.SecretRef
	cfg, err := clientcmd.RESTConfigFromKubeConfig(joinSecret.Data[edge.JoinKeyBootstrapKubeconfig])
	if err != nil {
		t.Fatal(err)
	}
	leaked, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// Who the token is: a bootstrap user in the pool's own group.
	review, err := leaked.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the token: %v", err)
	}
	if groups := review.Status.UserInfo.Groups; !slices.Contains(groups, edge.PoolGroup(pool)) || !slices.Contains(groups, "system:bootstrappers") {
		t.Fatalf("the token authenticates as %s %v, want the groups system:bootstrappers and %s", review.Status.UserInfo.Username, groups, edge.PoolGroup(pool))
	}

	// What it cannot do.
	forbidden := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("with a leaked token, %s: %v, want Forbidden", what, err)
		}
	}
	_, err = leaked.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	forbidden("list every Secret", err)
	_, err = leaked.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	forbidden("read the join Secret", err)
	_, err = leaked.CoreV1().Secrets(edge.TokenNamespace).List(ctx, metav1.ListOptions{})
	forbidden("list the bootstrap tokens", err)
	_, err = leaked.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	forbidden("list Nodes", err)
	_, err = leaked.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	forbidden("list Pods", err)
	_, err = leaked.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "leak"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}, metav1.CreateOptions{})
	forbidden("create a Pod", err)
	_, err = leaked.CoreV1().Nodes().Patch(ctx, "any-node", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"`+v1alpha1.LabelEdgeClusterMember+`":"`+pool+`"}}}`), metav1.PatchOptions{})
	forbidden("label a Node into the pool", err)
	_, err = leaked.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "any",
		&certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "any"}}, metav1.UpdateOptions{})
	forbidden("approve a CSR", err)

	// What it can do: ask for a node client certificate for a new node, which edgeforge
	// approves (and admits that node to this pool once it registers). It cannot take an
	// existing node's name: that request is denied and no certificate is issued, although
	// kube-controller-manager runs (it approves nothing for edgeforge's tokens).
	request := func(node string) *certificatesv1.CertificateSigningRequest {
		t.Helper()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		csrPEM, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := leaked.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "leak-"},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("the token's one purpose, a node client CSR, failed: %v", err)
		}
		t.Cleanup(func() { deleteCSR(csr.Name) })
		if !slices.Contains(csr.Spec.Groups, edge.PoolGroup(pool)) {
			t.Errorf("the CSR carries groups %v, without the pool's", csr.Spec.Groups)
		}
		return csr
	}
	decision := func(csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
		t.Helper()
		live := &certificatesv1.CertificateSigningRequest{}
		waitFor(t, time.Minute, "CSR "+csr.Name+" to be decided", func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(csr), live); err != nil {
				return false, err
			}
			return len(live.Status.Conditions) > 0, nil
		})
		return live
	}
	newNode := decision(request(pool + "-x"))
	if c := newNode.Status.Conditions[0]; c.Type != certificatesv1.CertificateApproved || c.Reason != edge.ClientApprovalReason {
		t.Errorf("a new node's CSR: %s %s %q, want approved by edgeforge", c.Type, c.Reason, c.Message)
	}
	taken := request(takenNodeName)
	denied := decision(taken)
	if c := denied.Status.Conditions[0]; c.Type != certificatesv1.CertificateDenied || c.Reason != edge.ClientDenialReason {
		t.Errorf("a CSR for existing node %s: %s %s %q, want denied by edgeforge", takenNodeName, c.Type, c.Reason, c.Message)
	}
	time.Sleep(2 * time.Second) // kube-controller-manager's signer would have acted by now
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(taken), denied); err != nil {
		t.Fatal(err)
	}
	if len(denied.Status.Certificate) > 0 || len(denied.Status.Conditions) != 1 {
		t.Fatalf("a certificate for existing node %s was issued to the token (conditions %+v)", takenNodeName, denied.Status.Conditions)
	}

	// Deleting the pool deletes its token: the leaked copy stops authenticating.
	if err := k8sClient.Delete(ctx, ec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the deleted pool's token to stop authenticating", func(ctx context.Context) (bool, error) {
		_, err := leaked.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		return apierrors.IsUnauthorized(err), nil
	})
}
