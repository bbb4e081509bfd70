#!/usr/bin/env bash
# make demo: local cluster up, CRDs installed, operator running, samples applied and shown.
# make demo-real (REAL_NODES=2): also two real kubelet + containerd nodes joined through the
# EdgeCluster real-site, a real Kaniko build pushed to the local registry, and the app that runs
# it answering over HTTP.
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

real_nodes=${REAL_NODES:-0}
say "local cluster"
REAL_NODES=$real_nodes hack/cluster.sh up

say "CRDs (edgeforge and prometheus-operator's)"
kubectl apply --server-side -f config/crd/bases -f test/crds/prometheus-operator >/dev/null
kubectl wait --for condition=Established --timeout 60s crd --all >/dev/null
kubectl get crd -o name | grep -E 'edgeforge|monitoring.coreos'

say "operator (bin/manager, log: $state/logs/manager.log)"
hack/cluster.sh operator
if ((real_nodes > 0)); then
  say "real nodes join EdgeCluster real-site through its join Secret"
  hack/cluster.sh join
  kubectl get nodes -l node-restriction.kubernetes.io/edge-cluster=real-site -o wide
fi

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

if ((real_nodes > 0)); then
  # shellcheck disable=SC1091
  source "$state/env"
  say "a real build and its app on the real nodes (namespace demo-real)"
  kubectl create namespace demo-real --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
  kubectl -n demo-real create secret docker-registry regcred --docker-server="$REGISTRY" \
    --docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" --dry-run=client -o yaml |
    kubectl apply --server-side -f - >/dev/null
  kubectl apply --server-side -f - <<EOF
apiVersion: edgeforge.io/v1alpha1
kind: ImageBuild
metadata: {name: hello, namespace: demo-real}
spec:
  source:
    inline:
      dockerfile: |
        FROM $BASE_IMAGE
        COPY index.html /www/index.html
        RUN echo "built by Kaniko on \$(uname -n)" > /www/built.txt
        USER 65534
        CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
      files: {index.html: "hello from a real edgeforge build"}
  output: {image: "$REGISTRY/demo/hello:1", pushSecretRef: {name: regcred}, insecure: true}
  runOn: {edgeClusterRef: {name: $REAL_POOL}}
---
apiVersion: edgeforge.io/v1alpha1
kind: AppDeployment
metadata: {name: hello, namespace: demo-real}
spec:
  imageFrom: {imageBuildRef: {name: hello}}
  replicas: 2
  ports: [{name: http, containerPort: 8080}]
  service: {type: NodePort, nodePort: 30480}
  placement: {edgeClusterRef: {name: $REAL_POOL}, spreadAcrossNodes: true}
EOF
  for obj in imagebuild/hello appdeployment/hello; do
    if kubectl -n demo-real wait --for=condition=Ready --timeout "${DEMO_WAIT:-300s}" "$obj" >/dev/null 2>&1; then
      echo "$obj: Ready"
    else
      ok=false
      echo "$obj: not Ready: $(kubectl -n demo-real get "$obj" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
    fi
  done
  kubectl -n demo-real get imagebuild,appdeployment hello
  echo "digest in status:       $(kubectl -n demo-real get imagebuild hello -o jsonpath='{.status.digest}')"
  echo "digest in the registry: $(curl -fsS -o /dev/null -D - -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/demo/hello/manifests/1" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')"
  # answer <url>: the body, after kube-proxy programmed the NodePort (a few seconds after the Service).
  answer() {
    local i
    for ((i = 0; i < 30; i++)); do
      curl -fsS --max-time 3 "$1" 2>/dev/null && return 0
      sleep 1
    done
    ok=false
    echo "no answer"
  }
  for ip in $REAL_NODE_IPS; do
    echo "http://$ip:30480/index.html -> $(answer "http://$ip:30480/index.html")"
    echo "http://$ip:30480/built.txt  -> $(answer "http://$ip:30480/built.txt")"
  done
fi

say "kubectl get edgeforge"
kubectl get edgeforge -A -o wide
cat <<EOT

The cluster and the operator keep running. Try:
  export KUBECONFIG=$state/kubeconfig PATH=$bin:\$PATH
  kubectl get nodes -L kubernetes.io/arch,node-restriction.kubernetes.io/edge-cluster
  kubectl describe appdeployment web
Stop everything with: make cluster-down
EOT
$ok || { echo "some samples did not become Ready (see above and $state/logs/manager.log)"; exit 1; }
