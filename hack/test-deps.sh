#!/usr/bin/env bash
# Installs what the tests need beyond Go: promtool and prometheus (Debian's prometheus package),
# for the real-tool checks of the MonitoringStack's built-in alerts and dashboards
# (internal/monitoring). Idempotent: prints nothing and exits 0 when both are on PATH.
set -euo pipefail

have() { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; }
have && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "hack/test-deps.sh: promtool and prometheus are missing and installing them needs root: run 'sudo apt-get install -y prometheus' (Debian/Ubuntu) or put both on PATH." >&2
  exit 1
fi

echo "installing Debian's prometheus package (promtool, prometheus) for the rule and dashboard checks"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# The package's service is not wanted: tests start their own Prometheus on a loopback port.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if ! have; then
  echo "hack/test-deps.sh: the prometheus package is installed but promtool or prometheus is still not on PATH." >&2
  exit 1
fi
