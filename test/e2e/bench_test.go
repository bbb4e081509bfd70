package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/internal/app"
	"github.com/edgeforge/edgeforge/internal/settings"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// requireBench runs a test only in `make bench` (EDGEFORGE_BENCH=1): benchmarks of the
// performance budget, which fail on their own budgets and take minutes.
func requireBench(t *testing.T) {
	t.Helper()
	requireGate(t, "EDGEFORGE_BENCH", "a benchmark of the performance budget: make bench runs it")
}

// benchWorkers is how many requests a bench client has in flight, for a floor and for creating
// the objects the operator works on alike.
const benchWorkers = 16

// TestBench measures the performance budget (issue 16, docs/performance.md) on the local
// cluster, with the real kube-controller-manager and scheduler and kwok nodes, and prints one
// table of the figures of this run. The operator runs as it would be deployed (production
// logging, default flags) with its pprof endpoint on for the heap and a CPU profile. Each
// figure fails the test when it misses its budget; the table is printed either way.
//
//	P2  API writes in 2 min at rest, a pool of EDGEFORGE_BENCH_NODES (1,000) heartbeating nodes
//	P5  a node's Ready change -> the pool's status, p99 over 100 changes at that pool size
//	P1  EDGEFORGE_BENCH_APPS (1,000 and 5,000) AppDeployments Ready vs. the floor
//	P3  operator peak RSS (VmHWM) at the largest of them + the pool
//	P4  build -> rollout hand-off p50/p99 over EDGEFORGE_BENCH_BUILDS (100) builds
//	P6  a pool of EDGEFORGE_BENCH_BIG_POOL (10,000) nodes: its status is written
func TestBench(t *testing.T) {
	requireBench(t)
	tab := &benchTable{}
	defer func() { fmt.Println(tab.String()) }()
	op, pprofAddr := benchOperator(t)
	w := newBenchWatch(t)

	n := scaleKnob("EDGEFORGE_BENCH_NODES", 1000)
	pool := "bench-" + randomHex(3)
	start := time.Now()
	benchNodes(t, pool, n, true)
	createPool(t, pool, &v1alpha1.NodeTemplate{Labels: map[string]v1alpha1.LabelValue{"tier": "bench"}})
	want := fmt.Sprintf("%d/%d", n, n)
	waitFor(t, 10*time.Minute, "pool "+pool+" "+want+" Ready with its template on every node", func(ctx context.Context) (bool, error) {
		ec := &v1alpha1.EdgeCluster{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: pool}, ec); err != nil || ec.Status.Ready != want {
			return false, err
		}
		nodes := &corev1.NodeList{}
		err := k8sClient.List(ctx, nodes, client.MatchingLabels{v1alpha1.LabelEdgeClusterMember: pool, "tier": "bench"})
		return err == nil && len(nodes.Items) == n, err
	})
	t.Logf("pool of %d heartbeating kwok nodes converged %s after the first node was created", n, time.Since(start).Round(time.Second))

	t.Run("P2", func(t *testing.T) {
		time.Sleep(20 * time.Second) // settle
		writes, reads, byKind := writesAtRest(t, 2*time.Minute)
		tab.add(t, "P2", fmt.Sprintf("API writes in 2 min at rest, %d heartbeating nodes", n), "0",
			fmt.Sprintf("%d (%d reads) %v", writes, reads, byKind), writes == 0)
	})

	t.Run("P5", func(t *testing.T) {
		lat := readyChangeLatencies(t, w, pool, n, scaleKnob("EDGEFORGE_BENCH_READY_CHANGES", 100))
		p50, p99 := percentile(lat, 50), percentile(lat, 99)
		tab.add(t, "P5", fmt.Sprintf("node Ready change -> pool status, %d changes at %d nodes", len(lat), n), "p99 <= 2s",
			fmt.Sprintf("p50 %s, p99 %s", p50, p99), p99 <= 2*time.Second)
	})

	var appCounts []int
	for _, f := range strings.Split(envOr("EDGEFORGE_BENCH_APPS", "1000,5000"), ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			appCounts = append(appCounts, v)
		}
	}
	for i, apps := range appCounts {
		last := i == len(appCounts)-1
		t.Run(fmt.Sprintf("P1-%d", apps), func(t *testing.T) {
			r := converge(t, w, apps, last, op, pprofAddr)
			ratio := r.operator.Seconds() / r.floor.Seconds()
			tab.add(t, "P1", fmt.Sprintf("%d AppDeployments Ready vs. the floor (the same client applying their Deployments and Services directly until the Deployment controller observed them)", apps),
				"<= 1.3x", fmt.Sprintf("%.2fx (%s vs. %s)", ratio, r.operator.Round(100*time.Millisecond), r.floor.Round(100*time.Millisecond)), ratio <= 1.3)
			if !last {
				return
			}
			hwm, rss, anon, file := procMemory(t, op.cmd.Process.Pid)
			heap := heapInUse(t, pprofAddr)
			t.Logf("the operator's live heap at %d apps + %d nodes (go tool pprof -top -sample_index=inuse_space):\n%s", apps, n, heapProfileTop(op, pprofAddr))
			tab.add(t, "P3", fmt.Sprintf("operator peak RSS (VmHWM) at %d AppDeployments + %d nodes", apps, n), "<= 150 MiB",
				fmt.Sprintf("%d MiB (RSS now %d MiB: %d anonymous, %d file; Go heap in use %d MiB)", hwm>>20, rss>>20, anon>>20, file>>20, heap>>20), hwm <= 150<<20)
		})
		// The next figure is measured alone, not against the deletion of these apps and their
		// children (the namespace and garbage collectors' work): a user's build hand-off does
		// not coincide with removing thousands of apps.
		awaitNamespacesGone(t, "bench-floor-", "bench-apps-")
	}

	t.Run("P4", func(t *testing.T) {
		start := time.Now()
		hs := handoffs(t, w, pool, scaleKnob("EDGEFORGE_BENCH_BUILDS", 100))
		var lat, built []time.Duration
		for _, h := range hs {
			lat, built = append(lat, h.rolled.Sub(h.done)), append(built, h.recorded.Sub(h.done))
		}
		p50, p99 := percentile(lat, 50), percentile(lat, 99)
		t.Logf("hand-off p50 %s, p99 %s; of which Job Complete -> ImageBuild status.latestImage p50 %s, p99 %s",
			p50, p99, percentile(built, 50), percentile(built, 99))
		t.Logf("the operator's requests during P4, as the API server's audit log has them: %s", requestSummary(start, time.Now(), len(hs)))
		t.Log(slowestHandoffs(hs, 3))
		tab.add(t, "P4", fmt.Sprintf("build -> rollout hand-off (Job Complete -> Deployment has the digest), %d builds", len(lat)), "p99 <= 1s",
			fmt.Sprintf("p50 %s, p99 %s", p50, p99), p99 <= time.Second)
	})

	t.Run("P6", func(t *testing.T) {
		big := scaleKnob("EDGEFORGE_BENCH_BIG_POOL", 10000)
		name := "bench-big-" + randomHex(3)
		benchNodes(t, name, big, false)
		createPool(t, name, nil)
		ec := &v1alpha1.EdgeCluster{}
		waitFor(t, 10*time.Minute, fmt.Sprintf("pool %s's status to count its %d nodes", name, big), func(ctx context.Context) (bool, error) {
			err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, ec)
			return err == nil && ec.Status.TotalNodes == int32(big) && ec.Status.ObservedGeneration == ec.Generation, err
		})
		raw, err := json.Marshal(ec) // CRDs are stored as JSON: the size etcd holds
		if err != nil {
			t.Fatal(err)
		}
		const limit = 1536 << 10 // etcd's default request size limit, 1.5 MiB
		tab.add(t, "P6", fmt.Sprintf("pool of %d nodes: status written, object size", big), "written, < 1.5 MiB",
			fmt.Sprintf("written: %d nodes listed, %d omitted; %d KiB", len(ec.Status.Nodes), ec.Status.NodesOmitted, len(raw)>>10), len(raw) < limit)
	})
}

// benchTable is one run's figures.
type benchTable struct {
	mu   sync.Mutex
	rows [][5]string
}

func (b *benchTable) add(t *testing.T, id, figure, budget, measured string, pass bool) {
	t.Helper()
	verdict := "pass"
	if !pass {
		verdict = "FAIL"
		t.Errorf("%s %s: %s misses its budget %s", id, figure, measured, budget)
	}
	t.Logf("%s %s: %s (budget %s)", id, figure, measured, budget)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rows = append(b.rows, [5]string{id, figure, budget, measured, verdict})
}

func (b *benchTable) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s strings.Builder
	fmt.Fprintf(&s, "\nmake bench, %s, %d cores (%s/%s), local cluster (kube-apiserver, kube-controller-manager, kube-scheduler, kwok)\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if len(operatorEnv) > 0 {
		fmt.Fprintf(&s, "operator environment as deployed (config/manager/manager.yaml): %s\n\n", strings.Join(operatorEnv, " "))
	}
	if env := benchOperatorEnv(); len(env) > 0 {
		fmt.Fprintf(&s, "operator environment changed for this run: %s\n\n", strings.Join(env, " "))
	}
	if args := benchOperatorArgs(); len(args) > 0 {
		fmt.Fprintf(&s, "operator flags beside the defaults: %s\n\n", strings.Join(args, " "))
	}
	s.WriteString("| | figure | budget | measured | |\n|---|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s |\n", strings.Join(r[:], " | "))
	}
	return s.String()
}

// benchOperator replaces the suite's operator with one run as deployed (production logging,
// default flags unless EDGEFORGE_BENCH_OPERATOR_ARGS) plus its pprof endpoint, for the heap and a CPU profile; the suite's operator
// comes back when the test ends.
func benchOperator(t *testing.T) (*operatorProcess, string) {
	mainOperator.stop()
	addr := freeLocalAddr(t)
	args := []string{"--metrics-bind-address", "0", "--zap-devel=false", "--pprof-bind-address", addr}
	deployed := operatorEnv
	operatorEnv = append(slices.Clip(deployed), benchOperatorEnv()...) // the last of a name wins
	p, err := runOperator("operator-bench", append(args, benchOperatorArgs()...))
	operatorEnv = deployed
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if next, err := runOperator("operator-after-bench", mainOperatorArgs()); err != nil {
			t.Errorf("restarting the suite's operator: %v", err)
		} else {
			mainOperator = next
		}
	})
	return p, addr
}

// benchOperatorEnv is environment a run tries on the bench's operator instead of the Deployment's
// (EDGEFORGE_BENCH_OPERATOR_ENV, e.g. "GOMEMLIMIT=off"); the table's heading names it.
func benchOperatorEnv() []string {
	return strings.Fields(os.Getenv("EDGEFORGE_BENCH_OPERATOR_ENV"))
}

// benchOperatorArgs are flags a run tries on the bench's operator (EDGEFORGE_BENCH_OPERATOR_ARGS,
// e.g. "--concurrency=1"); the table's heading names them.
func benchOperatorArgs() []string {
	return strings.Fields(os.Getenv("EDGEFORGE_BENCH_OPERATOR_ARGS"))
}

// benchNodes creates n Nodes, members of pool, and deletes them when the test ends. kwok plays
// heartbeating kubelets for them when kwok is true; otherwise nobody does (kube-controller-manager
// marks them Unknown).
func benchNodes(t *testing.T, pool string, n int, kwok bool) {
	start := time.Now()
	inParallel(t, n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("%s-%05d", pool, i)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{v1alpha1.LabelEdgeCluster: pool, v1alpha1.LabelEdgeClusterMember: pool,
				corev1.LabelArchStable: "amd64", corev1.LabelOSStable: "linux", corev1.LabelHostname: name}}}
		if kwok {
			node.Annotations = map[string]string{kwokAnnotation: "fake"}
		}
		return k8sClient.Create(ctx, node)
	})
	t.Cleanup(func() {
		_ = k8sClient.DeleteAllOf(context.Background(), &corev1.Node{}, client.MatchingLabels{v1alpha1.LabelEdgeClusterMember: pool})
	})
	t.Logf("%d nodes of pool %s created in %s", n, pool, time.Since(start).Round(time.Second))
}

func createPool(t *testing.T, name string, template *v1alpha1.NodeTemplate) {
	ec := &v1alpha1.EdgeCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.EdgeClusterSpec{NodeTemplate: template}}
	if err := k8sClient.Create(t.Context(), ec); err != nil {
		t.Fatal(err)
	}
	deleteOnCleanup(t, ec)
}

// inParallel runs f(0..n-1) with benchWorkers in flight and fails the test on the first error.
func inParallel(t *testing.T, n int, f func(ctx context.Context, i int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, benchWorkers)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(t.Context(), i); err != nil {
				mu.Lock()
				first = cmpOr(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// writesAtRest counts the operator's requests for d, in the API server's audit log of the
// operator's ServiceAccount (hack/cluster/control-plane.sh): where they arrive, not what the
// operator says it sent.
func writesAtRest(t *testing.T, d time.Duration) (writes, reads int, byKind []string) {
	from := time.Now()
	time.Sleep(d)
	events, err := operatorRequests(from, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		switch ev.Verb {
		case "get", "list", "watch":
			reads++
		default:
			count[ev.Verb+" "+ev.Resource()]++
			writes++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(count)) {
		byKind = append(byKind, fmt.Sprintf("%s: %d", k, count[k]))
	}
	return writes, reads, byKind
}

// operatorRequests are the operator's requests received in [from, to), from the API server's
// audit log of the operator's ServiceAccount (hack/cluster/control-plane.sh).
func operatorRequests(from, to time.Time) ([]testenv.AuditEvent, error) {
	time.Sleep(2 * time.Second) // requests complete before they are logged
	return testenv.AuditEvents(filepath.Join(clusterDir, "logs", "audit.log"), from, to)
}

// readyChangeLatencies makes changes nodes of pool not Ready and Ready again, one at a time, the
// way a user simulates it on the local cluster (the label edgeforge.io/simulate=not-ready, which
// kwok turns into Ready=False). Each latency runs from the test's watch seeing the node's Ready
// condition change to its watch seeing the pool's status.readyNodes follow.
func readyChangeLatencies(t *testing.T, w *benchWatch, pool string, n, changes int) []time.Duration {
	var lat []time.Duration
	for i := range changes {
		node := fmt.Sprintf("%s-%05d", pool, (i/2*7919)%n) // a spread of nodes, each down then up
		down := i%2 == 0
		patch := `{"metadata":{"labels":{"edgeforge.io/simulate":null}}}`
		wantReady := n
		if down {
			patch, wantReady = `{"metadata":{"labels":{"edgeforge.io/simulate":"not-ready"}}}`, n-1
		}
		mark := time.Now()
		if err := k8sClient.Patch(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}},
			client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
			t.Fatal(err)
		}
		changed := w.await(t, fmt.Sprintf("node %s Ready=%t", node, !down), time.Minute, func() (time.Time, bool) {
			return w.nodeReadySince(node, !down, mark)
		})
		followed := w.await(t, fmt.Sprintf("pool %s readyNodes %d", pool, wantReady), time.Minute, func() (time.Time, bool) {
			return w.poolReadySince(pool, wantReady, mark)
		})
		lat = append(lat, max(0, followed.Sub(changed)))
	}
	return lat
}

type convergeResult struct{ floor, operator time.Duration }

// converge measures P1 for n apps: the floor, then the operator. The floor is the same client
// (benchWorkers in flight, no client-side rate limit, as the operator) applying the Deployments
// and Services the operator would make (internal/app's, minus edgeforge's managed-by label, so
// the operator does not cache them, and the owner reference) until the Deployment controller has observed each one; then
// n AppDeployments (replicas 0, an image and one port) until each is Ready. With profile, a CPU
// profile of the operator's first 30 s of work is logged.
func converge(t *testing.T, w *benchWatch, n int, profile bool, op *operatorProcess, pprofAddr string) convergeResult {
	c := benchClient(t)
	spec := func(ns, name string) *v1alpha1.AppDeployment {
		return &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.AppDeploymentSpec{Image: "registry.example.com/bench/app:1", Replicas: ptr.To[int32](0),
				Ports: []v1alpha1.AppPort{{Name: "http", ContainerPort: 8080}}}}
	}
	var r convergeResult
	floorNS := createNamespace(t, "bench-floor")
	start := time.Now()
	inParallel(t, n, func(ctx context.Context, i int) error {
		a := spec(floorNS, fmt.Sprintf("app-%05d", i))
		a.UID, a.Generation = "floor", 1
		d, s := app.DesiredDeployment(a, a.Spec.Image, nil, nil), app.DesiredService(a)
		// Without edgeforge's label, and without an owner (garbage collection would delete
		// children of an AppDeployment that does not exist).
		delete(d.Labels, "app.kubernetes.io/managed-by")
		delete(s.Labels, "app.kubernetes.io/managed-by")
		d.OwnerReferences, s.OwnerReferences = nil, nil
		if err := c.Apply(ctx, d, client.FieldOwner(settings.FieldOwner)); err != nil {
			return err
		}
		return c.Apply(ctx, s, client.FieldOwner(settings.FieldOwner))
	})
	r.floor = w.await(t, fmt.Sprintf("the Deployment controller to observe the floor's %d Deployments", n), time.Hour, func() (time.Time, bool) {
		done, last := w.doneCount("Deployment", floorNS)
		return last, done == n
	}).Sub(start)
	t.Logf("floor: %d Deployments + %d Services in %s", n, n, r.floor.Round(100*time.Millisecond))

	appsNS := createNamespace(t, "bench-apps")
	start = time.Now()
	var cpu chan string
	if profile {
		cpu = make(chan string, 1)
		go func() { cpu <- cpuProfileTop(op, pprofAddr, 30*time.Second) }()
	}
	before := sampleOperator(t, op, pprofAddr)
	inParallel(t, n, func(ctx context.Context, i int) error {
		return c.Create(ctx, spec(appsNS, fmt.Sprintf("app-%05d", i)))
	})
	created := time.Since(start)
	r.operator = w.await(t, fmt.Sprintf("%d AppDeployments Ready", n), time.Hour, func() (time.Time, bool) {
		done, last := w.doneCount("AppDeployment", appsNS)
		return last, done == n
	}).Sub(start)
	after := sampleOperator(t, op, pprofAddr)
	t.Logf("operator: %d AppDeployments created in %s, Ready in %s; meanwhile the operator used %s of CPU (%.0f %% of a core) and collected garbage %d times (GCCPUFraction since start %s)",
		n, created.Round(100*time.Millisecond), r.operator.Round(100*time.Millisecond),
		(after.cpu - before.cpu).Round(10*time.Millisecond), 100*(after.cpu-before.cpu).Seconds()/r.operator.Seconds(),
		after.numGC-before.numGC, memStat(t, pprofAddr, "GCCPUFraction"))
	t.Logf("the operator's requests while %d apps converged, as the API server's audit log has them: %s", n, requestSummary(start, start.Add(r.operator), n))
	if cpu != nil {
		t.Logf("where the operator's CPU went in its first 30 s of converging %d apps (go tool pprof -top -cum):\n%s", n, <-cpu)
	}
	return r
}

// awaitNamespacesGone deletes what is left in the namespaces named with these prefixes at once,
// rather than at the namespace and garbage collectors' pace, and waits until the namespaces are
// gone.
func awaitNamespacesGone(t *testing.T, prefixes ...string) {
	t.Helper()
	c, start := benchClient(t), time.Now()
	ours := func(ctx context.Context) ([]string, error) {
		list := &corev1.NamespaceList{}
		if err := c.List(ctx, list); err != nil {
			return nil, err
		}
		var names []string
		for _, ns := range list.Items {
			if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(ns.Name, p) }) {
				names = append(names, ns.Name)
			}
		}
		return names, nil
	}
	names, err := ours(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range names {
		for _, obj := range []client.Object{&v1alpha1.AppDeployment{}, &appsv1.Deployment{}, &appsv1.ReplicaSet{}, &corev1.Service{}} {
			// A collection of thousands can take longer than the API server's request timeout
			// (the stream is reset, having deleted part of it): delete again what is left.
			for attempt := 1; ; attempt++ {
				err := c.DeleteAllOf(t.Context(), obj, client.InNamespace(ns))
				if err == nil {
					break
				}
				if attempt == 10 {
					t.Fatalf("deleting the %T objects of %s, %d attempts: %v", obj, ns, attempt, err)
				}
				t.Logf("deleting the %T objects of %s (attempt %d, again): %v", obj, ns, attempt, err)
			}
		}
	}
	waitFor(t, 30*time.Minute, fmt.Sprintf("namespaces %v to be gone", names), func(ctx context.Context) (bool, error) {
		left, err := ours(ctx)
		return len(left) == 0, err
	})
	t.Logf("namespaces %v gone in %s", names, time.Since(start).Round(time.Second))
}

// benchClient is a client with the suite's identity and no client-side rate limit, as the operator.
func benchClient(t *testing.T) client.Client {
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS = -1
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handoff is one build of P4 as the test's watch saw it: its Job Complete, the ImageBuild's
// status.latestImage with the digest, and the app's Deployment with it.
type handoff struct {
	build                  string
	done, recorded, rolled time.Time
}

// handoffs measures P4: chains of builds, each followed by an AppDeployment (see the figure).
func handoffs(t *testing.T, w *benchWatch, pool string, builds int) []handoff {
	ns := createNamespace(t, "bench-builds")
	chains := min(10, builds)
	var mu sync.Mutex
	var out []handoff
	inParallel(t, chains, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("b-%02d", i)
		ib := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.ImageBuildSpec{
				Source: v1alpha1.BuildSource{Inline: &v1alpha1.InlineSource{Dockerfile: "FROM scratch\nARG N\n"}},
				Output: v1alpha1.BuildOutput{Image: "registry.example.com/bench/" + name + ":1"},
				RunOn:  &v1alpha1.BuildPlacement{EdgeClusterRef: &v1alpha1.EdgeClusterReference{Name: pool}}}}
		a := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.AppDeploymentSpec{ImageFrom: &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: name}},
				Replicas: ptr.To[int32](0)}}
		if err := k8sClient.Create(ctx, a); err != nil {
			return err
		}
		var digest string
		for k := range (builds + chains - 1 - i) / chains {
			if k == 0 {
				if err := k8sClient.Create(ctx, ib); err != nil {
					return err
				}
			} else {
				base := ib.DeepCopy()
				ib.Spec.BuildArgs = []v1alpha1.BuildArg{{Name: "N", Value: strconv.Itoa(k)}}
				if err := k8sClient.Patch(ctx, ib, client.MergeFrom(base)); err != nil {
					return err
				}
			}
			gen, previous := ib.Generation, digest
			// (In a goroutine: poll returns errors rather than failing the test.)
			if err := poll(ctx, 3*time.Minute, func() (bool, error) {
				got := &v1alpha1.ImageBuild{}
				if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ib), got); err != nil {
					return false, err
				}
				digest = got.Status.Digest
				return got.Status.ObservedGeneration == gen && got.Status.Phase == v1alpha1.BuildPhaseSucceeded && digest != previous, nil
			}); err != nil {
				return fmt.Errorf("ImageBuild %s generation %d to succeed: %w", name, gen, err)
			}
			var done, rolled time.Time
			if err := poll(ctx, time.Minute, func() (ok bool, _ error) {
				done, ok = w.jobComplete(ns, name, k)
				return ok, nil
			}); err != nil {
				return fmt.Errorf("build Job %d of %s Complete: %w", k, name, err)
			}
			if err := poll(ctx, time.Minute, func() (ok bool, _ error) {
				rolled, ok = w.deploymentImage(ns, name, digest)
				return ok, nil
			}); err != nil {
				return fmt.Errorf("Deployment %s to carry %s: %w", name, digest, err)
			}
			recorded, ok := w.buildImage(ns, name, digest)
			if !ok {
				return fmt.Errorf("ImageBuild %s's status.latestImage with %s not seen by the watch", name, digest)
			}
			mu.Lock()
			out = append(out, handoff{build: fmt.Sprintf("%s/%s build %d", ns, name, k+1), done: done, recorded: recorded, rolled: rolled})
			mu.Unlock()
		}
		return nil
	})
	return out
}

// slowestHandoffs lists, for the n slowest hand-offs, every request the operator made from the
// Job's Complete to the Deployment carrying the digest (all builds', as they overlap), by when
// the API server received it and how long it took to serve: where the time went.
func slowestHandoffs(hs []handoff, n int) string {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b handoff) int { return cmp.Compare(b.rolled.Sub(b.done), a.rolled.Sub(a.done)) })
	var b strings.Builder
	for _, h := range hs[:min(n, len(hs))] {
		fmt.Fprintf(&b, "\nslow hand-off %s: %s (status.latestImage at +%s); the operator's requests meanwhile:",
			h.build, h.rolled.Sub(h.done).Round(time.Millisecond), h.recorded.Sub(h.done).Round(time.Millisecond))
		events, err := operatorRequests(h.done.Add(-time.Second), h.rolled)
		if err != nil {
			return err.Error()
		}
		for _, ev := range events {
			if ev.Verb == "watch" {
				continue
			}
			name := ""
			if ev.ObjectRef != nil {
				name = ev.ObjectRef.Name
			}
			fmt.Fprintf(&b, "\n  %+6dms %-7s %-28s %-22s %d served in %s", ev.Received.Sub(h.done).Milliseconds(), ev.Verb,
				ev.Resource(), name, ev.Code(), ev.Completed.Sub(ev.Received).Round(time.Millisecond))
		}
	}
	return b.String()
}

// poll checks cond every 20 ms until it holds, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
}

// percentile is the p-th percentile (nearest rank) of ds, rounded to a millisecond.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := (len(s)*p + 99) / 100
	return s[max(0, i-1)].Round(time.Millisecond)
}

// procMemory reads a process's peak and current resident set size (VmHWM, VmRSS), in bytes, and
// what the current one is made of: anonymous memory (the Go heap, stacks, the runtime) and file
// pages (the executable's code and data it touched).
func procMemory(t *testing.T, pid int) (hwm, rss, anon, file int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]*int64{"VmHWM:": &hwm, "VmRSS:": &rss, "RssAnon:": &anon, "RssFile:": &file}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" && fields[f[0]] != nil {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			*fields[f[0]] = v << 10
		}
	}
	return hwm, rss, anon, file
}

// heapInUse is the operator's Go heap in use (runtime.MemStats.HeapInuse), from its pprof endpoint.
func heapInUse(t *testing.T, addr string) int64 {
	v, err := strconv.ParseInt(memStat(t, addr, "HeapInuse"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// memStat is one of the operator's runtime.MemStats (e.g. NumGC, GCCPUFraction) as its pprof
// endpoint prints it.
func memStat(t *testing.T, addr, name string) string {
	body, err := httpGet("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "# "+name+" = "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in the heap profile", name)
	return ""
}

// procCPU is the CPU time a process has used (user and system), from /proc/<pid>/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(data), ") ") // the command may hold spaces
	f := strings.Fields(rest)                     // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// operatorWork is what the operator did between two samples: CPU time and collections.
type operatorWork struct {
	cpu   time.Duration
	numGC int
}

func sampleOperator(t *testing.T, op *operatorProcess, addr string) operatorWork {
	n, _ := strconv.Atoi(memStat(t, addr, "NumGC"))
	return operatorWork{cpu: procCPU(t, op.cmd.Process.Pid), numGC: n}
}

// requestSummary sums up the operator's requests received in [from, to) as the API server's
// audit log has them: per verb and resource (and per app, over apps), the failed ones by code,
// and how long the API server took to serve them (watches aside).
func requestSummary(from, to time.Time, apps int) string {
	events, err := operatorRequests(from, to)
	if err != nil {
		return err.Error()
	}
	count, failed := map[string]int{}, map[string]int{}
	var served []time.Duration
	for _, ev := range events {
		key := ev.Verb + " " + ev.Resource()
		count[key]++
		if code := ev.Code(); code >= 400 {
			failed[fmt.Sprintf("%s %d", key, code)]++
		}
		if ev.Verb != "watch" && !ev.Completed.IsZero() {
			served = append(served, ev.Completed.Sub(ev.Received))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests (%.2f per app)", len(events), float64(len(events))/float64(max(apps, 1)))
	for _, k := range slices.Sorted(maps.Keys(count)) {
		fmt.Fprintf(&b, "\n  %-50s %7d  %.2f per app", k, count[k], float64(count[k])/float64(max(apps, 1)))
	}
	for _, k := range slices.Sorted(maps.Keys(failed)) {
		fmt.Fprintf(&b, "\n  failed: %s: %d", k, failed[k])
	}
	fmt.Fprintf(&b, "\n  served in p50 %s, p99 %s (watches aside)", percentile(served, 50), percentile(served, 99))
	return b.String()
}

// cpuProfileTop takes a CPU profile of the operator for d and returns go tool pprof's top.
func cpuProfileTop(op *operatorProcess, addr string, d time.Duration) string {
	return profileTop(op, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), "cpu", "-cum")
}

// heapProfileTop is go tool pprof's top of the operator's live heap (inuse_space) now.
func heapProfileTop(op *operatorProcess, addr string) string {
	return profileTop(op, "http://"+addr+"/debug/pprof/heap?gc=1", "heap", "-sample_index=inuse_space")
}

// profileTop fetches a profile of the operator from url, keeps it in the cluster's directory
// (operator-bench.<name>.pprof) and returns go tool pprof's top 30 with flags.
func profileTop(op *operatorProcess, url, name string, flags ...string) string {
	body, err := httpGet(url)
	if err != nil {
		return err.Error()
	}
	path := filepath.Join(clusterDir, "operator-bench."+name+".pprof")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return err.Error()
	}
	args := append(append([]string{"tool", "pprof", "-top", "-nodecount=30"}, flags...), op.cmd.Path, path)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%v: %s", err, out)
	}
	return string(out)
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url) //nolint:noctx // a local endpoint, bounded by the profile's duration
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
