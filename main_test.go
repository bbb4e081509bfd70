package main

import (
	"testing"

	"k8s.io/client-go/rest"
)

func TestAPITuning(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tuning      apiTuning
		wantErr     bool
		qps         float32
		burst       int
		concurrency int
	}{
		{"defaults: no client-side limit, eight reconciles at a time", apiTuning{concurrency: 8, qps: -1}, false, -1, 7, 8},
		{"a limit and a burst", apiTuning{concurrency: 4, qps: 50, burst: 100}, false, 50, 100, 4},
		{"a limit, the burst left alone", apiTuning{concurrency: 2, qps: 50}, false, 50, 7, 2},
		{"no concurrency", apiTuning{concurrency: 0, qps: -1}, true, 0, 0, 0},
		{"qps 0 would mean client-go's hidden default", apiTuning{concurrency: 1, qps: 0}, true, 0, 0, 0},
		{"negative burst", apiTuning{concurrency: 1, qps: 5, burst: -1}, true, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &rest.Config{Burst: 7}
			got, err := tc.tuning.apply(cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if cfg.QPS != tc.qps || cfg.Burst != tc.burst || got.MaxConcurrentReconciles != tc.concurrency {
				t.Fatalf("QPS %v, burst %d, concurrency %d; want %v, %d, %d", cfg.QPS, cfg.Burst, got.MaxConcurrentReconciles, tc.qps, tc.burst, tc.concurrency)
			}
		})
	}
}
