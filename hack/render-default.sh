#!/usr/bin/env bash
# Renders config/default (CRDs, RBAC, manager) with the manager image (and EDGEFORGE_INDEX_IMAGE,
# the default --index-image) set to $1, on stdout.
# Uses the kustomize built into the kubectl that hack/controlplane.sh builds.
set -euo pipefail
img=${1:?usage: hack/render-default.sh IMAGE}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$("$root/hack/controlplane.sh")
"$bin/kubectl" kustomize "$root/config/default" | sed "s#\(image\|value\): controller:latest#\1: ${img}#"
