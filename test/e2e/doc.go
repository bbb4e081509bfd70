// Package e2e holds the end-to-end tests of edgeforge. They run against a local control plane
// with kwok fake nodes that TestMain starts through hack/cluster.sh (state in <repo>/.cluster-e2e,
// ports offset by 1000 from the demo cluster so both can run at once).
//
//	go test ./test/e2e/...                        # brings a cluster up, runs, tears it down
//	EDGEFORGE_E2E_KEEP=1 go test ./test/e2e/...   # keeps (and next time reuses) the cluster
//	EDGEFORGE_E2E=0 go test ./...                 # skips the e2e tests
//
// See docs/local-cluster.md.
package e2e
