#!/usr/bin/env bash
# make demo: local cluster up, CRDs installed, operator running, samples applied and shown.
# Everything it starts is stopped by `make cluster-down` (hack/cluster.sh down).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=${EDGEFORGE_CLUSTER_DIR:-$root/.cluster}
export EDGEFORGE_CLUSTER_DIR=$state
bin=$(hack/controlplane.sh)
kubectl() { "$bin/kubectl" --kubeconfig "$state/kubeconfig" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns=${DEMO_NAMESPACE:-default}

say "local cluster"
hack/cluster.sh up

say "CRDs (edgeforge and prometheus-operator's)"
kubectl apply --server-side -f config/crd/bases -f test/crds/prometheus-operator >/dev/null
kubectl wait --for condition=Established --timeout 60s crd --all >/dev/null
kubectl get crd -o name | grep -E 'edgeforge|monitoring.coreos'

say "operator (bin/manager, log: $state/logs/manager.log)"
kubectl create namespace edgeforge-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
pidfile=$state/run/manager.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "restarting the running operator (pid $(cat "$pidfile")) with the freshly built binary"
  kill -TERM "$(cat "$pidfile")" && sleep 1
fi
setsid "$root/bin/manager" --kubeconfig "$state/kubeconfig" --namespace edgeforge-system \
  --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 0 \
  </dev/null >>"$state/logs/manager.log" 2>&1 &
echo $! >"$pidfile"
sleep 2
kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 30 "$state/logs/manager.log"; echo "the operator exited"; exit 1; }
echo "running (pid $(cat "$pidfile"))"

say "samples (config/samples) in namespace $ns"
# The ImageBuild sample pushes with the dockerconfigjson Secret "regcred"; the demo registry is
# imaginary (kwok simulates the build), so an empty config is enough.
kubectl -n "$ns" create secret docker-registry regcred --docker-server=registry.example.com \
  --docker-username=demo --docker-password=demo --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl apply --server-side -n "$ns" -k config/samples

say "waiting up to ${DEMO_WAIT:-120s} for the samples to become Ready"
ok=true
for obj in edgecluster/site-a imagebuild/web appdeployment/web monitoringstack/main; do
  if kubectl -n "$ns" wait --for=condition=Ready --timeout "${DEMO_WAIT:-120s}" "$obj" >/dev/null 2>&1; then
    echo "$obj: Ready"
  else
    ok=false
    echo "$obj: not Ready: $(kubectl -n "$ns" get "$obj" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
  fi
done

say "kubectl get edgeforge"
kubectl get edgeforge -A -o wide
cat <<EOT

The cluster and the operator keep running. Try:
  export KUBECONFIG=$state/kubeconfig PATH=$bin:\$PATH
  kubectl get nodes -L kubernetes.io/arch,edgeforge.io/edge-cluster
  kubectl describe appdeployment web
Stop everything with: make cluster-down
EOT
$ok || { echo "some samples did not become Ready (see above and $state/logs/manager.log)"; exit 1; }
