"""`daca:autoscaling`: KEDA and the app's ScaledObject instead of its CPU HPA, per stage
(update-mode mocks), its config errors, and its objects against KEDA 2.20's CRDs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings
from infra.components.kubernetes.keda import CHART_VERSION
from infra.components.kubernetes.scaled_object import KafkaLagSource, SecretKey
from infra.synth import SynthResult, load_stack_config, synthesize
from infra.validate import validate_manifests, validate_object

from .conftest import assert_config_error, edited_stack_file, of_type, one

ROOT = Path(__file__).parents[2]
K8S = "1.34.0"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
RELEASE = "kubernetes:helm.sh/v3:Release"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ON_CPU = {"enabled": True, "triggers": ["cpu"]}


#: the topic the app consumes (where its consumer lag builds): the app's own default
REVIEW_TOPIC = Settings.model_fields["review_topic"].default


def _prototype(tmp_path: Path, changes: dict[str, Any]) -> SynthResult:
    file = edited_stack_file("prototype", tmp_path, changes)
    return synthesize("prototype", config_file=file, out_dir=tmp_path / "out")


def _keda_releases(result: SynthResult) -> list[dict[str, Any]]:
    return [r for r in of_type(result.resources, RELEASE) if r["inputs"]["chart"] == "keda"]


def _triggers(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["type"]: t for t in record["inputs"]["spec"]["triggers"]}


# --- config: every key, with one clear line ----------------------------------------

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "prometheus without metrics",
        {"autoscaling": {"enabled": True, "triggers": ["prometheus"]}},
        ["daca:autoscaling.triggers", "'prometheus'", "daca:observability.enabled"],
    ),
    (
        "prometheus by default without metrics",
        {"autoscaling": {"enabled": True}},
        ["daca:autoscaling.triggers", "'prometheus'", "daca:observability.enabled"],
    ),
    (
        "kafka without kafka",
        {"autoscaling": {"enabled": True, "triggers": ["cpu", "kafka"]}},
        ["daca:autoscaling.triggers", "'kafka'", "daca:kafka.enabled"],
    ),
    (
        "no trigger",
        {"autoscaling": {"enabled": True, "triggers": []}},
        ["daca:autoscaling.triggers", "at least 1"],
    ),
    (
        "unknown trigger",
        {"autoscaling": {"enabled": True, "triggers": ["memory"]}},
        ["daca:autoscaling.triggers", "'memory'", "prometheus", "kafka", "cpu"],
    ),
    (
        "trigger twice",
        {"autoscaling": {"enabled": True, "triggers": ["cpu", "cpu"]}},
        ["daca:autoscaling.triggers", "cpu more than once"],
    ),
    (
        "enabled not a bool",
        {"autoscaling": {"enabled": "yes"}},
        ["daca:autoscaling.enabled", "'yes'"],
    ),
    (
        "polling too often",
        {"autoscaling": {**ON_CPU, "pollingIntervalSeconds": 1}},
        ["daca:autoscaling.pollingIntervalSeconds", "1", "5"],
    ),
    (
        "negative cooldown",
        {"autoscaling": {**ON_CPU, "cooldownPeriodSeconds": -1}},
        ["daca:autoscaling.cooldownPeriodSeconds", "-1", "0"],
    ),
    (
        "KEDA's key name, not ours",
        {"autoscaling": {**ON_CPU, "pollingInterval": 30}},
        ["daca:autoscaling.pollingInterval"],
    ),
    (
        "zero threshold",
        {"autoscaling": {**ON_CPU, "prometheus": {"threshold": 0}}},
        ["daca:autoscaling.prometheus.threshold", "0", "greater than 0"],
    ),
    (
        "negative activation",
        {"autoscaling": {**ON_CPU, "prometheus": {"activationThreshold": -1}}},
        ["daca:autoscaling.prometheus.activationThreshold", "-1"],
    ),
    (
        "unknown metric",
        {"autoscaling": {**ON_CPU, "prometheus": {"metric": "latency"}}},
        ["daca:autoscaling.prometheus.metric", "'latency'", "requestRate", "agentRunsInFlight"],
    ),
    (
        "window below four scrapes",
        {"autoscaling": {**ON_CPU, "prometheus": {"windowSeconds": 30}}},
        ["daca:autoscaling.prometheus.windowSeconds", "30", "60"],
    ),
    (
        "zero lag",
        {"autoscaling": {**ON_CPU, "kafka": {"lagThreshold": 0}}},
        ["daca:autoscaling.kafka.lagThreshold", "0", "1"],
    ),
    (
        "negative activation lag",
        {"autoscaling": {**ON_CPU, "kafka": {"activationLagThreshold": -5}}},
        ["daca:autoscaling.kafka.activationLagThreshold", "-5"],
    ),
    (
        "min above max",
        {"autoscaling": ON_CPU, "app.minReplicas": 3, "app.maxReplicas": 2},
        ["minReplicas (3)", "maxReplicas (2)"],
    ),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_autoscaling_config_is_one_line_naming_the_key(
    case: str,
    changes: dict[str, Any],
    expected: list[str],
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    assert_config_error(stack_config(changes), expected)


def test_a_bad_config_registers_nothing(stack_config: Callable[[dict[str, Any]], Path]) -> None:
    from pulumi.runtime.config import set_all_config

    from infra import program
    from infra.synth import read_stack_file
    from tests.infra.conftest import run_under_mocks

    values, secrets = read_stack_file(
        stack_config({"autoscaling": {"enabled": True, "triggers": ["kafka"]}})
    )

    def build() -> None:
        set_all_config(values, secrets)
        with pytest.raises(SystemExit) as exited:
            program.main()
        assert exited.value.code == 2

    assert run_under_mocks(build) == []


def test_each_trigger_is_accepted_with_the_service_it_reads(
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    config, _, _ = load_stack_config(
        stack_config(
            {
                "observability": {"enabled": True},
                "kafka": {"enabled": True},
                "dapr.pubsub": "pubsub.kafka",
                "autoscaling": {
                    "enabled": True,
                    "triggers": ["prometheus", "kafka", "cpu"],
                    "prometheus": {"threshold": 2, "metric": "agentRunsInFlight"},
                },
            }
        )
    )
    assert config.autoscaling.triggers == ["prometheus", "kafka", "cpu"]  # type: ignore[attr-defined]
    assert config.autoscaling.prometheus.threshold == 2.0  # type: ignore[attr-defined]


# --- prototype: off as shipped, on by config ----------------------------------------


def test_off_keeps_the_hpa_path(prototype: SynthResult, tmp_path: Path) -> None:
    assert _keda_releases(prototype) == []
    assert of_type(prototype.resources, SCALED_OBJECT) == []
    scaled = _prototype(tmp_path, {"app.maxReplicas": 3})
    assert one(scaled.resources, HPA)["inputs"]["spec"]["maxReplicas"] == 3
    assert of_type(scaled.resources, SCALED_OBJECT) == []
    assert _keda_releases(scaled) == []


@pytest.fixture(scope="module")
def prototype_keda(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    tmp = tmp_path_factory.mktemp("keda-prototype")
    return _prototype(tmp, {"autoscaling": ON_CPU, "app.minReplicas": 1, "app.maxReplicas": 3})


def test_on_installs_keda_and_a_scaled_object_instead_of_the_hpa(
    prototype_keda: SynthResult,
) -> None:
    assert of_type(prototype_keda.resources, HPA) == [], "two HPAs on one Deployment fight"
    (release,) = _keda_releases(prototype_keda)
    assert release["inputs"]["version"] == CHART_VERSION
    assert release["inputs"]["namespace"] == "keda"
    assert release["inputs"]["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    assert release["inputs"]["atomic"] is True
    scaled = one(prototype_keda.resources, SCALED_OBJECT)
    spec = scaled["inputs"]["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "daca-agent",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 3)
    assert (spec["pollingInterval"], spec["cooldownPeriod"]) == (30, 300)
    cpu = _triggers(scaled)["cpu"]
    assert cpu["metricType"] == "Utilization"
    assert cpu["metadata"] == {"value": "70", "containerName": "agent"}
    # the ScaledObject's kind only exists once the release has put KEDA's CRDs in
    assert f"{release['name']}" in scaled["dependsOn"]
    assert "agent-deployment" in scaled["dependsOn"]
    # KEDA's HPA owns the count: the Deployment must not set it too
    assert "replicas" not in one(prototype_keda.resources, DEPLOYMENT)["inputs"]["spec"]


def test_keda_runs_non_root_with_small_requests_and_limits(prototype_keda: SynthResult) -> None:
    (release,) = _keda_releases(prototype_keda)
    values = release["inputs"]["values"]
    assert values["crds"]["install"] is True
    for part in ("operator", "metricServer", "webhooks"):
        assert values["podSecurityContext"][part]["runAsNonRoot"] is True
        assert values["securityContext"][part]["allowPrivilegeEscalation"] is False
        resources = values["resources"][part]
        assert set(resources) == {"requests", "limits"}
        assert set(resources["limits"]) == {"cpu", "memory"}


def test_fixed_replicas_get_keda_but_no_scaled_object(tmp_path: Path) -> None:
    result = _prototype(tmp_path, {"autoscaling": ON_CPU})  # shipped: 1..1
    assert len(_keda_releases(result)) == 1
    assert of_type(result.resources, SCALED_OBJECT) == []
    assert of_type(result.resources, HPA) == []
    assert one(result.resources, DEPLOYMENT)["inputs"]["spec"]["replicas"] == 1


def test_prototype_keda_manifests_validate(prototype_keda: SynthResult) -> None:
    assert prototype_keda.k8s_version is not None
    assert validate_manifests(prototype_keda.manifests_dir, prototype_keda.k8s_version) == []


# --- oci: the prometheus trigger with metrics on --------------------------------------


def test_oci_scales_on_request_rate_from_prometheus(tmp_path: Path) -> None:
    file = edited_stack_file(
        "oci",
        tmp_path,
        {
            "observability": {"enabled": True},
            "autoscaling": {
                "enabled": True,
                "triggers": ["prometheus", "cpu"],
                "prometheus": {"threshold": 8, "activationThreshold": 0.5, "windowSeconds": 300},
            },
        },
    )
    result = synthesize("oci", config_file=file, out_dir=tmp_path / "out")
    assert of_type(result.resources, HPA) == []
    scaled = one(result.resources, SCALED_OBJECT)
    spec = scaled["inputs"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 2)
    prometheus = _triggers(scaled)["prometheus"]["metadata"]
    assert prometheus["serverAddress"] == "http://kps-prometheus.monitoring.svc:9090"
    assert prometheus["threshold"] == "8"
    assert prometheus["activationThreshold"] == "0.5"
    assert "daca_http_requests_total" in prometheus["query"]
    assert 'namespace="daca"' in prometheus["query"]
    # the rate is taken over the configured window, not the default two minutes
    assert "[300s]" in prometheus["query"]
    assert set(_triggers(scaled)) == {"prometheus", "cpu"}
    assert result.k8s_version is not None
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []


def test_the_queries_name_metrics_the_app_exports() -> None:
    """The two PromQL metrics are series the app's registry really exposes."""
    from prometheus_client import generate_latest

    from app.metrics import Metrics
    from infra.components.kubernetes.scaled_object import PrometheusTrigger, prometheus_query

    metrics = Metrics()
    metrics.requests.labels(method="GET", route="/sessions", status="200").inc()
    metrics.agent_runs.labels(outcome="ok").observe(1.5)
    exposed = generate_latest(metrics.registry).decode()
    for metric in ("requestRate", "agentRunsInFlight"):
        query = prometheus_query(PrometheusTrigger(metric=metric, threshold=1), "daca")  # type: ignore[arg-type]
        series = query.split("(")[2].split("{")[0]
        assert f"\n{series}{{" in exposed, f"{series} is not exported by the app"


# --- planet: on as shipped, in each region; Karmada mode --------------------------------


def _planet_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    return config


def _planet(tmp_path: Path, config: dict[str, Any]) -> SynthResult:
    file = tmp_path / "Pulumi.test.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return synthesize("planet", config_file=file, out_dir=tmp_path / "out")


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("keda-planet"))


def test_planet_runs_keda_in_every_region_with_prometheus_and_kafka(planet: SynthResult) -> None:
    releases = _keda_releases(planet)
    assert sorted(r["provider"] for r in releases) == ["eu-oci", "eu-west", "us-east"]
    assert of_type(planet.resources, HPA) == []
    for scaled in of_type(planet.resources, SCALED_OBJECT):
        region = scaled["provider"]
        assert scaled["name"].startswith(f"{region}-")
        assert f"{region}-keda-release" in scaled["dependsOn"]
        triggers = _triggers(scaled)
        assert set(triggers) == {"prometheus", "kafka"}
        kafka = triggers["kafka"]
        assert kafka["metadata"]["consumerGroup"] == "daca-agent"
        assert kafka["metadata"]["topic"] == REVIEW_TOPIC
        assert kafka["metadata"]["lagThreshold"] == "10"
        assert (kafka["metadata"]["tls"], kafka["metadata"]["sasl"]) == ("enable", "scram_sha512")
        # Kafka 4 refuses requests older than protocol 2.1 (KIP-896); KEDA defaults to 1.0.0
        version = tuple(int(part) for part in kafka["metadata"]["version"].split("."))
        assert version >= (2, 1, 0)
        assert kafka["authenticationRef"]["name"] == "daca-agent-kafka"
        # KEDA's operator reads the lag itself: the region's Kafka listener admits its pods
        (keda,) = [r for r in releases if r["provider"] == region]
        (cluster,) = [
            c for c in of_type(planet.resources, "kubernetes:kafka.strimzi.io/v1:Kafka")
            if c["provider"] == region
        ]  # fmt: skip
        (listener,) = [
            li for li in cluster["inputs"]["spec"]["kafka"]["listeners"]
            if kafka["metadata"]["bootstrapServers"].endswith(f":{li['port']}")
        ]  # fmt: skip
        admitted = {
            (peer.get("namespaceSelector") or {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            for peer in listener["networkPolicyPeers"]
        }
        assert keda["inputs"]["namespace"] in admitted


def test_planet_kafka_credentials_come_only_from_secrets(planet: SynthResult) -> None:
    auths = of_type(planet.resources, TRIGGER_AUTH)
    assert {a["provider"] for a in auths} == {"eu-west", "us-east"}
    for auth in auths:
        assert set(auth["inputs"]["spec"]) == {"secretTargetRef"}
        params = {ref["parameter"] for ref in auth["inputs"]["spec"]["secretTargetRef"]}
        assert params == {"ca", "username", "password"}


def test_planet_with_autoscaling_off_keeps_the_regions_hpas(tmp_path: Path) -> None:
    config = _planet_config()
    config["daca:autoscaling"] = {"enabled": False}
    result = _planet(tmp_path, config)
    hpas = {r["name"]: r["inputs"]["spec"] for r in of_type(result.resources, HPA)}
    assert set(hpas) == {"eu-west-agent-hpa", "us-east-agent-hpa"}
    assert hpas["us-east-agent-hpa"]["maxReplicas"] == 6
    assert _keda_releases(result) == []
    assert of_type(result.resources, SCALED_OBJECT) == []


def test_karmada_mode_scales_each_member_with_its_own_scaled_object(tmp_path: Path) -> None:
    """KEDA scales the pods of the cluster it runs in: the Deployment is propagated once,
    the ScaledObject is made in each member, and Karmada keeps the member's count."""
    config = copy.deepcopy(_planet_config())
    config["daca:planet"].update(
        federation="karmada",
        hub="eu-west",
        karmada={"apiSources": ["203.0.113.0/24"], "hubEgressCidrs": ["198.51.100.77/32"]},
    )
    result = _planet(tmp_path, config)
    assert of_type(result.resources, HPA) == [], "no HPA in Karmada's API or any member"
    scaled = {r["provider"]: r["inputs"]["spec"] for r in of_type(result.resources, SCALED_OBJECT)}
    assert set(scaled) == {"eu-west", "us-east"}  # eu-oci is fixed at 2
    assert scaled["us-east"]["maxReplicaCount"] == 6
    propagation = one(result.resources, "kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy")
    kinds = {s["kind"] for s in propagation["inputs"]["spec"]["resourceSelectors"]}
    assert "HorizontalPodAutoscaler" not in kinds
    assert "ScaledObject" not in kinds
    override = next(
        r
        for r in of_type(result.resources, "kubernetes:policy.karmada.io/v1alpha1:OverridePolicy")
        if r["inputs"]["metadata"]["name"] == "daca-agent-workload"
    )
    for rule in override["inputs"]["spec"]["overrideRules"]:
        labels = rule["overriders"]["labelsOverrider"][0]["value"]
        assert labels == {"resourcetemplate.karmada.io/retain-replicas": "true"}
    assert result.k8s_version is not None
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []


# --- the schemas, from KEDA 2.20.2's CRDs and scalers ----------------------------------


def _scaled_object(**trigger: Any) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "daca-agent", "namespace": "daca"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "daca-agent"},
            "minReplicaCount": 1,
            "maxReplicaCount": 3,
            "triggers": [trigger],
        },
    }


KAFKA = {
    "type": "kafka",
    "metadata": {
        "bootstrapServers": "daca-kafka-bootstrap.kafka.svc:9093",
        "consumerGroup": "daca-agent",
        "topic": "agent-reviews",
        "lagThreshold": "10",
        "tls": "enable",
        "sasl": "scram_sha512",
    },
    "authenticationRef": {"name": "daca-agent-kafka"},
}


def test_schema_accepts_what_keda_reads() -> None:
    assert validate_object(_scaled_object(**KAFKA), K8S) is None


@pytest.mark.parametrize(
    ("mistake", "trigger", "expected"),
    [
        (
            "misspelled lag key",
            {**KAFKA, "metadata": {**KAFKA["metadata"], "lagTreshold": "10"}},
            "lagTreshold",
        ),
        ("sasl mechanism", {**KAFKA, "metadata": {**KAFKA["metadata"], "sasl": "scram"}}, "scram"),
        ("number not text", {**KAFKA, "metadata": {**KAFKA["metadata"], "lagThreshold": 10}}, "10"),
        (
            "prometheus without threshold",
            {"type": "prometheus", "metadata": {"serverAddress": "http://p:9090", "query": "up"}},
            "threshold",
        ),
        ("cpu without metricType", {"type": "cpu", "metadata": {"value": "70"}}, "metricType"),
        ("unknown scaler", {"type": "prometheos", "metadata": {}}, "prometheos"),
    ],
)
def test_schema_rejects_mistakes_keda_would_ignore_or_refuse(
    mistake: str, trigger: dict[str, Any], expected: str
) -> None:
    problem = validate_object(_scaled_object(**trigger), K8S)
    assert problem is not None
    assert expected in problem, problem


def test_trigger_authentication_schema_takes_only_secret_references() -> None:
    auth: dict[str, Any] = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": "daca-agent-kafka", "namespace": "daca"},
        "spec": {"secretTargetRef": [{"parameter": "ca", "name": "ca", "key": "ca.crt"}]},
    }
    assert validate_object(auth, K8S) is None
    auth["spec"]["env"] = [{"parameter": "password", "name": "KAFKA_PASSWORD"}]
    assert validate_object(auth, K8S) is not None


def test_kafka_lag_source_needs_the_credentials_of_its_mode() -> None:
    ca = SecretKey("daca-agent-kafka-ca", "ca.crt")
    with pytest.raises(ValueError, match="username and password"):
        KafkaLagSource("k:9093", ("t",), "g", "4.0.0", ca)
    with pytest.raises(ValueError, match="client certificate"):
        KafkaLagSource("k:9093", ("t",), "g", "4.0.0", ca, authentication="tls")
    with pytest.raises(ValueError, match="topic"):
        KafkaLagSource("k:9093", (), "g", "4.0.0", ca, username=ca, password=ca)
    tls = KafkaLagSource(
        "k:9093", ("t",), "g", "4.0.0", ca, "tls", client_cert=SecretKey("u", "user.crt"),
        client_key=SecretKey("u", "user.key"),
    )  # fmt: skip
    assert [p for p, _ in tls.auth_params()] == ["ca", "cert", "key"]


@pytest.mark.parametrize("trigger", ["prometheus", "cpu"])
def test_one_trigger_alone_is_enough_and_none_is_refused(trigger: str) -> None:
    from infra.components.kubernetes.scaled_object import AppScaledObjectArgs, PrometheusTrigger

    given: dict[str, Any] = {"app_id": "agent", "namespace": "daca", "min_replicas": 1}
    alone = (
        {"prometheus": PrometheusTrigger(metric="requestRate", threshold=5)}
        if trigger == "prometheus"
        else {"cpu_utilization": 70}
    )
    assert AppScaledObjectArgs(**given, max_replicas=3, **alone).max_replicas == 3
    with pytest.raises(ValueError, match=r"^a ScaledObject needs at least one trigger$"):
        AppScaledObjectArgs(**given, max_replicas=3)
