package imagebuild

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/index"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Field index on ImageBuilds: the EdgeCluster they reference, so a watch event on a pool wakes
// exactly the ImageBuilds that need it.
const (
	indexEdgeCluster = "imagebuild.spec.runOn.edgeClusterRef.name"
)

// SetupWithManager registers the ImageBuild controller.
//
// Watches: ImageBuilds (spec or annotation changes, not their own status writes), owned build
// Jobs, build pods (label edgeforge.io/build, for digests and waiting reasons), and — to recover
// from a stall by itself — the EdgeClusters that ImageBuilds reference. Secrets and users'
// ConfigMaps are neither cached nor watched (least privilege, and no cluster-wide cache a tenant
// could fill): the few a build needs are read by name from the API server when it starts, and a
// build stalled on one looks again every skeleton.UnwatchedRecheck.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	image := opts.KanikoImage
	if image == "" {
		image = settings.DefaultKanikoImage
	}
	r := &Reconciler{
		Client:        mgr.GetClient(),
		APIReader:     mgr.GetAPIReader(),
		Recorder:      mgr.GetEventRecorder("edgeforge-imagebuild"),
		ExecutorImage: image,
		IndexImage:    opts.IndexImage,
		BuildRequests: opts.BuildRequests,
		BuildLimits:   opts.BuildLimits,
		Shard:         opts.Shard,
	}
	if err := index.Register(context.Background(), mgr.GetFieldIndexer(), &v1alpha1.ImageBuild{},
		index.Field[*v1alpha1.ImageBuild]{Name: indexEdgeCluster, Extract: edgeClusterNames},
	); err != nil {
		return err
	}

	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ImageBuild{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(buildPodToImageBuild),
			builder.WithPredicates(predicate.NewPredicateFuncs(isBuildPod))).
		Watches(&v1alpha1.EdgeCluster{}, handler.EnqueueRequestsFromMapFunc(r.referencing(indexEdgeCluster, false))).
		// A namespace's labels decide whether a pool admits its builds (spec.allowedNamespaces).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(pools.NamespaceRequests(r.Client,
			func() client.ObjectList { return &v1alpha1.ImageBuildList{} })), builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("imagebuild").
		Complete(r)
}

// resolveInputs looks up what the build needs besides the ImageBuild: the edge pool, and the
// Secrets and ConfigMap it references. Anything missing or unusable stalls the ImageBuild with a
// reason naming the object; the watches above bring it back once the object is fixed. Secret
// data is only inspected (type, key names) and never leaves this function.
func (r *Reconciler) resolveInputs(ctx context.Context, ib *v1alpha1.ImageBuild, in *imagebuild.JobInput) error {
	ns := ib.Namespace
	if on := ib.Spec.RunOn; on != nil && on.EdgeClusterRef != nil {
		ec := &v1alpha1.EdgeCluster{}
		if err := r.Get(ctx, types.NamespacedName{Name: on.EdgeClusterRef.Name}, ec); err != nil {
			if apierrors.IsNotFound(err) {
				return skeleton.Stall(v1alpha1.ImageBuildReasonEdgeClusterNotFound,
					"EdgeCluster %s (spec.runOn.edgeClusterRef) does not exist; create it or change spec.runOn", on.EdgeClusterRef.Name)
			}
			return err
		}
		ok, why, err := pools.Admits(ctx, r.Client, ec, ib.Namespace)
		if err != nil {
			return err
		}
		if !ok {
			return skeleton.Stall(v1alpha1.ImageBuildReasonPoolNotAllowed, "%s", why)
		}
		in.EdgeCluster = ec
	}

	if ref := ib.Spec.Output.PushSecretRef; ref != nil {
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return skeleton.StallOnUnwatched(v1alpha1.ImageBuildReasonPushSecretNotFound,
					"Secret %s/%s (spec.output.pushSecretRef) not found; create it from a docker config file: kubectl create secret docker-registry %s --from-file=.dockerconfigjson=$HOME/.docker/config.json",
					ns, ref.Name, ref.Name)
			}
			return err
		}
		if s.Type != corev1.SecretTypeDockerConfigJson {
			return skeleton.StallOnUnwatched(v1alpha1.ImageBuildReasonInvalidPushSecret,
				"Secret %s/%s (spec.output.pushSecretRef) has type %q; it must be a %s Secret (kubectl create secret docker-registry)",
				ns, ref.Name, s.Type, corev1.SecretTypeDockerConfigJson)
		}
	}

	if g := ib.Spec.Source.Git; g != nil && g.CloneSecretRef != nil {
		name := g.CloneSecretRef.Name
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return skeleton.StallOnUnwatched(v1alpha1.ImageBuildReasonCloneSecretNotFound,
					"Secret %s/%s (spec.source.git.cloneSecretRef) not found; create it with keys %s and %s (e.g. kubectl create secret generic %s --from-literal=%s=… --from-file=%s=token.txt)",
					ns, name, imagebuild.CloneSecretUsernameKey, imagebuild.CloneSecretPasswordKey, name, imagebuild.CloneSecretUsernameKey, imagebuild.CloneSecretPasswordKey)
			}
			return err
		}
		if _, ok := s.Data[imagebuild.CloneSecretPasswordKey]; !ok {
			return skeleton.StallOnUnwatched(v1alpha1.ImageBuildReasonInvalidCloneSecret,
				"Secret %s/%s (spec.source.git.cloneSecretRef) has no key %q (the password or token; %q is optional)",
				ns, name, imagebuild.CloneSecretPasswordKey, imagebuild.CloneSecretUsernameKey)
		}
	}

	if ref := ib.Spec.Source.ConfigMap; ref != nil {
		cm := &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, cm); err != nil {
			if apierrors.IsNotFound(err) {
				return skeleton.StallOnUnwatched(v1alpha1.ImageBuildReasonContextConfigMapNotFound,
					"ConfigMap %s/%s (spec.source.configMap) not found; create it with the build context, one key per file (kubectl create configmap %s --from-file=<dir>)",
					ns, ref.Name, ref.Name)
			}
			return err
		}
		for k := range cm.Data {
			in.ConfigMapKeys = append(in.ConfigMapKeys, k)
		}
		for k := range cm.BinaryData {
			in.ConfigMapKeys = append(in.ConfigMapKeys, k)
		}
	}
	return nil
}

func edgeClusterNames(ib *v1alpha1.ImageBuild) []string {
	if on := ib.Spec.RunOn; on != nil && on.EdgeClusterRef != nil {
		return []string{on.EdgeClusterRef.Name}
	}
	return nil
}

// referencing maps an object to the ImageBuilds whose index field names it (in its namespace
// when namespaced).
func (r *Reconciler) referencing(name string, namespaced bool) handler.MapFunc {
	return index.Referrers(r.Client, func() client.ObjectList { return &v1alpha1.ImageBuildList{} }, name, namespaced)
}

func isBuildPod(o client.Object) bool {
	_, build := o.GetLabels()[v1alpha1.LabelBuild]
	_, ib := o.GetLabels()[v1alpha1.LabelImageBuild]
	return build && ib
}

func buildPodToImageBuild(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[v1alpha1.LabelImageBuild]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}
