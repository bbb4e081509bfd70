# edgeforge — the index of tasks. `make help` lists them.

include hack/versions.env

# Image of the operator (make docker-build / deploy).
IMG ?= edgeforge/edgeforge:dev
# Bundle version for `make bundle`.
VERSION ?= 0.1.0

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
# Where the local control plane's binaries are cached (built from Go modules, outside the clone).
CONTROLPLANE_BIN = $(shell hack/controlplane.sh)
# The local cluster of `make cluster-up` / `make demo`.
CLUSTER_DIR ?= $(CURDIR)/.cluster
export EDGEFORGE_CLUSTER_DIR := $(CLUSTER_DIR)
KUBECONFIG_LOCAL = $(CLUSTER_DIR)/kubeconfig
KUBECTL = $(CONTROLPLANE_BIN)/kubectl --kubeconfig $(KUBECONFIG_LOCAL)
# prometheus-operator CRDs generated from its API module, for envtest, e2e and the demo.
PROMOP_CRDS = test/crds/prometheus-operator
# Real edge nodes (kubelet + containerd) of `make cluster-up` and `make demo`; 0: kwok nodes only.
REAL_NODES ?= 0
# go test flags; e.g. make test GOTESTFLAGS=-v. Set EDGEFORGE_E2E=0 to skip the e2e package.
GOTESTFLAGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs (config/crd/bases), RBAC (config/rbac/role.yaml) and test CRDs of prometheus-operator.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	@# prometheus-operator's CRDs (for tests and the demo), from the pinned API module go.mod names.
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true,generateEmbeddedObjectMeta=true,maxDescLen=0 \
	  paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
	  output:crd:artifacts:config=$(PROMOP_CRDS)
	rm -f $(addprefix $(PROMOP_CRDS)/monitoring.coreos.com_,alertmanagers.yaml thanosrulers.yaml)

.PHONY: generate
generate: controller-gen ## Generate deepcopy code (zz_generated.deepcopy.go).
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: manifests generate bundle fmt ## Fail if generated code, manifests, the OLM bundle or formatting are out of date.
	@if [ -n "$$(git status --porcelain)" ]; then \
	  echo "Generated or formatted files differ from what is committed; run 'make manifests generate fmt' and commit:"; \
	  git status --porcelain; git --no-pager diff --stat; exit 1; fi

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: controlplane
controlplane: ## Build (or reuse) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, prometheus-operator.
	@echo "control plane binaries: $$(hack/controlplane.sh)"

.PHONY: test
test: manifests generate fmt vet test-deps controlplane realbins build-installer ## Run unit, envtest and e2e tests (real kube-apiserver; e2e on a local cluster with kwok nodes and 2 real nodes).
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" go test ./... -timeout 25m -coverprofile cover.out $(GOTESTFLAGS)

.PHONY: realbins
realbins: ## Build (or reuse) the real tier's binaries: containerd, registry, Kaniko executor, config-reloader, kube-state-metrics.
	@echo "real-tier binaries: $$(hack/realbins.sh)"

.PHONY: test-deps
test-deps: ## Install the Debian packages the tests need (prometheus, runc, CNI plugins, busybox-static, node-exporter, git, ...), if missing.
	hack/test-deps.sh

.PHONY: test-short
test-short: controlplane ## Run unit and envtest tests only (no local cluster).
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" EDGEFORGE_E2E=0 go test ./... -timeout 15m $(GOTESTFLAGS)

# Seconds each fuzz target runs in `make test-reliability` (`make fuzz` alone: FUZZTIME).
RELIABILITY_FUZZTIME ?= 20s

.PHONY: test-reliability
test-reliability: test-deps controlplane realbins ## Reliability suite: every fuzz target for RELIABILITY_FUZZTIME (20s) each, a request flood on envtest, then on a fresh local cluster (kwok nodes) an operator kill storm, leader failover, API server restarts, the operator cut off during a token rotation (docs/reliability.md).
	$(MAKE) fuzz FUZZTIME=$(RELIABILITY_FUZZTIME)
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" EDGEFORGE_RELIABILITY=1 \
	  go test ./controllers/ -run 'TestRequestRateUnderFlood' -count=1 -timeout 10m -v $(GOTESTFLAGS)
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" EDGEFORGE_RELIABILITY=1 EDGEFORGE_E2E_REAL_NODES=0 \
	  go test ./test/e2e/ -run 'TestKillStorm|TestLeaderFailover|TestAPIServerRestarts|TestOperatorCutOffDuringTokenRotation' -count=1 -timeout 30m -v $(GOTESTFLAGS)

.PHONY: bench
bench: controlplane ## Measure the performance budget (docs/performance.md) on the local cluster with 1,000 kwok nodes and print one table: P1 converge vs. the floor at 1,000 and 5,000 AppDeployments, P2 writes at rest, P3 peak RSS, P4 build -> rollout hand-off, P5 Ready change -> pool status, P6 a 10,000-node pool. Fails when a figure misses its budget (about an hour on 2 cores).
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" EDGEFORGE_BENCH=1 EDGEFORGE_E2E_REAL_NODES=0 go test ./test/e2e/ -run '^TestBench$$' -count=1 -v -timeout 150m $(GOTESTFLAGS)

.PHONY: bench-envtest
bench-envtest: controlplane ## Quick benchmarks on envtest (no kube-controller-manager): a 1,000-node pool, 1,000 AppDeployments converging; for trying flags such as --concurrency.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" EDGEFORGE_SCALE_TEST=1 go test ./controllers/edgecluster/ -run TestPoolOf1000Nodes -count=1 -v -timeout 20m $(GOTESTFLAGS)
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" EDGEFORGE_SCALE_TEST=1 go test ./controllers/appdeployment/ -run TestConvergenceOf1000Apps -count=1 -v -timeout 20m $(GOTESTFLAGS)

# Seconds each fuzz target of `make fuzz` runs.
FUZZTIME ?= 60s
# package:target of every fuzz target (go test -fuzz runs one target of one package at a time).
FUZZ_TARGETS = internal/imagebuild:FuzzParseDigest internal/imagebuild:FuzzImageWithDigest \
  internal/imagebuild:FuzzInlineContextFiles internal/edge:FuzzShellQuote internal/edge:FuzzServingCSRDecision \
  internal/edge:FuzzClientCSRPool internal/edge:FuzzClientCSRDecision internal/edge:FuzzPlanNodeTemplateTaints \
  internal/monitoring:FuzzGrafanaINI

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 60s) each, with Go FUZZ_GOTOOLCHAIN (hack/versions.env); their seed corpora also run in `make test`.
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t ($(FUZZTIME))"; \
	  GOTOOLCHAIN=$(FUZZ_GOTOOLCHAIN) go test ./$${t%%:*} -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

.PHONY: e2e
e2e: controlplane realbins ## Run only the end-to-end tests on a fresh local cluster (EDGEFORGE_E2E_REAL_NODES=0: without real nodes).
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" go test ./test/e2e/... -timeout 25m -v $(GOTESTFLAGS)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary into bin/manager.
	CGO_ENABLED=0 go build -o $(LOCALBIN)/manager .

.PHONY: run
run: manifests generate fmt vet ## Run the operator from your host against the local cluster (or $$KUBECONFIG).
	KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_LOCAL)} go run . --namespace=edgeforge-system

##@ Local cluster

.PHONY: cluster-up
cluster-up: ## Start the local cluster (control plane, prometheus-operator, kwok nodes); REAL_NODES=N adds the real tier (registry, N joined kubelet+containerd nodes, the operator).
	REAL_NODES=$(REAL_NODES) hack/cluster.sh up
	@if [ "$(REAL_NODES)" -gt 0 ]; then $(MAKE) --no-print-directory build && hack/cluster.sh operator && hack/cluster.sh join; fi

.PHONY: cluster-down
cluster-down: ## Stop everything cluster-up and demo started and remove the local cluster's state.
	hack/cluster.sh down

.PHONY: demo
demo: build ## Cluster up, CRDs installed, operator running, samples applied, `kubectl get edgeforge`.
	REAL_NODES=$(REAL_NODES) hack/demo.sh

.PHONY: demo-real
demo-real: build realbins ## make demo plus the real tier: 2 real nodes joined, a real Kaniko build pushed, its app answering HTTP (needs root).
	REAL_NODES=$(or $(filter-out 0,$(REAL_NODES)),2) hack/demo.sh

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of $$KUBECONFIG (default: the local cluster).
	$(CONTROLPLANE_BIN)/kubectl --kubeconfig $${KUBECONFIG:-$(KUBECONFIG_LOCAL)} apply --server-side -f config/crd/bases

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and with them every edgeforge object) from the cluster.
	$(CONTROLPLANE_BIN)/kubectl --kubeconfig $${KUBECONFIG:-$(KUBECONFIG_LOCAL)} delete --ignore-not-found -f config/crd/bases

.PHONY: deploy
deploy: manifests ## Deploy the operator (config/default, image $$IMG) into the cluster of $$KUBECONFIG.
	hack/render-default.sh "$(IMG)" | $(CONTROLPLANE_BIN)/kubectl --kubeconfig $${KUBECONFIG:-$(KUBECONFIG_LOCAL)} apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove what deploy installed.
	hack/render-default.sh "$(IMG)" | $(CONTROLPLANE_BIN)/kubectl --kubeconfig $${KUBECONFIG:-$(KUBECONFIG_LOCAL)} delete --ignore-not-found -f -

##@ Release (image, installer, OLM bundle)

# Container engine for docker-build/docker-push/bundle-build: docker or podman.
CONTAINER_TOOL ?= docker
# The base images the Dockerfile builds FROM (read from it, so they are named in one place).
BASE_IMAGES = $(shell awk 'toupper($$1) == "FROM" { for (i = 2; i <= NF; i++) if ($$i !~ /^--/) { print $$i; break } }' Dockerfile)
# make build-installer writes the single install YAML here.
INSTALLER ?= dist/install.yaml
# make bundle: the CSV this version replaces (edgeforge.v<older version>), empty for none.
REPLACES ?=
# OLM channels the bundle is published in, and the default one.
CHANNELS ?= alpha
DEFAULT_CHANNEL ?= alpha
# The bundle image (make bundle-build).
BUNDLE_IMG ?= edgeforge/edgeforge-bundle:v$(VERSION)

.PHONY: docker-build
docker-build: ## Build the operator image IMG with CONTAINER_TOOL (docker or podman); one clear sentence when it cannot.
	@if ! command -v $(CONTAINER_TOOL) >/dev/null 2>&1; then \
	  echo "docker-build: cannot build $(IMG): there is no container engine ('$(CONTAINER_TOOL)' is not installed); install docker or podman, or set CONTAINER_TOOL." >&2; exit 1; fi
	@if ! $(CONTAINER_TOOL) info >/dev/null 2>&1; then \
	  echo "docker-build: cannot build $(IMG): $(CONTAINER_TOOL) is installed but its engine does not answer ('$(CONTAINER_TOOL) info' fails); start the daemon or use an account that may talk to it." >&2; exit 1; fi
	@missing=""; for img in $(BASE_IMAGES); do \
	  $(CONTAINER_TOOL) image inspect "$$img" >/dev/null 2>&1 || $(CONTAINER_TOOL) pull -q "$$img" >/dev/null 2>&1 || missing="$${missing:+$$missing / }$$img"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "docker-build: cannot build $(IMG): the container engine cannot pull $$missing (no registry access); build on a machine with registry access or pre-load those images." >&2; exit 1; fi
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image IMG.
	@command -v $(CONTAINER_TOOL) >/dev/null 2>&1 || { echo "docker-push: cannot push $(IMG): there is no container engine ('$(CONTAINER_TOOL)' is not installed)." >&2; exit 1; }
	@$(CONTAINER_TOOL) push $(IMG) || { echo "docker-push: cannot push $(IMG): the registry refused it or cannot be reached (see above); log in with '$(CONTAINER_TOOL) login' on a machine with registry access." >&2; exit 1; }

.PHONY: build-installer
build-installer: manifests ## Write one install YAML (INSTALLER, default dist/install.yaml) from config/default with image IMG.
	@mkdir -p $(dir $(INSTALLER))
	hack/render-default.sh "$(IMG)" > $(INSTALLER).tmp
	@mv $(INSTALLER).tmp $(INSTALLER)
	@echo "wrote $(INSTALLER) (image $(IMG)): kubectl apply --server-side -f $(INSTALLER)"

.PHONY: bundle
bundle: manifests ## Generate the OLM bundle (bundle/, bundle.Dockerfile) for VERSION, IMG and optional REPLACES=edgeforge.v<older>.
	hack/render-default.sh "$(IMG)" | go run ./hack/bundle --version "$(VERSION)" --replaces "$(REPLACES)" \
	  --image "$(IMG)" --channels "$(CHANNELS)" --default-channel "$(DEFAULT_CHANNEL)"

.PHONY: bundle-build
bundle-build: ## Build the bundle image BUNDLE_IMG from bundle/ (FROM scratch: needs an engine, no registry).
	@command -v $(CONTAINER_TOOL) >/dev/null 2>&1 || { echo "bundle-build: cannot build $(BUNDLE_IMG): there is no container engine ('$(CONTAINER_TOOL)' is not installed); install docker or podman, or set CONTAINER_TOOL." >&2; exit 1; }
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) bundle

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN): hack/versions.env
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	@touch $(CONTROLLER_GEN)
