#!/usr/bin/env bash
# Builds the local control plane from Go modules and prints the directory holding the binaries:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok,
#   prometheus-operator (so the local cluster runs MonitoringStacks for real) and its
#   prometheus-config-reloader (an image of the real tier, hack/imagetool),
#   kubelet and kube-proxy (the real edge nodes of the real tier, hack/realnode.sh)
#
# Nothing is downloaded but Go modules. Binaries are cached outside the clone under
#   ${EDGEFORGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeforge}/controlplane/<k8s>-<etcd>-<kwok>/
# so a second run (and CI after a warm session) is instant. Cold build: measured 25 min on 2 busy cores (docs/local-cluster.md).
#
# Usage: hack/controlplane.sh            # build if needed, print the bin dir on stdout
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${EDGEFORGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeforge}
bindir="$cache_root/controlplane/${KUBERNETES_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}"
k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
bins=(etcd "${k8s_bins[@]}" kwok prometheus-operator prometheus-config-reloader)

have_all() {
  local b
  for b in "${bins[@]}"; do [ -x "$bindir/$b" ] || return 1; done
}

if have_all; then
  echo "$bindir"
  exit 0
fi

log() { echo "controlplane: $*" >&2; }
mkdir -p "$bindir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

staging_minor="v0.${KUBERNETES_VERSION#v1.}"   # v1.37.2 -> v0.37.2
start=$(date +%s)

k8s_missing=()
for c in "${k8s_bins[@]}"; do [ -x "$bindir/$c" ] || k8s_missing+=("$c"); done
if [ "${#k8s_missing[@]}" -gt 0 ]; then
  log "building Kubernetes $KUBERNETES_VERSION components (cold: several minutes)"
  mod="$work/k8s"
  mkdir -p "$mod"
  # k8s.io/kubernetes replaces its staging modules with local paths; a consumer must replace
  # each with the published module of the same minor. The list comes from its own go.mod.
  (cd "$mod" && go mod init edgeforge.local/controlplane >/dev/null 2>&1)
  (cd "$mod" && go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" >/dev/null)
  kmod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$kmod" ] || { log "cannot read go.mod of k8s.io/kubernetes@${KUBERNETES_VERSION} from the Go module proxy"; exit 1; }
  staging=$(grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk '{print $1}')
  {
    echo "module edgeforge.local/controlplane"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes ${KUBERNETES_VERSION}"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_minor"; done
    echo ")"
  } > "$mod/go.mod"
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
GO
  (cd "$mod" && go mod tidy -e >&2 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; exit 1; }
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=${KUBERNETES_VERSION}"
  for c in "${k8s_missing[@]}"; do
    log "go build $c"
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bindir/$c.tmp" "k8s.io/kubernetes/cmd/$c") && mv "$bindir/$c.tmp" "$bindir/$c"
  done
fi

if [ ! -x "$bindir/etcd" ]; then
  log "building etcd $ETCD_VERSION"
  mod="$work/etcd"
  mkdir -p "$mod"
  (cd "$mod" && go mod init edgeforge.local/etcd >/dev/null 2>&1 &&
    go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2 &&
    go build -trimpath -ldflags "-s -w" -o "$bindir/etcd.tmp" go.etcd.io/etcd/server/v3) && mv "$bindir/etcd.tmp" "$bindir/etcd"
fi

if [ ! -x "$bindir/kwok" ]; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$work/gobin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}" >&2
  mv "$work/gobin/kwok" "$bindir/kwok"
fi

if [ ! -x "$bindir/prometheus-operator" ] || [ ! -x "$bindir/prometheus-config-reloader" ]; then
  log "building prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
  mod="$work/promop"
  mkdir -p "$mod"
  # Like k8s.io/kubernetes, its go.mod replaces two of its own modules with local paths.
  cat >"$mod/go.mod" <<GOMOD
module edgeforge.local/promop

go 1.26

require github.com/prometheus-operator/prometheus-operator ${PROMETHEUS_OPERATOR_VERSION}

replace (
	github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring => github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring ${PROMETHEUS_OPERATOR_VERSION}
	github.com/prometheus-operator/prometheus-operator/pkg/client => github.com/prometheus-operator/prometheus-operator/pkg/client ${PROMETHEUS_OPERATOR_VERSION}
)
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"\n\t_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"\n)\n' >"$mod/tools.go"
  (cd "$mod" && go mod tidy >&2)
  for c in operator:prometheus-operator prometheus-config-reloader:prometheus-config-reloader; do
    (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bindir/${c#*:}.tmp" \
      "github.com/prometheus-operator/prometheus-operator/cmd/${c%%:*}") && mv "$bindir/${c#*:}.tmp" "$bindir/${c#*:}"
  done
fi

have_all || { log "some binaries are missing in $bindir"; exit 1; }
log "control plane ready in $(( $(date +%s) - start ))s: $bindir"
echo "$bindir"
