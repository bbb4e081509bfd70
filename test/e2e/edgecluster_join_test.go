package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	keyutil "k8s.io/client-go/util/keyutil"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
)

const (
	joinPool = "e2e-join"
	joinNode = "e2e-joined-1"
	// joinNodeIP is the address the joined node reports (and its serving certificate names).
	joinNodeIP = "10.200.0.99"
	// kwokAnnotation makes kwok play the node's kubelet (heartbeats, Ready).
	kwokAnnotation = "kwok.x-k8s.io/node"
)

// A real join, as a kubelet's TLS bootstrap does it: the bootstrap token from the EdgeCluster's
// join Secret authenticates a node client CSR (allowed by the RBAC edgeforge created), which
// edgeforge approves and kube-controller-manager signs; with that certificate the node registers itself,
// carrying the pool label, and becomes a Ready, templated member; its kubelet-serving CSR is
// approved by edgeforge. Then its heartbeats stop: the pool turns Degraded after the grace
// period, and Disconnected (its only node is unreachable).
func TestEdgeClusterRealJoin(t *testing.T) {
	// Only edgeforge's bootstrap RBAC may let the token in: set aside the equivalent bindings
	// hack/cluster.sh creates (as kubeadm would) for the length of the test.
	setAsideClusterBootstrapRBAC(t)

	grace := 10 * time.Second
	ec := &v1alpha1.EdgeCluster{
		ObjectMeta: metav1.ObjectMeta{Name: joinPool},
		Spec: v1alpha1.EdgeClusterSpec{
			Join: &v1alpha1.JoinSpec{Methods: []v1alpha1.JoinMethod{v1alpha1.JoinMethodKubeadm}},
			NodeTemplate: &v1alpha1.NodeTemplate{
				Labels: map[string]v1alpha1.LabelValue{"tier": "edge"},
				Taints: []v1alpha1.Taint{{Key: "edgeforge.io/edge", Value: "true", Effect: corev1.TaintEffectNoSchedule}},
			},
			Health:             &v1alpha1.HealthSpec{NotReadyGracePeriod: &metav1.Duration{Duration: grace}},
			ApproveServingCSRs: true,
			// The site's subnet: the joined node's serving certificate may name its address.
			ServingCertificates: &v1alpha1.ServingCertificatePolicy{IPRanges: []string{"10.200.0.0/24"}},
		},
	}
	if err := k8sClient.Create(t.Context(), ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)
	t.Cleanup(func() { deleteJoinedNode(t) })

	// 1. The join Secret the status points to.
	joinSecret := waitForJoinSecret(t, ec)
	ref := ec.Status.Join.SecretRef
	if m := methodStatus(ec, v1alpha1.JoinMethodKubeadm); m == nil || m.Ready || !strings.Contains(m.Message, "kubeadm-config") {
		t.Errorf("kubeadm on a cluster kubeadm did not set up: %+v (want not ready, naming kube-system/kubeadm-config)", m)
	}
	// No requested method can work here: JoinReady says so; adding kubelet (what the node below
	// does) makes it True.
	waitForJoinReady(t, ec, metav1.ConditionFalse, v1alpha1.EdgeClusterReasonNoUsableJoinMethod, "kubeadm-config")
	patch := client.MergeFrom(ec.DeepCopy())
	ec.Spec.Join.Methods = append(ec.Spec.Join.Methods, v1alpha1.JoinMethodKubelet)
	if err := k8sClient.Patch(t.Context(), ec, patch); err != nil {
		t.Fatal(err)
	}
	waitForJoinReady(t, ec, metav1.ConditionTrue, v1alpha1.EdgeClusterReasonJoinCommandsReady, "join commands for kubelet")
	bootstrapCfg, err := clientcmd.RESTConfigFromKubeConfig(joinSecret.Data[edge.JoinKeyBootstrapKubeconfig])
	if err != nil {
		t.Fatalf("the join Secret's bootstrap-kubeconfig: %v", err)
	}
	t.Logf("join Secret %s/%s: keys %v, API server %s", ref.Namespace, ref.Name, sortedKeys(joinSecret.Data), bootstrapCfg.Host)

	// 2. TLS bootstrap with the token: a node client CSR, approved by edgeforge (a new node's
	// name) and signed by kube-controller-manager.
	bootstrap, err := kubernetes.NewForConfig(bootstrapCfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:" + joinNode, Organization: []string{"system:nodes"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	name, uid, err := csr.RequestCertificate(bootstrap, csrPEM, "", certificatesv1.KubeAPIServerClientKubeletSignerName, nil,
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, key)
	if err != nil {
		t.Fatalf("creating the node client CSR with the bootstrap token: %v", err)
	}
	t.Cleanup(func() { deleteCSR(name) })
	waitCtx, cancel := context.WithTimeout(t.Context(), time.Minute)
	certPEM, err := csr.WaitForCertificate(waitCtx, bootstrap, name, uid)
	cancel()
	if err != nil {
		t.Fatalf("waiting for CSR %s to be approved and signed: %v", name, err)
	}
	issued := &certificatesv1.CertificateSigningRequest{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: name}, issued); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(issued.Spec.Username, "system:bootstrap:") || !slices.Contains(issued.Spec.Groups, edge.NodeBootstrapGroup) {
		t.Errorf("CSR requested by %s %v, want a bootstrap token of group %s", issued.Spec.Username, issued.Spec.Groups, edge.NodeBootstrapGroup)
	}
	if c := issued.Status.Conditions; len(c) == 0 || c[0].Reason != edge.ClientApprovalReason {
		t.Errorf("CSR %s approved by %+v, want edgeforge (reason %s)", name, c, edge.ClientApprovalReason)
	}
	t.Logf("CSR %s by %s: approved by edgeforge and signed", name, issued.Spec.Username)

	// 3. The node registers itself with the signed certificate, carrying the pool label.
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	nodeCfg := rest.AnonymousClientConfig(bootstrapCfg)
	nodeCfg.CertData, nodeCfg.KeyData = certPEM, keyPEM
	asNode, err := kubernetes.NewForConfig(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	// As a kubelet registers: labels from --node-labels, its addresses and system info in status
	// (kwok fills in the rest and keeps the node Ready while the annotation is there).
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        joinNode,
			Labels:      map[string]string{v1alpha1.LabelEdgeCluster: joinPool, corev1.LabelArchStable: "arm64", corev1.LabelOSStable: "linux", corev1.LabelHostname: joinNode},
			Annotations: map[string]string{kwokAnnotation: "fake"},
		},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: joinNodeIP}, {Type: corev1.NodeHostName, Address: joinNode}},
			NodeInfo:  corev1.NodeSystemInfo{Architecture: "arm64", OperatingSystem: "linux"},
		},
	}
	// The node cannot make itself a member: NodeRestriction refuses the membership label from it.
	claiming := node.DeepCopy()
	claiming.Labels[v1alpha1.LabelEdgeClusterMember] = joinPool
	if _, err := asNode.CoreV1().Nodes().Create(t.Context(), claiming, metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "node-restriction.kubernetes.io") {
		t.Fatalf("a kubelet set %s on its own Node (err %v)", v1alpha1.LabelEdgeClusterMember, err)
	}
	if _, err := asNode.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering Node %s as system:node:%s: %v", joinNode, joinNode, err)
	}
	// edgeforge admits it: it joined with the pool's token (the CSR's requestor has the pool's group).
	if !slices.Contains(issued.Spec.Groups, edge.PoolGroup(joinPool)) {
		t.Errorf("CSR groups %v lack the pool's group %s", issued.Spec.Groups, edge.PoolGroup(joinPool))
	}
	waitFor(t, 30*time.Second, "the joined node admitted to the pool", func(ctx context.Context) (bool, error) {
		n := &corev1.Node{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: joinNode}, n); err != nil {
			return false, err
		}
		return n.Labels[v1alpha1.LabelEdgeClusterMember] == joinPool, nil
	})

	// 4. A Ready member with the template applied.
	ec = waitForJoinPool(t, time.Minute, "the joined node Ready in the pool", func(ec *v1alpha1.EdgeCluster) bool {
		return ec.Status.ReadyNodes == 1 && len(ec.Status.Nodes) == 1 && ec.Status.Nodes[0].Name == joinNode && ec.Status.Nodes[0].Ready &&
			isCondition(ec, v1alpha1.ConditionReady, metav1.ConditionTrue)
	})
	if n := ec.Status.Nodes[0]; ec.Status.Ready != "1/1" || n.InternalIP != joinNodeIP || n.Arch != "arm64" {
		t.Errorf("pool status %s, node %+v", ec.Status.Ready, ec.Status.Nodes[0])
	}
	waitFor(t, 30*time.Second, "the node template on the joined node", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: joinNode}, node); err != nil {
			return false, err
		}
		return node.Labels["tier"] == "edge" && slices.ContainsFunc(node.Spec.Taints, func(tn corev1.Taint) bool { return tn.Key == "edgeforge.io/edge" }), nil
	})

	// 5. Its kubelet-serving CSR (for its own address) is approved by edgeforge and signed.
	ips := []net.IP{net.ParseIP(joinNodeIP)}
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	servingPEM, err := certutil.MakeCSR(servingKey, &pkix.Name{CommonName: "system:node:" + joinNode, Organization: []string{"system:nodes"}}, []string{joinNode}, ips)
	if err != nil {
		t.Fatal(err)
	}
	sName, sUID, err := csr.RequestCertificate(asNode, servingPEM, "", certificatesv1.KubeletServingSignerName, nil,
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}, servingKey)
	if err != nil {
		t.Fatalf("creating the kubelet-serving CSR as the node: %v", err)
	}
	t.Cleanup(func() { deleteCSR(sName) })
	waitCtx, cancel = context.WithTimeout(t.Context(), time.Minute)
	servingCert, err := csr.WaitForCertificate(waitCtx, asNode, sName, sUID)
	cancel()
	if err != nil {
		t.Fatalf("waiting for the kubelet-serving CSR %s: %v", sName, err)
	}
	if block, _ := pem.Decode(servingCert); block == nil {
		t.Error("the serving certificate is not PEM")
	} else if cert, err := x509.ParseCertificate(block.Bytes); err != nil || !slices.Contains(cert.DNSNames, joinNode) || len(cert.IPAddresses) != 1 {
		t.Errorf("serving certificate: %v, names %v %v", err, cert.DNSNames, cert.IPAddresses)
	}
	served := &certificatesv1.CertificateSigningRequest{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: sName}, served); err != nil {
		t.Fatal(err)
	}
	if c := served.Status.Conditions; len(c) == 0 || c[0].Reason != edge.ApprovalReason {
		t.Errorf("serving CSR conditions %+v, want approved by edgeforge", c)
	}

	// 5b. As the attacker on the node would try: a serving certificate that also names the API
	// server (kubernetes.default.svc) is denied by edgeforge, with the reason.
	greedyPEM, err := certutil.MakeCSR(servingKey, &pkix.Name{CommonName: "system:node:" + joinNode, Organization: []string{"system:nodes"}},
		[]string{joinNode, "kubernetes.default.svc"}, []net.IP{net.ParseIP(joinNodeIP)})
	if err != nil {
		t.Fatal(err)
	}
	gName, _, err := csr.RequestCertificate(asNode, greedyPEM, "", certificatesv1.KubeletServingSignerName, nil,
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}, servingKey)
	if err != nil {
		t.Fatalf("creating a greedy kubelet-serving CSR as the node: %v", err)
	}
	t.Cleanup(func() { deleteCSR(gName) })
	waitFor(t, time.Minute, "the greedy serving CSR denied", func(ctx context.Context) (bool, error) {
		g := &certificatesv1.CertificateSigningRequest{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: gName}, g); err != nil {
			return false, err
		}
		c := g.Status.Conditions
		return len(c) > 0 && c[0].Type == certificatesv1.CertificateDenied && c[0].Reason == edge.DenialReason &&
			strings.Contains(c[0].Message, "kubernetes.default.svc") && len(g.Status.Certificate) == 0, nil
	})

	// 5c. The node claims, in its own taint record, that edgeforge added an admin's quarantine
	// taint; when the template drops its taint, edgeforge removes only its own.
	quarantine := corev1.Taint{Key: "admin.example.com/quarantine", Value: "true", Effect: corev1.TaintEffectNoExecute}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: joinNode}, node); err != nil {
		t.Fatal(err)
	}
	orig := node.DeepCopy()
	node.Spec.Taints = append(node.Spec.Taints, quarantine)
	if err := k8sClient.Patch(t.Context(), node, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	if _, err := asNode.CoreV1().Nodes().Patch(t.Context(), joinNode, "application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+v1alpha1.AnnotationNodeTemplateTaints+`":"admin.example.com/quarantine:NoExecute,edgeforge.io/edge:NoSchedule"}}}`),
		metav1.PatchOptions{}); err != nil {
		t.Fatalf("the node rewriting its own taint record: %v", err)
	}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: joinPool}, ec); err != nil {
		t.Fatal(err)
	}
	patch = client.MergeFrom(ec.DeepCopy())
	ec.Spec.NodeTemplate.Taints = nil
	if err := k8sClient.Patch(t.Context(), ec, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the template's taint removed from the node", func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: joinNode}, node); err != nil {
			return false, err
		}
		return !slices.ContainsFunc(node.Spec.Taints, func(tn corev1.Taint) bool { return tn.Key == "edgeforge.io/edge" }), nil
	})
	if !slices.ContainsFunc(node.Spec.Taints, func(tn corev1.Taint) bool { return tn.Key == quarantine.Key }) {
		t.Errorf("the admin's quarantine taint was removed on the node's word: taints %v", node.Spec.Taints)
	}

	// 6. The heartbeats stop (kwok lets go of the node, and of its Lease, which it would renew
	// until the node is deleted: the test takes the Lease over with one last renewal, as a dead
	// kubelet leaves it): the node lifecycle controller marks the node NotReady after its grace
	// period, and the pool turns Degraded after spec.health's. First the label
	// edgeforge.io/simulate=heartbeats-stopped replaces kwok's pending heartbeat (a delayed stage
	// kwok would still play after letting go, refreshing the node's Ready heartbeat inside this
	// test's wait); kwok's HeartbeatsStopped event says it has.
	stopKwokHeartbeats(t, node)
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: joinNode}, node); err != nil {
		t.Fatal(err)
	}
	orig = node.DeepCopy()
	delete(node.Annotations, kwokAnnotation)
	if err := k8sClient.Patch(t.Context(), node, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	stopLeaseRenewals(t, joinNode)
	stopped := time.Now()
	ec = waitForJoinPool(t, 3*time.Minute, "Degraded after the grace period", func(ec *v1alpha1.EdgeCluster) bool {
		return isCondition(ec, v1alpha1.ConditionDegraded, metav1.ConditionTrue)
	})
	n := ec.Status.Nodes[0]
	if n.Ready || n.NotReadySince == nil || n.LastHeartbeatTime == nil {
		t.Errorf("node status after the heartbeats stopped: %+v", n)
	} else if degradedAfter := time.Since(n.NotReadySince.Time); degradedAfter < grace {
		t.Errorf("Degraded %s after the node became NotReady, before the %s grace period", degradedAfter, grace)
	}
	t.Logf("heartbeats stopped; NotReady at %s, Degraded %s after the stop", n.NotReadySince.Format(time.RFC3339), time.Since(stopped).Round(time.Second))
	// The node lifecycle controller marks the silent node unreachable (Ready Unknown): the pool's
	// only member, so the site is Disconnected, with one Disconnected event for it (not a
	// NodeNotReady per node).
	if !isCondition(ec, v1alpha1.ConditionDisconnected, metav1.ConditionTrue) || ec.Status.DisconnectedSince == nil {
		t.Errorf("a pool whose only node stopped reporting is not Disconnected: %+v", ec.Status.Conditions)
	}
	waitFor(t, 30*time.Second, "a Disconnected event", func(ctx context.Context) (bool, error) {
		list := &corev1.EventList{}
		if err := k8sClient.List(ctx, list, client.MatchingFields{"involvedObject.name": joinPool}); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Reason == v1alpha1.EdgeClusterEventDisconnected && strings.Contains(e.Message, "1 of 1 member node(s) unreachable") {
				return true, nil
			}
		}
		return false, nil
	})
}

func methodStatus(ec *v1alpha1.EdgeCluster, m v1alpha1.JoinMethod) *v1alpha1.JoinMethodStatus {
	if ec.Status.Join == nil {
		return nil
	}
	for i := range ec.Status.Join.Methods {
		if ec.Status.Join.Methods[i].Method == m {
			return &ec.Status.Join.Methods[i]
		}
	}
	return nil
}

func isCondition(ec *v1alpha1.EdgeCluster, typ string, status metav1.ConditionStatus) bool {
	for _, c := range ec.Status.Conditions {
		if c.Type == typ {
			return c.Status == status && c.ObservedGeneration == ec.Generation
		}
	}
	return false
}

func waitForJoinPool(t *testing.T, timeout time.Duration, what string, cond func(*v1alpha1.EdgeCluster) bool) *v1alpha1.EdgeCluster {
	t.Helper()
	ec := &v1alpha1.EdgeCluster{}
	waitFor(t, timeout, what, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: joinPool}, ec); err != nil {
			return false, err
		}
		return cond(ec), nil
	})
	return ec
}

// setAsideClusterBootstrapRBAC deletes hack/cluster.sh's kubeadm-like bindings for bootstrap
// tokens and restores them when the test ends.
func setAsideClusterBootstrapRBAC(t *testing.T) {
	t.Helper()
	for _, name := range []string{"edgeforge:bootstrappers-node-bootstrapper", "edgeforge:bootstrappers-auto-approve-node-client"} {
		crb := &rbacv1.ClusterRoleBinding{}
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Name: name}, crb); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			t.Fatal(err)
		}
		if err := k8sClient.Delete(t.Context(), crb); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			restored := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: crb.Name, Labels: crb.Labels, Annotations: crb.Annotations},
				RoleRef:    crb.RoleRef, Subjects: crb.Subjects,
			}
			if err := k8sClient.Create(context.Background(), restored); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("restoring ClusterRoleBinding %s: %v", crb.Name, err)
			}
		})
	}
}

func deleteJoinedNode(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: joinNode}}
	if err := k8sClient.Delete(context.Background(), node); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting Node %s: %v", joinNode, err)
	}
}

func deleteCSR(name string) {
	_ = k8sClient.Delete(context.Background(), &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// waitForJoinReady waits for the pool's JoinReady condition, for its current generation.
func waitForJoinReady(t *testing.T, ec *v1alpha1.EdgeCluster, status metav1.ConditionStatus, reason, msg string) {
	t.Helper()
	waitFor(t, time.Minute, fmt.Sprintf("JoinReady=%s (%s)", status, reason), func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ec), ec); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(ec.Status.Conditions, v1alpha1.ConditionJoinReady)
		return c != nil && c.Status == status && c.Reason == reason && c.ObservedGeneration == ec.Generation &&
			strings.Contains(c.Message, msg), nil
	})
}

// waitForJoinSecret waits for the pool's status.join.secretRef (ec is updated) and returns the
// join Secret it names.
func waitForJoinSecret(t *testing.T, ec *v1alpha1.EdgeCluster) *corev1.Secret {
	t.Helper()
	waitFor(t, time.Minute, "status.join.secretRef of "+ec.Name, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ec), ec); err != nil {
			return false, err
		}
		return ec.Status.Join != nil && ec.Status.Join.SecretRef != nil, nil
	})
	ref := ec.Status.Join.SecretRef
	s := &corev1.Secret{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// stopKwokHeartbeats labels node edgeforge.io/simulate=heartbeats-stopped and waits for kwok's
// HeartbeatsStopped event (hack/kwok/node-stages.yaml): kwok has then dropped the node's pending
// heartbeat.
func stopKwokHeartbeats(t *testing.T, node *corev1.Node) {
	t.Helper()
	orig := node.DeepCopy()
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels["edgeforge.io/simulate"] = "heartbeats-stopped"
	if err := k8sClient.Patch(t.Context(), node, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "kwok's HeartbeatsStopped event for node "+node.Name, func(ctx context.Context) (bool, error) {
		list := &corev1.EventList{}
		if err := k8sClient.List(ctx, list, client.MatchingFields{"involvedObject.name": node.Name}); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.Items, func(e corev1.Event) bool { return e.Reason == "HeartbeatsStopped" }), nil
	})
}

// stopLeaseRenewals takes node's Lease (kube-node-lease) from kwok: another holder for an hour,
// renewed once by the taker, so kwok no longer renews it and the node lifecycle controller
// sees the heartbeats stop. It waits for kwok to have made the Lease, and holds it until the
// node lifecycle controller has marked the node Unknown.
func stopLeaseRenewals(t *testing.T, node string) {
	t.Helper()
	const holder = "e2e-heartbeats-stopped"
	var lastRenew, lastHeartbeat time.Time
	waitFor(t, 3*time.Minute, "node "+node+"'s Lease taken from kwok and the node Unknown", func(ctx context.Context) (bool, error) {
		lease := &coordinationv1.Lease{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceNodeLease, Name: node}, lease); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if ptr.Deref(lease.Spec.HolderIdentity, "") != holder {
			orig := lease.DeepCopy()
			lease.Spec.HolderIdentity = ptr.To(holder)
			lease.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
			// One last renewal, as a dying kubelet's: a Lease rewritten without a newer renew
			// time trips kube-controller-manager's lease circuit breaker
			// (NodeControllerLeaseCircuitBreaker): it takes the live Lease's resourceVersion for
			// a stale cache and never marks the node Unknown.
			lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
			if err := k8sClient.Patch(ctx, lease, client.MergeFrom(orig)); err != nil {
				return false, client.IgnoreNotFound(err)
			}
		}
		if lease.Spec.RenewTime != nil && !lease.Spec.RenewTime.Time.Equal(lastRenew) {
			lastRenew = lease.Spec.RenewTime.Time
			t.Logf("Lease of %s last renewed at %s", node, lastRenew.Format(time.RFC3339Nano))
		}
		n := &corev1.Node{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if !c.LastHeartbeatTime.Time.Equal(lastHeartbeat) {
					lastHeartbeat = c.LastHeartbeatTime.Time
					t.Logf("node %s Ready=%s, heartbeat at %s", node, c.Status, lastHeartbeat.Format(time.RFC3339Nano))
				}
				return c.Status == corev1.ConditionUnknown, nil
			}
		}
		return false, nil
	})
}
