package monitoringstack

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/monitoring"
	"github.com/edgeforge/edgeforge/internal/settings"
)

// applyChildren server-side applies every desired child that differs from what the cache holds
// and deletes the children of disabled components that still exist. An object that already
// carries every field edgeforge sets, with edgeforge's values, is left alone: a reconcile of an
// unchanged stack sends no request at all.
func (r *Reconciler) applyChildren(ctx context.Context, stack *v1alpha1.MonitoringStack) (bool, error) {
	objs, err := monitoring.Desired(stack, r.Options)
	if err != nil {
		return false, err
	}
	for _, o := range objs {
		if o.Apply == nil {
			if err := r.deleteIfOwned(ctx, stack, o); err != nil {
				return false, err
			}
			continue
		}
		if err := r.applyIfChanged(ctx, o); err != nil {
			if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) {
				return true, stall(v1alpha1.MonitoringStackReasonChildRejected,
					"The API server rejected %s: %v", o.Key(), err)
			}
			return false, fmt.Errorf("applying %s: %w", o.Key(), err)
		}
	}
	return false, nil
}

// applyIfChanged applies o unless the observed object already matches it.
func (r *Reconciler) applyIfChanged(ctx context.Context, o monitoring.Object) error {
	observed, err := r.observe(ctx, o)
	if err != nil {
		return err
	}
	if observed != nil && observed.GetDeletionTimestamp() == nil {
		same, err := matches(o.Apply, observed)
		if err != nil {
			return err
		}
		if same {
			return nil
		}
	}
	return r.Client.Apply(ctx, o.Apply, client.FieldOwner(settings.FieldOwner), client.ForceOwnership)
}

// observe reads o's current state from the cache that holds its kind; nil when absent.
func (r *Reconciler) observe(ctx context.Context, o monitoring.Object) (client.Object, error) {
	obj, err := r.Scheme.New(o.GVK)
	if err != nil {
		return nil, err
	}
	co := obj.(client.Object)
	if err := r.reader(o.GVK).Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return co, nil
}

// deleteIfOwned deletes o when it exists and belongs to the stack (owned by it, or for
// cluster-scoped objects labelled with it). Absent objects cost no request.
func (r *Reconciler) deleteIfOwned(ctx context.Context, stack *v1alpha1.MonitoringStack, o monitoring.Object) error {
	var obj client.Object
	if o.GVK == monitoring.GVKSecret {
		// Secrets are only watched as metadata (never cached in full).
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(o.GVK)
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, meta); err != nil {
			return client.IgnoreNotFound(err)
		}
		obj = meta
	} else {
		observed, err := r.observe(ctx, o)
		if err != nil || observed == nil {
			return err
		}
		obj = observed
	}
	if obj.GetDeletionTimestamp() != nil || !belongsTo(obj, stack) {
		return nil
	}
	uid := obj.GetUID()
	if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", o.Key(), err)
	}
	return nil
}

func belongsTo(obj client.Object, stack *v1alpha1.MonitoringStack) bool {
	if obj.GetNamespace() == "" {
		l := obj.GetLabels()
		return l[v1alpha1.LabelMonitoringStack] == stack.Name && l[monitoring.LabelStackNamespace] == stack.Namespace
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == stack.UID {
			return true
		}
	}
	return false
}

// matches reports whether every field of the apply configuration is present in the observed
// object with the same value. Fields that others set or the API server defaults are ignored.
func matches(apply runtime.ApplyConfiguration, observed client.Object) (bool, error) {
	want, err := toMap(apply)
	if err != nil {
		return false, err
	}
	have, err := toMap(observed)
	if err != nil {
		return false, err
	}
	delete(want, "apiVersion")
	delete(want, "kind")
	return subset(want, have), nil
}

func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(raw, &m)
}

// subset: maps need every wanted key with a matching value, lists the same length with
// matching elements, scalars equality.
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !subset(wv, hv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], h[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, have)
	}
}
