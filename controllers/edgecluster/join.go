package edgecluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// reconcileJoinCommands renders the join commands of the pool's methods from what the cluster
// tells (cluster-info, kube-root-ca.crt, kubeadm-config, k3s nodes) and the credentials users
// point to, and keeps them in the join Secret; status says which methods are usable.
func (r *Reconciler) reconcileJoinCommands(ctx context.Context, p *pass) error {
	if p.token == nil {
		return nil // no token, no commands (the token step reported why)
	}
	ns := &corev1.Namespace{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Name: r.Namespace}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return &skeleton.StallError{Reason: v1alpha1.EdgeClusterReasonOperatorNamespaceNotFound, Message: fmt.Sprintf(
				"namespace %s, where the join commands Secret %s is written, does not exist: create it (it is the operator's --namespace)",
				r.Namespace, edge.JoinSecretName(p.ec.Name))}
		}
		return err
	}
	facts, err := r.clusterFacts(ctx, p.ec)
	if err != nil {
		return err
	}
	in := edge.JoinInput{
		Pool: p.ec.Name, Namespace: r.Namespace, Methods: p.ec.Spec.JoinMethods(), Token: *p.token, Facts: facts,
	}
	join := p.ec.Spec.Join
	if join == nil {
		join = &v1alpha1.JoinSpec{}
	}
	if slices.Contains(in.Methods, v1alpha1.JoinMethodK3s) && join.K3s != nil && join.K3s.TokenSecretRef != nil {
		in.K3sToken = r.credential(ctx, *join.K3s.TokenSecretRef, edge.DefaultK3sTokenKey, "spec.join.k3s.tokenSecretRef")
	}
	if slices.Contains(in.Methods, v1alpha1.JoinMethodMicroK8s) && join.MicroK8s != nil && join.MicroK8s.JoinSecretRef != nil {
		in.MicroK8sJoin = r.credential(ctx, *join.MicroK8s.JoinSecretRef, edge.DefaultMicroK8sJoinKey, "spec.join.microk8s.joinSecretRef")
	}
	if slices.Contains(in.Methods, v1alpha1.JoinMethodKubeEdge) {
		if join.KubeEdge != nil {
			in.CloudCoreAddress = join.KubeEdge.CloudCoreAddress
		}
		if join.KubeEdge != nil && join.KubeEdge.TokenSecretRef != nil {
			in.KubeEdgeToken = r.credential(ctx, *join.KubeEdge.TokenSecretRef, edge.DefaultKubeEdgeTokenKey, "spec.join.kubeedge.tokenSecretRef")
		} else {
			if in.KubeEdgeToken, err = r.cloudCoreToken(ctx); err != nil {
				return err
			}
			// CloudCore renews its token; Secrets are not watched, so look again now and then.
			p.requeueAfter(cloudCoreRecheck)
		}
	}
	res := edge.JoinCommands(in)

	if err := r.applyJoinSecret(ctx, p.ec, res.Data); err != nil {
		return err
	}
	exp := metav1.NewTime(p.token.Expiration)
	p.ec.Status.Join = &v1alpha1.JoinStatus{
		SecretRef:      &v1alpha1.NamespacedObjectReference{Name: edge.JoinSecretName(p.ec.Name), Namespace: r.Namespace},
		TokenExpiresAt: &exp,
		Methods:        res.Methods,
	}
	p.join = &res
	return nil
}

// clusterFacts gathers what join commands are made from.
func (r *Reconciler) clusterFacts(ctx context.Context, ec *v1alpha1.EdgeCluster) (edge.ClusterFacts, error) {
	facts := edge.ClusterFacts{K3sServer: isK3sCluster(ctx, r)}
	log := ctrl.LoggerFrom(ctx)
	cm := &corev1.ConfigMap{}
	switch err := r.Cache.Get(ctx, types.NamespacedName{Namespace: edge.ClusterInfoNamespace, Name: edge.ClusterInfoName}, cm); {
	case err == nil:
		facts.ClusterInfoFound = true
		info, perr := edge.ParseClusterInfo(cm)
		if perr != nil {
			log.Info("ignoring an unreadable cluster-info ConfigMap", "error", perr.Error())
		}
		facts.Endpoint, facts.CACert, facts.SignedTokenIDs = info.Endpoint, info.CACert, info.SignedTokenIDs
	case !apierrors.IsNotFound(err):
		return facts, err
	}
	if ec.Spec.Join != nil && ec.Spec.Join.APIServerEndpoint != "" {
		facts.Endpoint = ec.Spec.Join.APIServerEndpoint
	}
	// kube-root-ca.crt holds the CA PEM exactly as kube-controller-manager read it (--root-ca-file);
	// on k3s that is the server CA file, whose hash the k3s secure token format pins.
	root := &corev1.ConfigMap{}
	switch err := r.Cache.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: edge.RootCAConfigMapName}, root); {
	case err == nil:
		if len(facts.CACert) == 0 || facts.K3sServer {
			facts.CACert = []byte(root.Data["ca.crt"])
		}
	case !apierrors.IsNotFound(err):
		return facts, err
	}
	switch err := r.Cache.Get(ctx, types.NamespacedName{Namespace: edge.KubeadmConfigNamespace, Name: edge.KubeadmConfigName}, &corev1.ConfigMap{}); {
	case err == nil:
		facts.KubeadmConfigFound = true
	case !apierrors.IsNotFound(err):
		return facts, err
	}
	return facts, nil
}

// isK3sCluster: a control-plane node runs k3s (found through the node index).
func isK3sCluster(ctx context.Context, r *Reconciler) bool {
	list := &corev1.NodeList{}
	if err := r.Cache.List(ctx, list, client.MatchingFields{indexK3sServer: "true"}, client.Limit(1)); err != nil {
		return false
	}
	return len(list.Items) > 0
}

// credential reads one key of a Secret in the operator's namespace, or says what is wrong.
func (r *Reconciler) credential(ctx context.Context, ref v1alpha1.SecretKeyRef, defaultKey, field string) *edge.Credential {
	key := ref.Key
	if key == "" {
		key = defaultKey
	}
	s := &corev1.Secret{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: ref.Name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return &edge.Credential{Problem: fmt.Sprintf("Secret %s/%s (%s) not found", r.Namespace, ref.Name, field)}
		}
		return &edge.Credential{Problem: fmt.Sprintf("Secret %s/%s (%s) cannot be read: %v", r.Namespace, ref.Name, field, err)}
	}
	v := strings.TrimSpace(string(s.Data[key]))
	if v == "" {
		return &edge.Credential{Problem: fmt.Sprintf("Secret %s/%s (%s) has no key %q", r.Namespace, ref.Name, field, key)}
	}
	return &edge.Credential{Value: v}
}

// cloudCoreRecheck is how often a pool joining with CloudCore's own token reads it again.
const cloudCoreRecheck = 10 * time.Minute

// cloudCoreToken is CloudCore's join token from kubeedge/tokensecret, read by name from the API
// server (no Secret outside edgeforge's namespaces is listed or watched); nil when there is none.
func (r *Reconciler) cloudCoreToken(ctx context.Context) (*edge.Credential, error) {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: edge.KubeEdgeNamespace, Name: edge.KubeEdgeTokenSecret}, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	v := strings.TrimSpace(string(s.Data[edge.DefaultKubeEdgeTokenKey]))
	if v == "" {
		return &edge.Credential{Problem: fmt.Sprintf("Secret %s/%s has no key %q: is CloudCore running?",
			edge.KubeEdgeNamespace, edge.KubeEdgeTokenSecret, edge.DefaultKubeEdgeTokenKey)}, nil
	}
	return &edge.Credential{Value: v}, nil
}

// applyJoinSecret writes the join Secret when what edgeforge owns of it differs from the render
// (the apply package).
func (r *Reconciler) applyJoinSecret(ctx context.Context, ec *v1alpha1.EdgeCluster, data map[string]string) error {
	want := edge.JoinSecret(ec, r.Namespace, data)
	_, err := apply.New(r.Client, r.APIReader, settings.FieldOwner).Reconcile(ctx, ec, apply.Child{
		Live: &corev1.Secret{}, Key: client.ObjectKey{Namespace: r.Namespace, Name: *want.Name}, Reader: r.Cache, Desired: want,
	})
	if apierrors.IsNotFound(err) {
		return &skeleton.StallError{Reason: v1alpha1.EdgeClusterReasonOperatorNamespaceNotFound, Message: fmt.Sprintf(
			"namespace %s, where the join commands Secret is written, does not exist: create it", r.Namespace)}
	}
	return apply.AsStall(err, v1alpha1.EdgeClusterReasonChildRejected)
}
