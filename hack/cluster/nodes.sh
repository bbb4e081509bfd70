# The kwok nodes, and what kubeadm would create (sourced by hack/cluster.sh).

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
  # The fake edge nodes claim pool site-a (as a join command makes a kubelet do) and are admitted
  # to it by an admin (the membership label, which kubelets cannot set themselves).
  local edge='    edgeforge.io/edge-cluster: site-a
    node-restriction.kubernetes.io/edge-cluster: site-a'
  log "creating fake nodes"
  {
    node_yaml edge-a-arm64-1 arm64 10.200.0.11 edge 16 32Gi 500 "$edge"
    node_yaml edge-a-arm64-2 arm64 10.200.0.12 edge 16 32Gi 500 "$edge"
    node_yaml edge-a-amd64-1 amd64 10.200.0.13 edge 16 32Gi 500 "$edge"
    node_yaml worker-1 amd64 10.200.0.21 worker 64 256Gi 2000
  } | kubectl create -f - >/dev/null
}

# What kubeadm sets up for joining nodes: the public cluster-info ConfigMap (bootstrapsigner adds
# a JWS signature per bootstrap token), and RBAC so tokens of kubeadm's node-token group can create
# node CSRs that kube-controller-manager auto-approves and signs (as kubeadm binds it: to that
# group, not to every bootstrap token).
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
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:bootstrappers:kubeadm:default-node-token"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: edgeforge:bootstrappers-auto-approve-node-client
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:bootstrappers:kubeadm:default-node-token"}
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
