// Package apply is the one way edgeforge writes the children of its objects: the desired object
// goes in, server-side apply with one field manager comes out, and only when the live object
// does not already hold it. A child the parent no longer asks for is deleted when the parent
// controls it.
//
// "Already current" compares the desired object with the part of the live object the field
// manager owns, extracted from its managedFields (what client-go's Extract<Kind> functions do,
// for every kind at once). This is exact and needs no bookkeeping: fields the API server
// defaults or others set are not in the extraction; a field of edgeforge's that someone else
// took over or changed (kubectl edit, kubectl scale) drops out of it and is applied back; and a
// field removed from the desired object is still in the extraction, so the child is applied and
// server-side apply removes the field. A reconcile of an unchanged parent sends no request.
//
// Caches that hold children must keep the field manager's managedFields entry
// (KeepManagedFields); without it every reconcile would re-apply every child.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers/skeleton"
	"github.com/edgeforge/edgeforge/internal/intern"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Applier applies children under one field manager.
type Applier struct {
	// Client writes (and reads children no Reader is given for).
	Client client.Client
	// Uncached reads a child from the API server when the cache does not have it: a same-name
	// object edgeforge did not make is not in edgeforge's label-selected caches. Nil: Client.
	Uncached client.Reader
	// FieldOwner is the server-side apply field manager.
	FieldOwner string

	scheme *runtime.Scheme
	// builtin knows the schema of the built-in kinds (client-go's); other kinds (CRDs) get a
	// schema deduced from the object itself.
	builtin managedfields.TypeConverter
}

// New returns an Applier writing with c as fieldOwner; uncached (the manager's API reader) looks
// for a same-name object before a child is created.
func New(c client.Client, uncached client.Reader, fieldOwner string) *Applier {
	return &Applier{Client: c, Uncached: uncached, FieldOwner: fieldOwner, scheme: c.Scheme(), builtin: typeConverter(c.Scheme())}
}

// converters holds one type converter per scheme: making one indexes every built-in kind.
var converters sync.Map // *runtime.Scheme -> managedfields.TypeConverter

func typeConverter(s *runtime.Scheme) managedfields.TypeConverter {
	if tc, ok := converters.Load(s); ok {
		return tc.(managedfields.TypeConverter)
	}
	tc, _ := converters.LoadOrStore(s, applyconfigurations.NewTypeConverter(s))
	return tc.(managedfields.TypeConverter)
}

// Child is one object a parent wants to exist, or not.
type Child struct {
	// Live is an empty object of the child's kind, filled by Reconcile.
	Live client.Object
	// Key is the child's namespace and name.
	Key client.ObjectKey
	// Reader reads Live: a cache holding the children with the field manager's managedFields.
	// Nil: the Applier's client.
	Reader client.Reader
	// Desired is the child as the parent wants it; nil when it must not exist.
	Desired runtime.ApplyConfiguration
	// Owned reports whether the parent owns the live object (may delete it). Nil: the parent
	// is its controller (owner reference with controller: true).
	Owned func(live client.Object) bool
}

// Outcome says what Reconcile did.
type Outcome struct {
	// Applied: the child was applied (Desired now holds the API server's response).
	Applied bool
	// Created: the child did not exist before the apply.
	Created bool
	// Deleted: the child was deleted.
	Deleted bool
	// Exists: the child exists after Reconcile (Live holds it unless Applied).
	Exists bool
}

// RejectedError is the API server refusing a desired child (invalid, a name another
// controller's object holds, an immutable field): a human must change the spec.
type RejectedError struct {
	Child string
	Err   error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("The API server rejected %s: %v", e.Child, e.Err)
}
func (e *RejectedError) Unwrap() error { return e.Err }

// ExistsRecheck is how often a parent stalled on an ExistsError looks again.
const ExistsRecheck = 10 * time.Second

// ExistsError is an object of a child's name that the parent does not own and that is not
// annotated edgeforge.io/adopt: "true". edgeforge never takes over what it did not create.
type ExistsError struct {
	Child string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s exists and was not created by edgeforge for this object, so it is left alone: delete or rename it, "+
		"or annotate it %s=true to let edgeforge take it over", e.Child, v1alpha1.AnnotationAdopt)
}

// AsStall turns what Reconcile returns for a child a human must deal with into a stall: an
// ExistsError (reason ObjectExists) or a RejectedError (the kind's rejectedReason). Other errors
// are returned as they are.
func AsStall(err error, rejectedReason string) error {
	var exists *ExistsError
	var rejected *RejectedError
	switch {
	case errors.As(err, &exists):
		// The stranger is not in edgeforge's caches, so no watch says when it is gone or
		// annotated: look again now and then.
		return &skeleton.StallError{Reason: v1alpha1.ReasonObjectExists, Message: exists.Error(), RecheckAfter: ExistsRecheck}
	case errors.As(err, &rejected):
		return skeleton.Stall(rejectedReason, "%s", rejected.Error())
	}
	return err
}

// Reconcile makes one child of parent match: apply it when it is missing or not current, delete
// it when Desired is nil and the parent owns it (with the live object's UID as a precondition).
// An object of the same name that the parent does not own is never taken over: it comes back as
// an ExistsError, unless it is annotated edgeforge.io/adopt: "true".
func (a *Applier) Reconcile(ctx context.Context, parent client.Object, c Child) (Outcome, error) {
	reader := c.Reader
	if reader == nil {
		reader = a.Client
	}
	err := reader.Get(ctx, c.Key, c.Live)
	if apierrors.IsNotFound(err) && c.Desired != nil {
		// About to create it: the caches hold only what edgeforge made, so ask the API server
		// whether a stranger of that name is there (a read only when a child seems missing).
		uncached := a.Uncached
		if uncached == nil {
			uncached = a.Client
		}
		err = uncached.Get(ctx, c.Key, c.Live)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return Outcome{}, err
	}
	exists := err == nil
	owned := exists && a.owns(parent, c)
	if exists && !owned && c.Desired != nil && c.Live.GetAnnotations()[v1alpha1.AnnotationAdopt] != "true" {
		return Outcome{Exists: true}, &ExistsError{Child: a.describe(c)}
	}
	if c.Desired == nil {
		if !owned || c.Live.GetDeletionTimestamp() != nil {
			return Outcome{Exists: exists}, nil
		}
		uid := c.Live.GetUID()
		if err := a.Client.Delete(ctx, c.Live, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return Outcome{Exists: true}, fmt.Errorf("deleting %s: %w", a.describe(c), err)
		}
		return Outcome{Deleted: true}, nil
	}
	if owned && c.Live.GetDeletionTimestamp() == nil && a.Current(c.Live, c.Desired) {
		return Outcome{Exists: true}, nil
	}
	if err := a.Apply(ctx, c.Desired); err != nil {
		if apierrors.IsInvalid(err) || apierrors.IsAlreadyExists(err) || apierrors.IsBadRequest(err) {
			return Outcome{Exists: exists}, &RejectedError{Child: a.describe(c), Err: err}
		}
		return Outcome{Exists: exists}, fmt.Errorf("applying %s: %w", a.describe(c), err)
	}
	return Outcome{Applied: true, Created: !exists, Exists: true}, nil
}

// Apply server-side applies desired as the field manager, taking over fields others set.
func (a *Applier) Apply(ctx context.Context, desired runtime.ApplyConfiguration) error {
	return a.Client.Apply(ctx, desired, client.FieldOwner(a.FieldOwner), client.ForceOwnership)
}

func (a *Applier) owns(parent client.Object, c Child) bool {
	if c.Owned != nil {
		return c.Owned(c.Live)
	}
	return metav1.IsControlledBy(c.Live, parent)
}

// describe is "Kind namespace/name", for messages.
func (a *Applier) describe(c Child) string {
	kind := reflect.TypeOf(c.Live).Elem().Name()
	if gvk, err := apiutil.GVKForObject(c.Live, a.scheme); err == nil {
		kind = gvk.Kind
	}
	return kind + " " + c.Key.String()
}

// Current reports whether live already holds everything in desired, as owned by the field
// manager: the extraction of its managedFields entry equals desired.
func (a *Applier) Current(live client.Object, desired runtime.ApplyConfiguration) bool {
	owned, err := a.Owned(live)
	if err != nil || owned == nil {
		return false
	}
	if u, ok := desired.(interface{ UnstructuredContent() map[string]any }); ok {
		// Through JSON, so numbers compare alike (int64 from the extraction, float64 or int
		// from a render).
		want, err1 := normalize(u.UnstructuredContent())
		have, err2 := normalize(owned)
		return err1 == nil && err2 == nil && equality.Semantic.DeepEqual(have, want)
	}
	// A typed apply configuration: decode the extraction into one of the same type, as
	// client-go's Extract<Kind> does, so pointers, quantities and omitted fields compare alike.
	extracted := reflect.New(reflect.TypeOf(desired).Elem()).Interface()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(owned, extracted); err != nil {
		return false
	}
	return equality.Semantic.DeepEqual(extracted, desired)
}

// Owned returns the part of live the field manager owns (its last apply, minus what others took
// over), as an unstructured object with apiVersion, kind, name and namespace; nil when the
// manager owns nothing.
func (a *Applier) Owned(live client.Object) (map[string]any, error) {
	entry := managedEntry(live, a.FieldOwner)
	if entry == nil || entry.FieldsV1 == nil {
		return nil, nil
	}
	set := &fieldpath.Set{}
	if err := set.FromJSON(entry.FieldsV1.GetRawReader()); err != nil {
		return nil, fmt.Errorf("decoding managedFields of %s: %w", a.FieldOwner, err)
	}
	gvk, err := apiutil.GVKForObject(live, a.scheme)
	if err != nil {
		return nil, err
	}
	obj := live.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk) // cached objects carry no TypeMeta
	tv, deduced, err := a.toTyped(obj)
	if err != nil {
		return nil, err
	}
	m, ok := tv.ExtractItems(set.Leaves()).AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("extracting the fields of %s: not an object", a.FieldOwner)
	}
	if deduced {
		full, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		fillAtomic(m, full)
	}
	// Identity is not in managedFields; client-go's Extract functions add it the same way.
	m["apiVersion"], m["kind"] = gvk.GroupVersion().String(), gvk.Kind
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		m["metadata"] = md
	}
	md["name"] = live.GetName()
	if ns := live.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	return m, nil
}

// normalize round-trips v through JSON.
func normalize(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(raw, &out)
}

// toTyped parses obj with client-go's schema when it is a built-in kind, with a schema deduced
// from the object otherwise.
func (a *Applier) toTyped(obj runtime.Object) (*typed.TypedValue, bool, error) {
	if tv, err := a.builtin.ObjectToTyped(obj, typed.AllowDuplicates); err == nil {
		return tv, false, nil
	}
	tv, err := managedfields.NewDeducedTypeConverter().ObjectToTyped(obj)
	return tv, true, err
}

// managedEntry is the field manager's apply entry of the main resource.
func managedEntry(obj client.Object, manager string) *metav1.ManagedFieldsEntry {
	for _, e := range obj.GetManagedFields() {
		if isApplyEntry(e, manager) {
			return &e
		}
	}
	return nil
}

// isApplyEntry: e is the manager's server-side apply entry of the main resource, the one entry
// the comparison reads. The manager's status writes (Update of the status subresource) are not.
func isApplyEntry(e metav1.ManagedFieldsEntry, manager string) bool {
	return e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == ""
}

// fillAtomic replaces the nils a deduced-schema extraction leaves where the manager owns a whole
// map (an atomic map, e.g. a label selector, is owned as one leaf, and the deduced schema
// extracts the leaf without its content) with the live value. The API server stores no nulls,
// so a nil is always such a leaf.
func fillAtomic(extracted, live map[string]any) {
	for k, v := range extracted {
		switch v := v.(type) {
		case nil:
			extracted[k] = runtime.DeepCopyJSONValue(live[k])
		case map[string]any:
			if l, ok := live[k].(map[string]any); ok {
				fillAtomic(v, l)
			}
		}
	}
}

// KeepManagedFields returns a cache transform that drops every managedFields entry but the
// field manager's apply entry of the main resource (isApplyEntry): the others
// (kube-controller-manager's status entries, kubectl's, the manager's own status writes, which on
// edgeforge's own resources is all there is) are dead weight for a controller that only compares
// against what it applied.
func KeepManagedFields(manager string) func(any) (any, error) {
	return func(in any) (any, error) {
		obj, ok := in.(metav1.Object)
		if !ok {
			return in, nil // e.g. a tombstone
		}
		mf := obj.GetManagedFields()
		kept := mf[:0:0]
		for _, e := range mf {
			if isApplyEntry(e, manager) {
				kept = append(kept, e)
			}
		}
		if len(kept) != len(mf) {
			obj.SetManagedFields(kept)
		}
		internStrings(in)
		return in, nil
	}
}

// internStrings shares the strings obj repeats with other cached objects (internal/intern): its
// metadata's, and the label maps and image of a Deployment's selector and pod template and of a
// Service's selector, which repeat the app's labels.
func internStrings(obj any) {
	if o, ok := obj.(metav1.Object); ok {
		intern.Meta(o)
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Selector != nil {
			intern.Map(o.Spec.Selector.MatchLabels)
		}
		intern.Map(o.Spec.Template.Labels)
		intern.Map(o.Spec.Template.Annotations)
		for i := range o.Spec.Template.Spec.Containers {
			c := &o.Spec.Template.Spec.Containers[i]
			c.Name, c.Image = intern.String(c.Name), intern.String(c.Image)
		}
	case *corev1.Service:
		intern.Map(o.Spec.Selector)
	}
}

// KeepOwnedOnly returns a cache transform for a label-selected cache anyone can fill (anyone may
// set app.kubernetes.io/managed-by=edgeforge on their own objects): an object controlled by an
// edgeforge object keeps what KeepManagedFields keeps; any other becomes a stub of its identity,
// labels, owner references and edgeforge.io/adopt annotation, all the controllers read of a
// stranger (to refuse or adopt it). A tenant's look-alikes then cost the operator a few hundred
// bytes each, not their specs. Cluster-scoped objects (a stack's ClusterRoles and bindings, which
// cannot have a namespaced owner) keep what KeepManagedFields keeps: only cluster admins can
// create them, not tenants.
func KeepOwnedOnly(manager string) func(any) (any, error) {
	keep := KeepManagedFields(manager)
	return func(in any) (any, error) {
		obj, ok := in.(client.Object)
		if !ok {
			return in, nil
		}
		if ref := metav1.GetControllerOf(obj); obj.GetNamespace() == "" ||
			(ref != nil && strings.HasPrefix(ref.APIVersion, v1alpha1.GroupVersion.Group+"/")) {
			return keep(in)
		}
		stub, ok := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
		if !ok {
			return in, nil
		}
		stub.SetName(obj.GetName())
		stub.SetNamespace(obj.GetNamespace())
		stub.SetUID(obj.GetUID())
		stub.SetResourceVersion(obj.GetResourceVersion())
		stub.SetGeneration(obj.GetGeneration())
		stub.SetCreationTimestamp(obj.GetCreationTimestamp())
		stub.SetDeletionTimestamp(obj.GetDeletionTimestamp())
		stub.SetLabels(obj.GetLabels())
		stub.SetOwnerReferences(obj.GetOwnerReferences())
		if v, ok := obj.GetAnnotations()[v1alpha1.AnnotationAdopt]; ok {
			stub.SetAnnotations(map[string]string{v1alpha1.AnnotationAdopt: v})
		}
		intern.Meta(stub)
		return stub, nil
	}
}

// TrimPod is the cache transform of the pods edgeforge reads (build pods, apps' pods): of a pod
// only what the controllers read stays (identity, labels, owners, the node, and the status:
// phase, reason, conditions, container states); its spec (containers, env, volumes), annotations
// and managed fields go. Anyone can label a pod managed-by=edgeforge; this bounds what it costs.
func TrimPod(in any) (any, error) {
	p, ok := in.(*corev1.Pod)
	if !ok {
		return in, nil
	}
	intern.Meta(p)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp, Labels: p.Labels, OwnerReferences: p.OwnerReferences},
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName},
		Status: corev1.PodStatus{Phase: p.Status.Phase, Reason: p.Status.Reason, Message: p.Status.Message, Conditions: p.Status.Conditions,
			StartTime: p.Status.StartTime, ContainerStatuses: p.Status.ContainerStatuses, InitContainerStatuses: p.Status.InitContainerStatuses},
	}, nil
}

// PodCache is the cache selection of pods both the ImageBuild and AppDeployment controllers read
// (one cache, so one selection): those labelled managed-by=edgeforge, trimmed by TrimPod.
func PodCache() cache.ByObject {
	return cache.ByObject{Label: MadeByEdgeforge(), Transform: TrimPod}
}

// MadeByEdgeforge selects the objects edgeforge made (label app.kubernetes.io/managed-by=edgeforge):
// the label selector of the caches of children and of the pods of builds and apps.
func MadeByEdgeforge() labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue})
}
