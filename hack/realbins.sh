#!/usr/bin/env bash
# Builds the binaries of the real tier from Go modules and prints the directory holding them:
#   containerd, containerd-shim-runc-v2, ctr   (github.com/containerd/containerd/v2)
#   registry                                  (github.com/distribution/distribution/v3)
#   executor                                  (the Kaniko executor, $KANIKO_MODULE)
#   prometheus-config-reloader                (a copy of hack/controlplane.sh's)
#   kube-state-metrics                        (k8s.io/kube-state-metrics/v2)
#   prometheus                                (github.com/prometheus/prometheus ./cmd/prometheus)
#   pause, demoapp, edgeforge-index           (this repository: hack/images/pause, hack/images/demoapp,
#                                              cmd/edgeforge-index)
#
# Each module is built from its own go.mod and go.sum, as its release does (a copy of the module
# from the Go module cache), so the dependencies are the ones its authors pinned. Nothing is
# downloaded but Go modules. Binaries are cached outside the clone under
#   ${EDGEFORGE_CACHE:-~/.cache/edgeforge}/realtier/<versions>/
# and built only when missing. Cold build: see docs/local-cluster.md.
#
# Usage: hack/realbins.sh        # build if needed, print the bin dir on stdout
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
source "$repo/hack/versions.env"

cache_root=${EDGEFORGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeforge}
key="containerd${CONTAINERD_VERSION}-registry${DISTRIBUTION_VERSION}-kaniko${KANIKO_VERSION}-promop${PROMETHEUS_OPERATOR_VERSION}-ksm${KUBE_STATE_METRICS_VERSION}-prom${PROMETHEUS_VERSION}"
bindir="$cache_root/realtier/$key"
log() { echo "realbins: $*" >&2; }
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=-mod=mod GOWORK=off

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$bindir"
start=$(date +%s)
built=0

# from_module <module@version> <out> <package> [go build flags...]: build <package> of the module
# in a writable copy of it, with the module's own go.mod.
from_module() {
  local modver=$1 out=$2 pkg=$3 dir src
  shift 3
  [ -x "$bindir/$out" ] && return 0
  log "building $out from $modver"
  dir=$(cd "$work" && go mod download -json "$modver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir" ] || { log "cannot download $modver from the Go module proxy"; exit 1; }
  src="$work/src-${out}"
  rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  (cd "$src" && go build -trimpath "$@" -o "$bindir/$out.tmp" "$pkg") || { log "building $out failed"; exit 1; }
  mv "$bindir/$out.tmp" "$bindir/$out"
  rm -rf "$src"
  built=1
}

(cd "$work" && go mod init edgeforge.local/realbins >/dev/null 2>&1)

from_module "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" containerd ./cmd/containerd \
  -tags "no_btrfs no_zfs no_devmapper no_aufs" -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}"
from_module "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" containerd-shim-runc-v2 ./cmd/containerd-shim-runc-v2 \
  -ldflags "-s -w"
from_module "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" ctr ./cmd/ctr \
  -tags "no_btrfs no_zfs no_devmapper no_aufs" -ldflags "-s -w"
from_module "github.com/distribution/distribution/v3@${DISTRIBUTION_VERSION}" registry ./cmd/registry \
  -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=${DISTRIBUTION_VERSION}"
from_module "${KANIKO_MODULE}@${KANIKO_VERSION}" executor ./cmd/executor \
  -ldflags "-s -w -X ${KANIKO_MODULE}/pkg/version.version=${KANIKO_VERSION}"
# prometheus-config-reloader is built with prometheus-operator by hack/controlplane.sh.
if [ ! -x "$bindir/prometheus-config-reloader" ]; then
  cp "$("$repo/hack/controlplane.sh")/prometheus-config-reloader" "$bindir/prometheus-config-reloader"
fi
# kube-state-metrics v2.16.0 is on the module proxy but not in the checksum database (it answers
# 404 for it), so only this module skips that lookup; go.sum of the module itself still pins
# every dependency.
GONOSUMDB=k8s.io/kube-state-metrics from_module "k8s.io/kube-state-metrics/v2@${KUBE_STATE_METRICS_VERSION}" kube-state-metrics . \
  -ldflags "-s -w"

# Prometheus with its service discoveries (Kubernetes among them); the API is all the tests
# use, so the web UI's assets are not embedded.
from_module "github.com/prometheus/prometheus@${PROMETHEUS_MODULE_VERSION}" prometheus ./cmd/prometheus \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v} -X github.com/prometheus/common/version.Branch=release"

# This repository's own small programs (part of the main module).
# edgeforge-index is the tool of the index Job of multi-platform ImageBuilds (--index-image).
for src in hack/images/pause hack/images/demoapp cmd/edgeforge-index; do
  p=${src##*/}
  if [ ! -x "$bindir/$p" ] || [ -n "$(find "$repo/$src" -newer "$bindir/$p" -name '*.go' 2>/dev/null)" ]; then
    log "building $p"
    (cd "$repo" && GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$bindir/$p" "./$src") || { log "building $p failed"; exit 1; }
    built=1
  fi
done

[ "$built" = 0 ] || log "real-tier binaries ready in $(( $(date +%s) - start ))s: $bindir"
echo "$bindir"
