# Control-plane components of the local cluster: one function each (sourced by hack/cluster.sh).

start_etcd() {
  local etcd_url=http://127.0.0.1:$etcd_port peer_url=http://127.0.0.1:$etcd_peer_port
  start etcd "$bindir/etcd" --name edgeforge --data-dir "$state/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "edgeforge=$peer_url" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  wait_for etcd "etcd /health" curl -fsS --max-time 5 "$etcd_url/health"
}

# audit_policy: the API server's audit log (<state>/logs/audit.log, JSON lines) records every
# request of the operator's ServiceAccounts (group system:serviceaccounts:edgeforge-system), at
# metadata level, once completed: tests and benchmarks count the operator's requests where they
# arrive. Nothing else is logged.
audit_policy() {
  cat >"$state/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  userGroups: ["system:serviceaccounts:edgeforge-system"]
- level: None
POLICY
}

# start_apiserver: bootstrap-token authentication, Node+RBAC authorization and NodeRestriction,
# as kubeadm configures them, so the join path is the real one. Pods tolerate an unreachable or
# NotReady node for 30 s by default instead of 300 s, so a test sees evictions within minutes.
start_apiserver() {
  local etcd_url=http://127.0.0.1:$etcd_port
  audit_policy
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
    --default-not-ready-toleration-seconds 30 --default-unreachable-toleration-seconds 30 \
    --audit-policy-file "$state/audit-policy.yaml" --audit-log-path "$logs/audit.log" \
    --audit-log-format json --audit-log-maxsize 200 --audit-log-maxbackup 1 \
    --profiling=false
  wait_for kube-apiserver "kube-apiserver /readyz" curl_admin "https://127.0.0.1:$apiserver_port/readyz"
}

# start_controller_manager: signs CSRs with the cluster CA and runs bootstrapsigner and
# tokencleaner, which kubeadm join and bootstrap tokens rely on.
start_controller_manager() {
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
}

start_scheduler() {
  start kube-scheduler "$bindir/kube-scheduler" \
    --kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$scheduler_port" --cert-dir "$state/kube-scheduler" \
    --leader-elect=false --profiling=false
}

start_kwok() {
  # KWOK_WORKDIR keeps kwok away from ~/.kwok (it would load ~/.kwok/kwok.yaml otherwise).
  KWOK_WORKDIR=$state/kwok start kwok "$bindir/kwok" \
    --kubeconfig "$state/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$kwok_port" \
    --cidr "$pod_cidr" \
    --config "$repo/hack/kwok/node-stages.yaml" \
    --config "$repo/hack/kwok/pod-stages.yaml" \
    --config "$repo/hack/kwok/build-stages.yaml"
}

wait_for_control_plane() {
  wait_for kube-controller-manager "kube-controller-manager /healthz" \
    curl -kfsS --max-time 5 "https://127.0.0.1:$kcm_port/healthz"
  wait_for kube-scheduler "kube-scheduler /healthz" \
    curl -kfsS --max-time 5 "https://127.0.0.1:$scheduler_port/healthz"
  wait_for kwok "kwok /healthz" curl -fsS --max-time 5 "http://127.0.0.1:$kwok_port/healthz"
  wait_for kube-controller-manager "the default ServiceAccount" kubectl -n default get serviceaccount default
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
