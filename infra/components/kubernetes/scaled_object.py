"""The app's KEDA `ScaledObject` (keda.sh/v1alpha1, KEDA 2.20), in place of its CPU HPA.

Triggers, each checked against KEDA v2.20.2's scalers (pkg/scalers/prometheus_scaler.go,
kafka_scaler.go, cpu_memory_scaler.go): the app's request rate or its agent runs in
flight from Prometheus, the consumer group's lag on the topics the app consumes, and CPU.
KEDA scales to the highest replica count any trigger asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import standard_labels
from infra.components.options import child_options

API_VERSION = "keda.sh/v1alpha1"
#: kube-prometheus-stack's Prometheus (release `fullnameOverride: kps`, namespace monitoring)
PROMETHEUS_URL = "http://kps-prometheus.monitoring.svc:9090"
#: the app container (the CPU trigger leaves daprd's CPU out)
APP_CONTAINER = "agent"
#: kubelet probes are requests too; they say nothing about load
_PROBE_ROUTES = "/healthz|/readyz"


@dataclass(frozen=True)
class SecretKey:
    """One key of a Secret in the app's namespace (TriggerAuthentication `secretTargetRef`)."""

    name: str
    key: str


@dataclass(frozen=True)
class KafkaLagSource:
    """Where KEDA reads the consumer group's lag, and the Secrets it authenticates with.

    KEDA reads credentials only from Secrets in the ScaledObject's namespace (the app's),
    never from plain values."""

    #: the cluster's TLS listener, `host:port` (several comma-separated)
    bootstrap_servers: str
    #: the topics the app consumes (one trigger each)
    topics: tuple[str, ...]
    #: the consumer group (Dapr's pubsub.kafka uses the app-id)
    consumer_group: str
    #: the Kafka protocol version KEDA's client speaks; its default (1.0.0) is older than
    #: Kafka 4 accepts (kedacore/keda v2.20.2 pkg/scalers/kafka_scaler.go: sarama.V1_0_0_0)
    protocol_version: str
    #: the cluster CA certificate (PEM) the listener's certificate chains to
    ca: SecretKey
    #: `scram-sha-512` (username + password) or `tls` (client certificate + key)
    authentication: Literal["scram-sha-512", "tls"] = "scram-sha-512"
    username: SecretKey | None = None
    password: SecretKey | None = None
    client_cert: SecretKey | None = None
    client_key: SecretKey | None = None

    def __post_init__(self) -> None:
        if not self.topics:
            raise ValueError("KafkaLagSource needs at least one topic")
        if self.authentication == "scram-sha-512" and not (self.username and self.password):
            raise ValueError("scram-sha-512 needs the username and password Secrets")
        if self.authentication == "tls" and not (self.client_cert and self.client_key):
            raise ValueError("tls authentication needs the client certificate and key Secrets")

    def auth_params(self) -> list[tuple[str, SecretKey]]:
        """KEDA's kafka authParams (`ca`, `username`/`password` or `cert`/`key`) → Secret."""
        params: list[tuple[str, SecretKey | None]] = [("ca", self.ca)]
        if self.authentication == "scram-sha-512":
            params += [("username", self.username), ("password", self.password)]
        else:
            params += [("cert", self.client_cert), ("key", self.client_key)]
        return [(name, ref) for name, ref in params if ref is not None]


@dataclass(frozen=True)
class PrometheusTrigger:
    """Scale on one of the app's metrics in Prometheus."""

    metric: Literal["requestRate", "agentRunsInFlight"]
    #: the value one replica should carry
    threshold: float
    activation_threshold: float = 0.0
    window_seconds: int = 120
    server_address: str = PROMETHEUS_URL


@dataclass(frozen=True)
class KafkaTrigger:
    source: KafkaLagSource
    lag_threshold: int = 10
    activation_lag_threshold: int = 0


@dataclass(frozen=True)
class AppScaledObjectArgs:
    #: the app's Dapr app-id: the Deployment's name, and these objects'
    app_id: str
    #: the app's namespace (the Prometheus queries select it)
    namespace: str
    min_replicas: int
    max_replicas: int
    prometheus: PrometheusTrigger | None = None
    kafka: KafkaTrigger | None = None
    #: the CPU target, percent of the app container's request; None: no CPU trigger
    cpu_utilization: int | None = None
    polling_interval_seconds: int = 30
    cooldown_period_seconds: int = 300
    #: what the ScaledObject waits for (KEDA's release with its CRDs, the namespace, the
    #: Deployment)
    wait_for: Sequence[pulumi.Resource] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError(
                f"replicas: need 1 <= min ({self.min_replicas}) <= max ({self.max_replicas})"
            )
        if self.prometheus is None and self.kafka is None and self.cpu_utilization is None:
            raise ValueError("a ScaledObject needs at least one trigger")


def _number(value: float) -> str:
    return f"{value:g}"


def prometheus_query(trigger: PrometheusTrigger, namespace: str) -> str:
    """The PromQL whose value, over `threshold`, is the replica count KEDA asks for: the sum
    over the app's pods (Prometheus labels each scraped series with its namespace)."""
    window = f"{trigger.window_seconds}s"
    if trigger.metric == "requestRate":
        selector = f'namespace="{namespace}",route!~"{_PROBE_ROUTES}"'
        return f"sum(rate(daca_http_requests_total{{{selector}}}[{window}]))"
    # seconds of agent run per second = runs in progress on average (Little's law)
    return f'sum(rate(daca_agent_run_duration_seconds_sum{{namespace="{namespace}"}}[{window}]))'


def triggers(
    args: AppScaledObjectArgs, namespace: str, auth_name: str | None
) -> list[dict[str, Any]]:
    """The ScaledObject's triggers, every metadata value a string (KEDA's schema)."""
    out: list[dict[str, Any]] = []
    if args.prometheus is not None:
        p = args.prometheus
        out.append(
            {
                "type": "prometheus",
                "name": p.metric.lower(),
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": p.server_address,
                    "query": prometheus_query(p, namespace),
                    "threshold": _number(p.threshold),
                    "activationThreshold": _number(p.activation_threshold),
                },
            }
        )
    if args.kafka is not None:
        k = args.kafka
        sasl = {"sasl": "scram_sha512"} if k.source.authentication == "scram-sha-512" else {}
        out += [
            {
                "type": "kafka",
                "name": f"kafka-lag-{topic}",
                "metadata": {
                    "bootstrapServers": k.source.bootstrap_servers,
                    "consumerGroup": k.source.consumer_group,
                    "topic": topic,
                    "lagThreshold": str(k.lag_threshold),
                    "activationLagThreshold": str(k.activation_lag_threshold),
                    # a group without committed offsets has read nothing yet: no lag
                    "offsetResetPolicy": "latest",
                    "tls": "enable",
                    "version": k.source.protocol_version,
                    **sasl,
                },
                "authenticationRef": {"kind": "TriggerAuthentication", "name": auth_name},
            }
            for topic in k.source.topics
        ]
    if args.cpu_utilization is not None:
        out.append(
            {
                "type": "cpu",
                "name": "cpu",
                "metricType": "Utilization",
                "metadata": {"value": str(args.cpu_utilization), "containerName": APP_CONTAINER},
            }
        )
    return out


def scaled_object_spec(
    args: AppScaledObjectArgs, namespace: str, auth_name: str | None
) -> dict[str, Any]:
    """The ScaledObject's spec: the app's Deployment between the replica bounds."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.app_id},
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": args.max_replicas,
        "pollingInterval": args.polling_interval_seconds,
        "cooldownPeriod": args.cooldown_period_seconds,
        "triggers": triggers(args, namespace, auth_name),
    }


def trigger_authentication_spec(source: KafkaLagSource) -> dict[str, Any]:
    """Kafka's CA and client credentials, each from a Secret key, never a plain value."""
    return {
        "secretTargetRef": [
            {"parameter": parameter, "name": ref.name, "key": ref.key}
            for parameter, ref in source.auth_params()
        ]
    }


class AppScaledObject(pulumi.ComponentResource):
    """The app's ScaledObject (named after the app; KEDA's HPA is `keda-hpa-<app-id>`) and,
    with the Kafka trigger, the TriggerAuthentication `<app-id>-kafka` it uses."""

    scaled_object_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppScaledObjectArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:AppScaledObject", name, None, opts)
        child = child_options(self, opts, depends_on=list(args.wait_for))
        meta = {"namespace": args.namespace, "labels": standard_labels(args.app_id, "agent")}
        auth_name = None
        if args.kafka is not None:
            auth = k8s.apiextensions.CustomResource(
                f"{name}-kafka-auth",
                api_version=API_VERSION,
                kind="TriggerAuthentication",
                metadata={**meta, "name": f"{args.app_id}-kafka"},
                spec=trigger_authentication_spec(args.kafka.source),
                opts=child,
            )
            auth_name = f"{args.app_id}-kafka"
            child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[auth]))
        scaled = k8s.apiextensions.CustomResource(
            f"{name}-scaledobject",
            api_version=API_VERSION,
            kind="ScaledObject",
            metadata={**meta, "name": args.app_id},
            spec=scaled_object_spec(args, args.namespace, auth_name),
            opts=child,
        )
        self.scaled_object_name = scaled.metadata["name"]
        self.register_outputs({"scaledObjectName": self.scaled_object_name})
