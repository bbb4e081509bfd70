# shellcheck shell=bash
# The real tier of the local cluster, sourced by hack/cluster.sh (not run on its own):
#   - a bridge on the host with an address pods and nodes reach (the API server, the registry and
#     a git server listen there);
#   - a real registry (distribution v3, htpasswd auth, plain HTTP) and the images of
#     hack/imagetool pushed to it;
#   - REAL_NODES real edge nodes: kubelet + containerd + runc + CNI + kube-proxy, each in its own
#     network namespace (and mount namespace), joined only through the join Secret of the
#     EdgeCluster $real_pool — its bootstrap-kubeconfig key and the --node-labels of its kubelet key.
# docs/local-cluster.md ("The real tier") explains what runs where, the ports and how to debug.
#
# Everything is named after the cluster's port offset, so the demo cluster (offset 0) and the e2e
# cluster (offset 1000) can run real nodes side by side.

real_nodes=${REAL_NODES:-0}
real_pool=${REAL_POOL:-real-site}
real_idx=$((offset / 100))
real_bridge=efbr$real_idx
real_net=10.213.$real_idx            # node network: host .1, node i .(10+i)
real_host_ip=$real_net.1
real_pod_prefix=10.$((100 + real_idx)) # pods of node i: <prefix>.i.0/24
real_pod_cidr=$real_pod_prefix.0.0/16
registry_port=${EDGEFORGE_REGISTRY_PORT:-5000}
images_registry_port=${EDGEFORGE_IMAGES_REGISTRY_PORT:-5001}
git_port=${EDGEFORGE_GIT_PORT:-9418}
registry_user=edgeforge
# Real nodes register with this taint (and the pool's node template keeps it), so the kwok
# world's pods never land on them; what is placed on the pool tolerates it.
real_taint_key=edgeforge.io/real-node
cni_bin_dir=/usr/lib/cni
nodes_dir=$state/nodes
realbin=

real_node_name() { echo "edge-real-$1"; }
real_node_ip() { echo "$real_net.$((10 + $1))"; }
real_netns() { echo "ef$real_idx-real-$1"; }
real_veth() { echo "efv$real_idx-$1"; }

# Components of node i in the pidfile naming of cluster.sh: <binary>@<node>.
real_node_components() { echo "kube-proxy@$(real_node_name "$1") kubelet@$(real_node_name "$1") containerd@$(real_node_name "$1") holder@$(real_node_name "$1")"; }

real_check_host() {
  [ "$(id -u)" -eq 0 ] || die "REAL_NODES=$real_nodes needs root (network namespaces, containerd, kubelet); run as root or with REAL_NODES=0"
  local t
  for t in ip iptables nsenter runc "$cni_bin_dir/bridge" "$cni_bin_dir/host-local" "$cni_bin_dir/loopback" "$cni_bin_dir/portmap" /bin/busybox /usr/bin/prometheus-node-exporter git; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing: run hack/test-deps.sh (Debian's runc, containernetworking-plugins, iptables, busybox-static, prometheus-node-exporter, git)"
  done
  [ "$real_nodes" -le 9 ] || die "REAL_NODES=$real_nodes: at most 9"
}

# ---------------------------------------------------------------- network

real_network_up() {
  log "real tier: bridge $real_bridge ($real_host_ip/24)"
  ip link add "$real_bridge" type bridge
  ip addr add "$real_host_ip/24" dev "$real_bridge"
  ip link set "$real_bridge" up
  # Docker's FORWARD policy is DROP and bridged traffic passes iptables (br_netfilter): let the
  # nodes talk to each other across the bridge.
  iptables -I FORWARD -i "$real_bridge" -o "$real_bridge" -j ACCEPT -m comment --comment "edgeforge-$real_idx"
}

real_network_down() {
  while iptables -D FORWARD -i "$real_bridge" -o "$real_bridge" -j ACCEPT -m comment --comment "edgeforge-$real_idx" 2>/dev/null; do :; done
  ip link del "$real_bridge" 2>/dev/null || true
}

# real_node_network <i>: the node's namespace, its veth on the bridge, routes to every other
# node's pods (and from the host to this node's pods).
real_node_network() {
  local i=$1 ns veth ip j
  ns=$(real_netns "$i") veth=$(real_veth "$i") ip=$(real_node_ip "$i")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$real_bridge" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$real_host_ip"
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  for ((j = 1; j <= real_nodes; j++)); do
    [ "$j" = "$i" ] || ip -n "$ns" route add "$real_pod_prefix.$j.0/24" via "$(real_node_ip "$j")"
  done
  ip route add "$real_pod_prefix.$i.0/24" via "$ip"
}

# ---------------------------------------------------------------- registry, git, images

# registry_config <dir> <port> <auth: yes|no> <readonly: true|false> [access log: yes|no]
# The access log (combined format, on the registry's stdout: its log file) tells the tests which
# node pulled what, and when.
registry_config() {
  local dir=$1 port=$2 auth=$3 ro=$4 noaccess=true
  [ "${5:-no}" = no ] || noaccess=false
  cat <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: $noaccess}}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
  maintenance:
    readonly: {enabled: $ro}
http:
  addr: $real_host_ip:$port
  secret: $(openssl rand -hex 16)
EOF
  [ "$auth" = no ] || printf 'auth:\n  htpasswd: {realm: edgeforge-local, path: %s}\n' "$dir/htpasswd"
}

# Two registries (distribution v3), both plain HTTP on the bridge address:
#   REGISTRY (port 5000): htpasswd auth, for what users build and run, so push and pull Secrets
#     are exercised for real;
#   IMAGES_REGISTRY (port 5001): anonymous and read-only once filled, for the images of the local
#     cluster itself (pause, Kaniko, the busybox base, Prometheus, ...), as a public registry would
#     serve them.
real_registry_up() {
  local users=$state/registry infra=$state/registry-infra
  mkdir -p "$users/data" "$infra/data"
  registry_password=$(openssl rand -hex 12)
  "$realbin/imagetool" htpasswd "$registry_user" "$registry_password" >"$users/htpasswd"
  registry_config "$users" "$registry_port" yes false yes >"$users/config.yml"
  OTEL_TRACES_EXPORTER=none start registry "$realbin/registry" serve "$users/config.yml"
  registry_config "$infra" "$images_registry_port" no false >"$infra/config.yml"
  OTEL_TRACES_EXPORTER=none start registry@infra "$realbin/registry" serve "$infra/config.yml"
  # /v2/ answers 401 without credentials, 200 anonymously, once a registry serves.
  wait_for registry "the registry at $real_host_ip:$registry_port" \
    sh -c "curl -s -o /dev/null -w '%{http_code}' http://$real_host_ip:$registry_port/v2/ | grep -q 401"
  wait_for registry@infra "the registry at $real_host_ip:$images_registry_port" \
    curl -fsS -o /dev/null "http://$real_host_ip:$images_registry_port/v2/"
}

# real_images_readonly: restart the images registry read-only, once the images are in.
real_images_readonly() {
  local infra=$state/registry-infra
  stop registry@infra
  registry_config "$infra" "$images_registry_port" no true >"$infra/config.yml"
  OTEL_TRACES_EXPORTER=none start registry@infra "$realbin/registry" serve "$infra/config.yml"
  wait_for registry@infra "the registry at $real_host_ip:$images_registry_port" \
    curl -fsS -o /dev/null "http://$real_host_ip:$images_registry_port/v2/"
}

# A git server for git-source builds: git's own smart-HTTP backend (git http-backend, Debian's
# git) behind imagetool's CGI handler, read-only, serving every repository under <state>/git.
real_git_up() {
  mkdir -p "$state/git"
  start imagetool@git "$realbin/imagetool" git-serve --addr "$real_host_ip:$git_port" --root "$state/git"
  wait_for imagetool@git "the git server at $real_host_ip:$git_port" \
    sh -c "curl -s -o /dev/null -w '%{http_code}' http://$real_host_ip:$git_port/ | grep -q 404"
}

real_images_up() {
  log "real tier: images (hack/imagetool, cache $cache_root/images)"
  KANIKO_VERSION=$KANIKO_VERSION PROMETHEUS_OPERATOR_VERSION=$PROMETHEUS_OPERATOR_VERSION PROMETHEUS_VERSION=$PROMETHEUS_VERSION \
    KUBE_STATE_METRICS_VERSION=$KUBE_STATE_METRICS_VERSION \
    "$realbin/imagetool" push --registry "$real_host_ip:$images_registry_port" \
    --bins "$realbin" --cache "$cache_root/images" --env-out "$state/images.env" \
    2>>"$logs/imagetool.log" || fail_with_log imagetool "building or pushing the real tier's images failed"
  real_images_readonly
}

# ---------------------------------------------------------------- nodes

# real_node_files <i>: containerd, CNI, kubelet and kube-proxy configuration of node i.
real_node_files() {
  local i=$1 n ip d
  n=$(real_node_name "$i") ip=$(real_node_ip "$i") d=$nodes_dir/$(real_node_name "$i")
  mkdir -p "$d"/{containerd/root,containerd/state,cni/net.d,cni/data,kubelet,pki,log-pods,log-containers,run}
  local port
  for port in "$registry_port" "$images_registry_port"; do
    mkdir -p "$d/certs.d/$real_host_ip:$port"
    printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$real_host_ip:$port" "$real_host_ip:$port" >"$d/certs.d/$real_host_ip:$port/hosts.toml"
  done
  cat >"$d/containerd/config.toml" <<EOF
version = 3
root = "$d/containerd/root"
state = "$d/containerd/state"
[grpc]
  address = "$d/run/containerd.sock"
[ttrpc]
  address = "$d/run/containerd.sock.ttrpc"
[plugins.'io.containerd.cri.v1.images']
  # No overlayfs here; the native snapshotter copies layers.
  snapshotter = "native"
  # The transfer service cannot unpack for the native snapshotter ("no unpack platforms defined").
  use_local_image_pull = true
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "$d/certs.d"
[plugins.'io.containerd.cri.v1.runtime']
  # Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj below the runtime's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$cni_bin_dir"]
    conf_dir = "$d/cni/net.d"
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
EOF
  cat >"$d/cni/net.d/10-edgeforge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ef$real_idx-$n",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$d/cni/data", "ranges": [[{"subnet": "$real_pod_prefix.$i.0/24"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cat >"$d/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 without systemd, inside a container without CAP_SYS_RESOURCE:
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
protectKernelDefaults: false
containerRuntimeEndpoint: unix://$d/run/containerd.sock
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
serverTLSBootstrap: true
rotateCertificates: true
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 40
podCIDR: $real_pod_prefix.$i.0/24
# The nodes share one disk with everything else on this machine: evict only when it is nearly full.
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
nodeStatusReportFrequency: 1m
EOF
  cat >"$d/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $n
bindAddress: $ip
clusterCIDR: $real_pod_cidr
# Pods reach a Service backed by a pod on their own bridge: masquerade so replies come back
# through the node (no br_netfilter guarantees inside the node's namespace).
iptables: {masqueradeAll: true}
# The conntrack sysctls are not the node's to change here.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
}

# in_node <i> cmd...: run in node i's network and mount namespaces (those of its holder).
in_node() {
  local i=$1 pid
  shift
  pid=$(cat "$(pidfile "holder@$(real_node_name "$i")")")
  nsenter -t "$pid" -m -n -- "$@"
}

# real_node_up <i>: namespaces, the holder process, containerd. The kubelet starts on join.
real_node_up() {
  local i=$1 n d ns
  n=$(real_node_name "$i") d=$nodes_dir/$(real_node_name "$i") ns=$(real_netns "$i")
  real_node_network "$i"
  real_node_files "$i"
  mkdir -p /var/log/pods /var/log/containers
  # The holder keeps the node's network namespace and its own mount namespace open (not ip netns
  # exec's: that one remounts /sys and hides the cgroup hierarchies the kubelet needs); mounts
  # made inside do not leak to the host. /var/log/pods is private to the node, as on a machine of
  # its own (a kubelet removes the logs of pods it does not know). Its mounts are shared among
  # themselves (not with the host, whose root is private here), as on a systemd machine:
  # node-exporter mounts / with HostToContainer propagation, which needs a shared or slave root.
  start "holder@$n" nsenter --net="/var/run/netns/$ns" unshare --mount --propagation slave bash -c \
    "mount --make-rshared / && mount --bind '$d/log-pods' /var/log/pods && mount --bind '$d/log-containers' /var/log/containers && exec -a '$d/holder' sleep infinity"
  # (ip netns exec and bash run first, then exec the holder: give them a moment.)
  local k
  for ((k = 0; k < 50; k++)); do is_ours "holder@$n" && break; sleep 0.1; done
  wait_for "holder@$n" "node $n's namespaces" sh -c "grep -q '$d/log-pods' /proc/\$(cat '$(pidfile "holder@$n")')/mountinfo"
  PATH=$realbin:$PATH start "containerd@$n" nsenter -t "$(cat "$(pidfile "holder@$n")")" -m -n -- \
    "$realbin/containerd" --config "$d/containerd/config.toml" --log-level warn
  wait_for "containerd@$n" "containerd of $n" "$realbin/ctr" --address "$d/run/containerd.sock" version
}

real_kubelet_start() {
  local i=$1 n d labels
  n=$(real_node_name "$i") d=$nodes_dir/$(real_node_name "$i")
  labels=$(cat "$d/node-labels")
  start "kubelet@$n" nsenter -t "$(cat "$(pidfile "holder@$n")")" -m -n -- \
    "$bindir/kubelet" --config "$d/kubelet/config.yaml" --root-dir "$d/kubelet/root" \
    --bootstrap-kubeconfig "$d/bootstrap-kubelet.conf" --kubeconfig "$d/kubelet.conf" --cert-dir "$d/pki" \
    --hostname-override "$n" --node-ip "$(real_node_ip "$i")" --node-labels "$labels" \
    --register-with-taints "$real_taint_key=true:NoSchedule" --v 1
}

real_proxy_start() {
  local i=$1 n d
  n=$(real_node_name "$i") d=$nodes_dir/$(real_node_name "$i")
  start "kube-proxy@$n" nsenter -t "$(cat "$(pidfile "holder@$n")")" -m -n -- \
    "$bindir/kube-proxy" --config "$d/kube-proxy.yaml" --v 1
}

# real_join: what an admin does with the EdgeCluster's join Secret on each edge device: save the
# bootstrap-kubeconfig key, start the kubelet with the --node-labels of the kubelet key.
real_join() {
  local deadline ref ns name i d kc kl labels
  log "real tier: waiting for EdgeCluster $real_pool's join Secret (the operator must be running)"
  deadline=$((SECONDS + wait_timeout))
  until ref=$(kubectl get edgecluster "$real_pool" -o jsonpath='{.status.join.secretRef.namespace}/{.status.join.secretRef.name}' 2>/dev/null) &&
    [ "$ref" != / ] && kubectl -n "${ref%/*}" get secret "${ref#*/}" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "EdgeCluster $real_pool has no join Secret after ${wait_timeout}s: is the operator running? ($(kubectl get edgecluster "$real_pool" -o jsonpath='{.status.conditions}' 2>&1))"
    sleep 1
  done
  ns=${ref%/*} name=${ref#*/}
  kc=$(kubectl -n "$ns" get secret "$name" -o jsonpath='{.data.bootstrap-kubeconfig}' | base64 -d)
  kl=$(kubectl -n "$ns" get secret "$name" -o jsonpath='{.data.kubelet}' | base64 -d)
  labels=$(grep -o -- '--node-labels=[^ ]*' <<<"$kl" | head -n1 | cut -d= -f2-)
  [ -n "$kc" ] && [ -n "$labels" ] || die "join Secret $ref lacks the bootstrap-kubeconfig key or --node-labels in its kubelet key"
  for ((i = 1; i <= real_nodes; i++)); do
    d=$nodes_dir/$(real_node_name "$i")
    (umask 077 && printf '%s\n' "$kc" >"$d/bootstrap-kubelet.conf")
    printf '%s\n' "$labels" >"$d/node-labels"
    is_ours "kubelet@$(real_node_name "$i")" || real_kubelet_start "$i"
    is_ours "kube-proxy@$(real_node_name "$i")" || real_proxy_start "$i"
  done
  for ((i = 1; i <= real_nodes; i++)); do
    wait_for "kubelet@$(real_node_name "$i")" "node $(real_node_name "$i") to register and become Ready" \
      kubectl wait --for=condition=Ready "node/$(real_node_name "$i")" --timeout=5s
    # The operator admits the node: it joined with the pool's token (its client CSR says so).
    wait_for "kubelet@$(real_node_name "$i")" "node $(real_node_name "$i") to be admitted to EdgeCluster $real_pool" \
      real_node_admitted "$(real_node_name "$i")"
  done
  log "real tier: $real_nodes real node(s) joined EdgeCluster $real_pool"
}

# real_node_admitted <node>: the node is a member of the real pool (the label only edgeforge or an
# admin can set).
real_node_admitted() {
  [ "$(kubectl get node "$1" -o jsonpath='{.metadata.labels.node-restriction\.kubernetes\.io/edge-cluster}')" = "$real_pool" ]
}

# real_node_kill_workloads <i>: stop every container of node i (before its containerd goes).
real_node_kill_workloads() {
  local i=$1 d sock id
  d=$nodes_dir/$(real_node_name "$i") sock=$d/run/containerd.sock
  [ -S "$sock" ] && is_ours "containerd@$(real_node_name "$i")" || return 0
  for id in $("$realbin/ctr" --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    "$realbin/ctr" --address "$sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  sleep 0.5
  for id in $("$realbin/ctr" --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    "$realbin/ctr" --address "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
  done
}

real_node_down() {
  local i=$1 n c ns
  n=$(real_node_name "$i") ns=$(real_netns "$i")
  stop "kube-proxy@$n"
  stop "kubelet@$n"
  real_node_kill_workloads "$i"
  stop "containerd@$n"
  # Shims and anything else left in the node's network namespace.
  if ip netns pids "$ns" >/dev/null 2>&1; then
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  fi
  stop "holder@$n"
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$(real_veth "$i")" 2>/dev/null || true
  for c in $(real_node_components "$i"); do rm -f "$(pidfile "$c")"; done
}

# ---------------------------------------------------------------- cluster.sh hooks

# real_up: after the control plane: registry, images, nodes' runtimes, the EdgeCluster.
real_up() {
  ((real_nodes > 0)) || return 0
  realbin=$("$repo/hack/realbins.sh")
  (cd "$repo" && go build -o "$realbin/imagetool" ./hack/imagetool) || die "cannot build hack/imagetool"
  echo "realbin_recorded=$realbin" >>"$state/cluster.env"
  real_registry_up
  real_git_up
  real_images_up
  # shellcheck disable=SC1091
  source "$state/images.env"
  local i
  for ((i = 1; i <= real_nodes; i++)); do real_node_up "$i"; done
  kubectl apply --server-side -f "$repo/config/crd/bases" >/dev/null
  kubectl wait --for condition=Established --timeout 60s -f "$repo/config/crd/bases" >/dev/null
  kubectl apply --server-side -f - >/dev/null <<EOF
apiVersion: edgeforge.io/v1alpha1
kind: EdgeCluster
metadata:
  name: $real_pool
spec:
  description: Real kubelet + containerd nodes of the local cluster (hack/cluster.sh, REAL_NODES=$real_nodes)
  join:
    methods: [kubelet]
    apiServerEndpoint: $real_host_ip:$apiserver_port
  nodeTemplate:
    labels: {tier: real-edge}
    # Only what is placed on this pool (and tolerates it) runs here, not the kwok world's pods.
    taints: [{key: $real_taint_key, value: "true", effect: NoSchedule}]
  health: {notReadyGracePeriod: 10s}
  minReadyNodes: $real_nodes
  expectedNodes: $real_nodes
  approveServingCSRs: true
  # The real nodes' addresses are on the tier's bridge network (their serving certificates name them).
  servingCertificates: {ipRanges: [$real_net.0/24]}
EOF
  real_write_env
}

real_write_env() {
  {
    echo "# The local cluster's real tier (hack/cluster.sh); sourced by scripts and tests."
    echo "KUBECONFIG=$kubeconfig"
    echo "REGISTRY=$real_host_ip:$registry_port"
    echo "REGISTRY_INSECURE=true"
    echo "REGISTRY_USER=$registry_user"
    echo "REGISTRY_PASSWORD=$registry_password"
    echo "REGISTRY_ACCESS_LOG=$logs/registry.log"
    echo "IMAGES_REGISTRY=$real_host_ip:$images_registry_port"
    echo "REAL_POOL=$real_pool"
    echo "REAL_NODES=$real_nodes"
    echo "REAL_HOST_IP=$real_host_ip"
    local i ips=() nss=()
    for ((i = 1; i <= real_nodes; i++)); do ips+=("$(real_node_ip "$i")") nss+=("$(real_netns "$i")"); done
    echo "REAL_NODE_IPS=\"${ips[*]}\""
    echo "REAL_NODE_NETNS=\"${nss[*]}\""
    echo "REAL_NODES_DIR=$nodes_dir"
    echo "GIT_BASE_URL=http://$real_host_ip:$git_port"
    echo "GIT_DIR_ROOT=$state/git"
    cat "$state/images.env"
  } >"$state/env"
  chmod 600 "$state/env"
}

real_down() {
  local i
  for ((i = 1; i <= ${real_nodes_recorded:-0}; i++)); do
    realbin=${realbin_recorded:-} real_node_down "$i"
  done
  stop imagetool@git
  stop registry@infra
  stop registry
  real_network_down
}

# real_cleanup_stale: namespaces, bridge and firewall rule of this offset left behind by a cluster
# whose state dir is gone (a machine that was cut off mid-run). Only names of this offset.
real_cleanup_stale() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^ef$real_idx-real-[0-9]+$"); do
    log "removing stale network namespace $ns"
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if ip link show "$real_bridge" >/dev/null 2>&1; then
    log "removing stale bridge $real_bridge"
  fi
  real_network_down
}
