package crd

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Minimal valid objects; each invalid case patches one of them.
var bases = map[string]string{
	"ImageBuild": `
apiVersion: edgeforge.io/v1alpha1
kind: ImageBuild
metadata: {name: ib, namespace: default}
spec:
  source: {git: {url: "https://git.example.com/team/web.git"}}
  output: {image: registry.example.com/team/web:1.0}
`,
	"AppDeployment": `
apiVersion: edgeforge.io/v1alpha1
kind: AppDeployment
metadata: {name: app, namespace: default}
spec:
  image: nginx:1.27
  ports: [{name: http, containerPort: 80}]
`,
	"EdgeCluster": `
apiVersion: edgeforge.io/v1alpha1
kind: EdgeCluster
metadata: {name: ec}
spec: {}
`,
	"MonitoringStack": `
apiVersion: edgeforge.io/v1alpha1
kind: MonitoringStack
metadata: {name: mon, namespace: default}
spec: {}
`,
}

type invalidCase struct {
	name  string
	kind  string
	patch string // YAML merged into the base; a null value deletes the key
	field string // the field path the API server must name in a cause ("" for a root rule, whose message names the field)
	msg   string // a substring of that cause's message
}

var invalidCases = []invalidCase{
	// ImageBuild
	{"source: none", "ImageBuild", `spec: {source: {git: null}}`, "spec.source", "exactly one of git, inline or configMap must be set"},
	{"source: git and inline", "ImageBuild", `spec: {source: {inline: {dockerfile: "FROM scratch"}}}`, "spec.source", "exactly one of git, inline or configMap must be set"},
	{"source: all three", "ImageBuild", `spec: {source: {inline: {dockerfile: "FROM scratch"}, configMap: {name: ctx}}}`, "spec.source", "exactly one of git, inline or configMap"},
	{"git url: ftp scheme", "ImageBuild", `spec: {source: {git: {url: "ftp://git.example.com/web.git"}}}`, "spec.source.git.url", "must be an https:// or http:// URL"},
	{"git url: not a url", "ImageBuild", `spec: {source: {git: {url: "just words"}}}`, "spec.source.git.url", "Kaniko clones over HTTP(S) only"},
	{"git url: ssh", "ImageBuild", `spec: {source: {git: {url: "ssh://git@git.example.com/team/web.git"}}}`, "spec.source.git.url", "ssh:// and git@host:path URLs cannot work"},
	{"git url: scp-like", "ImageBuild", `spec: {source: {git: {url: "git@git.example.com:team/web.git"}}}`, "spec.source.git.url", "Kaniko clones over HTTP(S) only"},
	{"runOn.platform: unknown", "ImageBuild", `spec: {runOn: {platform: linux/386}}`, "spec.runOn.platform", "Unsupported value"},
	{"platforms: unknown", "ImageBuild", `spec: {platforms: [linux/amd64, linux/386]}`, "spec.platforms[1]", "Unsupported value"},
	{"platforms: twice the same", "ImageBuild", `spec: {platforms: [linux/arm64, linux/arm64]}`, "spec.platforms[1]", "Duplicate value"},
	{"platforms: empty", "ImageBuild", `spec: {platforms: []}`, "spec.platforms", "at least 1"},
	{"platforms: with runOn.platform", "ImageBuild", `spec: {platforms: [linux/arm64], runOn: {platform: linux/arm64}}`, "spec.platforms", "spec.platforms and spec.runOn.platform are mutually exclusive"},
	{"git revision: short SHA", "ImageBuild", `spec: {source: {git: {url: "https://git.example.com/team/web.git", revision: 4f1c2a9}}}`, "spec.source.git.revision", "use the full 40-hex SHA"},
	{"git url: empty", "ImageBuild", `spec: {source: {git: {url: ""}}}`, "spec.source.git.url", ""},
	{"git contextDir: parent", "ImageBuild", `spec: {source: {git: {contextDir: "../other"}}}`, "spec.source.git.contextDir", "relative path without '..'"},
	{"git contextDir: absolute", "ImageBuild", `spec: {source: {git: {contextDir: "/app"}}}`, "spec.source.git.contextDir", "relative path"},
	{"git contextDir: inner parent", "ImageBuild", `spec: {source: {git: {contextDir: "app/../../x"}}}`, "spec.source.git.contextDir", "without '..'"},
	{"git revision: option injection", "ImageBuild", `spec: {source: {git: {revision: "--upload-pack=x"}}}`, "spec.source.git.revision", "branch, tag or commit"},
	{"git cloneSecretRef: empty name", "ImageBuild", `spec: {source: {git: {cloneSecretRef: {name: ""}}}}`, "spec.source.git.cloneSecretRef.name", ""},
	{"inline: empty dockerfile", "ImageBuild", `spec: {source: {git: null, inline: {dockerfile: ""}}}`, "spec.source.inline.dockerfile", ""},
	{"inline files: parent path", "ImageBuild", `spec: {source: {git: null, inline: {dockerfile: "FROM scratch", files: {"../etc/passwd": "x"}}}}`, "spec.source.inline.files", "without '..'"},
	{"inline files: absolute path", "ImageBuild", `spec: {source: {git: null, inline: {dockerfile: "FROM scratch", files: {"/etc/passwd": "x"}}}}`, "spec.source.inline.files", "leading '/'"},
	{"configMap: empty name", "ImageBuild", `spec: {source: {git: null, configMap: {name: ""}}}`, "spec.source.configMap.name", ""},
	{"dockerfile: outside context", "ImageBuild", `spec: {dockerfile: "../Dockerfile"}`, "spec.dockerfile", "relative path inside the context"},
	{"output: image missing", "ImageBuild", `spec: {output: {image: null}}`, "spec.output.image", "Required"},
	{"output image: digest", "ImageBuild", `spec: {output: {image: "registry.example.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}`, "spec.output.image", "must not contain a digest"},
	{"output image: spaces", "ImageBuild", `spec: {output: {image: "not an image"}}`, "spec.output.image", "must be a valid image reference"},
	{"output image: uppercase repository", "ImageBuild", `spec: {output: {image: "registry.example.com/Team/Web:1"}}`, "spec.output.image", "valid image reference"},
	{"output pushSecretRef: empty name", "ImageBuild", `spec: {output: {pushSecretRef: {name: ""}}}`, "spec.output.pushSecretRef.name", ""},
	{"buildArgs: bad name", "ImageBuild", `spec: {buildArgs: [{name: "1VERSION", value: "1"}]}`, "spec.buildArgs[0].name", "[A-Za-z_][A-Za-z0-9_]*"},
	{"buildArgs: duplicate name", "ImageBuild", `spec: {buildArgs: [{name: V, value: "1"}, {name: V, value: "2"}]}`, "spec.buildArgs[1]", "Duplicate value"},
	{"target: bad characters", "ImageBuild", `spec: {target: "build stage!"}`, "spec.target", ""},
	{"cache: enabled without repo", "ImageBuild", `spec: {cache: {enabled: true}}`, "spec.cache.repo", "spec.cache.repo is required when spec.cache.enabled is true"},
	{"timeout: zero", "ImageBuild", `spec: {timeout: "0s"}`, "spec.timeout", "greater than 0s and at most 24h"},
	{"timeout: over a day", "ImageBuild", `spec: {timeout: "25h"}`, "spec.timeout", "at most 24h"},
	{"retries: too many", "ImageBuild", `spec: {retries: 6}`, "spec.retries", "less than or equal to 5"},
	{"retries: negative", "ImageBuild", `spec: {retries: -1}`, "spec.retries", "greater than or equal to 0"},
	{"runOn: edgeClusterRef and nodeSelector", "ImageBuild", `spec: {runOn: {edgeClusterRef: {name: site-a}, nodeSelector: {kubernetes.io/arch: arm64}}}`, "spec.runOn", "mutually exclusive"},
	{"executorImage: spaces", "ImageBuild", `spec: {executorImage: "kaniko latest"}`, "spec.executorImage", "must be an image reference"},
	{"successfulBuildsHistoryLimit: too high", "ImageBuild", `spec: {successfulBuildsHistoryLimit: 21}`, "spec.successfulBuildsHistoryLimit", "less than or equal to 20"},
	{"failedBuildsHistoryLimit: negative", "ImageBuild", `spec: {failedBuildsHistoryLimit: -1}`, "spec.failedBuildsHistoryLimit", "greater than or equal to 0"},
	{"name: too long for build Job names", "ImageBuild", `metadata: {name: "` + strings.Repeat("a", 53) + `"}`, "", "metadata.name must be at most 52 characters"},
	{"inline files: contains the Dockerfile", "ImageBuild", `spec: {source: {git: null, inline: {dockerfile: "FROM scratch", files: {Dockerfile: "FROM x"}}}}`, "spec.source.inline.files", "must not contain the Dockerfile path"},
	{"inline files: contains a custom Dockerfile path", "ImageBuild", `spec: {dockerfile: build/Dockerfile, source: {git: null, inline: {dockerfile: "FROM scratch", files: {build/Dockerfile: "FROM x"}}}}`, "spec.source.inline.files", "must not contain the Dockerfile path"},

	// AppDeployment
	{"serviceAccountName: not a DNS name", "AppDeployment", `spec: {serviceAccountName: "Web_SA"}`, "spec.serviceAccountName", "must be a DNS subdomain name"},
	{"imagePullSecrets: duplicate", "AppDeployment", `spec: {imagePullSecrets: [{name: a}, {name: a}]}`, "spec.imagePullSecrets[1]", "Duplicate value"},
	{"image and imageFrom", "AppDeployment", `spec: {imageFrom: {imageBuildRef: {name: web}}}`, "spec", "exactly one of image or imageFrom must be set"},
	{"neither image nor imageFrom", "AppDeployment", `spec: {image: null}`, "spec", "exactly one of image or imageFrom must be set"},
	{"imageFrom: empty ref", "AppDeployment", `spec: {image: null, imageFrom: {imageBuildRef: {name: ""}}}`, "spec.imageFrom.imageBuildRef.name", ""},
	{"replicas: too many", "AppDeployment", `spec: {replicas: 1001}`, "spec.replicas", "less than or equal to 1000"},
	{"replicas: negative", "AppDeployment", `spec: {replicas: -1}`, "spec.replicas", "greater than or equal to 0"},
	{"ports: duplicate names", "AppDeployment", `spec: {ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]}`, "spec.ports[1]", "Duplicate value"},
	{"ports: bad name", "AppDeployment", `spec: {ports: [{name: "HTTP_1", containerPort: 80}]}`, "spec.ports[0].name", "lowercase DNS label"},
	{"ports: zero", "AppDeployment", `spec: {ports: [{name: http, containerPort: 0}]}`, "spec.ports[0].containerPort", "greater than or equal to 1"},
	{"ports: above 65535", "AppDeployment", `spec: {ports: [{name: http, containerPort: 70000}]}`, "spec.ports[0].containerPort", "less than or equal to 65535"},
	{"ports: protocol", "AppDeployment", `spec: {ports: [{name: http, containerPort: 80, protocol: ICMP}]}`, "spec.ports[0].protocol", "Unsupported value"},
	{"service: unknown type", "AppDeployment", `spec: {service: {type: Headless}}`, "spec.service.type", "Unsupported value"},
	{"service: nodePort with ClusterIP", "AppDeployment", `spec: {service: {type: ClusterIP, nodePort: 30080}}`, "spec.service.nodePort", "only allowed when spec.service.type is NodePort"},
	{"service: nodePort out of range", "AppDeployment", `spec: {service: {type: NodePort, nodePort: 8080}}`, "spec.service.nodePort", "greater than or equal to 30000"},
	{"ingress: no ports", "AppDeployment", `spec: {ports: null, ingress: {host: web.example.com}}`, "spec.ingress", "requires at least one entry in spec.ports"},
	{"ingress: no Service", "AppDeployment", `spec: {service: {type: None}, ingress: {host: web.example.com}}`, "spec.ingress", "spec.service.type must not be None"},
	{"ingress: path without slash", "AppDeployment", `spec: {ingress: {path: "web"}}`, "spec.ingress.path", "must start with '/'"},
	{"ingress: bad host", "AppDeployment", `spec: {ingress: {host: "Web_Site"}}`, "spec.ingress.host", "must be a DNS name"},
	{"ingress: tls without host", "AppDeployment", `spec: {ingress: {tlsSecretName: web-tls}}`, "spec.ingress.tlsSecretName", "requires spec.ingress.host"},
	{"ingress: unknown port", "AppDeployment", `spec: {ingress: {port: grpc}}`, "spec.ingress.port", "must name one of spec.ports"},
	{"autoscaling: min above max", "AppDeployment", `spec: {autoscaling: {minReplicas: 5, maxReplicas: 2}}`, "spec.autoscaling.minReplicas", "less than or equal to spec.autoscaling.maxReplicas"},
	{"autoscaling: max zero", "AppDeployment", `spec: {autoscaling: {maxReplicas: 0}}`, "spec.autoscaling.maxReplicas", "greater than or equal to 1"},
	{"autoscaling: target cpu zero", "AppDeployment", `spec: {autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 0}}`, "spec.autoscaling.targetCPUUtilizationPercentage", "greater than or equal to 1"},
	{"disruptionBudget: both", "AppDeployment", `spec: {disruptionBudget: {minAvailable: 1, maxUnavailable: 1}}`, "spec.disruptionBudget", "exactly one of minAvailable or maxUnavailable"},
	{"disruptionBudget: neither", "AppDeployment", `spec: {disruptionBudget: {}}`, "spec.disruptionBudget", "exactly one of minAvailable or maxUnavailable"},
	{"disruptionBudget: bad percentage", "AppDeployment", `spec: {disruptionBudget: {minAvailable: "half"}}`, "spec.disruptionBudget.minAvailable", "percentage like 50%"},
	{"strategy: bad maxSurge", "AppDeployment", `spec: {strategy: {maxSurge: "lots"}}`, "spec.strategy.maxSurge", "percentage like 25%"},
	{"strategy: negative maxUnavailable", "AppDeployment", `spec: {strategy: {maxUnavailable: -1}}`, "spec.strategy.maxUnavailable", "non-negative"},
	{"strategy: zero progress deadline", "AppDeployment", `spec: {strategy: {progressDeadlineSeconds: 0}}`, "spec.strategy.progressDeadlineSeconds", "greater than or equal to 1"},
	{"strategy: pre-pull timeout too short", "AppDeployment", `spec: {strategy: {prePullTimeout: 500ms}}`, "spec.strategy.prePullTimeout", "between 1s and 24h"},
	{"strategy: pre-pull timeout too long", "AppDeployment", `spec: {strategy: {prePullTimeout: 25h}}`, "spec.strategy.prePullTimeout", "between 1s and 24h"},
	{"placement: nodeSelector names another pool", "AppDeployment", `spec: {placement: {edgeClusterRef: {name: site-a}, nodeSelector: {edgeforge.io/edge-cluster: site-b}}}`, "spec.placement.nodeSelector", "must name the pool of spec.placement.edgeClusterRef"},
	{"rollout: with edgeClusterRef", "AppDeployment", `spec: {placement: {edgeClusterRef: {name: a}, rollout: {pools: [{edgeClusterRef: {name: b}}]}}}`, "spec.placement.rollout", "spec.placement.rollout and spec.placement.edgeClusterRef are exclusive"},
	{"rollout: no pools", "AppDeployment", `spec: {placement: {rollout: {pools: []}}}`, "spec.placement.rollout.pools", "should have at least 1 items"},
	{"rollout: entry with ref and selector", "AppDeployment", `spec: {placement: {rollout: {pools: [{edgeClusterRef: {name: a}, edgeClusterSelector: {}}]}}}`, "spec.placement.rollout.pools[0]", "exactly one of edgeClusterRef or edgeClusterSelector"},
	{"rollout: entry with neither", "AppDeployment", `spec: {placement: {rollout: {pools: [{replicas: 2}]}}}`, "spec.placement.rollout.pools[0]", "exactly one of edgeClusterRef or edgeClusterSelector"},
	{"rollout: maxConcurrentPools with a ref", "AppDeployment", `spec: {placement: {rollout: {pools: [{edgeClusterRef: {name: a}, maxConcurrentPools: 2}]}}}`, "spec.placement.rollout.pools[0].maxConcurrentPools", "only allowed with edgeClusterSelector"},
	{"rollout: maxConcurrentPools zero", "AppDeployment", `spec: {placement: {rollout: {pools: [{edgeClusterSelector: {}, maxConcurrentPools: 0}]}}}`, "spec.placement.rollout.pools[0].maxConcurrentPools", "greater than or equal to 1"},
	{"rollout: pause too long", "AppDeployment", `spec: {placement: {rollout: {pools: [{edgeClusterSelector: {}}], pauseBetweenWaves: 25h}}}`, "spec.placement.rollout.pauseBetweenWaves", "between 0s and 24h"},
	{"rollout: nodeSelector names a pool", "AppDeployment", `spec: {placement: {nodeSelector: {edgeforge.io/edge-cluster: a}, rollout: {pools: [{edgeClusterRef: {name: a}}]}}}`, "spec.placement.nodeSelector", "cannot name a pool with spec.placement.rollout"},
	{"rollout: with autoscaling", "AppDeployment", `spec: {autoscaling: {maxReplicas: 3}, placement: {rollout: {pools: [{edgeClusterRef: {name: a}}]}}}`, "spec.autoscaling", "cannot be combined with spec.placement.rollout"},
	{"metrics: unknown port", "AppDeployment", `spec: {metrics: {port: metrics}}`, "spec.metrics.port", "must name one of spec.ports"},
	{"metrics: path without slash", "AppDeployment", `spec: {metrics: {port: http, path: metrics}}`, "spec.metrics.path", "must start with '/'"},
	{"metrics: no Service", "AppDeployment", `spec: {service: {type: None}, metrics: {port: http}}`, "spec.metrics", "requires a Service"},
	{"metrics: bad interval", "AppDeployment", `spec: {metrics: {port: http, interval: "soon"}}`, "spec.metrics.interval", "duration like 30s"},
	{"name: starts with a digit", "AppDeployment", `metadata: {name: 1web}`, "", "metadata.name must be a DNS label of at most 63 characters starting with a letter"},
	{"name: longer than a label value", "AppDeployment", `metadata: {name: "` + strings.Repeat("a", 64) + `"}`, "", "metadata.name must be a DNS label"},
	{"name: dots", "AppDeployment", `metadata: {name: web.v1}`, "", "metadata.name must be a DNS label"},

	// EdgeCluster
	{"name: longer than a label value", "EdgeCluster", `metadata: {name: "` + strings.Repeat("a", 64) + `"}`, "", "metadata.name must be at most 63 characters"},
	{"join methods: unknown", "EdgeCluster", `spec: {join: {methods: [rke]}}`, "spec.join.methods[0]", "Unsupported value"},
	{"join methods: duplicate", "EdgeCluster", `spec: {join: {methods: [k3s, k3s]}}`, "spec.join.methods[1]", "Duplicate value"},
	{"join methods: empty", "EdgeCluster", `spec: {join: {methods: []}}`, "spec.join.methods", "at least 1 items"},
	{"autonomy: not a duration", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: "a day"}}`, "spec.autonomy.tolerateDisconnectionFor", "a duration of at least 1s such as 30m or 24h, or Forever"},
	{"autonomy: forever in lower case", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: forever}}`, "spec.autonomy.tolerateDisconnectionFor", "or Forever"},
	{"autonomy: threshold 0", "EdgeCluster", `spec: {autonomy: {disconnectedThreshold: 0}}`, "spec.autonomy.disconnectedThreshold", "greater than or equal to 1"},
	{"autonomy: threshold over 100", "EdgeCluster", `spec: {autonomy: {disconnectedThreshold: 101}}`, "spec.autonomy.disconnectedThreshold", "less than or equal to 100"},
	{"autonomy: zero", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: 0s}}`, "spec.autonomy.tolerateDisconnectionFor", "at least 1s"},
	{"join tokenTTL: too short", "EdgeCluster", `spec: {join: {tokenTTL: 5m}}`, "spec.join.tokenTTL", "between 10m and 168h"},
	{"join tokenTTL: too long", "EdgeCluster", `spec: {join: {tokenTTL: 200h}}`, "spec.join.tokenTTL", "between 10m and 168h"},
	{"join apiServerEndpoint: scheme", "EdgeCluster", `spec: {join: {apiServerEndpoint: "https://203.0.113.10:6443"}}`, "spec.join.apiServerEndpoint", "host:port without a scheme"},
	{"join apiServerEndpoint: no port", "EdgeCluster", `spec: {join: {apiServerEndpoint: "203.0.113.10"}}`, "spec.join.apiServerEndpoint", "host:port"},
	{"join kubeedge cloudCoreAddress: scheme", "EdgeCluster", `spec: {join: {kubeedge: {cloudCoreAddress: "wss://203.0.113.10:10000"}}}`, "spec.join.kubeedge.cloudCoreAddress", "host:port without a scheme"},
	{"join k3s tokenSecretRef: no name", "EdgeCluster", `spec: {join: {k3s: {tokenSecretRef: {key: token}}}}`, "spec.join.k3s.tokenSecretRef.name", "Required"},
	{"join microk8s joinSecretRef: bad key", "EdgeCluster", `spec: {join: {microk8s: {joinSecretRef: {name: mk, key: "a/b"}}}}`, "spec.join.microk8s.joinSecretRef.key", "alphanumeric characters"},
	{"nodeTemplate labels: reserved key", "EdgeCluster", `spec: {nodeTemplate: {labels: {edgeforge.io/edge-cluster: other}}}`, "spec.nodeTemplate.labels", "keys under edgeforge.io/ are reserved"},
	{"nodeTemplate labels: reserved subdomain", "EdgeCluster", `spec: {nodeTemplate: {labels: {pool.edgeforge.io/x: "yes"}}}`, "spec.nodeTemplate.labels", "reserved"},
	{"nodeTemplate labels: invalid key", "EdgeCluster", `spec: {nodeTemplate: {labels: {"bad key": x}}}`, "spec.nodeTemplate.labels", "valid label keys"},
	{"nodeTemplate labels: invalid value", "EdgeCluster", `spec: {nodeTemplate: {labels: {tier: "-edge-"}}}`, "spec.nodeTemplate.labels", "valid label values"},
	{"nodeTemplate annotations: reserved key", "EdgeCluster", `spec: {nodeTemplate: {annotations: {edgeforge.io/owner: x}}}`, "spec.nodeTemplate.annotations", "reserved"},
	{"nodeTemplate taints: bad effect", "EdgeCluster", `spec: {nodeTemplate: {taints: [{key: edge, effect: Sometimes}]}}`, "spec.nodeTemplate.taints[0].effect", "Unsupported value"},
	{"nodeTemplate taints: bad key", "EdgeCluster", `spec: {nodeTemplate: {taints: [{key: "bad key!", effect: NoSchedule}]}}`, "spec.nodeTemplate.taints[0].key", "valid label key"},
	{"nodeTemplate taints: missing effect", "EdgeCluster", `spec: {nodeTemplate: {taints: [{key: edge}]}}`, "spec.nodeTemplate.taints[0].effect", "Required"},
	{"health: negative grace period", "EdgeCluster", `spec: {health: {notReadyGracePeriod: "-1m"}}`, "spec.health.notReadyGracePeriod", "between 0s and 168h"},
	{"minReadyNodes: negative", "EdgeCluster", `spec: {minReadyNodes: -1}`, "spec.minReadyNodes", "greater than or equal to 0"},
	{"minReadyNodes: above expectedNodes", "EdgeCluster", `spec: {minReadyNodes: 5, expectedNodes: 3}`, "spec.minReadyNodes", "must not exceed spec.expectedNodes"},
	{"servingCertificates ipRanges: not a CIDR", "EdgeCluster", `spec: {servingCertificates: {ipRanges: ["10.20.0.0/16", "10.20.0.7"]}}`, "spec.servingCertificates.ipRanges", "must be a CIDR"},
	{"servingCertificates dnsSuffixes: a wildcard", "EdgeCluster", `spec: {servingCertificates: {dnsSuffixes: ["*.example.com"]}}`, "spec.servingCertificates.dnsSuffixes[0]", "should match"},

	// MonitoringStack
	{"prometheus version: not a version", "MonitoringStack", `spec: {prometheus: {version: "latest"}}`, "spec.prometheus.version", "must be a version such as v3.16.0"},
	{"prometheus replicas: zero", "MonitoringStack", `spec: {prometheus: {replicas: 0}}`, "spec.prometheus.replicas", "greater than or equal to 1"},
	{"prometheus replicas: six", "MonitoringStack", `spec: {prometheus: {replicas: 6}}`, "spec.prometheus.replicas", "less than or equal to 5"},
	{"prometheus retention: words", "MonitoringStack", `spec: {prometheus: {retention: "one day"}}`, "spec.prometheus.retention", "Prometheus duration"},
	{"prometheus scrapeInterval: zero", "MonitoringStack", `spec: {prometheus: {scrapeInterval: "0"}}`, "spec.prometheus.scrapeInterval", "non-zero Prometheus duration"},
	{"prometheus storage: zero size", "MonitoringStack", `spec: {prometheus: {storage: {size: "0"}}}`, "spec.prometheus.storage.size", "greater than 0"},
	{"prometheus storage: no size", "MonitoringStack", `spec: {prometheus: {storage: {storageClassName: fast}}}`, "spec.prometheus.storage.size", "Required"},
	{"prometheus externalLabels: bad name", "MonitoringStack", `spec: {prometheus: {externalLabels: {"cluster-name": x}}}`, "spec.prometheus.externalLabels", "Prometheus label names"},
	{"grafana replicas: zero", "MonitoringStack", `spec: {grafana: {replicas: 0}}`, "spec.grafana.replicas", "greater than or equal to 1"},
	{"grafana image: spaces", "MonitoringStack", `spec: {grafana: {image: "grafana latest"}}`, "spec.grafana.image", "must be an image reference"},
	{"grafana adminCredentialsSecretRef: empty", "MonitoringStack", `spec: {grafana: {adminCredentialsSecretRef: {name: ""}}}`, "spec.grafana.adminCredentialsSecretRef.name", ""},
	{"grafana anonymous role: Admin", "MonitoringStack", `spec: {grafana: {anonymous: {enabled: true, role: Admin}}}`, "spec.grafana.anonymous.role", "Unsupported value"},
	{"grafana anonymous without grafana", "MonitoringStack", `spec: {grafana: {enabled: false, anonymous: {enabled: true}}}`, "spec.grafana.anonymous.enabled", "requires spec.grafana.enabled"},
	{"grafana service: type None", "MonitoringStack", `spec: {grafana: {service: {type: None}}}`, "spec.grafana.service.type", "Unsupported value"},
	{"grafana service: nodePort with ClusterIP", "MonitoringStack", `spec: {grafana: {service: {type: ClusterIP, nodePort: 30300}}}`, "spec.grafana.service.nodePort", "only allowed when spec.grafana.service.type is NodePort"},
	{"name: longer than 40", "MonitoringStack", `metadata: {name: monitoring-stack-with-a-rather-long-name-01}`, "", "at most 40 characters"},
	{"name: with a dot", "MonitoringStack", `metadata: {name: mon.v1}`, "", "must be a DNS label"},
	{"grafana service: nodePort out of range", "MonitoringStack", `spec: {grafana: {service: {type: NodePort, nodePort: 3000}}}`, "spec.grafana.service.nodePort", "0 or in 30000..32767"},
}

// TestInvalidObjectsAreRejected submits each invalid object (server-side dry run, so admission
// runs in full) and checks the API server refuses it with a cause naming the field.
func TestInvalidObjectsAreRejected(t *testing.T) {
	if len(invalidCases) < 40 {
		t.Fatalf("want at least 40 invalid cases, have %d", len(invalidCases))
	}
	// The base objects themselves must be valid, or every case would pass for the wrong reason.
	for kind := range bases {
		obj := build(t, kind, "")
		if err := k8sClient.Create(ctx(t), obj, client.DryRunAll); err != nil {
			t.Fatalf("base %s is not valid: %v", kind, err)
		}
	}
	for _, tc := range invalidCases {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			obj := build(t, tc.kind, tc.patch)
			err := k8sClient.Create(ctx(t), obj, client.DryRunAll)
			if err == nil {
				t.Fatalf("accepted, want rejection naming %s", tc.field)
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			details := status.Status().Details
			if details == nil {
				t.Fatalf("no details in %v", err)
			}
			for _, c := range details.Causes {
				if c.Field == "<nil>" { // how the API server names the object root
					c.Field = ""
				}
				if c.Field == tc.field && strings.Contains(c.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("no cause for field %q containing %q; causes: %+v", tc.field, tc.msg, details.Causes)
		})
	}
}

// build returns the base object of kind with patch merged in.
func build(t *testing.T, kind, patch string) *unstructured.Unstructured {
	t.Helper()
	base := map[string]any{}
	if err := yaml.Unmarshal([]byte(bases[kind]), &base); err != nil {
		t.Fatalf("base %s: %v", kind, err)
	}
	if patch != "" {
		p := map[string]any{}
		if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
			t.Fatalf("patch %q: %v", patch, err)
		}
		merge(base, p)
	}
	return &unstructured.Unstructured{Object: base}
}

// merge merges src into dst recursively: maps merge, a nil value deletes, anything else replaces.
func merge(dst, src map[string]any) {
	for k, v := range src {
		switch v := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, v)
				continue
			}
			dst[k] = v
		default:
			dst[k] = v
		}
	}
}

// Objects the wave-2 rules must keep accepting.
func TestWave2ValidObjectsAreAccepted(t *testing.T) {
	for _, tc := range []struct{ name, kind, patch string }{
		{"placement: a pool narrowed by nodeSelector", "AppDeployment", `spec: {placement: {edgeClusterRef: {name: site-a}, nodeSelector: {kubernetes.io/arch: arm64}}}`},
		{"placement: nodeSelector repeating the pool", "AppDeployment", `spec: {placement: {edgeClusterRef: {name: site-a}, nodeSelector: {edgeforge.io/edge-cluster: site-a}}}`},
		{"rollout: the issue's example with overrides", "AppDeployment", `spec: {placement: {rollout: {pools: [{edgeClusterRef: {name: canary-site}}, {edgeClusterSelector: {matchLabels: {region: kr-south}}, maxConcurrentPools: 2, replicas: 3, env: [{name: SITE, value: kr}], resources: {limits: {memory: 64Mi}}}], pauseBetweenWaves: 5m}}}`},
		{"rollout: no pause, prePull on", "AppDeployment", `spec: {strategy: {prePull: true}, placement: {nodeSelector: {kubernetes.io/arch: arm64}, rollout: {pools: [{edgeClusterSelector: {}}], pauseBetweenWaves: 0s}}}`},
		{"pull secrets and service account", "AppDeployment", `spec: {imagePullSecrets: [{name: a}, {name: b}], serviceAccountName: web.sa-1}`},
		{"autonomy: a day", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: 24h}}`},
		{"autonomy: a fraction", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: 1.5h}}`},
		{"autonomy: forever", "EdgeCluster", `spec: {autonomy: {tolerateDisconnectionFor: Forever}}`},
		{"prometheus version and placement", "MonitoringStack", `spec: {prometheus: {version: v3.16.0, nodeSelector: {edgeforge.io/edge-cluster: site-a}, tolerations: [{key: edgeforge.io/edge, operator: Exists}]}}`},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			if err := k8sClient.Create(ctx(t), build(t, tc.kind, tc.patch), client.DryRunAll); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}
}
