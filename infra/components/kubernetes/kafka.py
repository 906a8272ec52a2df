"""Kafka on Strimzi: the operator (official chart, pinned), a KRaft cluster, its topics
and the app's user, with every credential and the cluster CA owned by this program.

Why the program owns them: Dapr's Kubernetes secret store reads only the app's namespace,
while Strimzi keeps a cluster's secrets in its own (`kafka`). Letting the User Operator
watch the app namespace needs `STRIMZI_ENTITY_OPERATOR_WATCHED_NAMESPACE_ENABLED`, which
Strimzi 1.0.1 turned off by default (CVE-2026-55225/55226), and would still leave the CA
certificate behind. So the SCRAM password is generated here (pulumi-random) and given to
Strimzi by `password.valueFrom`, and the cluster CA is ours (`generateCertificateAuthority:
false`, the Strimzi "install your own CA" procedure): both land in a Secret of the app
namespace beside their Strimzi copies, and the operator watches `kafka` only. The same
makes a region's CA and mirror password known to the other regions' MirrorMaker 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options
from infra.config import ResourcesConfig
from infra.config.kafka import KafkaConfig

#: the chart repository Strimzi's docs name (`ChartRepositoryUrl`); also oci://quay.io/strimzi-helm
CHART_REPO = "https://strimzi.io/charts/"
#: Strimzi's release: the chart, the operator and the CRDs share it
STRIMZI_VERSION = "1.2.0"
API_VERSION = "kafka.strimzi.io/v1"
#: where the operator and every Kafka object live (the shared convention)
NAMESPACE = "kafka"
#: the Kafka cluster's name (the shared convention)
CLUSTER = "daca"
TLS_PORT = 9093
EXTERNAL_PORT = 9094
#: the Kafka CA Secret key Strimzi reads and the one the app's Secret carries
CA_KEY = "ca.crt"
#: the key of every SCRAM password Secret (what `password.valueFrom` and Dapr read)
PASSWORD_KEY = "password"
USERNAME_KEY = "username"
#: Kafka 4 refuses request versions older than 2.1 (KIP-896); Dapr's client (sarama)
#: speaks 2.0.0 unless told otherwise
CLIENT_PROTOCOL_VERSION = "4.0.0"
#: the user the other regions' MirrorMaker 2 logs in as (planet)
MIRROR_SOURCE_USER = "mirror-source"
#: the login of whatever publishes review decisions (a review UI, a queue worker): it may
#: only write the topics the app consumes; its password is in `<user>-scram` in `kafka`
REVIEWER_USER = "reviewers"
#: the pod label that lets a review-decision publisher reach the brokers (any namespace;
#: it still needs the `reviewers` login)
REVIEWER_LABEL = "daca.dev/kafka-review-publisher"
#: ten years: Strimzi never renews a CA it did not generate (docs/services.md says how)
CA_VALIDITY_HOURS = 10 * 365 * 24


def crds_url(version: str) -> str:
    """Strimzi's CRDs as each release publishes them (the chart README's upgrade URL)."""
    return (
        "https://github.com/strimzi/strimzi-kafka-operator/releases/download/"
        f"{version}/strimzi-crds-{version}.yaml"
    )


@dataclass(frozen=True)
class KafkaConnection:
    """How a client in the app namespace reaches the cluster (KEDA's Kafka scaler too)."""

    #: the internal TLS listener, `host:port`
    bootstrap_servers: str
    #: the app's topics (what it publishes, then what it subscribes to)
    topics: tuple[str, ...]
    #: the topics it consumes, where its consumer group's lag builds up
    consumed_topics: tuple[str, ...]
    #: the app's consumer group (its Dapr app-id)
    consumer_group: str
    #: the Secret in the app namespace with the SASL/SCRAM-SHA-512 login
    secret_name: str
    username_key: str
    password_key: str
    #: the Secret in the app namespace with the cluster CA certificate (PEM)
    ca_secret_name: str
    ca_key: str


@dataclass(frozen=True)
class KafkaExternalListener:
    """planet: a TLS + SCRAM listener other regions reach (a LoadBalancer per broker)."""

    #: the DNS name of the bootstrap LoadBalancer, put in the listener's certificate
    bootstrap_host: str
    #: the only sources the LoadBalancers and the NetworkPolicy admit
    allowed_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class KafkaClusterArgs:
    #: sizes, version, topics' settings
    config: KafkaConfig
    #: the app's Dapr app-id: its KafkaUser and consumer group
    app_id: str
    #: the app namespace: where its Secret goes and its pods connect from
    app_namespace: pulumi.Input[str]
    #: the labels of the app's pods (the only pods of that namespace admitted)
    client_selector: Mapping[str, str]
    #: topics the app writes to
    publish_topics: tuple[str, ...]
    #: topics the app reads from
    subscribe_topics: tuple[str, ...]
    #: namespaces whose every pod may reach the TLS listener (KEDA reads consumer lag)
    client_namespaces: tuple[str, ...] = ()
    #: planet mirroring; None: no listener outside the cluster
    external: KafkaExternalListener | None = None
    version: str = STRIMZI_VERSION


def _requirements(resources: ResourcesConfig) -> dict[str, Any]:
    return {
        "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
        "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
    }


def operator_values(config: KafkaConfig) -> dict[str, Any]:
    """The chart's values: it watches its own namespace only (`watchNamespaces: []`)."""
    return {
        "watchNamespaces": [],
        "watchAnyNamespace": False,
        "resources": _requirements(config.operator_resources),
        "generateNetworkPolicy": True,
        "generatePodDisruptionBudget": True,
    }


def cluster_labels() -> dict[str, str]:
    """What ties a node pool, topic or user to the cluster."""
    return {"strimzi.io/cluster": CLUSTER}


def _listeners(args: KafkaClusterArgs) -> list[dict[str, Any]]:
    app_peer: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.app_namespace}},
        "podSelector": {"matchLabels": dict(args.client_selector)},
    }
    peers: list[dict[str, Any]] = [
        app_peer,
        # MirrorMaker 2 writes the mirrored topics into this cluster (planet)
        {"podSelector": {"matchLabels": {"strimzi.io/kind": "KafkaMirrorMaker2"}}},
        # whatever publishes review decisions, labelled so, wherever it runs
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {REVIEWER_LABEL: "true"}}},
        *(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}
            for name in args.client_namespaces
        ),
    ]
    listeners: list[dict[str, Any]] = [
        {
            "name": "tls",
            "port": TLS_PORT,
            "type": "internal",
            "tls": True,
            "authentication": {"type": "scram-sha-512"},
            "networkPolicyPeers": peers,
        }
    ]
    if args.external is not None:
        cidrs = list(args.external.allowed_cidrs)
        listeners.append(
            {
                "name": "external",
                "port": EXTERNAL_PORT,
                "type": "loadbalancer",
                "tls": True,
                "authentication": {"type": "scram-sha-512"},
                "configuration": {
                    "loadBalancerSourceRanges": cidrs,
                    # keeps the client's address, so the NetworkPolicy can check it
                    "externalTrafficPolicy": "Local",
                    "bootstrap": {"alternativeNames": [args.external.bootstrap_host]},
                },
                "networkPolicyPeers": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs],
            }
        )
    return listeners


def kafka_spec(args: KafkaClusterArgs) -> dict[str, Any]:
    """The `Kafka` spec (KRaft: the nodes come from the node pools)."""
    config = args.config
    rf, isr = config.replication_factor, config.min_insync_replicas
    eo = _requirements(config.entity_operator_resources)
    return {
        "kafka": {
            "version": config.version,
            "listeners": _listeners(args),
            "authorization": {"type": "simple"},
            "config": {
                "auto.create.topics.enable": False,
                "default.replication.factor": rf,
                "min.insync.replicas": isr,
                "offsets.topic.replication.factor": rf,
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": isr,
            },
        },
        "clusterCa": {"generateCertificateAuthority": False},
        "entityOperator": {
            "topicOperator": {"resources": eo},
            "userOperator": {"resources": eo},
        },
    }


def node_pools(config: KafkaConfig) -> dict[str, dict[str, Any]]:
    """Pool name -> `KafkaNodePool` spec: one dual-role pool, or brokers + controllers."""
    volume: dict[str, Any] = {
        "id": 0,
        "type": "persistent-claim",
        "size": config.storage,
        "deleteClaim": False,
        "kraftMetadata": "shared",
    }
    if config.storage_class:
        volume["class"] = config.storage_class
    storage = {"type": "jbod", "volumes": [volume]}
    resources = _requirements(config.resources)
    if config.dual_role:
        return {
            "dual-role": {
                "replicas": config.replicas,
                "roles": ["controller", "broker"],
                "storage": storage,
                "resources": resources,
            }
        }
    return {
        "controllers": {
            "replicas": config.controllers,
            "roles": ["controller"],
            "storage": storage,
            "resources": resources,
        },
        "brokers": {
            "replicas": config.replicas,
            "roles": ["broker"],
            "storage": storage,
            "resources": resources,
        },
    }


def topic_spec(config: KafkaConfig) -> dict[str, Any]:
    return {
        "partitions": config.partitions,
        "replicas": config.replication_factor,
        "config": {
            "min.insync.replicas": config.min_insync_replicas,
            "retention.ms": config.retention_hours * 3_600_000,
        },
    }


def _acl(kind: str, name: str, *operations: str, prefix: bool = False) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": kind}
    if kind != "cluster":
        resource.update(name=name, patternType="prefix" if prefix else "literal")
    return {"resource": resource, "operations": list(operations)}


def app_acls(args: KafkaClusterArgs) -> list[dict[str, Any]]:
    """Only what Dapr's pub/sub does for the app: write its topics, read its subscriptions
    in its own consumer group. No Create: topics exist only as KafkaTopics."""
    return [
        *(_acl("topic", t, "Describe", "Write") for t in args.publish_topics),
        *(_acl("topic", t, "Describe", "Read") for t in args.subscribe_topics),
        _acl("group", args.app_id, "Read"),
    ]


def reviewer_acls(args: KafkaClusterArgs) -> list[dict[str, Any]]:
    """Write the topics the app consumes (review decisions), read nothing."""
    return [_acl("topic", t, "Describe", "Write") for t in args.subscribe_topics]


def mirror_source_acls(topics: tuple[str, ...], groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """What another region's MirrorMaker 2 reads here (offset syncs kept in its own
    cluster): the app topics, their configs, and the app's group offsets for checkpoints."""
    return [
        *(_acl("topic", t, "Describe", "DescribeConfigs", "Read") for t in topics),
        _acl("cluster", "", "Describe"),
        *(_acl("group", g, "Describe") for g in groups),
    ]


def _scram_user(password_secret: str, acls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "authentication": {
            "type": "scram-sha-512",
            "password": {
                "valueFrom": {"secretKeyRef": {"name": password_secret, "key": PASSWORD_KEY}}
            },
        },
        "authorization": {"type": "simple", "acls": acls},
    }


class KafkaCluster(pulumi.ComponentResource):
    """The Strimzi operator, the `daca` KRaft cluster, the app's topics and user, and the
    app's Secret with its login and the CA; `connection` says how to reach it."""

    connection: KafkaConnection
    #: the cluster CA certificate (PEM): what the other regions trust
    ca_cert: pulumi.Output[str]
    #: the password of `mirror-source` (secret), when the external listener is on
    mirror_password: pulumi.Output[str] | None
    #: the `reviewers` login's password (secret): what publishes review decisions uses it
    reviewer_password: pulumi.Output[str]
    #: what a client must wait for: the cluster, its topics and users
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: KafkaClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:KafkaCluster", name, None, opts)
        ns = NAMESPACE
        crds = k8s.yaml.v2.ConfigGroup(
            f"{name}-crds", files=[crds_url(args.version)], opts=child_options(self, opts)
        )
        operator = pinned_release(
            f"{name}-operator",
            PinnedChart(
                release="strimzi-kafka-operator",
                repo=CHART_REPO,
                version=args.version,
                namespace=ns,
                values=operator_values(args.config),
                # the CRDs are ours (above): Helm never upgrades a chart's CRDs
                skip_crds=True,
            ),
            child_options(self, opts, depends_on=[crds]),
        )
        after_operator = child_options(self, opts, depends_on=[crds, operator])
        ca_secrets, self.ca_cert = self._cluster_ca(name, ns, after_operator)
        password, app_user = self._scram_login(
            name, "app", args.app_id, app_acls(args), opts, operator, [crds, operator]
        )
        # with authorization on, the app's own login may only read review decisions: the
        # publisher of decisions gets a login of its own that may only write them
        self.reviewer_password, reviewer_user = self._scram_login(
            name, "reviewer", REVIEWER_USER, reviewer_acls(args), opts, operator, [operator]
        )
        users = [app_user, reviewer_user]
        self.mirror_password = None
        if args.external is not None:
            # the login the other regions' MirrorMaker 2 reads this cluster with
            mirrored = (*args.publish_topics, *args.subscribe_topics)
            acls = mirror_source_acls(mirrored, (args.app_id,))
            self.mirror_password, mirror_user = self._scram_login(
                name, "mirror", MIRROR_SOURCE_USER, acls, opts, operator, [operator]
            )
            users.append(mirror_user)
        cluster = self._cluster(name, args, child_options(self, opts, depends_on=ca_secrets))
        topics = [
            self._custom(
                f"{name}-topic-{topic}",
                "KafkaTopic",
                topic,
                topic_spec(args.config),
                child_options(self, opts, depends_on=[cluster]),
            )
            for topic in (*args.publish_topics, *args.subscribe_topics)
        ]
        secret_name = f"{args.app_id}-kafka"
        app_secret = k8s.core.v1.Secret(
            f"{name}-app-secret",
            metadata={"name": secret_name, "namespace": args.app_namespace},
            type="Opaque",
            string_data={
                USERNAME_KEY: args.app_id,
                PASSWORD_KEY: password,  # a secret output already
                CA_KEY: self.ca_cert,
            },
            opts=child_options(self, opts),
        )
        self.ready = [cluster, *topics, *users, app_secret]
        self.connection = KafkaConnection(
            bootstrap_servers=f"{CLUSTER}-kafka-bootstrap.{ns}.svc:{TLS_PORT}",
            topics=(*args.publish_topics, *args.subscribe_topics),
            consumed_topics=tuple(args.subscribe_topics),
            consumer_group=args.app_id,
            secret_name=secret_name,
            username_key=USERNAME_KEY,
            password_key=PASSWORD_KEY,
            ca_secret_name=secret_name,
            ca_key=CA_KEY,
        )
        self.register_outputs(
            {"bootstrapServers": self.connection.bootstrap_servers, "caCert": self.ca_cert}
        )

    def _custom(
        self, name: str, kind: str, object_name: str, spec: dict[str, Any], opts: Any
    ) -> k8s.apiextensions.CustomResource:
        metadata: dict[str, Any] = {"name": object_name, "namespace": NAMESPACE}
        if kind != "Kafka":
            metadata["labels"] = cluster_labels()
        return k8s.apiextensions.CustomResource(
            name,
            api_version=API_VERSION,
            kind=kind,
            metadata=metadata,
            spec=spec,
            opts=opts,
        )

    def _cluster(
        self, name: str, args: KafkaClusterArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        """The node pools first: Strimzi builds the nodes of a `Kafka` from its pools."""
        pools = [
            self._custom(f"{name}-pool-{pool}", "KafkaNodePool", pool, spec, opts)
            for pool, spec in node_pools(args.config).items()
        ]
        return self._custom(
            f"{name}-cluster",
            "Kafka",
            CLUSTER,
            kafka_spec(args),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=pools)),
        )

    def _cluster_ca(
        self, name: str, ns: str, opts: pulumi.ResourceOptions
    ) -> tuple[list[pulumi.Resource], pulumi.Output[str]]:
        """Our cluster CA, in the two Secrets Strimzi reads, before the `Kafka` exists."""
        key = tls.PrivateKey(
            f"{name}-ca-key", algorithm="RSA", rsa_bits=4096, opts=child_options(self, None)
        )
        cert = tls.SelfSignedCert(
            f"{name}-ca-cert",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{name}-cluster-ca", organization="daca"
            ),
            opts=child_options(self, None),
        )
        meta = {"namespace": ns, "labels": {"strimzi.io/kind": "Kafka", **cluster_labels()}}
        cert_secret = k8s.core.v1.Secret(
            f"{name}-cluster-ca-cert",
            metadata={
                **meta,
                "name": f"{CLUSTER}-cluster-ca-cert",
                "annotations": {"strimzi.io/ca-cert-generation": "0"},
            },
            type="Opaque",
            string_data={CA_KEY: cert.cert_pem},
            opts=opts,
        )
        key_secret = k8s.core.v1.Secret(
            f"{name}-cluster-ca",
            metadata={
                **meta,
                "name": f"{CLUSTER}-cluster-ca",
                "annotations": {"strimzi.io/ca-key-generation": "0"},
            },
            type="Opaque",
            string_data={"ca.key": key.private_key_pem_pkcs8},  # PKCS#8, as Strimzi writes its own
            opts=opts,
        )
        return [cert_secret, key_secret], cert.cert_pem

    def _password_secret(
        self,
        name: str,
        secret_name: str,
        ns: str,
        password: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            name,
            metadata={"name": secret_name, "namespace": ns},
            type="Opaque",
            string_data={PASSWORD_KEY: pulumi.Output.secret(password)},
            opts=opts,
        )

    def _scram_login(
        self,
        name: str,
        role: str,
        user: str,
        acls: list[dict[str, Any]],
        opts: pulumi.ResourceOptions | None,
        operator: pulumi.Resource,
        secret_after: list[pulumi.Resource],
    ) -> tuple[pulumi.Output[str], k8s.apiextensions.CustomResource]:
        """A SCRAM login: its random password (a secret output), the Secret Strimzi reads
        it from (`<user>-scram`), and the KafkaUser with its ACLs."""
        password = random.RandomPassword(
            f"{name}-{role}-password", length=32, special=False, opts=child_options(self, opts)
        )
        secret = self._password_secret(
            f"{name}-{role}-scram",
            f"{user}-scram",
            NAMESPACE,
            password.result,
            child_options(self, opts, depends_on=secret_after),
        )
        kafka_user = self._custom(
            f"{name}-{role}-user",
            "KafkaUser",
            user,
            _scram_user(f"{user}-scram", acls),
            child_options(self, opts, depends_on=[operator, secret]),
        )
        return password.result, kafka_user
