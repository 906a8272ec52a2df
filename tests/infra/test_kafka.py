"""Kafka on Strimzi (`daca:kafka`): the component, each stage with it on, its config
errors, its custom resources against the Strimzi schemas, and planet's mirroring.

Every run is in update mode (preview=False). The Strimzi schemas in
`infra.crd_schemas_strimzi` were written from Strimzi 1.2.0's v1 CRDs.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.components.kubernetes.kafka import (
    KafkaCluster,
    KafkaClusterArgs,
    KafkaConnection,
    KafkaExternalListener,
)
from infra.config import ConfigError, ResourcesConfig
from infra.config.kafka import KafkaConfig
from infra.crd_schemas_strimzi import SCHEMAS
from infra.synth import SynthResult, load_stack_config, manifest_of, synthesize
from infra.validate import validate_manifests, validate_object

from .conftest import Record, assert_config_error, edited_stack_file, of_type, one, run_under_mocks

STRIMZI = "kubernetes:kafka.strimzi.io/v1:"
COMPONENT = "kubernetes:dapr.io/v1alpha1:Component"
SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROOT = Path(__file__).parents[2]
KAFKA_ON = {"dapr.pubsub": "pubsub.kafka", "kafka": {"enabled": True}}


def _strimzi(records: list[Record], kind: str) -> list[Record]:
    return of_type(records, STRIMZI + kind)


def _pubsub(records: list[Record]) -> Record:
    found = [r for r in of_type(records, COMPONENT) if r["inputs"]["metadata"]["name"] == "pubsub"]
    assert len(found) == 1
    return found[0]


# --- the component alone -----------------------------------------------------------------


def _cluster(
    config: KafkaConfig | None = None, external: KafkaExternalListener | None = None
) -> tuple[list[Record], KafkaConnection]:
    made: list[KafkaCluster] = []

    def build() -> None:
        made.append(
            KafkaCluster(
                "kafka",
                KafkaClusterArgs(
                    config=config or KafkaConfig(enabled=True),
                    app_id="daca-agent",
                    app_namespace="daca",
                    client_selector={"app.kubernetes.io/name": "daca-agent"},
                    publish_topics=("agent-events",),
                    subscribe_topics=("agent-reviews",),
                    external=external,
                ),
            )
        )

    records = run_under_mocks(build)
    return records, made[0].connection


def test_operator_chart_is_pinned_and_watches_only_its_namespace() -> None:
    records, _ = _cluster()
    release = one(records, RELEASE)["inputs"]
    assert release["chart"] == "strimzi-kafka-operator"
    assert release["version"] == "1.2.0"
    assert release["namespace"] == "kafka"
    assert release["skipCrds"] is True  # ours, from the same release
    assert release["values"]["watchNamespaces"] == []
    assert release["values"]["watchAnyNamespace"] is False
    crds = one(records, "kubernetes:yaml/v2:ConfigGroup")["inputs"]
    assert crds["files"] == [
        "https://github.com/strimzi/strimzi-kafka-operator/releases/download/1.2.0/"
        "strimzi-crds-1.2.0.yaml"
    ]


def test_kraft_cluster_has_only_an_authenticated_tls_listener_and_acls() -> None:
    records, connection = _cluster()
    kafka = one(records, STRIMZI + "Kafka")["inputs"]
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    assert kafka["metadata"] == {"name": "daca", "namespace": "kafka"}
    spec = kafka["spec"]
    assert "zookeeper" not in spec
    assert "replicas" not in spec["kafka"]
    [listener] = spec["kafka"]["listeners"]
    assert listener["type"] == "internal"
    assert listener["tls"] is True
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert spec["kafka"]["authorization"] == {"type": "simple"}
    assert spec["kafka"]["config"]["auto.create.topics.enable"] is False
    assert set(spec["entityOperator"]) == {"topicOperator", "userOperator"}
    assert connection.bootstrap_servers == "daca-kafka-bootstrap.kafka.svc:9093"
    assert connection.topics == ("agent-events", "agent-reviews")
    assert connection.consumer_group == "daca-agent"


def test_small_stage_gets_one_dual_role_pool_bigger_ones_dedicated_controllers() -> None:
    records, _ = _cluster()
    [pool] = _strimzi(records, "KafkaNodePool")
    assert pool["inputs"]["spec"]["roles"] == ["controller", "broker"]
    assert pool["inputs"]["metadata"]["labels"] == {"strimzi.io/cluster": "daca"}
    volume = pool["inputs"]["spec"]["storage"]["volumes"][0]
    assert volume["kraftMetadata"] == "shared"
    assert volume["deleteClaim"] is False

    big = KafkaConfig.model_validate(
        {
            "enabled": True,
            "replicas": 3,
            "controllers": 3,
            "replicationFactor": 3,
            "minInsyncReplicas": 2,
            "storageClass": "managed-csi",
        }
    )
    records, _ = _cluster(big)
    pools = {
        p["inputs"]["metadata"]["name"]: p["inputs"]["spec"]
        for p in _strimzi(records, "KafkaNodePool")
    }
    assert {name: spec["roles"] for name, spec in pools.items()} == {
        "controllers": ["controller"],
        "brokers": ["broker"],
    }
    assert pools["brokers"]["storage"]["volumes"][0]["class"] == "managed-csi"
    topic = _strimzi(records, "KafkaTopic")[0]["inputs"]["spec"]
    assert topic["replicas"] == 3
    assert topic["config"]["min.insync.replicas"] == 2
    # the brokers' own defaults and internal topics too (Kafka's are 1 in-sync replica)
    kafka = one(records, STRIMZI + "Kafka")
    broker = kafka["inputs"]["spec"]["kafka"]["config"]
    assert broker["min.insync.replicas"] == broker["transaction.state.log.min.isr"] == 2
    assert broker["default.replication.factor"] == 3
    assert broker["offsets.topic.replication.factor"] == 3
    assert broker["transaction.state.log.replication.factor"] == 3
    # Strimzi builds the brokers from the pools: the Kafka is sent after them
    assert {p["name"] for p in _strimzi(records, "KafkaNodePool")} <= set(kafka["dependsOn"])
    # what no shipped stack renders (dedicated controllers) is valid Strimzi v1 too
    for record in records:
        manifest = manifest_of(record)
        if manifest is not None:
            assert validate_object(manifest, "1.34.0") is None, record["name"]


def test_every_topic_keeps_events_for_the_configured_hours_and_partitions() -> None:
    """`retentionHours` and `partitions` at values other than their defaults reach every
    app topic: Kafka reads `retention.ms` in milliseconds."""
    config = KafkaConfig.model_validate({"enabled": True, "retentionHours": 36, "partitions": 5})
    records, _ = _cluster(config)
    topics = _strimzi(records, "KafkaTopic")
    assert len(topics) == 2, "agent-events and agent-reviews"
    for topic in topics:
        spec = topic["inputs"]["spec"]
        assert spec["config"]["retention.ms"] == 36 * 60 * 60 * 1000
        assert spec["partitions"] == 5


def test_app_user_may_only_write_its_topic_read_its_subscription_in_its_group() -> None:
    records, _ = _cluster()
    users = {u["inputs"]["metadata"]["name"]: u for u in _strimzi(records, "KafkaUser")}
    spec = users["daca-agent"]["inputs"]["spec"]
    assert spec["authentication"]["type"] == "scram-sha-512"
    acls = {
        (a["resource"]["type"], a["resource"].get("name"), a["resource"].get("patternType")): set(
            a["operations"]
        )
        for a in spec["authorization"]["acls"]
    }
    assert acls == {
        ("topic", "agent-events", "literal"): {"Describe", "Write"},
        ("topic", "agent-reviews", "literal"): {"Describe", "Read"},
        ("group", "daca-agent", "literal"): {"Read"},
    }


def test_review_decisions_have_a_publisher_login_that_may_only_write_them() -> None:
    """With authorization on, the app's user only reads `agent-reviews`: whatever publishes
    the decisions it consumes needs a login of its own, allowed nothing else."""
    records, _ = _cluster()
    users = {u["inputs"]["metadata"]["name"]: u for u in _strimzi(records, "KafkaUser")}
    spec = users["reviewers"]["inputs"]["spec"]
    acls = [
        (a["resource"].get("name"), set(a["operations"])) for a in spec["authorization"]["acls"]
    ]
    assert acls == [("agent-reviews", {"Describe", "Write"})]
    password = spec["authentication"]["password"]["valueFrom"]["secretKeyRef"]
    secret = next(
        r for r in of_type(records, SECRET) if r["inputs"]["metadata"]["name"] == password["name"]
    )
    assert secret["inputs"]["metadata"]["namespace"] == "kafka"
    assert secret["inputs"]["stringData"] == {"password": "[secret]"}  # never in clear
    # and such a publisher, labelled so, may reach the brokers through the listener's policy
    [kafka] = _strimzi(records, "Kafka")
    [internal] = [
        lst for lst in kafka["inputs"]["spec"]["kafka"]["listeners"] if lst["name"] == "tls"
    ]
    assert {
        "namespaceSelector": {},
        "podSelector": {"matchLabels": {"daca.dev/kafka-review-publisher": "true"}},
    } in internal["networkPolicyPeers"]


def test_login_and_ca_reach_the_app_namespace_only_as_secrets() -> None:
    records, connection = _cluster()
    secrets = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r
        for r in of_type(records, SECRET)
    }
    app = secrets[("daca", connection.secret_name)]
    assert set(app["inputs"]["stringData"]) == {
        connection.username_key,
        connection.password_key,
        connection.ca_key,
    }
    assert "synth-" not in json.dumps(app["inputs"]), "the generated password shows in clear"
    # Strimzi's own copies, in its namespace: our CA (never generated by the operator)
    ca_cert = secrets[("kafka", "daca-cluster-ca-cert")]["inputs"]["metadata"]
    assert ca_cert["labels"] == {"strimzi.io/kind": "Kafka", "strimzi.io/cluster": "daca"}
    assert ca_cert["annotations"] == {"strimzi.io/ca-cert-generation": "0"}
    # Strimzi parses both generations as integers and starts ours at 0
    # under the keys Strimzi reads, the certificate a CA's
    assert set(secrets[("kafka", "daca-cluster-ca")]["inputs"]["stringData"]) == {"ca.key"}
    assert set(secrets[("kafka", "daca-cluster-ca-cert")]["inputs"]["stringData"]) == {"ca.crt"}
    (ca,) = of_type(records, "tls:index/selfSignedCert:SelfSignedCert")
    assert ca["inputs"]["isCaCertificate"] is True
    ca_key = secrets[("kafka", "daca-cluster-ca")]["inputs"]["metadata"]
    assert ca_key["annotations"] == {"strimzi.io/ca-key-generation": "0"}
    assert ca_key["labels"] == ca_cert["labels"]
    kafka = one(records, STRIMZI + "Kafka")
    assert kafka["inputs"]["spec"]["clusterCa"] == {"generateCertificateAuthority": False}
    # the Kafka waits for the CA Secrets: Strimzi would generate its own otherwise
    assert {"kafka-cluster-ca", "kafka-cluster-ca-cert"} <= set(kafka["dependsOn"])


def test_external_listener_is_tls_scram_and_restricted_to_the_given_sources() -> None:
    records, _ = _cluster(
        external=KafkaExternalListener(
            bootstrap_host="kafka.eu.example.com", allowed_cidrs=("198.51.100.0/24",)
        )
    )
    listeners = one(records, STRIMZI + "Kafka")["inputs"]["spec"]["kafka"]["listeners"]
    external = next(item for item in listeners if item["name"] == "external")
    assert external["type"] == "loadbalancer"
    assert external["tls"] is True
    assert external["authentication"] == {"type": "scram-sha-512"}
    assert external["configuration"]["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    assert external["configuration"]["bootstrap"]["alternativeNames"] == ["kafka.eu.example.com"]
    assert external["networkPolicyPeers"] == [{"ipBlock": {"cidr": "198.51.100.0/24"}}]
    users = {u["inputs"]["metadata"]["name"]: u for u in _strimzi(records, "KafkaUser")}
    ops = {
        op
        for acl in users["mirror-source"]["inputs"]["spec"]["authorization"]["acls"]
        for op in acl["operations"]
    }
    assert ops <= {"Describe", "DescribeConfigs", "Read"}  # the other regions only read


# --- stages ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prototype_kafka(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    tmp = tmp_path_factory.mktemp("kafka-prototype")
    file = edited_stack_file("prototype", tmp, KAFKA_ON)
    return synthesize("prototype", config_file=file, out_dir=tmp / "out")


@pytest.fixture(scope="module")
def oci_kafka(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    tmp = tmp_path_factory.mktemp("kafka-oci")
    file = edited_stack_file("oci", tmp, KAFKA_ON)
    return synthesize("oci", config_file=file, out_dir=tmp / "out")


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("kafka-planet"))


def _assert_pubsub_on_kafka(records: list[Record]) -> None:
    pubsub = _pubsub(records)
    spec = pubsub["inputs"]["spec"]
    assert spec["type"] == "pubsub.kafka"
    metadata = {m["name"]: m for m in spec["metadata"]}
    assert metadata["consumerGroup"]["value"] == "daca-agent"
    assert metadata["authType"]["value"] == "password"
    assert metadata["saslMechanism"]["value"] == "SHA-512"
    assert metadata["brokers"]["value"].endswith(":9093")
    for name in ("saslUsername", "saslPassword", "caCert"):
        assert set(metadata[name]) == {"name", "secretKeyRef"}, f"{name} must be a reference"
        assert metadata[name]["secretKeyRef"]["name"] == "daca-agent-kafka"
    # nothing secret in clear: no value anywhere but in the plain keys
    assert {m["name"] for m in spec["metadata"] if "value" in m} == {
        "brokers",
        "consumerGroup",
        "clientID",
        "authType",
        "saslMechanism",
        "version",
    }
    assert "disableTls" not in metadata
    assert "skipVerify" not in metadata
    # the component waits for the cluster, its topics and the app's user and Secret
    kafka_parts = {
        r["name"]
        for r in records
        if r["type"].startswith(STRIMZI) and r["type"].split(":")[-1] != "KafkaNodePool"
    }
    assert kafka_parts | {"kafka-app-secret"} <= set(pubsub["dependsOn"])


@pytest.mark.parametrize("stage", ["prototype_kafka", "oci_kafka"])
def test_stage_with_kafka_on(stage: str, request: pytest.FixtureRequest) -> None:
    result: SynthResult = request.getfixturevalue(stage)
    _assert_pubsub_on_kafka(result.resources)
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []
    # the generated passwords and the CA key (the mocks' `synth-...` values) never in clear;
    # the CA's certificate is public, and the cluster hands it on as an output
    for manifest in result.manifests_dir.glob("*.yaml"):
        assert "synth-" not in manifest.read_text(), manifest.name
    written = result.resources_path.read_text()
    assert "BEGIN CERTIFICATE" in written
    assert "synth-" not in re.sub(
        r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", "", written
    )
    # the workload comes after the components (so after Kafka)
    deployment = one(result.resources, "kubernetes:apps/v1:Deployment")
    assert "dapr-components-pubsub" in deployment["dependsOn"]


def test_shipped_planet_runs_kafka_and_mirrors_in_every_region(planet: SynthResult) -> None:
    regions = [r.name for r in planet.config.planet.regions]  # type: ignore[attr-defined]
    clusters = _strimzi(planet.resources, "Kafka")
    assert sorted(c["name"] for c in clusters) == sorted(f"{r}-kafka-cluster" for r in regions)
    for region in regions:
        pubsub = next(
            r
            for r in of_type(planet.resources, COMPONENT)
            if r["name"] == f"{region}-dapr-components-pubsub"
        )
        assert pubsub["inputs"]["spec"]["type"] == "pubsub.kafka"
    mirrors = {
        m["name"]: m["inputs"]["spec"] for m in _strimzi(planet.resources, "KafkaMirrorMaker2")
    }
    assert set(mirrors) == {f"{r}-kafka-mirror-mm2" for r in regions}
    for region in regions:
        spec = mirrors[f"{region}-kafka-mirror-mm2"]
        assert spec["target"]["alias"] == region
        assert sorted(m["source"]["alias"] for m in spec["mirrors"]) == sorted(
            r for r in regions if r != region
        )
        for mirror in spec["mirrors"]:
            source = mirror["source"]
            assert source["tls"]["trustedCertificates"][0]["secretName"].startswith("mirror-ca-")
            # the login by reference to a Secret only
            assert source["authentication"] == {
                "type": "scram-sha-512",
                "username": "mirror-source",
                "passwordSecret": {
                    "secretName": f"mirror-source-{source['alias']}",
                    "password": "password",
                },
            }
    # each region's external listener presents a certificate for the host the other
    # regions' MirrorMaker 2 dial, and on the port they dial
    listeners = {
        c["name"].removesuffix("-kafka-cluster"): next(
            li for li in c["inputs"]["spec"]["kafka"]["listeners"] if li["type"] != "internal"
        )
        for c in clusters
    }
    for spec in mirrors.values():
        for mirror in spec["mirrors"]:
            host, port = mirror["source"]["bootstrapServers"].rsplit(":", 1)
            listener = listeners[mirror["source"]["alias"]]
            assert host in listener["configuration"]["bootstrap"]["alternativeNames"]
            assert port == str(listener["port"])
    assert validate_manifests(planet.manifests_dir, planet.k8s_version) == []


def _mirror_rounds(mirrors: dict[str, dict[str, Any]], topics: set[str]) -> dict[str, set[str]]:
    """Run every region's MirrorMaker 2 over and over as Kafka would: a source topic the
    pattern matches (whole name) appears in the target renamed by the policy."""
    held = {mirror["target"]["alias"]: set(topics) for mirror in mirrors.values()}
    for _ in range(len(held) + 2):
        changed = False
        for spec in mirrors.values():
            target = spec["target"]["alias"]
            for mirror in spec["mirrors"]:
                source = mirror["source"]["alias"]
                config = mirror["sourceConnector"]["config"]
                assert config["replication.policy.class"].endswith(".DefaultReplicationPolicy")
                separator = config["replication.policy.separator"]
                for topic in list(held[source]):
                    if re.fullmatch(mirror["topicsPattern"], topic):
                        new = f"{source}{separator}{topic}"
                        changed |= new not in held[target]
                        held[target].add(new)
        if not changed:
            return held
    raise AssertionError("mirroring never settles: it loops")


def test_mirroring_settles_after_one_hop_and_never_returns_a_topic_home(
    planet: SynthResult,
) -> None:
    mirrors = {
        m["name"]: m["inputs"]["spec"] for m in _strimzi(planet.resources, "KafkaMirrorMaker2")
    }
    held = _mirror_rounds(mirrors, {"agent-events", "agent-reviews"})
    for region, topics in held.items():
        for topic in topics:
            assert not topic.startswith(f"{region}."), f"{topic} came back to {region}"
            assert topic.count(".") <= 1, f"{topic} was mirrored more than once"
        assert len(topics) == 2 * len(held)  # its own two + two from each other region


def test_a_region_without_a_bootstrap_name_only_receives(tmp_path: Path) -> None:
    """A new region can join before its LoadBalancer has a DNS name: it mirrors the others,
    no one mirrors it, and it opens no external listener."""
    file = edited_stack_file("planet", tmp_path, {f"{_PLANET_MIRROR}.bootstrap.eu-oci": None})
    result = synthesize("planet", config_file=file, out_dir=tmp_path / "out")
    mirrors = {
        m["inputs"]["spec"]["target"]["alias"]: sorted(
            x["source"]["alias"] for x in m["inputs"]["spec"]["mirrors"]
        )
        for m in _strimzi(result.resources, "KafkaMirrorMaker2")
    }
    assert mirrors == {
        "eu-west": ["us-east"],
        "us-east": ["eu-west"],
        "eu-oci": ["eu-west", "us-east"],
    }
    listeners = {
        c["name"]: [item["name"] for item in c["inputs"]["spec"]["kafka"]["listeners"]]
        for c in _strimzi(result.resources, "Kafka")
    }
    assert listeners["eu-oci-kafka-cluster"] == ["tls"]
    assert listeners["eu-west-kafka-cluster"] == ["tls", "external"]


def test_kafka_sizes_fit_the_smallest_planet_region(planet: SynthResult) -> None:
    """eu-oci runs two 1-OCPU/6-GB A1 nodes: Kafka may take at most a third of them."""

    def cpu(q: str) -> float:
        return float(q[:-1]) / 1000 if q.endswith("m") else float(q)

    def mib(q: str) -> float:
        units = {"Mi": 1, "Gi": 1024}
        return float(q[:-2]) * units[q[-2:]]

    config = planet.config.kafka  # type: ignore[attr-defined]
    parts: list[ResourcesConfig] = [config.operator_resources, config.mirror.resources]
    parts += [config.entity_operator_resources] * 2
    parts += [config.resources] * (config.replicas + config.controllers)
    total_cpu = sum(cpu(p.cpu_request) for p in parts)
    total_mib = sum(mib(p.memory_request) for p in parts)
    oci = next(
        r.cluster
        for r in planet.config.planet.regions  # type: ignore[attr-defined]
        if r.cluster.kind == "oci"
    )
    nodes = [oci.server] + [oci.agents] * oci.agents.count
    assert total_cpu <= sum(n.ocpus for n in nodes) / 3
    assert total_mib <= sum(n.memory_gbs for n in nodes) * 1024 / 3


# --- schemas -----------------------------------------------------------------------------


def test_every_strimzi_object_of_every_stage_has_a_schema_and_validates(
    prototype_kafka: SynthResult, planet: SynthResult
) -> None:
    kinds = set()
    for result in (prototype_kafka, planet):
        for record in result.resources:
            if not record["type"].startswith(STRIMZI):
                continue
            manifest = manifest_of(record)
            assert manifest is not None
            kinds.add(manifest["kind"])
            assert validate_object(manifest, "1.33.0") is None
    assert kinds == {k for _, k in SCHEMAS}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["spec", "kafka", "listeners", 0, "tsl"], True),
        (["spec", "kafka", "listeners", 0, "authentication", "type"], "scram-sha-256"),
        (["spec", "kafka", "listeners", 0, "name"], "tls-listener-too-long"),
        (["spec", "kafka", "listeners", 0, "port"], 80),
        (["spec", "kafka", "authorisation"], {"type": "simple"}),
        (["spec", "zookeeper"], {"replicas": 3}),
    ],
)
def test_schema_refuses_what_strimzi_v1_would_not_do(
    prototype_kafka: SynthResult, path: list[Any], value: Any
) -> None:
    record = one(prototype_kafka.resources, STRIMZI + "Kafka")
    manifest = copy.deepcopy(manifest_of(record))
    assert manifest is not None
    target: Any = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert validate_object(manifest, "1.33.0") is not None


def test_user_acl_operation_typo_is_refused(prototype_kafka: SynthResult) -> None:
    user = copy.deepcopy(
        manifest_of(one(prototype_kafka.resources, STRIMZI + "KafkaUser", "kafka-app-user"))
    )
    assert user is not None
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Wirte"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(user, SCHEMAS[("kafka.strimzi.io/v1", "KafkaUser")])


# --- config errors -----------------------------------------------------------------------

_PLANET_MIRROR = "kafka.mirror"

BAD = [
    ("prototype", {"dapr.pubsub": "pubsub.kafka"}, ["daca:dapr.pubsub", "kafka.enabled"]),
    (
        "prototype",
        {"kafka": {"enabled": True}},
        ["daca:kafka.enabled", "'pubsub.redis'", "for nothing"],
    ),
    ("planet", {"kafka": None}, ["daca:dapr.pubsub", "'pubsub.kafka'"]),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "version": "3.9.0"}},
        ["daca:kafka", "'3.9.0'", "4.3.1"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "replicas": 0}},
        ["daca:kafka.replicas", "0"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "controllers": 2}},
        ["daca:kafka", "controllers (2)", "3 or 5"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "storage": "lots"}},
        ["daca:kafka.storage", "'lots'"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "storageClass": "Fast_SSD"}},
        ["daca:kafka.storageClass", "DNS-1123"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "partitions": 0}},
        ["daca:kafka.partitions"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "replicationFactor": 2}},
        ["daca:kafka", "replicationFactor (2)", "replicas (1)"],
    ),
    (
        "prototype",
        {
            **KAFKA_ON,
            "kafka": {
                "enabled": True,
                "replicas": 3,
                "replicationFactor": 3,
                "minInsyncReplicas": 3,
            },
        },
        ["daca:kafka", "minInsyncReplicas (3)", "below"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "minInsyncReplicas": 2}},
        ["daca:kafka", "minInsyncReplicas (2)", "replicationFactor (1)"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "retentionHours": 0}},
        ["daca:kafka.retentionHours"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "resources": {"cpuRequest": "-1"}}},
        ["daca:kafka.resources.cpuRequest"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "operatorResources": {"memoryLimit": "x"}}},
        ["daca:kafka.operatorResources.memoryLimit"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "entityOperatorResources": {"cpu": "1"}}},
        ["unknown key daca:kafka.entityOperatorResources.cpu"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "brokers": 3}},
        ["unknown key daca:kafka.brokers", "replicas"],
    ),
    (
        "prototype",
        {**KAFKA_ON, "kafka": {"enabled": True, "mirror": {"enabled": True}}},
        ["daca:kafka.mirror.enabled", "planet"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.allowedCidrs": []},
        ["daca:kafka.mirror.allowedCidrs", "every address"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.allowedCidrs": ["0.0.0.0/0"]},
        ["daca:kafka.mirror.allowedCidrs[0]", "whole internet"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.allowedCidrs": ["10.0.0.1/8"]},
        ["daca:kafka.mirror.allowedCidrs[0]", "host bits"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.bootstrap": {}},
        ["daca:kafka.mirror.bootstrap", "at least one of eu-west, us-east, eu-oci"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.bootstrap.mars": "kafka.mars.example.com:9094"},
        ["daca:kafka.mirror.bootstrap", "not a region: mars"],
    ),
    (
        "planet",
        {f"{_PLANET_MIRROR}.bootstrap.eu-west": "https://kafka.eu-west.example.com"},
        ["daca:kafka.mirror.bootstrap.eu-west", "host:port"],
    ),
    ("planet", {f"{_PLANET_MIRROR}.replicas": 0}, ["daca:kafka.mirror.replicas"]),
    (
        "planet",
        {f"{_PLANET_MIRROR}.resources": {"memoryRequest": "lots"}},
        ["daca:kafka.mirror.resources.memoryRequest"],
    ),
]


@pytest.mark.parametrize(
    ("stack", "changes", "expected"), BAD, ids=[str(i) for i in range(len(BAD))]
)
def test_bad_kafka_config_is_one_line_naming_the_key(
    stack: str, changes: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    file = edited_stack_file(stack, tmp_path, changes)
    assert_config_error(file, expected)


def test_bad_kafka_config_registers_nothing(tmp_path: Path) -> None:
    file = edited_stack_file("prototype", tmp_path, {"dapr.pubsub": "pubsub.kafka"})
    with pytest.raises(ConfigError):
        synthesize("prototype", config_file=file, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "resources.json").exists()


def test_commented_examples_in_the_shipped_files_are_valid(tmp_path: Path) -> None:
    """What prototype's and oci's files say to uncomment loads as it is."""
    for stack in ("prototype", "oci"):
        text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
        block = re.search(r"\n  # daca:kafka:\n((?:  #   .*\n)+)", text)
        assert block is not None, f"Pulumi.{stack}.yaml documents daca:kafka"
        kafka = yaml.safe_load(
            "\n".join(line.replace("  #   ", "", 1) for line in block.group(1).splitlines())
        )
        file = edited_stack_file(stack, tmp_path, {"dapr.pubsub": "pubsub.kafka", "kafka": kafka})
        config, _, _ = load_stack_config(file)
        assert config.kafka.enabled  # type: ignore[attr-defined]


# Kafka's authorizer (AclAuthorizer/StandardAuthorizer): a literal pattern matches the
# name, a prefixed one its start; Read, Write, Delete and Alter imply Describe, and
# AlterConfigs implies DescribeConfigs
_IMPLIED = {"Describe": {"Read", "Write", "Delete", "Alter"}, "DescribeConfigs": {"AlterConfigs"}}


def _allowed(acls: list[dict[str, Any]], kind: str, name: str, operation: str) -> bool:
    for acl in acls:
        resource = acl["resource"]
        if resource["type"] != kind:
            continue
        if kind != "cluster":
            pattern = resource.get("patternType", "literal")
            if pattern == "literal" and resource["name"] not in (name, "*"):
                continue
            if pattern == "prefix" and not name.startswith(resource["name"]):
                continue
        granted = set(acl["operations"])
        if {operation, "All"} & granted or _IMPLIED.get(operation, set()) & granted:
            return True
    return False


def _user_acls(records: list[Record], region: str, user: str) -> list[dict[str, Any]]:
    (found,) = (
        r["inputs"]["spec"]["authorization"]["acls"]
        for r in _strimzi(records, "KafkaUser")
        if r.get("provider") == region and r["inputs"]["metadata"]["name"] == user
    )
    return found


def _brokers(records: list[Record], region: str) -> int:
    return sum(
        p["inputs"]["spec"]["replicas"]
        for p in _strimzi(records, "KafkaNodePool")
        if p.get("provider") == region and "broker" in p["inputs"]["spec"]["roles"]
    )


#: MirrorMaker 2's and Connect's defaults, where a key is left out (Kafka 4.x)
MM2_OFFSET_SYNCS_DEFAULT = "source"
CONNECT_STORAGE_RF_DEFAULT = 3


def test_each_mirror_login_may_do_what_mirrormaker_2_does(planet: SynthResult) -> None:
    """MirrorMaker 2 as it runs: it reads each source's app topics with the source login,
    creates and writes `<source>.<topic>` and the checkpoints in its own cluster with the
    target login, keeps offset syncs where `offset-syncs.topic.location` says (MM2's
    default is the source, whose login only reads), and runs Connect's group and its three
    topics at a replication factor the region's brokers can hold. Each missing grant is a
    task failing with TopicAuthorizationException; a storage topic at a factor above the
    brokers keeps Connect from starting."""
    records = planet.resources
    mirrors = _strimzi(records, "KafkaMirrorMaker2")
    assert mirrors
    for record in mirrors:
        region, spec = record["provider"], record["inputs"]["spec"]
        target = _user_acls(records, region, spec["target"]["authentication"]["username"])
        for kind in ("config", "offset", "status"):
            topic = spec["target"][f"{kind}StorageTopic"]
            for op in ("Create", "Describe", "Read", "Write"):
                assert _allowed(target, "topic", topic, op), f"{region}: {op} {topic}"
            factor = spec["target"]["config"].get(
                f"{kind}.storage.replication.factor", CONNECT_STORAGE_RF_DEFAULT
            )
            assert factor <= _brokers(records, region), f"{region}: {kind} topic at RF {factor}"
        assert _allowed(target, "group", spec["target"]["groupId"], "Read")
        for mirror in spec["mirrors"]:
            alias = mirror["source"]["alias"]
            source = _user_acls(records, alias, mirror["source"]["authentication"]["username"])
            sep = mirror["sourceConnector"]["config"]["replication.policy.separator"]
            for topic in ("agent-events", "agent-reviews"):
                assert re.fullmatch(mirror["topicsPattern"], topic)
                for op in ("Describe", "DescribeConfigs", "Read"):
                    assert _allowed(source, "topic", topic, op), f"{alias}: {op} {topic}"
                for op in ("Create", "Write", "Describe", "Alter", "AlterConfigs"):
                    copy_ = f"{alias}{sep}{topic}"
                    assert _allowed(target, "topic", copy_, op), f"{region}: {op} {copy_}"
            checkpoints = f"{alias}{sep}checkpoints.internal"
            for op in ("Create", "Write", "Read", "Describe"):
                assert _allowed(target, "topic", checkpoints, op), f"{region}: {op} {checkpoints}"
            # the source connector writes offset syncs, the checkpoint connector reads them:
            # both where the location says, under the login for that cluster
            where = {
                connector: mirror[connector]["config"].get(
                    "offset-syncs.topic.location", MM2_OFFSET_SYNCS_DEFAULT
                )
                for connector in ("sourceConnector", "checkpointConnector")
            }
            assert len(set(where.values())) == 1, f"{region}: offset syncs split: {where}"
            syncs = f"mm2-offset-syncs.{alias}.internal"
            login = target if where["sourceConnector"] == "target" else source
            for op in ("Create", "Write", "Read", "Describe"):
                assert _allowed(login, "topic", syncs, op), (
                    f"{region}: offset syncs in the {where['sourceConnector']} cluster, whose "
                    f"login may not {op} {syncs}"
                )
            assert _allowed(source, "cluster", "", "Describe")


def test_the_acl_model_refuses_what_kafka_refuses() -> None:
    literal = [{"resource": {"type": "topic", "name": "eu.", "patternType": "literal"},
                "operations": ["Write"]}]  # fmt: skip
    assert not _allowed(literal, "topic", "eu.agent-events", "Write")
    prefixed = [{**literal[0], "resource": {**literal[0]["resource"], "patternType": "prefix"}}]
    assert _allowed(prefixed, "topic", "eu.agent-events", "Write")
    assert _allowed(prefixed, "topic", "eu.agent-events", "Describe")  # implied by Write
    assert not _allowed(prefixed, "topic", "eu.agent-events", "Create")
    assert not _allowed(prefixed, "group", "eu.agent-events", "Write")
