# Certificates and kubeconfigs of the local cluster (sourced by hack/cluster.sh).

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
