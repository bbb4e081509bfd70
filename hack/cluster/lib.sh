# Logging, processes, waiting and ports of the local cluster (sourced by hack/cluster.sh).

log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes

pidfile() { echo "$run/$1.pid"; }

# is_ours <component>: the pidfile names a live process that runs <component> from this state dir.
# A component "<binary>@<instance>" (kubelet@edge-real-1) runs <binary>.
is_ours() {
  local f pid stat cmd
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  stat=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$stat" != Z ] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ "${cmd%% *}" == */"${1%%@*}" ]] && [[ "$cmd" == *"$state/"* ]]
}

# start <component> <binary> args...: run detached (own session), logs and pid in the state dir.
start() {
  local name=$1
  shift
  log "starting $name"
  setsid "$@" </dev/null >>"$logs/$name.log" 2>&1 &
  echo $! >"$(pidfile "$name")"
}

# stop <component>: SIGTERM, then SIGKILL after $stop_timeout seconds; only if the pid is ours.
stop() {
  local name=$1 f pid i
  f=$(pidfile "$name")
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if ! is_ours "$name"; then
    if [ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      log "not stopping pid $pid from $f: it is not $name of $state"
    fi
    rm -f "$f"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_timeout * 10; i++)); do
    is_ours "$name" || break
    sleep 0.1
  done
  if is_ours "$name"; then
    log "$name (pid $pid) ignored SIGTERM for ${stop_timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      is_ours "$name" || break
      sleep 0.1
    done
  fi
  rm -f "$f"
}

stop_all() {
  local i
  # The operator `make demo` runs against this cluster (hack/demo.sh) goes first.
  stop manager
  real_down
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do stop "${components[i]}"; done
}

any_pidfile() { compgen -G "$run/*.pid" >/dev/null; }

# ---------------------------------------------------------------- waiting

fail_with_log() {
  local name=$1
  shift
  log "error: $*"
  if [ -f "$logs/$name.log" ]; then
    log "last lines of $logs/$name.log:"
    tail -n 40 "$logs/$name.log" >&2
  fi
  exit 1
}

# wait_for <component> <what> cmd...: poll cmd until it succeeds; fail early if the component died.
wait_for() {
  local name=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + wait_timeout))
  until "$@" >/dev/null 2>&1; do
    is_ours "$name" || fail_with_log "$name" "$name exited while waiting for $what"
    ((SECONDS < deadline)) || fail_with_log "$name" "timed out after ${wait_timeout}s waiting for $what"
    sleep 0.5
  done
}

curl_admin() {
  curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"
}

# ---------------------------------------------------------------- ports

# port_owner <port>: "by <program> (pid N)" when ss can tell, else nothing.
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -nE 's/.*users:\(\("([^"]+)",pid=([0-9]+).*/by \1 (pid \2)/p' | head -n1
}

port_in_use() {
  [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

check_ports() {
  local entry port var
  for entry in "$apiserver_port EDGEFORGE_APISERVER_PORT" "$etcd_port EDGEFORGE_ETCD_PORT" \
    "$etcd_peer_port EDGEFORGE_ETCD_PEER_PORT" "$kcm_port EDGEFORGE_KCM_PORT" \
    "$scheduler_port EDGEFORGE_SCHEDULER_PORT" "$kwok_port EDGEFORGE_KWOK_PORT" \
    "$promop_port EDGEFORGE_PROMETHEUS_OPERATOR_PORT"; do
    read -r port var <<<"$entry"
    if port_in_use "$port"; then
      die "port $port is already in use $(port_owner "$port"); set $var (or EDGEFORGE_PORT_OFFSET) to use another port"
    fi
  done
}
