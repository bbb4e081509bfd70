// Package controllers wires the reconcilers into a manager. Each kind has its own package
// (controllers/<kind>) with one reconciler that does I/O only: read objects, call the pure
// functions in internal/ to decide, apply the result and write status.
package controllers

import (
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/appdeployment"
	"github.com/edgeforge/edgeforge/controllers/apply"
	"github.com/edgeforge/edgeforge/controllers/edgecluster"
	"github.com/edgeforge/edgeforge/controllers/imagebuild"
	"github.com/edgeforge/edgeforge/controllers/monitoringstack"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// Every reconciler records events for `kubectl describe`.
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers every reconciler with the manager.
func SetupWithManager(mgr ctrl.Manager, opts settings.Options) error {
	for _, setup := range []func(ctrl.Manager, settings.Options) error{
		// One line per kind: <kind>.SetupWithManager.
		imagebuild.SetupWithManager,
		appdeployment.SetupWithManager,
		edgecluster.SetupWithManager,
		monitoringstack.SetupWithManager,
	} {
		if err := setup(mgr, opts); err != nil {
			return err
		}
	}
	return nil
}

// CacheOptions merges the per-kind cache restrictions (label-selected caches of the objects
// edgeforge owns) into the manager's cache.Options.ByObject, so the operator caches what it
// made rather than every Job, Pod, Deployment and Service of the cluster. Two controllers may
// ask for the same plain label selection of a kind (both read edgeforge's pods); restricting a
// kind differently is a programming error.
func CacheOptions() (map[client.Object]cache.ByObject, error) {
	type kind struct {
		name string
		opts map[client.Object]cache.ByObject
	}
	merged := map[client.Object]cache.ByObject{}
	first := map[reflect.Type]string{} // type -> the kind that set it
	for _, k := range []kind{{"imagebuild", imagebuild.CacheOptions()}, {"appdeployment", appdeployment.CacheOptions()}} {
		for obj, by := range k.opts {
			t := reflect.TypeOf(obj)
			other, dup := first[t]
			if !dup {
				first[t], merged[obj] = k.name, by
				continue
			}
			for o, prev := range merged {
				if reflect.TypeOf(o) == t && !plainSameSelection(prev, by) {
					return nil, fmt.Errorf("cache options for %s set differently by %s and %s", t, other, k.name)
				}
			}
		}
	}
	return merged, nil
}

// plainSameSelection: both select by the same labels only (no field selector or namespaces),
// with the same top-level transform function or none (closures cannot be compared).
func plainSameSelection(a, b cache.ByObject) bool {
	plain := func(x cache.ByObject) bool {
		return x.Label != nil && x.Field == nil && x.Namespaces == nil && x.UnsafeDisableDeepCopy == nil
	}
	sameTransform := (a.Transform == nil) == (b.Transform == nil) &&
		(a.Transform == nil || reflect.ValueOf(a.Transform).Pointer() == reflect.ValueOf(b.Transform).Pointer())
	return plain(a) && plain(b) && sameTransform && a.Label.String() == b.Label.String()
}

// Shard narrows the manager's cache to this operator's shard (--watch-label-selector) of the
// kinds whose objects are many: ImageBuilds, AppDeployments and MonitoringStacks of other shards
// are never cached. EdgeClusters stay cached whole, since an app or a build of any shard may be
// placed on any pool; the skeleton leaves the pools of other shards alone. An AppDeployment and
// the ImageBuild it follows must be in the same shard.
func Shard(byObject map[client.Object]cache.ByObject, sel labels.Selector) {
	if sel == nil || sel.Empty() {
		return
	}
	for _, obj := range []client.Object{&v1alpha1.ImageBuild{}, &v1alpha1.AppDeployment{}, &v1alpha1.MonitoringStack{}} {
		byObject[obj] = cache.ByObject{Label: sel}
	}
}

// LeaderElectionID is the name of the leader election lease of the operator of a shard: one
// per selector, so the replicas of each shard elect their own leader.
func LeaderElectionID(sel labels.Selector) string {
	if sel == nil || sel.Empty() {
		return "edgeforge.edgeforge.io"
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(sel.String()))
	return fmt.Sprintf("edgeforge-shard-%08x.edgeforge.io", h.Sum32())
}

// DefaultTransform is the manager cache's transform for every kind without its own
// (ByObject.Transform): edgeforge's own resources, build Jobs, namespaces. It drops what no
// reconciler reads yet costs memory per object: the managedFields entries of other managers
// (apply.KeepManagedFields) and kubectl's last-applied-configuration annotation, a second copy of
// the spec of every object a user applied client-side.
func DefaultTransform(in any) (any, error) {
	if obj, ok := in.(client.Object); ok {
		if _, ok := obj.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok {
			a := maps.Clone(obj.GetAnnotations())
			delete(a, corev1.LastAppliedConfigAnnotation)
			obj.SetAnnotations(a)
		}
	}
	return keepOwnManagedFields(in)
}

var keepOwnManagedFields = apply.KeepManagedFields(settings.FieldOwner)
