// Package latecrds holds only tests: edgeforge started before prometheus-operator was installed.
// Each test starts its own API server without prometheus-operator's CRDs, so whether it runs
// never depends on which test of a shared suite installed them first.
package latecrds
