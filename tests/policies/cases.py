"""For every policy: a compliant, a violating and a missing-property case, as plain data.

Builders return compliant resources; each case mutates one thing. Expected outcomes:
"pass" (no violation), "fail" (at least one violation), "na" (not applicable).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daca_policies.spec import Resource

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_MISSING: Any = object()  # "not given", where None means "remove"
OPERATOR_CIDR = "203.0.113.7/32"
DIGEST = "sha256:" + "a" * 64
#: what the stacks give the app: the SHA-256 hex digest of its API key, never the key
KEY_DIGESTS = {"name": "DACA_API_KEYS", "value": "c" * 64}


@dataclass(frozen=True)
class Case:
    policy: str
    kind: str  # "compliant" | "violating" | "missing" | other labels for extra cases
    resources: tuple[Resource, ...]
    expect: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.kind}"


def container(**overrides: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "agent",
        "image": f"localhost:5001/daca-agent@{DIGEST}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8000.0, "name": "http"}],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001.0,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8000.0}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000.0}},
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {
                "name": "OPENAI_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": "agent", "key": "openai"}},
            },
            KEY_DIGESTS,
        ],
    }
    c.update(overrides)
    return c


def deployment(
    *,
    mutate: Callable[[dict[str, Any]], None] | None = None,
    kind: str = "Deployment",
    name: str = "agent",
) -> Resource:
    props: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "daca"},
        "spec": {
            "replicas": 2.0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {
                        "dapr.io/enabled": "true",
                        "dapr.io/app-id": name,
                        "dapr.io/app-port": "8000",
                    },
                },
                "spec": {"serviceAccountName": name, "containers": [container(name=name)]},
            },
        },
    }
    if mutate:
        mutate(props)
    return Resource(f"kubernetes:apps/v1:{kind}", name, props, f"urn:{name}")


def pod(props: dict[str, Any]) -> dict[str, Any]:
    return props["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def ctr(props: dict[str, Any]) -> dict[str, Any]:
    return pod(props)["containers"][0]  # type: ignore[no-any-return]


def no_template(props: dict[str, Any]) -> None:
    del props["spec"]["template"]


def resource(type_: str, props: dict[str, Any], name: str = "r") -> Resource:
    return Resource(type_, name, props, f"urn:{name}")


def ingress(spec: dict[str, Any]) -> Resource:
    return resource(
        "kubernetes:networking.k8s.io/v1:Ingress",
        {"metadata": {"name": "agent", "namespace": "daca"}, "spec": spec},
    )


def service(svc_type: str | None = "ClusterIP", ports: list[Any] | None = None) -> Resource:
    spec: dict[str, Any] = {
        "ports": ports if ports is not None else [{"port": 80.0, "targetPort": 8000.0}]
    }
    if svc_type:
        spec["type"] = svc_type
    return resource(
        "kubernetes:core/v1:Service",
        {"metadata": {"name": "agent", "namespace": "daca"}, "spec": spec},
        "svc",
    )


def app_service(
    svc_type: str = "NodePort", selector: Any = None, namespace: str = "daca"
) -> Resource:
    """The app's Service, selecting the pods of `deployment()`."""
    return resource(
        "kubernetes:core/v1:Service",
        {
            "metadata": {"name": "agent", "namespace": namespace},
            "spec": {
                "type": svc_type,
                "selector": {"app": "agent"} if selector is None else selector,
                "ports": [{"port": 80.0, "targetPort": "http"}],
            },
        },
        "agent-service",
    )


def app_ingress(service_name: str = "agent") -> Resource:
    backend = {"service": {"name": service_name, "port": {"name": "http"}}}
    path = {"path": "/v1", "pathType": "Prefix", "backend": backend}
    return resource(
        "kubernetes:networking.k8s.io/v1:Ingress",
        {
            "metadata": {"name": "agent", "namespace": "daca"},
            "spec": {"rules": [{"host": "a.example", "http": {"paths": [path]}}]},
        },
        "public-ingress",
    )


def k8s_component(
    metadata: list[Any] | None = None, scopes: Any = ("agent",), name: str = "statestore"
) -> Resource:
    props: dict[str, Any] = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "daca"},
        "spec": {
            "type": "state.redis",
            "version": "v1",
            "metadata": metadata
            if metadata is not None
            else [
                {"name": "redisHost", "value": "redis:6379"},
                {"name": "keyPrefix", "value": "name"},
                {"name": "redisPassword", "secretKeyRef": {"name": "redis", "key": "pw"}},
            ],
        },
    }
    if scopes is not None:
        props["scopes"] = list(scopes) if isinstance(scopes, tuple) else scopes
    return resource("kubernetes:dapr.io/v1alpha1:Component", props, name)


def aca_component(**overrides: Any) -> Resource:
    props: dict[str, Any] = {
        "componentName": "pubsub",
        "componentType": "pubsub.azure.servicebus.topics",
        "version": "v1",
        "scopes": ["agent"],
        "metadata": [
            {"name": "connectionString", "secretRef": "sb-conn"},
            {"name": "consumerID", "value": "agent"},
        ],
        "secrets": [
            {
                "name": "sb-conn",
                "keyVaultUrl": "https://kv.vault.azure.net/secrets/sb",
                "identity": "/subscriptions/x/identity",
            }
        ],
    }
    props.update(overrides)
    return resource("azure-native:app:DaprComponent", props, "pubsub")


def dapr_release(values: Any = None, version: Any = "1.15.4") -> Resource:
    props: dict[str, Any] = {
        "chart": "dapr",
        "namespace": "dapr-system",
        "values": values if values is not None else {"global": {"mtls": {"enabled": True}}},
    }
    if version is not None:
        props["version"] = version
    return resource("kubernetes:helm.sh/v3:Release", props, "dapr")


IDENTITY = (
    "/subscriptions/x/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/agent"
)


def container_app(mutate: Callable[[dict[str, Any]], None] | None = None) -> Resource:
    props: dict[str, Any] = {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY]},
        "configuration": {
            "ingress": {"external": True, "targetPort": 8000.0, "allowInsecure": False},
            "dapr": {"enabled": True, "appId": "agent", "appPort": 8000.0},
            "registries": [{"server": "dacaacr.azurecr.io", "identity": IDENTITY}],
            "secrets": [
                {
                    "name": "openai",
                    "keyVaultUrl": "https://kv.vault.azure.net/secrets/o",
                    "identity": IDENTITY,
                }
            ],
        },
        "template": {
            "containers": [
                {
                    "name": "agent",
                    "image": f"dacaacr.azurecr.io/daca-agent@{DIGEST}",
                    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    "probes": [
                        {"type": "Liveness", "httpGet": {"path": "/healthz", "port": 8000.0}},
                        {"type": "Readiness", "httpGet": {"path": "/readyz", "port": 8000.0}},
                    ],
                    "env": [
                        {"name": "OPENAI_API_KEY", "secretRef": "openai"},
                        {"name": "LOG_LEVEL", "value": "info"},
                        KEY_DIGESTS,
                    ],
                }
            ],
            "scale": {"minReplicas": 0.0, "maxReplicas": 3.0},
        },
    }
    if mutate:
        mutate(props)
    return resource("azure-native:app:ContainerApp", props, "agent-app")


def instance(
    shape: str = "VM.Standard.A1.Flex",
    ocpus: Any = 2,
    memory: Any = 12,
    boot: Any = 50,
    imds: Any = True,
    name: str = "node",
) -> Resource:
    props: dict[str, Any] = {
        "shape": shape,
        "shapeConfig": {"ocpus": ocpus, "memoryInGbs": memory},
        "sourceDetails": {"sourceType": "image", "sourceId": "ocid1.image"},
        "createVnicDetails": {"subnetId": "nodes-id", "assignPublicIp": "false"},
    }
    if boot is not None:
        # pulumi-oci types the size as a string
        props["sourceDetails"]["bootVolumeSizeInGbs"] = (
            str(int(boot)) if isinstance(boot, int | float) else boot
        )
    if imds is not None:
        props["instanceOptions"] = {"areLegacyImdsEndpointsDisabled": imds}
    return resource("oci:Core/instance:Instance", props, name)


def security_list(rules: Any) -> Resource:
    props: dict[str, Any] = {}
    if rules is not None:
        props["ingressSecurityRules"] = rules
    return resource("oci:Core/securityList:SecurityList", props, "sl")


def tcp_rule(source: str, low: int, high: int) -> dict[str, Any]:
    """A security list rule: min/max sit directly in tcpOptions."""
    return {"protocol": "6", "source": source, "tcpOptions": {"min": low, "max": high}}


def nsg_rule(
    source: str = OPERATOR_CIDR,
    tcp_options: Any = None,
    direction: str = "INGRESS",
    name: str = "nsg-rule",
) -> Resource:
    """An NSG rule: min/max nest in tcpOptions.destinationPortRange."""
    props: dict[str, Any] = {
        "networkSecurityGroupId": "nsg-id",
        "direction": direction,
        "protocol": "6",
        "source": source,
        "sourceType": "CIDR_BLOCK",
    }
    if tcp_options is not None:
        props["tcpOptions"] = tcp_options
    return resource(
        "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule", props, name
    )


def dest_ports(low: int, high: int | None = None) -> dict[str, Any]:
    return {"destinationPortRange": {"min": low, "max": high if high is not None else low}}


def volume(size: Any = "100", name: str = "data") -> Resource:
    props: dict[str, Any] = {} if size is None else {"sizeInGbs": size}
    return resource("oci:Core/volume:Volume", props, name)


def nlb(nsgs: Any = ("nsg-id",), name: str = "nlb") -> Resource:
    props: dict[str, Any] = {
        "isPrivate": False,
        "subnetId": "public-id",
        "reservedIps": [{"id": "nlb-ip-id"}],
    }
    if nsgs is not None:
        props["networkSecurityGroupIds"] = nsgs if isinstance(nsgs, str) else list(nsgs)
    return resource("oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer", props, name)


def listener(
    port: Any,
    nlb_id: Any = "nlb-id",
    name: str | None = None,
    depends_on: str | None = None,
) -> Resource:
    name = name or f"nlb-listener-{port}"
    props: dict[str, Any] = {
        "networkLoadBalancerId": nlb_id,
        "defaultBackendSetName": "ingress",
        "name": name,
        "protocol": "TCP",
    }
    if port is not None:
        props["port"] = port
    # the engine's property dependencies: which resource the NLB id came from
    deps = {"networkLoadBalancerId": (f"urn:{depends_on}",)} if depends_on else {}
    return Resource("oci:NetworkLoadBalancer/listener:Listener", name, props, f"urn:{name}", deps)


def load_balancer(shape: Any = "flexible", maximum: Any = 10, name: str = "lb") -> Resource:
    props: dict[str, Any] = {"shape": shape, "subnetIds": ["public-id"]}
    if maximum is not None:
        props["shapeDetails"] = {"minimumBandwidthInMbps": 10, "maximumBandwidthInMbps": maximum}
    return resource("oci:LoadBalancer/loadBalancer:LoadBalancer", props, name)


def public_ip(lifetime: Any = "RESERVED", name: str = "nlb-ip") -> Resource:
    return resource("oci:Core/publicIp:PublicIp", {"lifetime": lifetime}, name)


def nat_gateway(name: str = "nat") -> Resource:
    return resource("oci:Core/natGateway:NatGateway", {"vcnId": "vcn-id"}, name)


def oci_stack(*extra: Resource, **nodes: Resource) -> tuple[Resource, ...]:
    """The oci stage within every Always Free cap: 2 OCPU / 12 GB, 200 GB, one NLB (one
    reserved IP, 80/443/6443, NSG-guarded), one 10 Mbps flexible LB. ``nodes`` replace
    the server or agent by name; ``extra`` resources are added."""
    server = nodes.get("server", instance(ocpus=1, memory=6, name="k3s-server"))
    agent = nodes.get("agent", instance(ocpus=1, memory=6, name="k3s-agent-1"))
    return (
        server,
        agent,
        volume("100"),
        nsg_rule(tcp_options=dest_ports(6443), name="nsg-kube-api"),
        nsg_rule(tcp_options=dest_ports(22), name="nsg-ssh"),
        nsg_rule("0.0.0.0/0", dest_ports(443), name="nsg-https"),
        public_ip(),
        nlb(),
        listener(80),
        listener(443),
        listener(6443),
        load_balancer(),
        *extra,
    )


def karmada_cluster(
    name: str, region: str | None = None, labels: dict[str, str] | None = None
) -> Resource:
    """A member cluster registered with Karmada (cluster-scoped, Push mode)."""
    spec: dict[str, Any] = {"syncMode": "Push", "apiEndpoint": f"https://{name}.example:6443"}
    if region:
        spec["region"] = region
    props = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }
    return resource("kubernetes:cluster.karmada.io/v1alpha1:Cluster", props, f"{name}-cluster")


def propagation(placement: Any = _MISSING, name: str = "agent-propagation") -> Resource:
    """The app's PropagationPolicy; by default on the clusters `eu` and `us`."""
    spec: dict[str, Any] = {
        "resourceSelectors": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent", "namespace": "daca"}
        ],
        "placement": {
            "clusterAffinity": {"clusterNames": ["eu", "us"]},
            "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
        },
    }
    if placement is None:
        del spec["placement"]
    elif placement is not _MISSING:
        spec["placement"] = placement
    props = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "agent", "namespace": "daca"},
        "spec": spec,
    }
    return resource("kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy", props, name)


def members(*names: str) -> tuple[Resource, ...]:
    return tuple(karmada_cluster(n, region=f"{n}-region") for n in names)


def pod_monitor(namespace: Any = "monitoring", name: str = "agent-app") -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not _MISSING:
        metadata["namespace"] = namespace
    return resource(
        "kubernetes:monitoring.coreos.com/v1:PodMonitor",
        {
            "metadata": metadata,
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "agent"}},
                "namespaceSelector": {"matchNames": ["daca"]},
                "podMetricsEndpoints": [{"port": "metrics"}],
            },
        },
        name,
    )


def docker_image(dockerfile: str | None, context: str | None = None) -> Resource:
    build: dict[str, Any] = {}
    if dockerfile is not None:
        build["dockerfile"] = dockerfile
    if context is not None:
        build["context"] = context
    props: dict[str, Any] = {"imageName": "localhost:5001/daca-agent:v1", "skipPush": False}
    if build:
        props["build"] = build
    return resource("docker:index/image:Image", props, "agent-image")


def fd_route(**overrides: Any) -> Resource:
    """A Front Door route as the FrontDoor component writes it."""
    props: dict[str, Any] = {
        "routeName": "daca-route",
        "originGroup": {"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Cdn/g"},
        "supportedProtocols": ["Https", "Http"],
        "httpsRedirect": "Enabled",
        "forwardingProtocol": "HttpsOnly",
        "patternsToMatch": ["/*"],
        "linkToDefaultDomain": "Enabled",
    }
    props.update(overrides)
    return resource("azure-native:cdn:Route", {k: v for k, v in props.items() if v is not _DELETE})


def fd_origin_group(**probe: Any) -> Resource:
    settings: dict[str, Any] = {
        "probePath": "/healthz",
        "probeProtocol": "Https",
        "probeRequestType": "GET",
        "probeIntervalInSeconds": 100.0,
    }
    settings.update(probe)
    props = {
        "healthProbeSettings": {k: v for k, v in settings.items() if v is not _DELETE},
        "loadBalancingSettings": {"sampleSize": 4.0, "successfulSamplesRequired": 3.0},
    }
    return resource("azure-native:cdn:AFDOriginGroup", props)


def aks_cluster(**overrides: Any) -> Resource:
    props: dict[str, Any] = {
        "resourceName": "daca-eu",
        "enableRBAC": True,
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": "t"},
        "identity": {"type": "SystemAssigned"},
    }
    props.update(overrides)
    return resource(
        "azure-native:containerservice:ManagedCluster",
        {k: v for k, v in props.items() if v is not _DELETE},
    )


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(props: dict[str, Any]) -> None:
        cur: Any = props
        for key in path[:-1]:
            cur = cur[key]
        if value is _DELETE:
            cur.pop(path[-1], None)
        else:
            cur[path[-1]] = value

    return apply


_DELETE = object()
C = ["spec", "template", "spec", "containers", 0]
P = ["spec", "template", "spec"]
A = ["spec", "template", "metadata", "annotations"]


def k(
    policy: str,
    compliant: Resource,
    violating: Resource,
    missing: Resource,
    missing_expect: str,
    config: dict[str, Any] | None = None,
) -> list[Case]:
    cfg = config or {}
    return [
        Case(policy, "compliant", (compliant,), "pass", cfg),
        Case(policy, "violating", (violating,), "fail", cfg),
        Case(policy, "missing", (missing,), missing_expect, cfg),
    ]


def scaled_object(
    min_replicas: float | None = 1.0, kind: str | None = "Deployment", namespace: str = "daca"
) -> Resource:
    """A KEDA ScaledObject scaling the Deployment `agent` on request rate."""
    target: dict[str, Any] = {"apiVersion": "apps/v1", "name": "agent"}
    if kind is not None:
        target["kind"] = kind
    spec: dict[str, Any] = {
        "scaleTargetRef": target,
        "maxReplicaCount": 4.0,
        "triggers": [
            {
                "type": "prometheus",
                "metadata": {
                    "serverAddress": "http://kps-prometheus.monitoring.svc:9090",
                    "query": "sum(rate(daca_http_requests_total[2m]))",
                    "threshold": "5",
                },
            }
        ],
    }
    if min_replicas is not None:
        spec["minReplicaCount"] = min_replicas
    return resource(
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        {"metadata": {"name": "agent", "namespace": namespace}, "spec": spec},
        name="agent-scaledobject",
    )


def in_cluster(r: Resource, cluster: str) -> Resource:
    """`r` created with the provider of cluster `cluster` (a planet region)."""
    return Resource(r.type, f"{cluster}-{r.name}", r.props, r.urn, r.dependencies, cluster)


def hpa_of(deployment: str) -> Resource:
    """A CPU HPA on the Deployment `deployment` in namespace daca."""
    return resource(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        {
            "metadata": {"name": deployment, "namespace": "daca"},
            "spec": {
                "minReplicas": 1.0,
                "maxReplicas": 4.0,
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment,
                },
            },
        },
        name=f"{deployment}-hpa",
    )


def d(mutate: Callable[[dict[str, Any]], None] | None = None) -> Resource:
    return deployment(mutate=mutate)


def _copy(r: Resource) -> Resource:
    return Resource(r.type, r.name, copy.deepcopy(dict(r.props)), r.urn)


def _pod_level_non_root(props: dict[str, Any]) -> None:
    ctr(props).pop("securityContext")
    pod(props)["securityContext"] = {"runAsNonRoot": True}


# --- llm ---
LLAMA_IMAGE = f"ghcr.io/ggml-org/llama.cpp:server-b9859@{DIGEST}"


def llm_server(engine: str = "llamacpp", **resources: Any) -> Resource:
    """A model server StatefulSet the way the platform labels it."""

    def mutate(props: dict[str, Any]) -> None:
        props["kind"] = "StatefulSet"
        props["metadata"] = {
            "name": "llama-server",
            "namespace": "llm",
            "labels": {"daca.dev/llm-server": engine},
        }
        c = ctr(props)
        c["image"] = LLAMA_IMAGE
        c["resources"] = resources or {
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"cpu": "2", "memory": "3Gi"},
        }
        props["spec"]["template"]["metadata"].pop("annotations", None)  # no Dapr sidecar

    return deployment(mutate=mutate, kind="StatefulSet", name="llama-server")


def _unlabelled_llama(props: dict[str, Any]) -> None:
    """A llama.cpp server someone deployed by hand: no label, no resources."""
    ctr(props)["image"] = LLAMA_IMAGE
    ctr(props).pop("resources")


def vllm_release(**model: Any) -> Resource:
    spec = {
        "name": "model",
        "repository": "vllm/vllm-openai",
        "tag": "v0.15.1",
        "modelURL": "Qwen/Qwen2.5-1.5B-Instruct",
        "requestCPU": 2.0,
        "requestMemory": "8Gi",
        "requestGPU": 1.0,
    }
    for key, value in model.items():
        if value is _DELETE:
            spec.pop(key, None)
        else:
            spec[key] = value
    return resource(
        "kubernetes:helm.sh/v3:Release",
        {
            "name": "vllm",
            "chart": "vllm-stack",
            "version": "0.1.12",
            "namespace": "llm",
            "values": {"servingEngineSpec": {"modelSpec": [spec]}},
        },
        "vllm",
    )


def kafka_cluster(*listeners: dict[str, Any]) -> Resource:
    """A Strimzi `Kafka` (v1) with these listeners; compliant: internal + external, both
    TLS and SCRAM."""
    given = list(listeners) or [
        {
            "name": "tls",
            "port": 9093.0,
            "type": "internal",
            "tls": True,
            "authentication": {"type": "scram-sha-512"},
        },
        {
            "name": "external",
            "port": 9094.0,
            "type": "loadbalancer",
            "tls": True,
            "authentication": {"type": "scram-sha-512"},
            "configuration": {"loadBalancerSourceRanges": ["198.51.100.0/24"]},
        },
    ]
    props = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "Kafka",
        "metadata": {"name": "daca", "namespace": "kafka"},
        "spec": {"kafka": {"version": "4.3.1", "listeners": given}},
    }
    return resource("kubernetes:kafka.strimzi.io/v1:Kafka", props, "kafka-cluster")


def kafka_cluster_without_listeners(listeners: Any = _MISSING) -> Resource:
    cluster = kafka_cluster()
    spec = cluster.props["spec"]["kafka"]
    if listeners is _MISSING:
        spec.pop("listeners")
    else:
        spec["listeners"] = listeners
    return cluster


def _external(**changes: Any) -> dict[str, Any]:
    listener: dict[str, Any] = {
        "name": "external",
        "port": 9094.0,
        "type": "loadbalancer",
        "tls": True,
        "authentication": {"type": "scram-sha-512"},
    }
    for key, value in changes.items():
        if value is _DELETE:
            listener.pop(key)
        else:
            listener[key] = value
    return listener


CASES: list[Case] = [
    # --- k8s ---
    *k(
        "k8s-container-non-root",
        d(),
        d(_set([*C, "securityContext", "runAsUser"], 0)),
        d(_set([*C, "securityContext"], _DELETE)),
        "fail",
    ),
    Case("k8s-container-non-root", "pod-level", (d(_pod_level_non_root),), "pass"),
    Case("k8s-container-non-root", "no-template", (d(no_template),), "na"),
    *k(
        "k8s-container-no-privilege-escalation",
        d(),
        d(_set([*C, "securityContext", "allowPrivilegeEscalation"], True)),
        d(_set([*C, "securityContext"], _DELETE)),
        "fail",
    ),
    *k(
        "k8s-container-not-privileged",
        d(),
        d(_set([*C, "securityContext", "privileged"], True)),
        d(_set([*C, "securityContext"], _DELETE)),
        "pass",
    ),
    *k("k8s-pod-no-host-namespaces", d(), d(_set([*P, "hostNetwork"], True)), d(no_template), "na"),
    Case("k8s-pod-no-host-namespaces", "hostPID", (d(_set([*P, "hostPID"], True)),), "fail"),
    *k(
        "k8s-container-no-host-port",
        d(),
        d(_set([*C, "ports"], [{"containerPort": 8000.0, "hostPort": 8000.0}])),
        d(_set([*C, "ports"], _DELETE)),
        "pass",
    ),
    *k(
        "k8s-container-readonly-rootfs",
        d(),
        d(_set([*C, "securityContext", "readOnlyRootFilesystem"], False)),
        d(_set([*C, "securityContext"], _DELETE)),
        "fail",
    ),
    Case(
        "k8s-container-readonly-rootfs",
        "exempt",
        (d(_set([*C, "securityContext", "readOnlyRootFilesystem"], False)),),
        "pass",
        {"exemptContainers": ["agent"]},
    ),
    *k(
        "k8s-container-capabilities-dropped",
        d(),
        d(_set([*C, "securityContext", "capabilities"], {"drop": ["ALL"], "add": ["NET_ADMIN"]})),
        d(_set([*C, "securityContext", "capabilities"], _DELETE)),
        "fail",
    ),
    Case(
        "k8s-container-capabilities-dropped",
        "allowed-add",
        (
            d(
                _set(
                    [*C, "securityContext", "capabilities"],
                    {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                )
            ),
        ),
        "pass",
        {"allowedCapabilities": ["NET_BIND_SERVICE"]},
    ),
    *k(
        "k8s-container-resources-set",
        d(),
        d(_set([*C, "resources", "limits"], {})),
        d(_set([*C, "resources"], _DELETE)),
        "fail",
    ),
    Case(
        "k8s-container-resources-set",
        "cpu-limit-required",
        (d(),),
        "fail",
        {"requireCpuLimit": True},
    ),
    *k(
        "k8s-container-probes-set",
        d(),
        d(_set([*C, "livenessProbe"], _DELETE)),
        d(lambda p: (ctr(p).pop("livenessProbe"), ctr(p).pop("readinessProbe"))),
        "fail",
    ),
    Case(
        "k8s-container-probes-set",
        "job-not-covered",
        (
            resource(
                "kubernetes:batch/v1:Job",
                {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "x", "image": "busybox:1.36"}]}
                        }
                    }
                },
            ),
        ),
        "pass",
    ),
    *k(
        "k8s-container-env-no-literal-secret",
        d(),
        d(_set([*C, "env"], [{"name": "REDIS_PASSWORD", "value": "hunter2"}])),
        d(_set([*C, "env"], _DELETE)),
        "pass",
    ),
    Case(
        "k8s-container-env-no-literal-secret",
        "key-digests-need-their-allowance",
        (d(),),
        "fail",
        {"allowedNames": []},
    ),
    Case(
        "k8s-container-env-no-literal-secret",
        "pulumi-secret-literal",
        (d(_set([*C, "env"], [{"name": "SETTINGS", "value": "[secret]"}])),),
        "fail",
    ),
    *k(
        "k8s-pod-dedicated-service-account",
        d(),
        d(_set([*P, "serviceAccountName"], "default")),
        d(_set([*P, "serviceAccountName"], _DELETE)),
        "fail",
    ),
    *k(
        "k8s-resource-not-default-namespace",
        d(),
        d(_set(["metadata", "namespace"], "default")),
        d(_set(["metadata", "namespace"], _DELETE)),
        "fail",
    ),
    Case(
        "k8s-resource-not-default-namespace",
        "cluster-scoped",
        (resource("kubernetes:core/v1:Namespace", {"metadata": {"name": "daca"}}),),
        "pass",
    ),
    Case("k8s-resource-not-default-namespace", "helm-release", (dapr_release(),), "pass"),
    Case(
        "k8s-resource-not-default-namespace",
        "karmada-cluster-is-cluster-scoped",
        (karmada_cluster("eu"),),
        "pass",
    ),
    Case(
        "k8s-resource-not-default-namespace",
        "yaml-component",
        (resource("kubernetes:yaml/v2:ConfigGroup", {"files": ["crds.yaml"]}),),
        "pass",
    ),
    *k(
        "k8s-service-type-allowed",
        service("ClusterIP"),
        service("LoadBalancer"),
        service(None),
        "pass",
    ),
    Case(
        "k8s-service-type-allowed",
        "nodeport-allowed-by-config",
        (service("NodePort"),),
        "pass",
        {"allowedTypes": ["ClusterIP", "NodePort"]},
    ),
    Case("k8s-service-type-allowed", "nodeport-default", (service("NodePort"),), "fail"),
    *k(
        "k8s-service-no-admin-port",
        service(),
        service(ports=[{"port": 22.0, "targetPort": 22.0}]),
        resource("kubernetes:core/v1:Service", {"metadata": {"namespace": "daca"}}),
        "pass",
    ),
    *k(
        "k8s-ingress-tls",
        ingress(
            {
                "tls": [{"hosts": ["agent.example.com"], "secretName": "tls"}],
                "rules": [{"host": "agent.example.com"}],
            }
        ),
        ingress({"tls": [{"hosts": ["a.example.com"]}], "rules": [{"host": "b.example.com"}]}),
        ingress({"rules": []}),
        "fail",
    ),
    Case(
        "k8s-ingress-tls",
        "private-stage",
        (ingress({}),),
        "pass",
        {"requireTls": False},
    ),
    *k(
        "k8s-workload-min-replicas",
        d(),
        d(_set(["spec", "replicas"], 1.0)),
        d(_set(["spec", "replicas"], _DELETE)),
        "fail",
        {"minReplicas": 2},
    ),
    Case(
        "k8s-workload-min-replicas",
        "replicas-left-to-its-hpa",
        (
            d(_set(["spec", "replicas"], _DELETE)),
            resource(
                "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                {
                    "metadata": {"name": "agent", "namespace": "daca"},
                    "spec": {
                        "minReplicas": 2.0,
                        "maxReplicas": 4.0,
                        "scaleTargetRef": {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "agent",
                        },
                    },
                },
            ),
        ),
        "pass",
        {"minReplicas": 2},
    ),
    Case(
        "k8s-workload-min-replicas",
        "hpa-scales-another-deployment",
        (
            d(_set(["spec", "replicas"], _DELETE)),
            resource(
                "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                {
                    "metadata": {"name": "other", "namespace": "daca"},
                    "spec": {
                        "minReplicas": 2.0,
                        "maxReplicas": 4.0,
                        "scaleTargetRef": {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "other",
                        },
                    },
                },
            ),
        ),
        "fail",
        {"minReplicas": 2},
    ),
    Case(
        "k8s-workload-min-replicas",
        "hpa",
        (
            resource(
                "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                {"spec": {"minReplicas": 1.0, "maxReplicas": 4.0}},
            ),
        ),
        "fail",
        {"minReplicas": 2},
    ),
    Case(
        "k8s-workload-min-replicas",
        "replicas-left-to-its-scaledobject",
        (d(_set(["spec", "replicas"], _DELETE)), scaled_object(min_replicas=2.0)),
        "pass",
        {"minReplicas": 2},
    ),
    Case(
        "k8s-workload-min-replicas",
        "scaledobject-scales-to-zero-by-default",
        (d(_set(["spec", "replicas"], _DELETE)), scaled_object(min_replicas=None)),
        "fail",
        {"minReplicas": 1},
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "compliant",
        (d(_set(["spec", "replicas"], _DELETE)), scaled_object()),
        "pass",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "violating",
        (d(_set(["spec", "replicas"], _DELETE)), scaled_object(), hpa_of("agent")),
        "fail",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "missing",
        # a ScaledObject without scaleTargetRef.kind scales a Deployment (KEDA's default)
        (scaled_object(kind=None), hpa_of("agent")),
        "fail",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "other-deployment",
        (scaled_object(), hpa_of("worker")),
        "pass",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "same-deployment-in-two-clusters",
        (in_cluster(scaled_object(), "eu"), in_cluster(scaled_object(), "us")),
        "pass",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "two-in-one-cluster",
        (in_cluster(scaled_object(), "eu"), in_cluster(hpa_of("agent"), "eu")),
        "fail",
    ),
    Case(
        "k8s-workload-one-autoscaler",
        "other-namespace",
        (scaled_object(namespace="staging"), hpa_of("agent")),
        "pass",
    ),
    Case("k8s-app-published-without-auth", "compliant", (d(), app_service()), "pass"),
    Case(
        "k8s-app-published-without-auth",
        "violating",
        (d(_set([*C, "env"], [{"name": "LOG_LEVEL", "value": "info"}])), app_service()),
        "fail",
    ),
    Case(
        "k8s-app-published-without-auth",
        "missing",
        (d(_set([*C, "env"], _DELETE)), app_service()),
        "fail",
    ),
    Case(
        "k8s-app-published-without-auth",
        "load-balancer",
        (d(_set([*C, "env"], _DELETE)), app_service("LoadBalancer")),
        "fail",
    ),
    Case(
        "k8s-app-published-without-auth",
        "cluster-ip-only",
        (d(_set([*C, "env"], _DELETE)), app_service("ClusterIP")),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "ingress",
        (d(_set([*C, "env"], _DELETE)), app_service("ClusterIP"), app_ingress()),
        "fail",
    ),
    Case(
        "k8s-app-published-without-auth",
        "ingress-with-keys",
        (d(), app_service("ClusterIP"), app_ingress()),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "ingress-to-another-service",
        (d(_set([*C, "env"], _DELETE)), app_service("ClusterIP"), app_ingress("docs")),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "oidc",
        (
            d(_set([*C, "env"], [{"name": "DACA_OIDC_ISSUER", "value": "https://id.example"}])),
            app_service(),
        ),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "digests-from-a-secret",
        (
            d(
                _set(
                    [*C, "env"],
                    [
                        {
                            "name": "DACA_API_KEYS",
                            "valueFrom": {"secretKeyRef": {"name": "keys", "key": "digests"}},
                        }
                    ],
                )
            ),
            app_service(),
        ),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "empty-digests",
        (d(_set([*C, "env"], [{"name": "DACA_API_KEYS", "value": " "}])), app_service()),
        "fail",
    ),
    Case(
        "k8s-app-published-without-auth",
        "digests-unknown-at-preview",
        (d(_set([*C, "env"], [{"name": "DACA_API_KEYS", "value": UNKNOWN}])), app_service()),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "env-unknown-at-preview",
        (d(_set([*C, "env"], UNKNOWN)), app_service()),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "selects-other-pods",
        (d(_set([*C, "env"], _DELETE)), app_service(selector={"app": "docs"})),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "other-namespace",
        (d(_set([*C, "env"], _DELETE)), app_service(namespace="web")),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "not-a-dapr-app",
        (
            d(lambda p: (p["spec"]["template"]["metadata"].pop("annotations"), ctr(p).pop("env"))),
            app_service(),
        ),
        "pass",
    ),
    Case(
        "k8s-app-published-without-auth",
        "config-names-the-variables",
        (d(), app_service()),
        "fail",
        {"authVariables": ["DACA_OIDC_ISSUER"]},
    ),
    # --- dapr ---
    *k(
        "dapr-component-secret-refs",
        k8s_component(),
        k8s_component([{"name": "redisPassword", "value": "[secret]"}]),
        k8s_component([{"name": "redisHost"}]),
        "pass",
    ),
    Case("dapr-component-secret-refs", "aca-compliant", (aca_component(),), "pass"),
    Case(
        "dapr-component-secret-refs",
        "aca-inline-secret",
        (aca_component(secrets=[{"name": "sb-conn", "value": "Endpoint=sb://x"}]),),
        "fail",
    ),
    Case(
        "dapr-component-secret-refs",
        "aca-literal-metadata",
        (aca_component(metadata=[{"name": "connectionString", "value": "Endpoint=sb://"}]),),
        "fail",
    ),
    *k(
        "dapr-component-scoped",
        k8s_component(),
        k8s_component(scopes=[]),
        k8s_component(scopes=None),
        "fail",
    ),
    Case("dapr-component-scoped", "unknown", (k8s_component(scopes=UNKNOWN),), "na"),
    Case("dapr-component-scoped", "aca-unscoped", (aca_component(scopes=[]),), "fail"),
    Case("dapr-component-scopes-deployed", "compliant", (d(), k8s_component()), "pass"),
    Case(
        "dapr-component-scopes-deployed",
        "violating",
        (d(), k8s_component(scopes=["agnet"])),
        "fail",
    ),
    Case(
        "dapr-component-scopes-deployed",
        "missing",
        (d(lambda p: p["spec"]["template"]["metadata"].pop("annotations")), k8s_component()),
        "fail",
    ),
    Case("dapr-component-scopes-deployed", "aca-app", (container_app(), aca_component()), "pass"),
    Case(
        "dapr-component-scopes-deployed",
        "unknown-app-id",
        (d(_set([*A, "dapr.io/app-id"], UNKNOWN)), k8s_component()),
        "na",
    ),
    *k(
        "dapr-workload-annotations",
        d(),
        d(_set([*A, "dapr.io/app-port"], "8080")),
        d(_set([*A, "dapr.io/app-id"], _DELETE)),
        "fail",
    ),
    Case("dapr-workload-annotations", "not-dapr-enabled", (d(_set(A, {})),), "pass"),
    *k(
        "dapr-runtime-mtls-enabled",
        dapr_release(),
        dapr_release({"global": {"mtls": {"enabled": False}}}),
        dapr_release({}),
        "pass",
    ),
    Case(
        "dapr-runtime-mtls-enabled",
        "configuration-crd",
        (
            resource(
                "kubernetes:dapr.io/v1alpha1:Configuration", {"spec": {"mtls": {"enabled": False}}}
            ),
        ),
        "fail",
    ),
    *k(
        "dapr-runtime-chart-pinned",
        dapr_release(),
        dapr_release(version="^1.15"),
        dapr_release(version=None),
        "fail",
    ),
    # --- aca ---
    *k(
        "aca-containerapp-https-only",
        container_app(),
        container_app(_set(["configuration", "ingress", "allowInsecure"], True)),
        container_app(_set(["configuration", "ingress"], _DELETE)),
        "pass",
    ),
    *k(
        "aca-containerapp-managed-identity",
        container_app(),
        container_app(_set(["identity"], {"type": "None"})),
        container_app(_set(["identity"], _DELETE)),
        "fail",
    ),
    *k(
        "aca-containerapp-registry-identity",
        container_app(),
        container_app(
            _set(
                ["configuration", "registries"],
                [{"server": "dacaacr.azurecr.io", "username": "daca", "passwordSecretRef": "acr"}],
            )
        ),
        container_app(_set(["configuration", "registries"], [{"server": "dacaacr.azurecr.io"}])),
        "fail",
    ),
    *k(
        "aca-containerapp-secret-refs",
        container_app(),
        container_app(_set(["configuration", "secrets"], [{"name": "openai", "value": "sk-1"}])),
        container_app(_set(["configuration", "secrets"], _DELETE)),
        "pass",
    ),
    Case(
        "aca-containerapp-secret-refs",
        "literal-env",
        (
            container_app(
                _set(
                    ["template", "containers", 0, "env"],
                    [{"name": "OPENAI_API_KEY", "value": "sk-1"}],
                )
            ),
        ),
        "fail",
    ),
    Case(
        "aca-containerapp-secret-refs",
        "key-digests-need-their-allowance",
        (container_app(),),
        "fail",
        {"allowedNames": []},
    ),
    *k(
        "aca-containerapp-replica-bounds",
        container_app(),
        container_app(_set(["template", "scale", "maxReplicas"], 30.0)),
        container_app(_set(["template", "scale"], _DELETE)),
        "fail",
    ),
    Case(
        "aca-containerapp-replica-bounds",
        "min-below-floor",
        (container_app(),),
        "fail",
        {"minReplicas": 1},
    ),
    Case(
        "aca-containerapp-replica-bounds",
        "no-template",
        (container_app(_set(["template"], _DELETE)),),
        "na",
    ),
    *k(
        "aca-containerapp-resources-set",
        container_app(),
        container_app(_set(["template", "containers", 0, "resources"], {"cpu": 0.25})),
        container_app(_set(["template", "containers", 0, "resources"], _DELETE)),
        "fail",
    ),
    *k(
        "aca-containerapp-probes-set",
        container_app(),
        container_app(_set(["template", "containers", 0, "probes"], [{"type": "Liveness"}])),
        container_app(_set(["template", "containers", 0, "probes"], _DELETE)),
        "fail",
    ),
    *k(
        "aca-app-published-without-auth",
        container_app(),
        container_app(
            _set(["template", "containers", 0, "env"], [{"name": "LOG_LEVEL", "value": "info"}])
        ),
        container_app(_set(["template", "containers", 0, "env"], _DELETE)),
        "fail",
    ),
    Case(
        "aca-app-published-without-auth",
        "internal-ingress",
        (
            container_app(
                lambda p: (
                    p["configuration"]["ingress"].update(external=False),
                    p["template"]["containers"][0].pop("env"),
                )
            ),
        ),
        "pass",
    ),
    Case(
        "aca-app-published-without-auth",
        "no-ingress",
        (
            container_app(
                lambda p: (
                    p["configuration"].pop("ingress"),
                    p["template"]["containers"][0].pop("env"),
                )
            ),
        ),
        "pass",
    ),
    Case(
        "aca-app-published-without-auth",
        "dapr-off",
        (
            container_app(
                lambda p: (
                    p["configuration"]["dapr"].update(enabled=False),
                    p["template"]["containers"][0].pop("env"),
                )
            ),
        ),
        "pass",
    ),
    Case(
        "aca-app-published-without-auth",
        "oidc-from-a-secret",
        (
            container_app(
                _set(
                    ["template", "containers", 0, "env"],
                    [{"name": "DACA_OIDC_ISSUER", "secretRef": "issuer"}],
                )
            ),
        ),
        "pass",
    ),
    Case(
        "aca-app-published-without-auth",
        "external-unknown-at-preview",
        (container_app(_set(["configuration", "ingress", "external"], UNKNOWN)),),
        "na",
    ),
    Case(
        "aca-app-published-without-auth",
        "env-unknown-at-preview",
        (container_app(_set(["template", "containers", 0, "env"], UNKNOWN)),),
        "na",
    ),
    Case(
        "aca-app-published-without-auth",
        "no-template",
        (container_app(_set(["template"], _DELETE)),),
        "na",
    ),
    *k(
        "aca-registry-admin-disabled",
        resource("azure-native:containerregistry:Registry", {"adminUserEnabled": False}),
        resource("azure-native:containerregistry:Registry", {"adminUserEnabled": True}),
        resource("azure-native:containerregistry:Registry", {"sku": {"name": "Basic"}}),
        "pass",
    ),
    *k(
        "aca-data-local-auth-disabled",
        resource("azure-native:cosmosdb:DatabaseAccount", {"disableLocalAuth": True}),
        resource("azure-native:cosmosdb:DatabaseAccount", {"disableLocalAuth": False}),
        resource("azure-native:cosmosdb:DatabaseAccount", {"kind": "GlobalDocumentDB"}),
        "fail",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "servicebus-compliant",
        (resource("azure-native:servicebus:Namespace", {"disableLocalAuth": True}),),
        "pass",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "servicebus-sas",
        (resource("azure-native:servicebus:Namespace", {"sku": {"name": "Standard"}}),),
        "fail",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "storage-compliant",
        (resource("azure-native:storage:StorageAccount", {"allowSharedKeyAccess": False}),),
        "pass",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "storage-shared-key",
        (resource("azure-native:storage:StorageAccount", {"allowSharedKeyAccess": True}),),
        "fail",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "storage-default-allows-keys",
        (resource("azure-native:storage:StorageAccount", {"kind": "StorageV2"}),),
        "fail",
    ),
    Case(
        "aca-data-local-auth-disabled",
        "unknown-at-preview",
        (resource("azure-native:servicebus:Namespace", {"disableLocalAuth": UNKNOWN}),),
        "na",
    ),
    # --- azure (planet) ---
    *k(
        "azure-frontdoor-route-https-only",
        fd_route(),
        fd_route(forwardingProtocol="MatchRequest"),
        # Azure's defaults: MatchRequest, both protocols, no redirect
        fd_route(forwardingProtocol=_DELETE, httpsRedirect=_DELETE, supportedProtocols=_DELETE),
        "fail",
    ),
    Case(
        "azure-frontdoor-route-https-only",
        "http-without-redirect",
        (fd_route(httpsRedirect="Disabled"),),
        "fail",
    ),
    Case(
        "azure-frontdoor-route-https-only",
        "redirect-left-out",
        (fd_route(httpsRedirect=_DELETE),),
        "fail",
    ),
    Case(
        "azure-frontdoor-route-https-only",
        "https-only-needs-no-redirect",
        (fd_route(supportedProtocols=["Https"], httpsRedirect=_DELETE),),
        "pass",
    ),
    Case(
        "azure-frontdoor-route-https-only",
        "forwards-over-http",
        (fd_route(forwardingProtocol="HttpOnly"),),
        "fail",
    ),
    Case(
        "azure-frontdoor-route-https-only",
        "forwarding-unknown",
        (fd_route(forwardingProtocol=UNKNOWN),),
        "na",
    ),
    *k(
        "azure-frontdoor-origin-group-health-probe",
        fd_origin_group(),
        fd_origin_group(probeProtocol="Http"),
        resource("azure-native:cdn:AFDOriginGroup", {"sessionAffinityState": "Disabled"}),
        "fail",
    ),
    Case(
        "azure-frontdoor-origin-group-health-probe",
        "http-probe-allowed-by-config",
        (fd_origin_group(probeProtocol="Http"),),
        "pass",
        {"allowedProbeProtocols": ["Http", "Https"]},
    ),
    Case(
        "azure-frontdoor-origin-group-health-probe",
        "no-path",
        (fd_origin_group(probePath=_DELETE),),
        "fail",
    ),
    Case(
        "azure-frontdoor-origin-group-health-probe",
        "request-type-not-set",
        (fd_origin_group(probeRequestType="NotSet"),),
        "fail",
    ),
    Case(
        "azure-frontdoor-origin-group-health-probe",
        "no-interval",
        (fd_origin_group(probeIntervalInSeconds=_DELETE),),
        "fail",
    ),
    Case(
        "azure-frontdoor-origin-group-health-probe",
        "path-unknown",
        (fd_origin_group(probePath=UNKNOWN),),
        "na",
    ),
    *k(
        "azure-aks-rbac-no-local-accounts",
        aks_cluster(),
        aks_cluster(disableLocalAccounts=False),
        # Azure's default keeps the local admin account
        aks_cluster(disableLocalAccounts=_DELETE),
        "fail",
    ),
    Case(
        "azure-aks-rbac-no-local-accounts",
        "rbac-off",
        (aks_cluster(enableRBAC=False),),
        "fail",
    ),
    Case(
        "azure-aks-rbac-no-local-accounts",
        "no-entra-id",
        (aks_cluster(aadProfile=_DELETE),),
        "fail",
    ),
    Case(
        "azure-aks-rbac-no-local-accounts",
        "kubernetes-rbac-only",
        (aks_cluster(aadProfile={"managed": True}),),
        "fail",
    ),
    Case(
        "azure-aks-rbac-no-local-accounts",
        "kubernetes-rbac-only-allowed-by-config",
        (aks_cluster(aadProfile={"managed": True}),),
        "pass",
        {"requireAzureRbac": False},
    ),
    Case(
        "azure-aks-rbac-no-local-accounts",
        "local-accounts-unknown",
        (aks_cluster(disableLocalAccounts=UNKNOWN),),
        "na",
    ),
    # --- oci ---
    *k(
        "oci-instance-free-shape",
        instance(),
        instance(shape="VM.Standard.E4.Flex"),
        resource(
            "oci:Core/instance:Instance",
            {"instanceOptions": {"areLegacyImdsEndpointsDisabled": True}},
        ),
        "fail",
    ),
    Case("oci-instance-free-shape", "unknown", (instance(shape=UNKNOWN),), "na"),
    *k(
        "oci-instance-legacy-imds-disabled",
        instance(),
        instance(imds=False),
        instance(imds=None),
        "fail",
    ),
    *k(
        "oci-network-no-public-admin-ports",
        security_list([tcp_rule("0.0.0.0/0", 443, 443), tcp_rule("10.0.0.0/16", 22, 22)]),
        security_list([tcp_rule("0.0.0.0/0", 1, 1024)]),
        security_list(None),
        "pass",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "all-protocols",
        (security_list([{"protocol": "all", "source": "0.0.0.0/0"}]),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "security-list-6443",
        (security_list([tcp_rule("0.0.0.0/0", 6443, 6443)]),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "security-list-source-port-is-not-the-target",
        (
            security_list(
                [
                    {
                        "protocol": "6",
                        "source": "0.0.0.0/0",
                        "tcpOptions": {
                            "min": 443,
                            "max": 443,
                            "sourcePortRange": {"min": 22, "max": 22},
                        },
                    }
                ]
            ),
        ),
        "pass",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "security-list-no-tcp-options-is-every-port",
        (security_list([{"protocol": "6", "source": "::/0"}]),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "security-list-udp-3389",
        (
            security_list(
                [
                    {
                        "protocol": "17",
                        "source": "0.0.0.0/0",
                        "udpOptions": {"min": 3389, "max": 3389},
                    }
                ]
            ),
        ),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "security-list-rules-unknown",
        (security_list(UNKNOWN),),
        "na",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-6443",
        (nsg_rule("0.0.0.0/0", dest_ports(6443)),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-443",
        (nsg_rule("0.0.0.0/0", dest_ports(443)),),
        "pass",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-range-covering-22",
        (nsg_rule("0.0.0.0/0", dest_ports(20, 25)),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-6443-from-operator",
        (nsg_rule(OPERATOR_CIDR, dest_ports(6443)),),
        "pass",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-source-port-only-is-every-destination",
        (nsg_rule("0.0.0.0/0", {"sourcePortRange": {"min": 443, "max": 443}}),),
        "fail",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-egress",
        (nsg_rule("0.0.0.0/0", dest_ports(22), direction="EGRESS"),),
        "pass",
    ),
    Case(
        "oci-network-no-public-admin-ports",
        "nsg-rule-ports-unknown",
        (nsg_rule("0.0.0.0/0", {"destinationPortRange": UNKNOWN}),),
        "na",
    ),
    Case("oci-stack-free-tier-caps", "compliant", oci_stack(), "pass"),
    Case(
        "oci-stack-free-tier-caps",
        "violating",
        oci_stack(server=instance(ocpus=2, memory=12, name="k3s-server")),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "missing",
        # OCI creates a volume without a size at 1 TB
        (instance(name="k3s-server", ocpus=1, memory=6), volume(None)),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "caps-from-config",
        oci_stack(server=instance(ocpus=2, memory=12, name="k3s-server")),
        "pass",
        {"maxA1Ocpus": 4, "maxA1MemoryGbs": 24},
    ),
    Case(
        "oci-stack-free-tier-caps",
        "boot-size-defaults-to-50",
        (
            instance(name="a", boot=None),
            instance(name="b", boot=None, shape="VM.Standard.E2.1.Micro"),
            volume("100"),
        ),
        "pass",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "string-sizes-add-up",
        (instance(name="a", boot="150"), volume("51")),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "boot-below-50",
        (instance(name="a", boot="47"),),
        "fail",
    ),
    Case("oci-stack-free-tier-caps", "second-nlb", oci_stack(nlb(name="nlb-2")), "fail"),
    Case(
        "oci-stack-free-tier-caps",
        "second-load-balancer",
        oci_stack(load_balancer(name="lb-2")),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "load-balancer-20-mbps",
        (load_balancer(maximum=20),),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "load-balancer-no-bandwidth",
        (load_balancer(maximum=None),),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "load-balancer-fixed-shape",
        (load_balancer(shape="100Mbps", maximum=None),),
        "fail",
    ),
    Case("oci-stack-free-tier-caps", "nat-gateway", oci_stack(nat_gateway()), "fail"),
    Case(
        "oci-stack-free-tier-caps",
        "nat-gateway-paid-by-config",
        oci_stack(nat_gateway()),
        "pass",
        {"maxNatGateways": 1},
    ),
    Case(
        "oci-stack-free-tier-caps",
        "second-reserved-ip",
        oci_stack(public_ip(name="spare-ip")),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "ephemeral-ip-not-counted",
        oci_stack(public_ip("EPHEMERAL", name="node-ip")),
        "pass",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "mistyped-ocpus",
        (instance(ocpus="two", name="a"),),
        "fail",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "ocpus-unknown",
        (instance(ocpus=UNKNOWN, name="a"),),
        "na",
    ),
    Case(
        "oci-stack-free-tier-caps",
        "boot-size-unknown",
        (instance(boot=UNKNOWN, name="a"),),
        "na",
    ),
    Case("oci-nlb-listener-ports", "compliant", oci_stack(), "pass"),
    Case("oci-nlb-listener-ports", "violating", (nlb(), listener(8080)), "fail"),
    Case(
        "oci-nlb-listener-ports",
        "missing",
        # no networkSecurityGroupIds: nothing restricts who reaches the Kubernetes API
        (nlb(nsgs=None), listener(6443)),
        "fail",
    ),
    Case("oci-nlb-listener-ports", "admin-port-no-nsg", (nlb(nsgs=()), listener(6443)), "fail"),
    Case("oci-nlb-listener-ports", "ssh-not-allowed", (nlb(), listener(22)), "fail"),
    Case(
        "oci-nlb-listener-ports",
        "ssh-allowed-by-config-with-nsg",
        (nlb(), listener(22)),
        "pass",
        {"allowedListenerPorts": [22, 80, 443, 6443]},
    ),
    Case("oci-nlb-listener-ports", "every-port", (nlb(), listener(0)), "fail"),
    Case("oci-nlb-listener-ports", "no-port", (nlb(), listener(None, name="l")), "fail"),
    Case("oci-nlb-listener-ports", "https-needs-no-nsg", (nlb(nsgs=None), listener(443)), "pass"),
    Case(
        "oci-nlb-listener-ports",
        "nlb-id-unknown",
        (nlb(nsgs=None), listener(6443, nlb_id=UNKNOWN)),
        "na",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nlb-id-unknown-but-a-port-is-wrong",
        (nlb(nsgs=None), listener(6443, nlb_id=UNKNOWN), listener(8443)),
        "fail",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nlb-resolved-by-property-dependency",
        (nlb(nsgs=None), listener(6443, nlb_id=UNKNOWN, depends_on="nlb")),
        "fail",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nlb-resolved-by-id-output",
        (
            resource(
                "oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer",
                {"id": "ocid1.networkloadbalancer.oc1..aaa", "networkSecurityGroupIds": []},
                "edge",
            ),
            listener(6443, nlb_id="ocid1.networkloadbalancer.oc1..aaa"),
        ),
        "fail",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nlb-outside-the-stack",
        (listener(6443, nlb_id="ocid1.networkloadbalancer.oc1..other"),),
        "na",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nsg-created-in-the-same-preview",
        (nlb(nsgs=[UNKNOWN]), listener(6443)),
        "pass",
    ),
    Case(
        "oci-nlb-listener-ports",
        "nsg-list-unknown",
        (nlb(nsgs=UNKNOWN), listener(6443)),
        "na",
    ),
    # --- kafka ---
    *k(
        "kafka-listener-external-tls-auth",
        kafka_cluster(),
        kafka_cluster(_external(tls=False)),
        kafka_cluster(_external(authentication=_DELETE)),
        "fail",
    ),
    Case(
        "kafka-listener-external-tls-auth",
        "internal-plaintext-is-not-external",
        (kafka_cluster({"name": "plain", "port": 9092.0, "type": "internal", "tls": False}),),
        "pass",
    ),
    Case(
        "kafka-listener-external-tls-auth",
        "nodeport-without-tls-key",
        (kafka_cluster(_external(type="nodeport", tls=_DELETE)),),
        "fail",
    ),
    Case(
        "kafka-listener-external-tls-auth",
        "cluster-ip-exposed-elsewhere",
        (kafka_cluster(_external(type="cluster-ip", authentication={})),),
        "fail",
    ),
    Case(
        "kafka-listener-external-tls-auth",
        "no-listeners",
        (kafka_cluster_without_listeners(),),
        "na",
    ),
    Case(
        "kafka-listener-external-tls-auth",
        "listeners-unknown-at-preview",
        (kafka_cluster_without_listeners(UNKNOWN),),
        "na",
    ),
    # --- karmada ---
    Case(
        "karmada-propagation-min-regions",
        "compliant",
        (*members("eu", "us"), propagation()),
        "pass",
    ),
    Case(
        "karmada-propagation-min-regions",
        "violating",
        (*members("eu", "us"), propagation({"clusterAffinity": {"clusterNames": ["eu"]}})),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "missing",
        # no placement (every cluster), and no cluster registered here to count
        (propagation(None),),
        "na",
    ),
    Case(
        "karmada-propagation-min-regions",
        "no-placement-counts-registered-clusters",
        (*members("eu", "us", "ap"), propagation(None)),
        "pass",
    ),
    Case(
        "karmada-propagation-min-regions",
        "no-placement-one-registered-cluster",
        (*members("eu"), propagation(None)),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "misspelled-cluster-does-not-count",
        (*members("eu", "us"), propagation({"clusterAffinity": {"clusterNames": ["eu", "usa"]}})),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "excluded-cluster-does-not-count",
        (
            *members("eu", "us"),
            propagation({"clusterAffinity": {"clusterNames": ["eu", "us"], "exclude": ["us"]}}),
        ),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "clusters-registered-outside-the-stack",
        (propagation(),),
        "pass",
    ),
    Case(
        "karmada-propagation-min-regions",
        "three-required-by-config",
        (*members("eu", "us"), propagation()),
        "fail",
        {"minRegions": 3},
    ),
    Case(
        "karmada-propagation-min-regions",
        "label-selector",
        (
            karmada_cluster("eu", labels={"daca.io/tier": "prod"}),
            karmada_cluster("us", labels={"daca.io/tier": "prod"}),
            karmada_cluster("lab", labels={"daca.io/tier": "test"}),
            propagation(
                {"clusterAffinity": {"labelSelector": {"matchLabels": {"daca.io/tier": "prod"}}}}
            ),
        ),
        "pass",
    ),
    Case(
        "karmada-propagation-min-regions",
        "field-selector-one-region",
        (
            *members("eu", "us"),
            propagation(
                {
                    "clusterAffinity": {
                        "fieldSelector": {
                            "matchExpressions": [
                                {"key": "region", "operator": "In", "values": ["eu-region"]}
                            ]
                        }
                    }
                }
            ),
        ),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "first-affinity-term-decides",
        (
            *members("eu", "us"),
            propagation(
                {
                    "clusterAffinities": [
                        {"affinityName": "primary", "clusterNames": ["eu"]},
                        {"affinityName": "backup", "clusterNames": ["eu", "us"]},
                    ]
                }
            ),
        ),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "spread-constraint-caps-clusters",
        (
            *members("eu", "us"),
            propagation(
                {
                    "clusterAffinity": {"clusterNames": ["eu", "us"]},
                    "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 1}],
                }
            ),
        ),
        "fail",
    ),
    Case(
        "karmada-propagation-min-regions",
        "cluster-names-unknown",
        (*members("eu", "us"), propagation({"clusterAffinity": {"clusterNames": UNKNOWN}})),
        "na",
    ),
    Case(
        "karmada-propagation-min-regions",
        "selector-without-registered-clusters",
        (propagation({"clusterAffinity": {"labelSelector": {"matchLabels": {"a": "b"}}}}),),
        "na",
    ),
    # --- images ---
    *k(
        "images-container-tag-pinned",
        d(),
        d(_set([*C, "image"], "localhost:5001/daca-agent:latest")),
        d(_set([*C, "image"], _DELETE)),
        "fail",
    ),
    Case(
        "images-container-tag-pinned",
        "no-tag-with-registry-port",
        (d(_set([*C, "image"], "localhost:5001/daca-agent")),),
        "fail",
    ),
    Case(
        "images-container-tag-pinned",
        "pinned-tag",
        (d(_set([*C, "image"], "redis:7.4.2")),),
        "pass",
    ),
    Case(
        "images-container-tag-pinned",
        "digest-required",
        (d(_set([*C, "image"], "redis:7.4.2")),),
        "fail",
        {"requireDigest": True},
    ),
    Case(
        "images-container-tag-pinned",
        "aca-latest",
        (container_app(_set(["template", "containers", 0, "image"], "x.azurecr.io/a:latest")),),
        "fail",
    ),
    Case(
        "images-container-tag-pinned", "unknown-image", (d(_set([*C, "image"], UNKNOWN)),), "pass"
    ),
    *k(
        "images-container-pull-policy",
        d(),
        d(_set([*C, "imagePullPolicy"], "Never")),
        d(_set([*C, "imagePullPolicy"], _DELETE)),
        "pass",
    ),
    Case(
        "images-container-pull-policy",
        "never-on-kind",
        (d(_set([*C, "imagePullPolicy"], "Never")),),
        "pass",
        {"allowedPullPolicies": ["IfNotPresent", "Always", "Never"]},
    ),
    # --- llm ---
    *k(
        "llm-server-resources",
        llm_server(),
        # resources any workload may have, too little memory for a model
        llm_server(requests={"cpu": "1", "memory": "256Mi"}, limits={"memory": "3Gi"}),
        llm_server(**{"limits": {"memory": "3Gi"}}),
        "fail",
    ),
    Case(
        "llm-server-resources",
        "no-memory-request",
        (llm_server(requests={"cpu": "1"}, limits={"memory": "3Gi"}),),
        "fail",
    ),
    Case(
        "llm-server-resources",
        "vllm-without-gpu",
        (llm_server("vllm"),),
        "fail",
    ),
    Case(
        "llm-server-resources",
        "vllm-with-gpu",
        (
            llm_server(
                "vllm",
                requests={"cpu": "2", "memory": "8Gi"},
                limits={"memory": "16Gi", "nvidia.com/gpu": 1.0},
            ),
        ),
        "pass",
    ),
    Case(
        "llm-server-resources",
        "by-image-small-memory",  # the app's 128Mi: a model server by its image needs more
        (d(_set([*C, "image"], LLAMA_IMAGE)),),
        "fail",
    ),
    Case(
        "llm-server-resources",
        "by-image-no-requests",
        (d(_unlabelled_llama),),
        "fail",
    ),
    Case("llm-server-resources", "not-a-model-server", (d(),), "na"),
    *k(
        "llm-vllm-chart-resources",
        vllm_release(),
        vllm_release(requestGPU=0.0),
        vllm_release(requestMemory=_DELETE),
        "fail",
    ),
    Case(
        "llm-vllm-chart-resources",
        "raw-resources-block",
        (
            vllm_release(
                requestCPU=_DELETE,
                requestMemory=_DELETE,
                requestGPU=_DELETE,
                resources={
                    "requests": {"cpu": "2", "memory": "8Gi"},
                    "limits": {"nvidia.com/gpu": 1.0},
                },
            ),
        ),
        "pass",
    ),
    Case(
        "llm-vllm-chart-resources",
        "disabled-model",
        (vllm_release(enabled=False, requestGPU=_DELETE),),
        "pass",
    ),
    Case(
        "llm-vllm-chart-resources",
        "other-chart",
        (resource("kubernetes:helm.sh/v3:Release", {"chart": "dapr", "values": {}}, "dapr"),),
        "na",
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "compliant",
        (d(), pod_monitor("monitoring")),
        "pass",
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "violating",
        (d(), pod_monitor("daca")),
        "fail",
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "missing",
        (d(), pod_monitor(_MISSING)),
        "fail",
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "chart-in-app-namespace",
        (
            d(),
            resource(
                "kubernetes:helm.sh/v3:Release",
                {"chart": "kube-prometheus-stack", "namespace": "daca", "name": "kps"},
            ),
        ),
        "fail",
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "configured-app-namespace",
        (pod_monitor("agents"),),
        "fail",
        {"appNamespaces": ["agents"]},
    ),
    Case(
        "monitoring-object-outside-app-namespace",
        "unknown-namespace",
        (d(), pod_monitor(UNKNOWN)),
        "pass",
    ),
]
