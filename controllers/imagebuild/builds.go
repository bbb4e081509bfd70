package imagebuild

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	psaapi "k8s.io/pod-security-admission/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/pools"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// observeCurrentBuild reads the running build's Job and pods into status; a finished build
// becomes status.lastBuild (and, when it pushed, status.digest and status.latestImage).
func (p *pass) observeCurrentBuild(ctx context.Context) error {
	ib := p.ib
	cur := ib.Status.CurrentBuild
	if cur == nil {
		return nil
	}
	key := types.NamespacedName{Namespace: ib.Namespace, Name: cur.Name}
	job := &batchv1.Job{}
	err := p.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		err = p.APIReader.Get(ctx, key, job) // the cache may not have seen a Job created a moment ago
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	var obs imagebuild.Observation
	var related *batchv1.Job // the Job, for events, when it still exists
	if err == nil && metav1.IsControlledBy(job, ib) {
		related = job
		pods := &corev1.PodList{}
		if err := p.List(ctx, pods, client.InNamespace(ib.Namespace), client.MatchingLabels{v1alpha1.LabelBuild: job.Name}); err != nil {
			return err
		}
		obs = imagebuild.ObserveJob(job, ownedBy(pods.Items, job))
		if obs.Reason == v1alpha1.ImageBuildReasonNoDigest {
			// The Job and its pods come by separate watches: the Job can be seen Complete before
			// its pod's termination message is. Before calling the push lost, read the pods
			// from the API server (once per finished build).
			pods := &corev1.PodList{}
			if err := p.APIReader.List(ctx, pods, client.InNamespace(ib.Namespace), client.MatchingLabels{v1alpha1.LabelBuild: job.Name}); err != nil {
				return err
			}
			obs = imagebuild.ObserveJob(job, ownedBy(pods.Items, job))
		}
	}
	if !obs.Finished && (err != nil || job.DeletionTimestamp != nil || !metav1.IsControlledBy(job, ib)) {
		now := metav1.Now()
		obs = imagebuild.Observation{
			Finished: true, Attempt: cur.Attempt, StartTime: cur.StartTime, CompletionTime: &now,
			Reason:  v1alpha1.ImageBuildReasonJobDeleted,
			Message: fmt.Sprintf("the build Job %s was deleted before it finished", cur.Name),
		}
	}
	if !obs.Finished {
		cur.Attempt, cur.StartTime, cur.Reason, cur.Message = obs.Attempt, obs.StartTime, obs.Reason, obs.Message
		cur.Node = cmp.Or(obs.Node, cur.Node)
		return nil
	}

	p.ended = true
	rec := *cur
	rec.Attempt, rec.StartTime, rec.CompletionTime = max(obs.Attempt, cur.Attempt), obs.StartTime, obs.CompletionTime
	rec.Reason, rec.Message, rec.Digest = obs.Reason, obs.Message, obs.Digest
	rec.Node = cmp.Or(obs.Node, cur.Node)
	ib.Status.LastBuild, ib.Status.CurrentBuild = &rec, nil
	if obs.Succeeded {
		platform, err := p.builtPlatform(ctx, rec.Node, job)
		if err != nil {
			return err
		}
		ib.Status.Digest, ib.Status.Platform = obs.Digest, platform
		ib.Status.LatestImage = imagebuild.ImageWithDigest(destination(job, ib), obs.Digest)
		p.event(eventRelated(related), corev1.EventTypeNormal, "BuildSucceeded", "Build",
			"Build %s pushed %s", rec.Name, ib.Status.LatestImage)
		p.buildEnded(&rec, resultSucceeded)
		return nil
	}
	p.event(eventRelated(related), corev1.EventTypeWarning, "BuildFailed", "Build",
		"Build %s failed (%s): %s", rec.Name, rec.Reason, imagebuild.SummaryLine(rec.Message))
	p.buildEnded(&rec, resultFailed)
	return nil
}

// supersedeOutdatedBuild deletes a running build that the spec or a rebuild request has moved
// past, so the build that is due can start.
func (p *pass) supersedeOutdatedBuild(ctx context.Context) error {
	ib := p.ib
	cur := ib.Status.CurrentBuild
	if cur == nil || !imagebuild.Due(ib) {
		return nil
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ib.Namespace, Name: cur.Name}}
	if err := p.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return err
	}
	why := fmt.Sprintf("superseded by generation %d of the spec", ib.Generation)
	if cur.Generation == ib.Generation {
		why = fmt.Sprintf("superseded by the rebuild request %q", ib.Annotations[v1alpha1.AnnotationRebuild])
	}
	now := metav1.Now()
	rec := *cur
	rec.CompletionTime, rec.Reason, rec.Message = &now, v1alpha1.ImageBuildReasonSuperseded, why
	ib.Status.LastBuild, ib.Status.CurrentBuild = &rec, nil
	p.event(nil, corev1.EventTypeNormal, "BuildSuperseded", "Supersede",
		"Build %s was deleted: %s", rec.Name, why)
	p.buildEnded(&rec, resultSuperseded)
	return nil
}

// startDueBuild starts the next build when one is due: it checks what the build needs (the
// edge pool, Secrets, ConfigMap), applies the pod's ServiceAccount and the inline context, and
// creates Job <name>-<n>. The name is deterministic, so a Job created just before a crash is
// found and adopted instead of duplicated.
func (p *pass) startDueBuild(ctx context.Context) error {
	ib := p.ib
	if ib.Status.CurrentBuild != nil || !imagebuild.Due(ib) {
		return nil
	}
	in := imagebuild.JobInput{Number: ib.Status.BuildCount + 1, DefaultExecutorImage: p.ExecutorImage,
		DefaultRequests: p.BuildRequests, DefaultLimits: p.BuildLimits}
	if err := p.resolveInputs(ctx, ib, &in); err != nil {
		return err
	}
	job, err := imagebuild.RenderJob(ib, in)
	if err != nil {
		return asStall(err)
	}
	// A pod the namespace's Pod Security level refuses would only show as FailedCreate events on
	// the Job until the timeout: say so now, in the admission plugin's words. Relabelling the
	// namespace wakes the build (the Namespace watch).
	nsLabels, err := pools.NamespaceLabels(ctx, p.Client, ib.Namespace)
	if err != nil {
		return err
	}
	if why := imagebuild.PodSecurityProblem(nsLabels, job); why != "" {
		return skeleton.Stall(v1alpha1.ImageBuildReasonPodSecurityForbidden,
			"the build pod cannot run in namespace %s: it %s. Kaniko runs as root with a few capabilities (Pod Security "+
				"baseline): build in a namespace that enforces baseline or privileged (label %s)", ib.Namespace, why, psaapi.EnforceLevelLabel)
	}
	// Through the apply package: a same-name ServiceAccount or ConfigMap edgeforge did not make is
	// left alone (the build stalls with ObjectExists).
	applier := apply.New(p.Client, p.APIReader, settings.FieldOwner)
	sa := imagebuild.RenderServiceAccount(ib)
	if _, err := applier.Reconcile(ctx, ib, apply.Child{Live: &corev1.ServiceAccount{},
		Key: types.NamespacedName{Namespace: ib.Namespace, Name: *sa.Name}, Reader: p.APIReader, Desired: sa}); err != nil {
		return apply.AsStall(fmt.Errorf("applying the build ServiceAccount: %w", err), v1alpha1.ImageBuildReasonChildRejected)
	}
	cm, err := imagebuild.RenderContextConfigMap(ib)
	if err != nil {
		return asStall(err)
	}
	if cm != nil {
		_, err := applier.Reconcile(ctx, ib, apply.Child{Live: &corev1.ConfigMap{},
			Key: types.NamespacedName{Namespace: ib.Namespace, Name: *cm.Name}, Reader: p.APIReader, Desired: cm})
		if apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) {
			return skeleton.Stall(v1alpha1.ImageBuildReasonInvalidContext,
				"the inline build context cannot be stored in ConfigMap %s: %v", imagebuild.ContextConfigMapName(ib), err)
		}
		if err != nil {
			return apply.AsStall(fmt.Errorf("applying the build context ConfigMap: %w", err), v1alpha1.ImageBuildReasonChildRejected)
		}
	}

	if err := p.Create(ctx, job); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating build Job %s: %w", job.Name, err)
		}
		return p.adoptJob(ctx, job.Name, in.Number)
	}
	p.recordStart(job.Name, in.Number, ib.Generation)
	p.event(job, corev1.EventTypeNormal, "BuildStarted", "Build",
		"Started build %s for generation %d (%s)", job.Name, ib.Generation, ib.Spec.Output.Image)
	logf.FromContext(ctx).Info("started build", "job", job.Name, "generation", ib.Generation)
	return nil
}

// builtPlatform is the platform of a build that pushed: the os/arch labels of the node it ran on
// (read once, from the API server, when the build ends), or the platform its Job was pinned to
// when that node is gone.
func (p *pass) builtPlatform(ctx context.Context, nodeName string, job *batchv1.Job) (string, error) {
	pinned := job.Annotations[imagebuild.AnnotationPlatform]
	if nodeName == "" {
		return pinned, nil
	}
	node := &corev1.Node{}
	switch err := p.APIReader.Get(ctx, types.NamespacedName{Name: nodeName}, node); {
	case apierrors.IsNotFound(err):
		return pinned, nil
	case err != nil:
		return "", fmt.Errorf("reading node %s, where build %s ran: %w", nodeName, job.Name, err)
	}
	return imagebuild.NodePlatform(node, pinned), nil
}

// adoptJob handles a Job that already has the next build's name: one this ImageBuild created
// before it could record it (adopted; superseded at once when it is for an older generation),
// one of a deleted ImageBuild of the same name (wait for the garbage collector), or someone
// else's (stall).
func (p *pass) adoptJob(ctx context.Context, name string, n int64) error {
	ib := p.ib
	existing := &batchv1.Job{}
	if err := p.APIReader.Get(ctx, types.NamespacedName{Namespace: ib.Namespace, Name: name}, existing); err != nil {
		return fmt.Errorf("reading existing build Job %s: %w", name, err)
	}
	if !metav1.IsControlledBy(existing, ib) {
		if owner := metav1.GetControllerOf(existing); owner != nil && owner.Kind == "ImageBuild" && owner.Name == ib.Name {
			return fmt.Errorf("build Job %s belongs to a deleted ImageBuild named %s and is waiting for garbage collection", name, ib.Name)
		}
		return skeleton.Stall(v1alpha1.ImageBuildReasonJobNameConflict,
			"Job %s/%s exists and does not belong to this ImageBuild, so build %d cannot start; delete or rename that Job", ib.Namespace, name, n)
	}
	_, gen := imagebuild.BuildNumber(existing)
	p.recordStart(name, n, gen)
	if imagebuild.Due(ib) { // created for a spec that has changed since
		if err := p.supersedeOutdatedBuild(ctx); err != nil {
			return err
		}
		return p.startDueBuild(ctx)
	}
	return nil
}

func (p *pass) recordStart(name string, n, generation int64) {
	ib := p.ib
	ib.Status.BuildCount = n
	ib.Status.ObservedRebuild = ib.Annotations[v1alpha1.AnnotationRebuild]
	ib.Status.CurrentBuild = &v1alpha1.BuildRecord{Name: name, Number: n, Generation: generation}
}

// pruneAfter is how long after a build ended its pass prunes the history: the pass that records
// the build's end writes the digest first (apps following the ImageBuild wait for it), without
// waiting for deletes.
const pruneAfter = time.Second

// pruneHistory deletes finished build Jobs beyond the history limits (their pods go with them).
// A pass that recorded a build's end leaves it to a pass pruneAfter later.
func (p *pass) pruneHistory(ctx context.Context) (skeleton.Result, error) {
	if p.ended {
		return skeleton.Result{RequeueAfter: pruneAfter}, nil
	}
	return skeleton.Result{}, p.prune(ctx)
}

func (p *pass) prune(ctx context.Context) error {
	ib := p.ib
	list := &batchv1.JobList{}
	if err := p.List(ctx, list, client.InNamespace(ib.Namespace), client.MatchingLabels{v1alpha1.LabelImageBuild: ib.Name}); err != nil {
		return err
	}
	var owned []batchv1.Job
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], ib) {
			owned = append(owned, list.Items[i])
		}
	}
	current := ""
	if ib.Status.CurrentBuild != nil {
		current = ib.Status.CurrentBuild.Name
	}
	keepSucceeded, keepFailed := ib.Spec.HistoryLimits()
	for _, name := range imagebuild.Prune(owned, keepSucceeded, keepFailed, current) {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ib.Namespace, Name: name}}
		if err := p.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("pruning build Job %s: %w", name, err)
		}
	}
	return nil
}

// destination is the image a build Job pushed to (its --destination), falling back to the spec.
func destination(job *batchv1.Job, ib *v1alpha1.ImageBuild) string {
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if d, ok := strings.CutPrefix(a, "--destination="); ok {
				return d
			}
		}
	}
	return ib.Spec.Output.Image
}

// ownedBy keeps the pods created by job (a pod elsewhere could carry the same label).
func ownedBy(pods []corev1.Pod, job *batchv1.Job) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		for _, o := range p.OwnerReferences {
			if o.UID == job.UID {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// eventRelated is the related object of an event: the Job, or none (a nil *Job is not a nil
// runtime.Object).
func eventRelated(job *batchv1.Job) runtime.Object {
	if job == nil {
		return nil
	}
	return job
}
