#!/usr/bin/env bash
# Local test cluster for edgeforge: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
# and kwok (fake nodes and pods), all on 127.0.0.1, built from Go modules by hack/controlplane.sh.
#
# Usage: hack/cluster.sh up|down|status            (REAL_NODES=N up: also the real tier, hack/realtier.sh)
#        hack/cluster.sh operator                   start (or restart) bin/manager against the cluster
#        hack/cluster.sh join                       real nodes join REAL_POOL through its join Secret
#        hack/cluster.sh node stop|start <i>        stop or start the kubelet of real node i
#        hack/cluster.sh node cut|heal <i>          cut or restore real node i's network (its veth)
#
# Everything lives in the state dir ${EDGEFORGE_CLUSTER_DIR:-<repo>/.cluster}: certificates,
# etcd data, logs, pidfiles and the admin kubeconfig at <state>/kubeconfig.
# See docs/local-cluster.md for ports, environment variables and the kwok stages.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
source "$repo/hack/versions.env"

state=${EDGEFORGE_CLUSTER_DIR:-$repo/.cluster}
state=$(realpath -m "$state")
offset=${EDGEFORGE_PORT_OFFSET:-0}
apiserver_port=${EDGEFORGE_APISERVER_PORT:-$((16443 + offset))}
etcd_port=${EDGEFORGE_ETCD_PORT:-$((23790 + offset))}
etcd_peer_port=${EDGEFORGE_ETCD_PEER_PORT:-$((23800 + offset))}
kcm_port=${EDGEFORGE_KCM_PORT:-$((16257 + offset))}
scheduler_port=${EDGEFORGE_SCHEDULER_PORT:-$((16259 + offset))}
kwok_port=${EDGEFORGE_KWOK_PORT:-$((16247 + offset))}
promop_port=${EDGEFORGE_PROMETHEUS_OPERATOR_PORT:-$((16280 + offset))}
wait_timeout=${EDGEFORGE_CLUSTER_TIMEOUT:-120}
stop_timeout=${EDGEFORGE_STOP_TIMEOUT:-15}

service_cidr=10.96.0.0/16
service_ip=10.96.0.1 # first address of service_cidr: the "kubernetes" Service
pod_cidr=10.64.0.0/12 # kwok hands out pod IPs from here

components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok prometheus-operator)
marker=.edgeforge-cluster # marks a state dir as ours: only such a dir is ever removed

pki=$state/pki
run=$state/run
logs=$state/logs
kubeconfig=$state/kubeconfig
bindir=
cache_root=${EDGEFORGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeforge}
# shellcheck source=realtier.sh
source "$repo/hack/realtier.sh"

# shellcheck source=cluster/lib.sh
source "$repo/hack/cluster/lib.sh"
# shellcheck source=cluster/pki.sh
source "$repo/hack/cluster/pki.sh"
# shellcheck source=cluster/control-plane.sh
source "$repo/hack/cluster/control-plane.sh"
# shellcheck source=cluster/nodes.sh
source "$repo/hack/cluster/nodes.sh"

# ---------------------------------------------------------------- commands

kubectl() { "$bindir/kubectl" --kubeconfig "$kubeconfig" "$@"; }

usage_hint() {
  cat <<EOF

edgeforge local cluster is up (state: $state)
  export KUBECONFIG=$kubeconfig
  export PATH=$bindir:\$PATH   # kubectl $KUBERNETES_VERSION
  kubectl get nodes -L kubernetes.io/arch,node-restriction.kubernetes.io/edge-cluster
Stop it with: hack/cluster.sh down
EOF
}

healthy() {
  local c
  for c in "${components[@]}"; do is_ours "$c" || return 1; done
  curl_admin "https://127.0.0.1:$apiserver_port/readyz" >/dev/null 2>&1
}

# The ports and binaries a running cluster was started with (status and down use these).
load_recorded_env() {
  if [ -f "$state/cluster.env" ]; then
    # shellcheck disable=SC1091
    source "$state/cluster.env"
  fi
}

check_state_dir() {
  case "$state" in "" | / | "$HOME" | "$repo") die "refusing to use $state as the state dir" ;; esac
  if [ -d "$state" ] && [ ! -f "$state/$marker" ] && [ -n "$(ls -A "$state")" ]; then
    die "$state exists and is not an edgeforge cluster dir (no $marker); set EDGEFORGE_CLUSTER_DIR"
  fi
}

cmd_up() {
  check_state_dir
  if [ -d "$state" ]; then
    if (load_recorded_env && healthy && [ "${real_nodes_recorded:-0}" = "$real_nodes" ] &&
      log "already running and healthy" && usage_hint); then
      return 0
    fi
    log "cleaning stale state in $state"
    (load_recorded_env && stop_all)
    rm -rf "$state"
  fi
  ((real_nodes == 0)) || real_check_host
  real_cleanup_stale
  check_ports

  bindir=$("$repo/hack/controlplane.sh")
  mkdir -p "$state" "$run" "$logs" "$state/kwok"
  (umask 077 && mkdir -p "$state/etcd")
  touch "$state/$marker"
  cat >"$state/cluster.env" <<EOF
bindir=$bindir
apiserver_port=$apiserver_port
etcd_port=$etcd_port
etcd_peer_port=$etcd_peer_port
kcm_port=$kcm_port
scheduler_port=$scheduler_port
kwok_port=$kwok_port
promop_port=$promop_port
real_nodes_recorded=$real_nodes
EOF
  # If anything below fails, stop what was started; logs stay until "down" or the next "up".
  trap 'log "up failed: stopping what was started (logs kept in $logs)"; stop_all' EXIT
  gen_pki
  for c in admin kube-controller-manager kube-scheduler kwok; do
    write_kubeconfig "$state/$c.kubeconfig" "$c"
  done
  mv "$state/admin.kubeconfig" "$kubeconfig"
  ((real_nodes == 0)) || { write_kubeconfig "$state/kube-proxy.kubeconfig" kube-proxy "$real_host_ip" && real_network_up; }
  start_etcd
  start_apiserver
  start_controller_manager
  start_scheduler
  start_kwok
  wait_for_control_plane
  kubeadm_like_setup
  real_up
  start_prometheus_operator
  create_nodes
  wait_for kwok "fake nodes to become Ready" kubectl wait --for=condition=Ready node --all --timeout=5s
  trap - EXIT
  kubectl get nodes -L kubernetes.io/arch,node-restriction.kubernetes.io/edge-cluster >&2
  usage_hint
}
cmd_down() {
  check_state_dir
  if [ ! -d "$state" ]; then
    log "nothing to do: $state does not exist"
    return 0
  fi
  load_recorded_env
  stop_all
  rm -rf "$state"
  real_cleanup_stale
  local p busy=()
  for p in "$apiserver_port" "$etcd_port" "$etcd_peer_port" "$kcm_port" "$scheduler_port" "$kwok_port" "$promop_port"; do
    port_in_use "$p" && busy+=("$p")
  done
  if ((${#busy[@]})); then
    log "warning: ports still in use after down: ${busy[*]}"
  fi
  log "stopped; removed $state"
}

cmd_status() {
  if [ ! -d "$state" ]; then
    echo "not running (no $state)"
    return 1
  fi
  load_recorded_env
  local c ok=0
  for c in "${components[@]}"; do
    if is_ours "$c"; then
      printf '%-24s running (pid %s)\n' "$c" "$(cat "$(pidfile "$c")")"
    else
      printf '%-24s not running\n' "$c"
      ok=1
    fi
  done
  if curl_admin "https://127.0.0.1:$apiserver_port/readyz" >/dev/null 2>&1; then
    echo "kube-apiserver           ready at https://127.0.0.1:$apiserver_port"
    echo "kubeconfig               $kubeconfig"
    kubectl get nodes -L kubernetes.io/arch,node-restriction.kubernetes.io/edge-cluster || true
  else
    echo "kube-apiserver           not ready at https://127.0.0.1:$apiserver_port"
    ok=1
  fi
  return $ok
}

# cmd_operator: (re)start the operator built by `make build` (bin/manager) against this cluster,
# with the real tier's Kaniko image when there is one. Log: <state>/logs/manager.log.
cmd_operator() {
  [ -d "$state" ] || die "no cluster in $state: run 'hack/cluster.sh up' first"
  load_recorded_env
  [ -x "$repo/bin/manager" ] || die "$repo/bin/manager is missing: run 'make build'"
  stop manager
  kubectl create namespace edgeforge-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
  local args=(--kubeconfig "$kubeconfig" --namespace edgeforge-system
    --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 0)
  if [ -f "$state/env" ]; then
    # shellcheck disable=SC1091
    source "$state/env"
    args+=(--kaniko-image "$KANIKO_IMAGE" --index-image "$INDEX_IMAGE" --node-exporter-image "$NODE_EXPORTER_IMAGE"
      --kube-state-metrics-image "$KUBE_STATE_METRICS_IMAGE" --prometheus-version "${PROMETHEUS_IMAGE##*:}")
  fi
  start manager "$repo/bin/manager" "${args[@]}"
  sleep 2
  is_ours manager || fail_with_log manager "the operator exited"
  log "operator running (pid $(cat "$(pidfile manager)"), log $logs/manager.log)"
}

cmd_join() {
  [ -d "$state" ] || die "no cluster in $state: run 'REAL_NODES=N hack/cluster.sh up' first"
  load_recorded_env
  real_nodes=${real_nodes_recorded:-0} realbin=${realbin_recorded:-}
  ((real_nodes > 0)) || die "this cluster has no real nodes: start it with REAL_NODES=N"
  bindir=${bindir:-$("$repo/hack/controlplane.sh")}
  real_join
}

# cmd_node stop|start|cut|heal <i>: the kubelet of real node i, or its network: cut takes the
# host end of the node's veth down, so nothing reaches the node and nothing leaves it (a WAN cut:
# its processes keep running), heal brings it up again (for tests of node loss and network cuts).
cmd_node() {
  local verb=${1:-} i=${2:-}
  [[ "$i" =~ ^[1-9]$ ]] || die "usage: $0 node stop|start|cut|heal <i>"
  load_recorded_env
  real_nodes=${real_nodes_recorded:-0} realbin=${realbin_recorded:-}
  ((i <= real_nodes)) || die "there is no real node $i (REAL_NODES=$real_nodes)"
  case "$verb" in
    stop) stop "kubelet@$(real_node_name "$i")" ;;
    start) is_ours "kubelet@$(real_node_name "$i")" || real_kubelet_start "$i" ;;
    cut) ip link set "$(real_veth "$i")" down && log "$(real_node_name "$i")'s network cut" ;;
    heal) ip link set "$(real_veth "$i")" up && log "$(real_node_name "$i")'s network restored" ;;
    *) die "usage: $0 node stop|start|cut|heal <i>" ;;
  esac
}

# cmd_apiserver kill|start: SIGKILL kube-apiserver, or start it again with the flags of "up"
# (for tests of API server restarts; etcd keeps the state).
cmd_apiserver() {
  [ -d "$state" ] || die "no cluster in $state: run 'hack/cluster.sh up' first"
  load_recorded_env
  real_nodes=${real_nodes_recorded:-0}
  case "${1:-}" in
    kill)
      is_ours kube-apiserver || die "kube-apiserver of $state is not running"
      kill -KILL "$(cat "$(pidfile kube-apiserver)")"
      local k
      for ((k = 0; k < 100; k++)); do is_ours kube-apiserver || break; sleep 0.1; done
      rm -f "$(pidfile kube-apiserver)"
      log "kube-apiserver killed"
      ;;
    start)
      is_ours kube-apiserver && die "kube-apiserver of $state is already running"
      start_apiserver
      ;;
    *) die "usage: $0 apiserver kill|start" ;;
  esac
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  operator) cmd_operator ;;
  join) cmd_join ;;
  node) cmd_node "${2:-}" "${3:-}" ;;
  apiserver) cmd_apiserver "${2:-}" ;;
  *)
    echo "usage: $0 up|down|status|operator|join|node|apiserver" >&2
    exit 2
    ;;
esac
