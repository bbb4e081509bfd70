package app

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/edge"
	"github.com/edgeforge/edgeforge/internal/imagebuild"
)

// HostnameTopologyKey is the node label spreadAcrossNodes spreads pods over.
const HostnameTopologyKey = corev1.LabelHostname

// DesiredDeployment is the Deployment that runs image for app. pool is the EdgeCluster named by
// spec.placement.edgeClusterRef (nil when the app is not placed on an edge pool): its members'
// label becomes the node selector and its node taints are tolerated. build is spec.imageFrom's
// ImageBuild (nil with spec.image): its push Secret pulls the image (PullSecrets).
//
// With spec.autoscaling set, replicas are left out: the HorizontalPodAutoscaler owns them, and
// since the field is then not in edgeforge's apply, server-side apply never resets it.
func DesiredDeployment(app *v1alpha1.AppDeployment, image string, pool *v1alpha1.EdgeCluster, build *v1alpha1.ImageBuild) *appsv1ac.DeploymentApplyConfiguration {
	return renderDeployment(app, app.Name, image, pool, build, nil)
}

// DesiredPoolDeployment is the Deployment of one pool of a multi-pool app
// (spec.placement.rollout): named <app>-<pool>, its pods labelled and selected by
// edgeforge.io/pool, placed on the pool like DesiredDeployment's, with the pool entry's
// overrides of replicas, env and resources.
func DesiredPoolDeployment(app *v1alpha1.AppDeployment, image string, pool *v1alpha1.EdgeCluster, build *v1alpha1.ImageBuild, entry *v1alpha1.PoolWave) *appsv1ac.DeploymentApplyConfiguration {
	withPool := map[string]string{v1alpha1.LabelPool: pool.Name}
	return renderDeployment(withOverrides(app, entry), PoolDeploymentName(app, pool.Name), image, pool, build, withPool)
}

// PoolDeploymentName is the name of a multi-pool app's Deployment in pool: <app>-<pool>.
func PoolDeploymentName(app *v1alpha1.AppDeployment, pool string) string {
	return app.Name + "-" + pool
}

// withOverrides is app with a pool entry's replicas, env and resources in its spec (a shallow
// copy: app itself is not changed).
func withOverrides(app *v1alpha1.AppDeployment, entry *v1alpha1.PoolWave) *v1alpha1.AppDeployment {
	if entry == nil {
		return app
	}
	cp := *app
	if entry.Replicas != nil {
		cp.Spec.Replicas = entry.Replicas
	}
	if len(entry.Env) > 0 {
		cp.Spec.Env = MergeEnv(app.Spec.Env, entry.Env)
	}
	if entry.Resources != nil {
		cp.Spec.Resources = *entry.Resources
	}
	return &cp
}

// MergeEnv is base with over applied: a variable of over replaces base's of the same name (in
// its place), the others of over follow in their order.
func MergeEnv(base, over []corev1.EnvVar) []corev1.EnvVar {
	out := slices.Clone(base)
	for _, v := range over {
		if i := slices.IndexFunc(out, func(b corev1.EnvVar) bool { return b.Name == v.Name }); i >= 0 {
			out[i] = v
		} else {
			out = append(out, v)
		}
	}
	return out
}

// renderDeployment renders a Deployment called name; extra labels (a pool's) go on it, its pods and
// its selector.
func renderDeployment(app *v1alpha1.AppDeployment, name, image string, pool *v1alpha1.EdgeCluster, build *v1alpha1.ImageBuild, extra map[string]string) *appsv1ac.DeploymentApplyConfiguration {
	labels, selector := Labels(app), SelectorLabels(app)
	maps.Copy(labels, extra)
	maps.Copy(selector, extra)
	spec := appsv1ac.DeploymentSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
		WithStrategy(strategy(app)).
		WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(labels).
			WithSpec(podSpec(app, image, pool, build)))
	if app.Spec.Autoscaling == nil {
		replicas := int32(1)
		if app.Spec.Replicas != nil {
			replicas = *app.Spec.Replicas
		}
		spec.WithReplicas(replicas)
	}
	if s := app.Spec.Strategy; s != nil && s.ProgressDeadlineSeconds != nil {
		spec.WithProgressDeadlineSeconds(*s.ProgressDeadlineSeconds)
	}
	return appsv1ac.Deployment(name, app.Namespace).
		WithLabels(labels).
		WithOwnerReferences(ownerReference(app)).
		WithSpec(spec)
}

func strategy(app *v1alpha1.AppDeployment) *appsv1ac.DeploymentStrategyApplyConfiguration {
	st := appsv1ac.DeploymentStrategy().WithType("RollingUpdate")
	s := app.Spec.Strategy
	if s == nil || (s.MaxSurge == nil && s.MaxUnavailable == nil) {
		return st
	}
	ru := appsv1ac.RollingUpdateDeployment()
	if s.MaxSurge != nil {
		ru.WithMaxSurge(*s.MaxSurge)
	}
	if s.MaxUnavailable != nil {
		ru.WithMaxUnavailable(*s.MaxUnavailable)
	}
	return st.WithRollingUpdate(ru)
}

// PullSecrets are the names of the pods' image pull Secrets: spec.imagePullSecrets, then the
// ImageBuild's push Secret (spec.imageFrom.usePushSecret, default true), without duplicates.
func PullSecrets(app *v1alpha1.AppDeployment, build *v1alpha1.ImageBuild) []string {
	var names []string
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, s := range app.Spec.ImagePullSecrets {
		add(s.Name)
	}
	if from := app.Spec.ImageFrom; from != nil && build != nil && (from.UsePushSecret == nil || *from.UsePushSecret) &&
		build.Spec.Output.PushSecretRef != nil {
		add(build.Spec.Output.PushSecretRef.Name)
	}
	return names
}

func podSpec(app *v1alpha1.AppDeployment, image string, pool *v1alpha1.EdgeCluster, build *v1alpha1.ImageBuild) *corev1ac.PodSpecApplyConfiguration {
	ps := corev1ac.PodSpec().WithContainers(container(app, image))
	for _, n := range PullSecrets(app, build) {
		ps.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(n))
	}
	if app.Spec.ServiceAccountName != "" {
		ps.WithServiceAccountName(app.Spec.ServiceAccountName)
	}
	ps.WithAutomountServiceAccountToken(AutomountToken(app))
	ps.WithSecurityContext(applyConfigOf[corev1ac.PodSecurityContextApplyConfiguration](PodSecurityContext(app)))
	pl := app.Spec.Placement
	// The pool's members, narrowed by spec.placement.nodeSelector (admission keeps that from
	// naming another pool; the pool label is set last, so it wins all the same).
	selector := map[string]string{}
	if pl != nil {
		maps.Copy(selector, pl.NodeSelector)
	}
	if pool != nil {
		selector[v1alpha1.LabelEdgeClusterMember] = pool.Name
	}
	// The image of spec.imageFrom's build runs on the platform it was built on (status.platform:
	// the build pod's node), an image index on any of its platforms (status.platforms). An image
	// on another architecture cannot start.
	if build != nil && image == build.Status.LatestImage {
		if os, archs := imagebuild.IndexNodeRequirement(build.Status.Platforms); len(archs) > 0 {
			selector[corev1.LabelOSStable] = os
			ps.WithAffinity(corev1ac.Affinity().WithNodeAffinity(corev1ac.NodeAffinity().
				WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.NodeSelector().WithNodeSelectorTerms(
					corev1ac.NodeSelectorTerm().WithMatchExpressions(corev1ac.NodeSelectorRequirement().
						WithKey(corev1.LabelArchStable).WithOperator(corev1.NodeSelectorOpIn).WithValues(archs...))))))
		} else if build.Status.Platform != "" {
			maps.Copy(selector, imagebuild.PlatformNodeSelector(build.Status.Platform))
		}
	}
	if len(selector) > 0 {
		ps.WithNodeSelector(selector)
	}
	var userTolerations []corev1.Toleration
	if pl != nil {
		userTolerations = pl.Tolerations
	}
	tolerations := append(edge.PoolTolerations(pool), edge.DisconnectionTolerations(pool, userTolerations)...)
	for _, tol := range tolerations {
		ps.WithTolerations(applyConfigOf[corev1ac.TolerationApplyConfiguration](&tol))
	}
	if pl != nil {
		for i := range pl.Tolerations {
			ps.WithTolerations(applyConfigOf[corev1ac.TolerationApplyConfiguration](&pl.Tolerations[i]))
		}
		if pl.SpreadAcrossNodes {
			ps.WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().
				WithMaxSkew(1).
				WithTopologyKey(HostnameTopologyKey).
				WithWhenUnsatisfiable(corev1.ScheduleAnyway).
				WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(app))).
				// Count only pods of the same revision, so a rollout spreads its new pods too.
				WithMatchLabelKeys("pod-template-hash"))
		}
	}
	return ps
}

func container(app *v1alpha1.AppDeployment, image string) *corev1ac.ContainerApplyConfiguration {
	s := &app.Spec
	c := corev1ac.Container().WithName(ContainerName).WithImage(image)
	for _, p := range s.Ports {
		c.WithPorts(corev1ac.ContainerPort().
			WithName(p.Name).
			WithContainerPort(p.ContainerPort).
			WithProtocol(corev1.Protocol(protocol(p))))
	}
	for i := range s.Env {
		env := applyConfigOf[corev1ac.EnvVarApplyConfiguration](&s.Env[i])
		// fieldRef is an atomic struct: edgeforge owns all of it, including the apiVersion the API
		// server defaults, so the render sets that default too (else the live object would never
		// look like the render, and every reconcile would apply).
		if f := env.ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.APIVersion == nil {
			f.FieldRef.WithAPIVersion("v1")
		}
		c.WithEnv(env)
	}
	for i := range s.EnvFrom {
		c.WithEnvFrom(applyConfigOf[corev1ac.EnvFromSourceApplyConfiguration](&s.EnvFrom[i]))
	}
	if len(s.Command) > 0 {
		c.WithCommand(s.Command...)
	}
	if len(s.Args) > 0 {
		c.WithArgs(s.Args...)
	}
	if len(s.Resources.Limits) > 0 || len(s.Resources.Requests) > 0 || len(s.Resources.Claims) > 0 {
		c.WithResources(applyConfigOf[corev1ac.ResourceRequirementsApplyConfiguration](&s.Resources))
	}
	if s.LivenessProbe != nil {
		c.WithLivenessProbe(applyConfigOf[corev1ac.ProbeApplyConfiguration](s.LivenessProbe))
	}
	if s.ReadinessProbe != nil {
		c.WithReadinessProbe(applyConfigOf[corev1ac.ProbeApplyConfiguration](s.ReadinessProbe))
	}
	c.WithSecurityContext(applyConfigOf[corev1ac.SecurityContextApplyConfiguration](ContainerSecurityContext(app)))
	return c
}

// PodSecurityContext is spec.securityContext with Pod Security "restricted" defaults for the
// fields it leaves unset: runAsNonRoot true, seccompProfile RuntimeDefault.
func PodSecurityContext(app *v1alpha1.AppDeployment) *corev1.PodSecurityContext {
	sc := &corev1.PodSecurityContext{}
	if app.Spec.SecurityContext != nil {
		sc = app.Spec.SecurityContext.DeepCopy()
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = ptr.To(true)
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	return sc
}

// ContainerSecurityContext is spec.containerSecurityContext with Pod Security "restricted"
// defaults for the fields it leaves unset: capabilities drop ALL, allowPrivilegeEscalation false
// (not with privileged or an added SYS_ADMIN, which the API server refuses together with it).
func ContainerSecurityContext(app *v1alpha1.AppDeployment) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if app.Spec.ContainerSecurityContext != nil {
		sc = app.Spec.ContainerSecurityContext.DeepCopy()
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	}
	sysAdmin := slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool { return c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN" })
	if sc.AllowPrivilegeEscalation == nil && !ptr.Deref(sc.Privileged, false) && !sysAdmin {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	return sc
}

// AutomountToken is whether the pods get an API token: spec.automountServiceAccountToken, else
// only when spec.serviceAccountName names a ServiceAccount.
func AutomountToken(app *v1alpha1.AppDeployment) bool {
	if v := app.Spec.AutomountServiceAccountToken; v != nil {
		return *v
	}
	return app.Spec.ServiceAccountName != ""
}
