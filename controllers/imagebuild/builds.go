package imagebuild

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
// becomes status.lastBuild (and, when it pushed, status.digest and status.latestImage). A
// multi-platform build is first its platform Jobs (observePlatformBuilds), then its index Job.
func (p *pass) observeCurrentBuild(ctx context.Context) error {
	ib := p.ib
	cur := ib.Status.CurrentBuild
	if cur == nil {
		return nil
	}
	if len(cur.Platforms) > 0 && !imagebuild.AllPushed(cur) {
		return p.observePlatformBuilds(ctx)
	}
	obs, job, err := p.readBuild(ctx, cur.Name)
	if err != nil {
		return err
	}
	if !obs.Finished {
		if len(cur.Platforms) > 0 { // the index Job: the build started with its platforms' Jobs
			cur.Attempt, cur.StartTime = max(obs.Attempt, cur.Attempt), cmp.Or(cur.StartTime, obs.StartTime)
		} else {
			cur.Attempt, cur.StartTime = obs.Attempt, obs.StartTime
		}
		cur.Reason, cur.Message = obs.Reason, obs.Message
		cur.Node = cmp.Or(obs.Node, cur.Node)
		return nil
	}

	p.ended = true
	rec := *cur
	rec.Attempt, rec.StartTime, rec.CompletionTime = max(obs.Attempt, cur.Attempt), cmp.Or(obs.StartTime, cur.StartTime), obs.CompletionTime
	rec.Reason, rec.Message, rec.Digest = obs.Reason, obs.Message, obs.Digest
	rec.Node = cmp.Or(obs.Node, cur.Node)
	if len(rec.Platforms) > 0 && !obs.Succeeded {
		rec.Message = fmt.Sprintf("pushing the image index (Job %s): %s", rec.Name, rec.Message)
	}
	ib.Status.LastBuild, ib.Status.CurrentBuild = &rec, nil
	if !obs.Succeeded {
		p.buildFailed(job, &rec)
		return nil
	}
	if len(rec.Platforms) > 0 { // an image index: each platform's image is in status.platforms
		ib.Status.Digest, ib.Status.Platform, ib.Status.Platforms = obs.Digest, "", slices.Clone(rec.Platforms)
	} else {
		platform, err := p.builtPlatform(ctx, rec.Node, job)
		if err != nil {
			return err
		}
		ib.Status.Digest, ib.Status.Platform, ib.Status.Platforms = obs.Digest, platform, nil
	}
	ib.Status.LatestImage = imagebuild.ImageWithDigest(destination(job, ib), obs.Digest)
	p.event(eventRelated(job), corev1.EventTypeNormal, "BuildSucceeded", "Build",
		"Build %s pushed %s", rec.Name, ib.Status.LatestImage)
	p.buildEnded(&rec, resultSucceeded)
	return nil
}

// observePlatformBuilds reads the platform Jobs of a running multi-platform build: one that
// failed ends the build (the others still running are deleted); once all have pushed, the index
// Job starts, unless the spec has moved on (then the build is superseded).
func (p *pass) observePlatformBuilds(ctx context.Context) error {
	ib, cur := p.ib, p.ib.Status.CurrentBuild
	obs := map[string]imagebuild.Observation{}
	for _, pl := range cur.Platforms {
		if pl.Digest != "" {
			continue // pushed: its Job may already be pruned by hand, its digest is recorded
		}
		o, _, err := p.readBuild(ctx, pl.Job)
		if err != nil {
			return err
		}
		obs[pl.Platform] = o
	}
	if failed := imagebuild.FoldPlatforms(cur, obs); failed != nil {
		p.ended = true
		rec := *cur
		rec.Attempt, rec.CompletionTime = max(failed.Attempt, cur.Attempt), failed.CompletionTime
		rec.Reason, rec.Message = failed.Reason, failed.Message
		ib.Status.LastBuild, ib.Status.CurrentBuild = &rec, nil
		var running []string // the rest of a failed build
		for _, pl := range rec.Platforms {
			if o, ok := obs[pl.Platform]; ok && !o.Finished {
				running = append(running, pl.Job)
			}
		}
		if err := p.deleteJobs(ctx, running...); err != nil {
			return err
		}
		p.buildFailed(nil, &rec)
		return nil
	}
	if !imagebuild.AllPushed(cur) || imagebuild.Due(ib) {
		return nil
	}
	return p.startIndexJob(ctx)
}

// readBuild reads one build Job (from the cache, then the API server, which may know a Job
// created a moment ago) and its pods. A Job that is gone, going or not this ImageBuild's is a
// build that ended with JobDeleted; job is nil then.
func (p *pass) readBuild(ctx context.Context, name string) (imagebuild.Observation, *batchv1.Job, error) {
	ib := p.ib
	key := types.NamespacedName{Namespace: ib.Namespace, Name: name}
	job := &batchv1.Job{}
	err := p.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		err = p.APIReader.Get(ctx, key, job)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return imagebuild.Observation{}, nil, err
	}
	var obs imagebuild.Observation
	if err == nil && metav1.IsControlledBy(job, ib) {
		pods := &corev1.PodList{}
		if err := p.List(ctx, pods, client.InNamespace(ib.Namespace), client.MatchingLabels{v1alpha1.LabelBuild: job.Name}); err != nil {
			return obs, nil, err
		}
		obs = imagebuild.ObserveJob(job, ownedBy(pods.Items, job))
		if obs.Reason == v1alpha1.ImageBuildReasonNoDigest {
			// The Job and its pods come by separate watches: the Job can be seen Complete before
			// its pod's termination message is. Before calling the push lost, read the pods
			// from the API server (once per finished build).
			pods := &corev1.PodList{}
			if err := p.APIReader.List(ctx, pods, client.InNamespace(ib.Namespace), client.MatchingLabels{v1alpha1.LabelBuild: job.Name}); err != nil {
				return obs, nil, err
			}
			obs = imagebuild.ObserveJob(job, ownedBy(pods.Items, job))
		}
		if obs.Finished || job.DeletionTimestamp == nil {
			return obs, job, nil
		}
	}
	now := metav1.Now()
	return imagebuild.Observation{
		Finished: true, StartTime: obs.StartTime, Attempt: obs.Attempt, CompletionTime: &now,
		Reason:  v1alpha1.ImageBuildReasonJobDeleted,
		Message: fmt.Sprintf("the build Job %s was deleted before it finished", name),
	}, nil, nil
}

// buildFailed announces a build that failed, once the status is written.
func (p *pass) buildFailed(job *batchv1.Job, rec *v1alpha1.BuildRecord) {
	p.event(eventRelated(job), corev1.EventTypeWarning, "BuildFailed", "Build",
		"Build %s failed (%s): %s", rec.Name, rec.Reason, imagebuild.SummaryLine(rec.Message))
	p.buildEnded(rec, resultFailed)
}

// startIndexJob creates the index Job of a multi-platform build whose platforms all pushed.
func (p *pass) startIndexJob(ctx context.Context) error {
	ib, cur := p.ib, p.ib.Status.CurrentBuild
	if p.IndexImage == "" {
		return skeleton.Stall(v1alpha1.ImageBuildReasonNoIndexImage,
			"build %s pushed every platform of spec.platforms, but the operator was started without --index-image, so no image index can be pushed", cur.Name)
	}
	in := imagebuild.IndexInput{Number: cur.Number, Image: p.IndexImage, Manifests: imagebuild.IndexManifests(ib, cur)}
	if ref := ib.Spec.RunOn; ref != nil && ref.EdgeClusterRef != nil {
		ec := &v1alpha1.EdgeCluster{}
		if err := p.Get(ctx, types.NamespacedName{Name: ref.EdgeClusterRef.Name}, ec); client.IgnoreNotFound(err) != nil {
			return err
		}
		in.EdgeCluster = ec
	}
	job := imagebuild.RenderIndexJob(ib, in)
	if err := p.createOwnedJob(ctx, job); err != nil {
		return err
	}
	p.event(job, corev1.EventTypeNormal, "IndexStarted", "Build",
		"Build %s pushed %d platforms; pushing their image index to %s", cur.Name, len(cur.Platforms), ib.Spec.Output.Image)
	return nil
}

// createOwnedJob creates a Job of this ImageBuild's current generation; one that exists already
// is fine when this ImageBuild made it for this generation (created before a crash or a lost
// status write), deleted (and retried) when it made it for another, and a stall when it is
// someone else's.
func (p *pass) createOwnedJob(ctx context.Context, job *batchv1.Job) error {
	ib := p.ib
	err := p.Create(ctx, job)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating build Job %s: %w", job.Name, err)
		}
		return nil
	}
	existing := &batchv1.Job{}
	if err := p.APIReader.Get(ctx, client.ObjectKeyFromObject(job), existing); err != nil {
		return fmt.Errorf("reading existing build Job %s: %w", job.Name, err)
	}
	if !metav1.IsControlledBy(existing, ib) {
		return skeleton.Stall(v1alpha1.ImageBuildReasonJobNameConflict,
			"Job %s/%s exists and does not belong to this ImageBuild, so the build cannot start; delete or rename that Job", ib.Namespace, job.Name)
	}
	if _, gen := imagebuild.BuildNumber(existing); gen != ib.Generation {
		if err := p.Delete(ctx, existing, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return err
		}
		return fmt.Errorf("build Job %s was made for generation %d of the spec and is being replaced", job.Name, gen)
	}
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
	names := []string{cur.Name}
	for _, pl := range cur.Platforms {
		names = append(names, pl.Job)
	}
	if err := p.deleteJobs(ctx, names...); err != nil {
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
	multi := len(ib.Spec.Platforms) > 0
	if multi && p.IndexImage == "" {
		return skeleton.Stall(v1alpha1.ImageBuildReasonNoIndexImage,
			"spec.platforms asks for an image index of %d platforms, but the operator was started without --index-image (the image of the Job that pushes the index); set it, or build one platform with spec.runOn.platform", len(ib.Spec.Platforms))
	}
	jobs, err := imagebuild.RenderBuildJobs(ib, in)
	if err != nil {
		return asStall(err)
	}
	job := jobs[0]
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

	if multi {
		for _, j := range jobs {
			if err := p.createOwnedJob(ctx, j); err != nil {
				return err
			}
		}
		name := imagebuild.JobName(ib, in.Number)
		p.recordStart(name, in.Number, ib.Generation)
		ib.Status.CurrentBuild.Platforms = imagebuild.PlatformRecords(ib, in.Number)
		p.event(ib, corev1.EventTypeNormal, "BuildStarted", "Build",
			"Started build %s for generation %d (%s) on %s", name, ib.Generation, ib.Spec.Output.Image, strings.Join(ib.Spec.Platforms, ", "))
		logf.FromContext(ctx).Info("started build", "build", name, "generation", ib.Generation, "platforms", ib.Spec.Platforms)
		return nil
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

// builtPlatform is the platform of a build that pushed: the platform its Job was pinned to
// (its node selector put the pod on a node of it, so no node is read on the hand-off's path), or
// else the os/arch labels of the node it ran on (read once, from the API server, when the build
// ends).
func (p *pass) builtPlatform(ctx context.Context, nodeName string, job *batchv1.Job) (string, error) {
	pinned := job.Annotations[imagebuild.AnnotationPlatform]
	if pinned != "" || nodeName == "" {
		return pinned, nil
	}
	node := &corev1.Node{}
	switch err := p.APIReader.Get(ctx, types.NamespacedName{Name: nodeName}, node); {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading node %s, where build %s ran: %w", nodeName, job.Name, err)
	}
	return imagebuild.NodePlatform(node), nil
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
	var current int64
	if ib.Status.CurrentBuild != nil {
		current = ib.Status.CurrentBuild.Number
	}
	keepSucceeded, keepFailed := ib.Spec.HistoryLimits()
	if err := p.deleteJobs(ctx, imagebuild.Prune(owned, keepSucceeded, keepFailed, current)...); err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	return nil
}

// deleteJobs deletes build Jobs of this ImageBuild by name, with their pods (in the
// background); a Job already gone is fine.
func (p *pass) deleteJobs(ctx context.Context, names ...string) error {
	for _, name := range names {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: p.ib.Namespace, Name: name}}
		if err := p.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting build Job %s: %w", name, err)
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
