#!/usr/bin/env bash
# Local test cluster for edgeforge: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
# and kwok (fake nodes and pods), all on 127.0.0.1, built from Go modules by hack/controlplane.sh.
#
# Usage: hack/cluster.sh up|down|status            (REAL_NODES=N up: also the real tier, hack/realtier.sh)
#        hack/cluster.sh operator                   start (or restart) bin/manager against the cluster
#        hack/cluster.sh join                       real nodes join REAL_POOL through its join Secret
#        hack/cluster.sh node stop|start <i>        stop or start the kubelet of real node i
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

# ---------------------------------------------------------------- certificates

# new_ca <name> <common name>: self-signed CA key + certificate.
new_ca() {
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$pki/$1.key" -out "$pki/$1.crt" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>>"$logs/pki.log"
}

# cert <name> <subject> <extensions> [ca]: key + certificate signed by the CA (default: ca).
cert() {
  local name=$1 subj=$2 ext=$3 ca=${4:-ca}
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" -subj "$subj" 2>>"$logs/pki.log"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -out "$pki/$name.crt" \
    -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "$ext") 2>>"$logs/pki.log"
  rm -f "$pki/$name.csr"
}

client_cert() { cert "$1" "$2" "extendedKeyUsage=clientAuth" "${3:-ca}"; }

gen_pki() {
  log "generating certificates in $pki"
  (umask 077 && mkdir -p "$pki")
  new_ca ca edgeforge-local-ca
  # Front proxy (request-header authentication): the API server's client identity towards
  # aggregated API servers; components that delegate authentication expect its CA too.
  new_ca front-proxy-ca edgeforge-front-proxy-ca
  client_cert front-proxy-client "/CN=front-proxy-client" front-proxy-ca
  cert apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,IP:$service_ip,IP:$real_host_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  client_cert admin "/O=system:masters/CN=edgeforge-admin"
  client_cert kube-controller-manager "/CN=system:kube-controller-manager"
  client_cert kube-scheduler "/CN=system:kube-scheduler"
  client_cert kwok "/O=system:masters/CN=kwok-controller"
  # The real tier: kube-proxy on the real nodes (bound to system:node-proxier by default RBAC),
  # and the API server's client identity towards kubelets (logs, exec, port-forward).
  client_cert kube-proxy "/CN=system:kube-proxy"
  client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  # Service-account token signing key pair.
  openssl genrsa -out "$pki/sa.key" 2048 2>>"$logs/pki.log"
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>>"$logs/pki.log"
  chmod 600 "$pki"/*.key
}

# write_kubeconfig <file> <cert name> [server address]
write_kubeconfig() {
  local file=$1 user=$2 server=${3:-127.0.0.1}
  (umask 077 && cat >"$file") <<EOF
apiVersion: v1
kind: Config
clusters:
- name: edgeforge
  cluster:
    server: https://$server:$apiserver_port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$pki/$user.crt")
    client-key-data: $(base64 -w0 "$pki/$user.key")
contexts:
- name: edgeforge
  context:
    cluster: edgeforge
    user: $user
current-context: edgeforge
EOF
}

# ---------------------------------------------------------------- fake nodes

# node_yaml <name> <arch> <internal ip> <role> <cpu> <memory> <pods> [extra label lines]
node_yaml() {
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: $2
    kubernetes.io/os: linux
    kubernetes.io/hostname: $1
    node-role.kubernetes.io/$4: ""
${8:-}
spec:
  providerID: kwok://$1
status:
  addresses:
  - type: InternalIP
    address: $3
  - type: Hostname
    address: $1
  capacity: {cpu: "$5", memory: $6, pods: "$7"}
  allocatable: {cpu: "$5", memory: $6, pods: "$7"}
  nodeInfo:
    architecture: $2
    operatingSystem: linux
    kubeletVersion: $KUBERNETES_VERSION
    kubeProxyVersion: $KUBERNETES_VERSION
    containerRuntimeVersion: kwok://$KWOK_VERSION
    osImage: kwok fake node
EOF
}

create_nodes() {
  local edge='    edgeforge.io/edge-cluster: site-a'
  log "creating fake nodes"
  {
    node_yaml edge-a-arm64-1 arm64 10.200.0.11 edge 16 32Gi 500 "$edge"
    node_yaml edge-a-arm64-2 arm64 10.200.0.12 edge 16 32Gi 500 "$edge"
    node_yaml edge-a-amd64-1 amd64 10.200.0.13 edge 16 32Gi 500 "$edge"
    node_yaml worker-1 amd64 10.200.0.21 worker 64 256Gi 2000
  } | kubectl create -f - >/dev/null
}

# What kubeadm sets up for joining nodes: the public cluster-info ConfigMap (bootstrapsigner adds
# a JWS signature per bootstrap token), and RBAC so bootstrap-token users can create node CSRs
# that kube-controller-manager auto-approves and signs.
kubeadm_like_setup() {
  log "creating kube-public/cluster-info and bootstrap RBAC"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-info
  namespace: kube-public
data:
  kubeconfig: |
    apiVersion: v1
    kind: Config
    clusters:
    - name: ""
      cluster:
        server: https://127.0.0.1:$apiserver_port
        certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: edgeforge:cluster-info-reader
  namespace: kube-public
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cluster-info]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: edgeforge:cluster-info-reader
  namespace: kube-public
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "edgeforge:cluster-info-reader"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:anonymous"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: edgeforge:bootstrappers-node-bootstrapper
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:node-bootstrapper"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:bootstrappers"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: edgeforge:bootstrappers-auto-approve-node-client
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:bootstrappers"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: edgeforge:nodes-auto-renew-client
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:nodes"}
EOF
}

# ---------------------------------------------------------------- commands

kubectl() { "$bindir/kubectl" --kubeconfig "$kubeconfig" "$@"; }

usage_hint() {
  cat <<EOF

edgeforge local cluster is up (state: $state)
  export KUBECONFIG=$kubeconfig
  export PATH=$bindir:\$PATH   # kubectl $KUBERNETES_VERSION
  kubectl get nodes -L kubernetes.io/arch,edgeforge.io/edge-cluster
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
  # With real nodes the API server must be reachable from their network namespaces: it listens on
  # every address and advertises the bridge address (the endpoint of the kubernetes Service).
  local apiserver_net=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  if ((real_nodes > 0)); then
    apiserver_net=(--bind-address 0.0.0.0 --advertise-address "$real_host_ip"
      --kubelet-preferred-address-types InternalIP
      --kubelet-certificate-authority "$pki/ca.crt"
      --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt"
      --kubelet-client-key "$pki/apiserver-kubelet-client.key")
  fi

  local etcd_url=http://127.0.0.1:$etcd_port peer_url=http://127.0.0.1:$etcd_peer_port
  start etcd "$bindir/etcd" --name edgeforge --data-dir "$state/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "edgeforge=$peer_url" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  wait_for etcd "etcd /health" curl -fsS --max-time 5 "$etcd_url/health"

  start kube-apiserver "$bindir/kube-apiserver" \
    --etcd-servers "$etcd_url" \
    "${apiserver_net[@]}" --secure-port "$apiserver_port" \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" \
    --proxy-client-key-file "$pki/front-proxy-client.key" \
    --authorization-mode Node,RBAC \
    --enable-bootstrap-token-auth \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged \
    --service-cluster-ip-range "$service_cidr" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --profiling=false
  wait_for kube-apiserver "kube-apiserver /readyz" curl_admin "https://127.0.0.1:$apiserver_port/readyz"

  start kube-controller-manager "$bindir/kube-controller-manager" \
    --kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$state/kube-controller-manager" \
    --controllers '*,bootstrapsigner,tokencleaner' \
    --cluster-name edgeforge \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --root-ca-file "$pki/ca.crt" \
    --service-account-private-key-file "$pki/sa.key" \
    --use-service-account-credentials \
    --service-cluster-ip-range "$service_cidr" \
    --leader-elect=false --profiling=false

  start kube-scheduler "$bindir/kube-scheduler" \
    --kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$scheduler_port" --cert-dir "$state/kube-scheduler" \
    --leader-elect=false --profiling=false

  # KWOK_WORKDIR keeps kwok away from ~/.kwok (it would load ~/.kwok/kwok.yaml otherwise).
  KWOK_WORKDIR=$state/kwok start kwok "$bindir/kwok" \
    --kubeconfig "$state/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$kwok_port" \
    --cidr "$pod_cidr" \
    --config "$repo/hack/kwok/node-stages.yaml" \
    --config "$repo/hack/kwok/pod-stages.yaml" \
    --config "$repo/hack/kwok/build-stages.yaml"

  wait_for kube-controller-manager "kube-controller-manager /healthz" \
    curl -kfsS --max-time 5 "https://127.0.0.1:$kcm_port/healthz"
  wait_for kube-scheduler "kube-scheduler /healthz" \
    curl -kfsS --max-time 5 "https://127.0.0.1:$scheduler_port/healthz"
  wait_for kwok "kwok /healthz" curl -fsS --max-time 5 "http://127.0.0.1:$kwok_port/healthz"
  wait_for kube-controller-manager "the default ServiceAccount" kubectl -n default get serviceaccount default

  kubeadm_like_setup
  real_up
  start_prometheus_operator
  create_nodes
  wait_for kwok "fake nodes to become Ready" kubectl wait --for=condition=Ready node --all --timeout=5s
  trap - EXIT
  kubectl get nodes -L kubernetes.io/arch,edgeforge.io/edge-cluster >&2
  usage_hint
}

# start_prometheus_operator installs prometheus-operator's CRDs (generated from its API module
# into test/crds/prometheus-operator) and runs the operator against this cluster, so Prometheus
# resources become StatefulSets whose pods kwok runs, as on a cluster with prometheus-operator.
start_prometheus_operator() {
  kubectl apply --server-side -f "$repo/test/crds/prometheus-operator" >/dev/null
  wait_for kube-apiserver "prometheus-operator's CRDs" \
    kubectl wait --for condition=Established --timeout 5s -f "$repo/test/crds/prometheus-operator"
  start prometheus-operator "$bindir/prometheus-operator" \
    --apiserver "https://127.0.0.1:$apiserver_port" \
    --ca-file "$pki/ca.crt" --cert-file "$pki/admin.crt" --key-file "$pki/admin.key" \
    --web.listen-address "127.0.0.1:$promop_port" \
    --prometheus-config-reloader "${PROMETHEUS_CONFIG_RELOADER_IMAGE:-quay.io/prometheus-operator/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION}" \
    ${PROMETHEUS_IMAGE:+--prometheus-default-base-image "${PROMETHEUS_IMAGE%:*}"} \
    --log-level warn
  wait_for prometheus-operator "prometheus-operator /healthz" curl -fsS --max-time 5 "http://127.0.0.1:$promop_port/healthz"
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
    kubectl get nodes -L kubernetes.io/arch,edgeforge.io/edge-cluster || true
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
    args+=(--kaniko-image "$KANIKO_IMAGE" --node-exporter-image "$NODE_EXPORTER_IMAGE"
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

# cmd_node stop|start <i>: the kubelet of real node i (for tests of node loss).
cmd_node() {
  local verb=${1:-} i=${2:-}
  [[ "$i" =~ ^[1-9]$ ]] || die "usage: $0 node stop|start <i>"
  load_recorded_env
  real_nodes=${real_nodes_recorded:-0} realbin=${realbin_recorded:-}
  ((i <= real_nodes)) || die "there is no real node $i (REAL_NODES=$real_nodes)"
  case "$verb" in
    stop) stop "kubelet@$(real_node_name "$i")" ;;
    start) is_ours "kubelet@$(real_node_name "$i")" || real_kubelet_start "$i" ;;
    *) die "usage: $0 node stop|start <i>" ;;
  esac
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  operator) cmd_operator ;;
  join) cmd_join ;;
  node) cmd_node "${2:-}" "${3:-}" ;;
  *)
    echo "usage: $0 up|down|status|operator|join|node" >&2
    exit 2
    ;;
esac
