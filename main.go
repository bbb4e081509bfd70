// Command manager runs the edgeforge operator.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	edgeforgev1alpha1 "github.com/edgeforge/edgeforge/api/v1alpha1"
	"github.com/edgeforge/edgeforge/controllers"
	"github.com/edgeforge/edgeforge/controllers/metricsauth"
	"github.com/edgeforge/edgeforge/controllers/reconnect"
	"github.com/edgeforge/edgeforge/internal/settings"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(monitoringv1.AddToScheme(scheme))
	utilruntime.Must(edgeforgev1alpha1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr, probeAddr string
		pprofAddr              string
		secureMetrics          bool
		enableHTTP2            bool
		leaderElect            bool
		api                    apiTuning
	)
	opts := settings.Defaults()
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0",
		"Address the metrics endpoint binds to, e.g. :8443 (HTTPS) or :8080 (HTTP). 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0",
		"Address Go's pprof endpoints (/debug/pprof/, plain HTTP, no authentication) bind to, e.g. 127.0.0.1:6060. 0 disables them.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, allowing only authenticated and authorized (RBAC) clients.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Enable HTTP/2 for the metrics server (off by default: HTTP/2 rapid-reset and stream-cancellation CVEs).")
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Elect a leader so only one of several replicas reconciles.")
	flag.StringVar(&opts.Namespace, "namespace", envOr("POD_NAMESPACE", opts.Namespace),
		"Namespace the operator runs in and keeps its own objects in (join-command Secrets).")
	flag.StringVar(&opts.KanikoImage, "kaniko-image", settings.DefaultKanikoImage,
		"Default Kaniko executor image for build Jobs (ImageBuild spec.executorImage overrides it).")
	flag.StringVar(&opts.IndexImage, "index-image", os.Getenv("EDGEFORGE_INDEX_IMAGE"),
		"Image of the Job that pushes the image index of a multi-platform ImageBuild (spec.platforms): one with /edgeforge-index, such as the operator's own image (the install sets it so, through EDGEFORGE_INDEX_IMAGE). Empty: multi-platform builds stall with reason NoIndexImage.")
	flag.StringVar(&opts.GrafanaImage, "grafana-image", settings.DefaultGrafanaImage,
		"Default Grafana image (MonitoringStack spec.grafana.image overrides it).")
	flag.StringVar(&opts.NodeExporterImage, "node-exporter-image", settings.DefaultNodeExporterImage,
		"node-exporter image for MonitoringStacks.")
	flag.StringVar(&opts.PrometheusVersion, "prometheus-version", "",
		"Prometheus version of MonitoringStacks without spec.prometheus.version (empty: prometheus-operator's default).")
	flag.StringVar(&opts.KubeStateMetricsImage, "kube-state-metrics-image", settings.DefaultKubeStateMetricsImage,
		"kube-state-metrics image for MonitoringStacks.")
	var shard string
	flag.StringVar(&shard, "watch-label-selector", "",
		"Reconcile only the edgeforge objects whose labels match this selector (e.g. edgeforge.io/shard=a, or "+
			"!edgeforge.io/shard for the default shard): several operators split the work, each with its own selector "+
			"and leader election lease (docs/install.md, Sharding). Empty: every object.")
	flag.IntVar(&api.concurrency, "concurrency", 8,
		"Reconciles each controller (each kind) runs at once: MaxConcurrentReconciles (controller-runtime's default is 1; "+
			"8 by measurement, docs/performance.md).")
	flag.Float64Var(&api.qps, "kube-api-qps", -1,
		"Client-side limit of API requests per second. -1, controller-runtime's default, turns the client-side "+
			"limiter off and leaves fairness to the API server (API Priority and Fairness).")
	flag.IntVar(&api.burst, "kube-api-burst", 0,
		"Burst of the client-side limit, with --kube-api-qps > 0 (0: client-go's default, 10).")
	var buildRequests, buildLimits string
	flag.StringVar(&buildRequests, "build-default-requests", settings.DefaultBuildRequests,
		"Requests of a build container for each resource its ImageBuild's spec.resources leaves unset, e.g. cpu=500m,memory=512Mi (empty: none).")
	flag.StringVar(&buildLimits, "build-default-limits", settings.DefaultBuildLimits,
		"Limits of a build container for each resource its ImageBuild's spec.resources leaves unset, e.g. memory=4Gi (empty: none).")
	var clusterMonitoring string
	flag.StringVar(&clusterMonitoring, "cluster-monitoring-namespaces", "",
		"Comma-separated namespaces where a MonitoringStack may have spec.scope Cluster (empty: the operator's namespace).")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	opts.ClusterMonitoringNamespaces = settings.NamespaceList(clusterMonitoring, opts.Namespace)
	for _, f := range []struct {
		flag, value string
		into        *corev1.ResourceList
	}{{"--build-default-requests", buildRequests, &opts.BuildRequests}, {"--build-default-limits", buildLimits, &opts.BuildLimits}} {
		l, err := settings.ParseResourceList(f.value)
		if err != nil {
			setupLog.Error(err, "invalid flag", "flag", f.flag)
			os.Exit(1)
		}
		*f.into = l
	}

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if secureMetrics {
		metricsOpts.FilterProvider = metricsauth.FilterProvider
	}

	byObject, err := controllers.CacheOptions()
	if err != nil {
		setupLog.Error(err, "invalid cache options")
		os.Exit(1)
	}
	if opts.Shard, err = labels.Parse(shard); err != nil {
		setupLog.Error(err, "invalid --watch-label-selector")
		os.Exit(1)
	}
	if opts.Shard.Empty() {
		opts.Shard = nil
	}
	controllers.Shard(byObject, opts.Shard)
	cfg := ctrl.GetConfigOrDie()
	controllerOpts, err := api.apply(cfg)
	if err != nil {
		setupLog.Error(err, "invalid flags")
		os.Exit(1)
	}
	if err := reconnect.Init(cfg); err != nil {
		setupLog.Error(err, "cannot probe the API server's readiness")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Controller: controllerOpts,
		Scheme:     scheme,
		// Cache only what edgeforge owns (label-selected), not every Job/Pod/Deployment/Service.
		// Informers come back within a second of the API server's return (controllers/reconnect).
		Cache:                   cache.Options{ByObject: byObject, DefaultTransform: controllers.DefaultTransform, NewInformer: reconnect.NewInformer},
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        controllers.LeaderElectionID(opts.Shard),
		LeaderElectionNamespace: opts.Namespace,
		// Give up leadership on shutdown so a new replica takes over at once.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		setupLog.Error(err, "unable to create manager")
		os.Exit(1)
	}
	if err := controllers.SetupWithManager(mgr, opts); err != nil {
		setupLog.Error(err, "unable to set up controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up ready check")
		os.Exit(1)
	}

	setupLog.Info("starting manager", "namespace", opts.Namespace, "kanikoImage", opts.KanikoImage, "indexImage", opts.IndexImage,
		"memoryLimit", memoryLimit())
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "problem running manager")
		os.Exit(1)
	}
}

// memoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT), or "none".
func memoryLimit() string {
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		return fmt.Sprintf("%dMiB", l>>20)
	}
	return "none"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// apiTuning is how fast the operator works: --concurrency, --kube-api-qps, --kube-api-burst.
type apiTuning struct {
	concurrency int
	qps         float64
	burst       int
}

// apply sets the client-side rate limit on cfg and returns the controllers' options.
func (t apiTuning) apply(cfg *rest.Config) (config.Controller, error) {
	switch {
	case t.concurrency < 1:
		return config.Controller{}, fmt.Errorf("--concurrency must be at least 1, not %d", t.concurrency)
	case t.qps == 0 || t.qps < -1:
		return config.Controller{}, fmt.Errorf("--kube-api-qps must be -1 (no client-side limit) or more than 0, not %g", t.qps)
	case t.burst < 0:
		return config.Controller{}, fmt.Errorf("--kube-api-burst must not be negative, not %d", t.burst)
	}
	cfg.QPS = float32(t.qps)
	if t.burst > 0 {
		cfg.Burst = t.burst
	}
	return config.Controller{MaxConcurrentReconciles: t.concurrency}, nil
}
