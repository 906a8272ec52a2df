"""Cross-region replication on planet: one KafkaMirrorMaker 2 per region, writing into its
own cluster what the app topics of every other region hold.

Why it cannot loop: the replication policy is Kafka's `DefaultReplicationPolicy`, which
names a mirrored topic after its source (`eu-west.agent-events`), and `topicsPattern`
matches the app's topic names exactly, so a topic that is itself a mirror is never
mirrored again (neither back to its source nor on to a third region). Never
`IdentityReplicationPolicy` here: with every region mirroring every other, identical
names would send each event round the regions for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.kubernetes.kafka import (
    API_VERSION,
    CA_KEY,
    CLUSTER,
    MIRROR_SOURCE_USER,
    NAMESPACE,
    TLS_PORT,
    cluster_labels,
)
from infra.components.options import child_options
from infra.config import ResourcesConfig

REPLICATION_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
SEPARATOR = "."
#: the local user MirrorMaker 2 writes as
MIRROR_TARGET_USER = "mirror-target"
#: Kafka Connect's group and storage topics in the target cluster
CONNECT_GROUP = "daca-mirror"
CONNECT_TOPICS = ("daca-mirror-config", "daca-mirror-offset", "daca-mirror-status")


@dataclass(frozen=True)
class MirrorSource:
    """Another region's cluster, as this region's MirrorMaker 2 reaches it."""

    #: the region name: the alias, hence the prefix of its topics here
    alias: str
    #: its external listener's bootstrap `host:port`
    bootstrap_servers: str
    #: its cluster CA certificate (PEM)
    ca_cert: pulumi.Input[str]
    #: the password of its `mirror-source` user (secret)
    password: pulumi.Input[str]


@dataclass(frozen=True)
class KafkaMirrorArgs:
    #: this region's name: the target alias
    alias: str
    #: every other region
    sources: tuple[MirrorSource, ...]
    #: the app topics mirrored (exact names)
    topics: tuple[str, ...]
    #: the consumer groups whose offsets are checkpointed
    groups: tuple[str, ...]
    #: the Kafka version MirrorMaker 2 runs (the cluster's)
    version: str
    replicas: int
    resources: ResourcesConfig
    #: copies of the mirrored topics and of Connect's own topics
    replication_factor: int
    #: the mirrored topics' home: MirrorMaker 2 waits for them
    depends_on: tuple[pulumi.Resource, ...] = ()


def topics_pattern(topics: tuple[str, ...]) -> str:
    """The app topics by exact name: a mirrored (`<alias>.`-prefixed) topic never matches.
    Kafka's topic filter matches the whole name."""
    return "|".join(topic.replace(".", "\\.") for topic in topics)


def connector_config(args: KafkaMirrorArgs) -> dict[str, Any]:
    return {
        "replication.policy.class": REPLICATION_POLICY,
        "replication.policy.separator": SEPARATOR,
        "replication.factor": args.replication_factor,
        # offset syncs live in the target, so the source login stays read-only
        "offset-syncs.topic.location": "target",
        "offset-syncs.topic.replication.factor": args.replication_factor,
        "sync.topic.acls.enabled": "false",
    }


def mirror_spec(args: KafkaMirrorArgs) -> dict[str, Any]:
    """The `KafkaMirrorMaker2` spec (v1: `target` + `mirrors`)."""
    rf = args.replication_factor
    mirrors = [
        {
            "source": {
                "alias": source.alias,
                "bootstrapServers": source.bootstrap_servers,
                "tls": {
                    "trustedCertificates": [
                        {"secretName": f"mirror-ca-{source.alias}", "certificate": CA_KEY}
                    ]
                },
                "authentication": {
                    "type": "scram-sha-512",
                    "username": MIRROR_SOURCE_USER,
                    "passwordSecret": {
                        "secretName": f"mirror-source-{source.alias}",
                        "password": "password",
                    },
                },
            },
            "sourceConnector": {"tasksMax": 1, "config": connector_config(args)},
            "checkpointConnector": {
                "tasksMax": 1,
                "config": {
                    "replication.policy.class": REPLICATION_POLICY,
                    "replication.policy.separator": SEPARATOR,
                    "offset-syncs.topic.location": "target",
                    "checkpoints.topic.replication.factor": rf,
                    # the app's consumers stay on their own region's topics
                    "sync.group.offsets.enabled": "false",
                },
            },
            "topicsPattern": topics_pattern(args.topics),
            "groupsPattern": topics_pattern(args.groups),
        }
        for source in args.sources
    ]
    config_topic, offset_topic, status_topic = CONNECT_TOPICS
    return {
        "version": args.version,
        "replicas": args.replicas,
        "resources": {
            "requests": {
                "cpu": args.resources.cpu_request,
                "memory": args.resources.memory_request,
            },
            "limits": {"cpu": args.resources.cpu_limit, "memory": args.resources.memory_limit},
        },
        "target": {
            "alias": args.alias,
            "bootstrapServers": f"{CLUSTER}-kafka-bootstrap:{TLS_PORT}",
            "groupId": CONNECT_GROUP,
            "configStorageTopic": config_topic,
            "offsetStorageTopic": offset_topic,
            "statusStorageTopic": status_topic,
            "tls": {
                "trustedCertificates": [
                    {"secretName": f"{CLUSTER}-cluster-ca-cert", "certificate": CA_KEY}
                ]
            },
            "authentication": {
                "type": "scram-sha-512",
                "username": MIRROR_TARGET_USER,
                "passwordSecret": {
                    "secretName": f"{MIRROR_TARGET_USER}-scram",
                    "password": "password",
                },
            },
            "config": {
                "config.storage.replication.factor": rf,
                "offset.storage.replication.factor": rf,
                "status.storage.replication.factor": rf,
            },
        },
        "mirrors": mirrors,
    }


def target_acls(args: KafkaMirrorArgs) -> list[dict[str, Any]]:
    """What MirrorMaker 2 does in its own cluster: Connect's group and topics, the
    `<alias>.`-prefixed mirrors and checkpoints, the offset syncs."""

    def acl(kind: str, name: str, ops: tuple[str, ...], prefix: bool = False) -> dict[str, Any]:
        resource: dict[str, Any] = {"type": kind}
        if kind != "cluster":
            resource.update(name=name, patternType="prefix" if prefix else "literal")
        return {"resource": resource, "operations": list(ops)}

    rw = ("Create", "Describe", "DescribeConfigs", "Read", "Write")
    return [
        acl("group", CONNECT_GROUP, ("Read",)),
        *(acl("topic", topic, rw) for topic in CONNECT_TOPICS),
        acl("topic", "mm2-offset-syncs.", rw, prefix=True),
        acl("cluster", "", ("Describe",)),
        *(
            acl("topic", f"{source.alias}{SEPARATOR}", (*rw, "Alter", "AlterConfigs"), True)
            for source in args.sources
        ),
    ]


class KafkaMirror(pulumi.ComponentResource):
    """MirrorMaker 2 in `kafka`, its local user, and each source's CA and login."""

    def __init__(
        self, name: str, args: KafkaMirrorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:KafkaMirror", name, None, opts)
        secrets: list[pulumi.Resource] = []
        for source in args.sources:
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-{source.alias}-ca",
                    metadata={"name": f"mirror-ca-{source.alias}", "namespace": NAMESPACE},
                    type="Opaque",
                    string_data={CA_KEY: source.ca_cert},
                    opts=child_options(self, opts, depends_on=list(args.depends_on)),
                )
            )
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-{source.alias}-login",
                    metadata={"name": f"mirror-source-{source.alias}", "namespace": NAMESPACE},
                    type="Opaque",
                    string_data={"password": pulumi.Output.secret(source.password)},
                    opts=child_options(self, opts, depends_on=list(args.depends_on)),
                )
            )
        target_password = _target_password(name, self, opts, args)
        user = k8s.apiextensions.CustomResource(
            f"{name}-target-user",
            api_version=API_VERSION,
            kind="KafkaUser",
            metadata={
                "name": MIRROR_TARGET_USER,
                "namespace": NAMESPACE,
                "labels": cluster_labels(),
            },
            spec={
                "authentication": {
                    "type": "scram-sha-512",
                    "password": {
                        "valueFrom": {
                            "secretKeyRef": {
                                "name": f"{MIRROR_TARGET_USER}-scram",
                                "key": "password",
                            }
                        }
                    },
                },
                "authorization": {"type": "simple", "acls": target_acls(args)},
            },
            opts=child_options(self, opts, depends_on=[*args.depends_on, target_password]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-mm2",
            api_version=API_VERSION,
            kind="KafkaMirrorMaker2",
            metadata={"name": CLUSTER, "namespace": NAMESPACE},
            spec=mirror_spec(args),
            opts=child_options(self, opts, depends_on=[*args.depends_on, *secrets, user]),
        )
        self.register_outputs({})


def _target_password(
    name: str, parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, args: KafkaMirrorArgs
) -> k8s.core.v1.Secret:
    password = random.RandomPassword(
        f"{name}-target-password", length=32, special=False, opts=child_options(parent, opts)
    )
    return k8s.core.v1.Secret(
        f"{name}-target-scram",
        metadata={"name": f"{MIRROR_TARGET_USER}-scram", "namespace": NAMESPACE},
        type="Opaque",
        string_data={"password": password.result},
        opts=child_options(parent, opts, depends_on=list(args.depends_on)),
    )
