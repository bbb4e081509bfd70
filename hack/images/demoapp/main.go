// Command demoapp is the small web app of the real tier's monitoring checks: "/" answers with a
// greeting (the MESSAGE environment variable), "/metrics" serves Prometheus metrics, among them
// demoapp_requests_total.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := ":" + envOr("PORT", "8080")
	message := envOr("MESSAGE", "hello from the edgeforge demo app")
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "demoapp_requests_total",
		Help: "HTTP requests to / by status code.",
	}, []string{"code"})
	reg.MustRegister(requests)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.WithLabelValues("200").Inc()
		fmt.Fprintln(w, message)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("demoapp listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
