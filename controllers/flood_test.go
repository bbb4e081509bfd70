package controllers

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// floodUser is the operator's user in TestRequestRateUnderFlood: the audit log records its
// requests only.
const floodUser = "edgeforge-operator"

// Flood budget of TestRequestRateUnderFlood: the operator's requests in the measured minute,
// per flooded object. A retry costs one discovery request per optional kind (a MonitoringStack
// checks four), so retrying every object on a fixed 1 s clock would make 60 to 240 per object
// in a minute; per-object exponential backoff (5 ms doubling, and at most 10 retries a second
// per controller) makes about 10 once the first retries are over.
const (
	floodObjects   = 30 // 20 AppDeployments with spec.metrics + 10 MonitoringStacks
	floodBuilds    = 10 // ImageBuilds whose labels change under the operator
	floodWindow    = time.Minute
	floodMaxPerObj = 20 // requests per flooded object in the window
)

// The operator under a flood (issue 15): prometheus-operator's CRDs are installed in an old
// version only, so the kinds edgeforge needs (monitoring.coreos.com/v1) are never served: 20
// AppDeployments with spec.metrics and 10 MonitoringStacks retry for as long as the test runs.
// Meanwhile 10 ImageBuilds are created while another client changes their labels every 100 ms,
// so the operator's optimistic-lock status writes conflict. The API server's audit log counts the
// operator's requests in the minute from 20 s after the flood began: at most floodMaxPerObj per
// flooded object (a fixed short requeue would make hundreds), and the ImageBuilds converge all
// the same. EDGEFORGE_RELIABILITY=1 (make test-reliability).
func TestRequestRateUnderFlood(t *testing.T) {
	if os.Getenv("EDGEFORGE_RELIABILITY") != "1" {
		t.Skip("a reliability test: make test-reliability runs it (EDGEFORGE_RELIABILITY=1)")
	}
	testenv.SetLoggerIf("EDGEFORGE_TEST_LOG")
	audit := filepath.Join(t.TempDir(), "audit.log")
	env, err := testenv.Start(testenv.WithAuditLog(audit, floodUser))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	k8s := env.Client
	ctx := testenv.Context(t, 5*time.Minute)

	// prometheus-operator's CRDs in a version edgeforge does not use: they exist, their kinds are
	// not served in v1.
	for _, kind := range []string{"Prometheus", "ServiceMonitor", "PrometheusRule", "PodMonitor"} {
		plural := map[string]string{"Prometheus": "prometheuses"}[kind]
		if plural == "" {
			plural = strings.ToLower(kind) + "s"
		}
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + ".monitoring.coreos.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "monitoring.coreos.com", Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List", Singular: strings.ToLower(kind)},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
			},
		}
		if err := k8s.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}

	cfg, err := env.UserConfig(floodUser, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	// As main.go runs it by default (--kube-api-qps -1): no client-side limiter, which would
	// pace a hot loop and hide it.
	cfg.QPS = -1
	by, err := CacheOptions()
	if err != nil {
		t.Fatal(err)
	}
	const opNS, ns = "edgeforge-flood", "flood"
	for _, n := range []string{opNS, ns} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	opts := settings.Defaults()
	opts.Namespace = opNS
	stop, err := env.StartManager(func(mgr ctrl.Manager) error { return SetupWithManager(mgr, opts) },
		testenv.WithConfig(cfg), testenv.WithCache(cache.Options{ByObject: by}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	began := time.Now()
	for i := range floodObjects - 10 {
		app := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%02d", i)},
			Spec: v1alpha1.AppDeploymentSpec{Image: "registry.test/app:1", Replicas: ptr.To[int32](0),
				Ports:   []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}},
				Metrics: &v1alpha1.AppMetrics{Port: "http", Path: "/metrics"}}}
		if err := k8s.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		stack := &v1alpha1.MonitoringStack{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("stack-%02d", i)},
			Spec: v1alpha1.MonitoringStackSpec{Grafana: &v1alpha1.GrafanaSpec{Enabled: false}}}
		if err := k8s.Create(ctx, stack); err != nil {
			t.Fatal(err)
		}
	}
	// The conflicts: ImageBuilds whose labels another client changes every 100 ms while the
	// operator writes their status with an optimistic lock.
	churn := make(chan struct{})
	var wg sync.WaitGroup
	for i := range floodBuilds {
		ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("build-%02d", i)},
			Spec: v1alpha1.ImageBuildSpec{
				Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM scratch\n"}},
				Output: v1alpha1.BuildOutput{Image: fmt.Sprintf("registry.test/flood/b%02d:1", i)},
			}}
		if err := k8s.Create(ctx, ib); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-churn:
					return
				case <-time.After(100 * time.Millisecond):
				}
				patch := fmt.Appendf(nil, `{"metadata":{"labels":{"flood":"%d"}}}`, n)
				_ = k8s.Patch(ctx, &v1alpha1.ImageBuild{ObjectMeta: ib.ObjectMeta}, client.RawPatch(types.MergePatchType, patch))
			}
		})
	}

	from := began.Add(20 * time.Second)
	to := from.Add(floodWindow)
	time.Sleep(time.Until(to))
	close(churn)
	wg.Wait()
	time.Sleep(2 * time.Second) // the audit log is written when a request completes
	all, err := testenv.AuditEvents(audit, began, to)
	if err != nil {
		t.Fatal(err)
	}
	perKind := map[string]int{}
	var window, conflicts, conflictsInWindow int
	for _, ev := range all {
		if ev.Code() == 409 {
			conflicts++
		}
		if ev.Received.Before(from) {
			continue
		}
		window++
		perKind[ev.Verb+" "+ev.Resource()]++
		if os.Getenv("EDGEFORGE_TEST_LOG_REQUESTS") != "" {
			t.Logf("%s %s %s %d %s", ev.Received.Format("15:04:05.000"), ev.Verb, ev.RequestURI, ev.Code(), ev.UserAgent)
		}
		if ev.Code() == 409 {
			conflictsInWindow++
		}
	}
	var top []string
	for _, k := range slices.SortedFunc(maps.Keys(perKind), func(a, b string) int { return perKind[b] - perKind[a] }) {
		top = append(top, fmt.Sprintf("%s: %d", k, perKind[k]))
	}
	t.Logf("operator requests: %d in the first 20 s (%d conflicts in all), %d in the %s after (%d conflicts): %v",
		len(all)-window, conflicts, window, floodWindow, conflictsInWindow, top)
	if window > floodObjects*floodMaxPerObj {
		t.Errorf("the operator made %d requests in %s under the flood, more than %d (%d per flooded object): a retry skips the rate limiter",
			window, floodWindow, floodObjects*floodMaxPerObj, floodMaxPerObj)
	}

	// The flood did not stop the work: every ImageBuild has its Job's status, the CRD's kinds are
	// still reported as not served.
	for i := range floodBuilds {
		ib := &v1alpha1.ImageBuild{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("build-%02d", i)}, ib); err != nil {
			t.Fatal(err)
		}
		if ib.Status.ObservedGeneration != ib.Generation || ib.Status.BuildCount == 0 {
			t.Errorf("ImageBuild %s under the label flood: observedGeneration %d of %d, buildCount %d", ib.Name, ib.Status.ObservedGeneration, ib.Generation, ib.Status.BuildCount)
		}
	}
	app := &v1alpha1.AppDeployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-00"}, app); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionServiceMonitorReady); c == nil || c.Reason != v1alpha1.AppDeploymentReasonCRDNotInstalled {
		t.Errorf("app-00's ServiceMonitorReady with v1 unserved: %+v", c)
	}
}
