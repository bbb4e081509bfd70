#!/usr/bin/env bash
# Installs the Debian packages the tests need beyond Go, when something is missing:
#   - promtool and prometheus (prometheus): checks of the MonitoringStack's rules and dashboards
#     (Debian's Prometheus lacks Kubernetes discovery: the real tier builds its own);
#   - the real tier's node parts and images (hack/realtier.sh): runc, the CNI plugins
#     (containernetworking-plugins), iptables, nsenter (util-linux), ip (iproute2), busybox-static
#     (the base image of test builds), prometheus-node-exporter, git (git-source builds), and
#     openssl, curl, ss for hack/cluster.sh.
# Idempotent: prints nothing and exits 0 when everything is there.
set -euo pipefail

# tool (a command or a file) -> Debian package
pairs=(
  promtool:prometheus prometheus:prometheus
  runc:runc /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables
  nsenter:util-linux setsid:util-linux ip:iproute2 ss:iproute2 /bin/busybox:busybox-static
  prometheus-node-exporter:prometheus-node-exporter git:git openssl:openssl curl:curl
  /etc/ssl/certs/ca-certificates.crt:ca-certificates
)
missing=()
for pair in "${pairs[@]}"; do
  tool=${pair%%:*} pkg=${pair#*:}
  if [[ "$tool" == /* ]]; then [ -e "$tool" ] && continue; else command -v "$tool" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "hack/test-deps.sh: missing Debian packages and installing them needs root: run 'sudo apt-get install -y ${missing[*]}'." >&2
  exit 1
fi

echo "installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# --no-install-recommends: the packages' services are not wanted (tests start their own).
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pair in "${pairs[@]}"; do
  tool=${pair%%:*}
  if [[ "$tool" == /* ]]; then [ -e "$tool" ] && continue; else command -v "$tool" >/dev/null 2>&1 && continue; fi
  echo "hack/test-deps.sh: $tool is still missing after installing ${pair#*:}." >&2
  exit 1
done
