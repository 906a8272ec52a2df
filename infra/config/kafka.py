"""Kafka on Strimzi (KRaft) behind the Dapr `pubsub` component (`daca:kafka`)."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, model_validator

from infra.config.base import NAMESPACE, ConfigError, DnsLabel, Quantity, ResourcesConfig, _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig

#: the Dapr component type that puts the app's pub/sub on this Kafka
KAFKA_PUBSUB = "pubsub.kafka"
#: the Kafka versions Strimzi 1.2.0 runs (kafka-versions.yaml, `supported: true`)
SUPPORTED_KAFKA_VERSIONS = ("4.2.0", "4.2.1", "4.3.0", "4.3.1")
_BOOTSTRAP = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$")


def _public_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("must be a CIDR block such as '203.0.113.0/24' (host bits zero)") from None
    if network.prefixlen == 0:
        raise ValueError("must not be the whole internet: list the other regions' egress addresses")
    return value


def _bootstrap(value: str) -> str:
    if not _BOOTSTRAP.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise ValueError("must be host:port, e.g. 'kafka.eu-west.example.com:9094'")
    return value


class KafkaMirrorConfig(_Section):
    """planet only: every region mirrors the app's topics from every other region
    (KafkaMirrorMaker 2), reaching them through a TLS + SCRAM external listener."""

    enabled: bool = False
    #: the sources allowed to reach this region's external listener (the other regions'
    #: egress addresses); never empty when mirroring, never 0.0.0.0/0
    allowed_cidrs: list[Annotated[str, AfterValidator(_public_cidr)]] = Field(default_factory=list)
    #: region name -> its external listener's bootstrap `host:port` (a DNS name that points
    #: at the bootstrap LoadBalancer; it is put in the listener's certificate). Only the
    #: regions listed are mirrored from (and get the external listener); every region
    #: receives, so a new region can join before its LoadBalancer has a name
    bootstrap: dict[DnsLabel, Annotated[str, AfterValidator(_bootstrap)]] = Field(
        default_factory=dict
    )
    #: Kafka Connect workers per region
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "100m", "memoryRequest": "512Mi", "cpuLimit": "1", "memoryLimit": "1Gi"}
    )


class KafkaConfig(_Section):
    """Kafka on Strimzi; off unless the stack turns it on."""

    enabled: bool = False
    #: the Kafka version the brokers run (one Strimzi 1.2.0 supports)
    version: str = "4.3.1"
    #: broker nodes; with `controllers: 0` they are dual-role (broker + KRaft controller)
    replicas: Annotated[int, Field(ge=1, le=9)] = 1
    #: dedicated KRaft controllers (0: the brokers are the controllers; else 3 or 5)
    controllers: Annotated[int, Field(ge=0, le=5)] = 0
    #: the persistent volume of each node
    storage: Quantity = "5Gi"
    #: the StorageClass of those volumes; None: the cluster's default
    storage_class: DnsLabel | None = None
    #: each Kafka node (broker and/or controller)
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "250m", "memoryRequest": "1Gi", "cpuLimit": "1", "memoryLimit": "1Gi"}
    )
    #: the Strimzi cluster operator (the chart's default: 200m / 384Mi, limits 1 / 384Mi)
    operator_resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "100m", "memoryRequest": "384Mi", "cpuLimit": "1", "memoryLimit": "384Mi"}
    )
    #: each of the topic and user operators
    entity_operator_resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "50m", "memoryRequest": "256Mi", "cpuLimit": "500m", "memoryLimit": "256Mi"}
    )
    #: partitions of each app topic (the most consumers of a topic that work at once)
    partitions: Annotated[int, Field(ge=1, le=1000)] = 3
    #: copies of each partition; at most `replicas`
    replication_factor: Annotated[int, Field(ge=1, le=9)] = 1
    #: copies that must acknowledge a write; below `replicationFactor` with more than one
    min_insync_replicas: Annotated[int, Field(ge=1, le=9)] = 1
    #: how long the topics keep events
    retention_hours: Annotated[int, Field(ge=1, le=8760)] = 168
    mirror: KafkaMirrorConfig = KafkaMirrorConfig()

    @model_validator(mode="after")
    def _sizes(self) -> KafkaConfig:
        if self.version not in SUPPORTED_KAFKA_VERSIONS:
            raise ValueError(
                f"version {self.version!r} is not one Strimzi 1.2.0 runs; allowed: "
                f"{', '.join(SUPPORTED_KAFKA_VERSIONS)}"
            )
        if self.controllers not in (0, 3, 5):
            raise ValueError(
                f"controllers ({self.controllers}) must be 0 (dual-role brokers), 3 or 5 "
                "(a KRaft quorum needs an odd number that survives a loss)"
            )
        if self.replication_factor > self.replicas:
            raise ValueError(
                f"replicationFactor ({self.replication_factor}) is above replicas "
                f"({self.replicas}): each copy needs a broker of its own"
            )
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"minInsyncReplicas ({self.min_insync_replicas}) is above replicationFactor "
                f"({self.replication_factor}): no write could ever succeed"
            )
        if self.replicas > 1 and self.min_insync_replicas >= self.replication_factor > 1:
            raise ValueError(
                f"minInsyncReplicas ({self.min_insync_replicas}) must be below "
                f"replicationFactor ({self.replication_factor}) with more than one broker, "
                "or a single broker restart stops every write"
            )
        return self

    @property
    def dual_role(self) -> bool:
        """The brokers are also the KRaft controllers (one node pool)."""
        return self.controllers == 0

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across sections (the stage, the Dapr component types); raises ConfigError."""
        pubsub = stack.dapr.pubsub
        if pubsub == KAFKA_PUBSUB and not self.enabled:
            raise ConfigError(
                f"{NAMESPACE}:dapr.pubsub: {KAFKA_PUBSUB!r} needs {NAMESPACE}:kafka.enabled: "
                "true (the in-cluster Kafka it publishes to)"
            )
        if self.enabled and pubsub != KAFKA_PUBSUB:
            raise ConfigError(
                f"{NAMESPACE}:kafka.enabled: true with {NAMESPACE}:dapr.pubsub: {pubsub!r} "
                f"installs Kafka for nothing; set {NAMESPACE}:dapr.pubsub: {KAFKA_PUBSUB} "
                "or kafka.enabled: false"
            )
        self._check_mirror(stack)

    def _check_mirror(self, stack: KubernetesStackConfig) -> None:
        mirror = self.mirror
        if not mirror.enabled:
            return
        key = f"{NAMESPACE}:kafka.mirror"
        if not self.enabled:
            raise ConfigError(f"{key}.enabled: true needs {NAMESPACE}:kafka.enabled: true")
        # every region, drained ones too: draining takes a region's origin out of the
        # front door, nothing else (its cluster, app and Kafka keep running and mirroring)
        planet = getattr(stack, "planet", None)
        regions = [region.name for region in getattr(planet, "regions", [])]
        if stack.stage != "planet" or len(regions) < 2:
            raise ConfigError(
                f"{key}.enabled: true mirrors between regions; only a planet stack with at "
                f"least two regions has them (stage {stack.stage!r}, {len(regions)} regions)"
            )
        if not mirror.allowed_cidrs:
            raise ConfigError(
                f"{key}.allowedCidrs: [] would leave the external listener open to every "
                "address; list the other regions' egress CIDRs"
            )
        unknown = sorted(set(mirror.bootstrap) - set(regions))
        if unknown or not mirror.bootstrap:
            raise ConfigError(
                f"{key}.bootstrap: lists the regions mirrored from, by the host:port of their "
                f"external bootstrap; needs at least one of {', '.join(regions)}"
                + (f"; not a region: {', '.join(unknown)}" if unknown else "")
            )
