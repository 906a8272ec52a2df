"""The whole prototype stack, as `daca synth prototype` (update-mode mocks) records it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import read_kind_config
from infra.synth import SynthResult, evaluate, load_stack_config, synthesize
from infra.validate import validate_manifests
from tests.infra.conftest import of_type, one, pod_spec, secret_output_commands

ROOT = Path(__file__).parents[2]


def test_dapr_app_id_matches_every_component_scope(prototype: SynthResult) -> None:
    deployment = one(prototype.resources, "kubernetes:apps/v1:Deployment")
    annotations = deployment["inputs"]["spec"]["template"]["metadata"]["annotations"]
    app_id = annotations["dapr.io/app-id"]
    assert app_id == prototype.config.app.name
    components = of_type(prototype.resources, "kubernetes:dapr.io/v1alpha1:Component")
    assert {c["inputs"]["metadata"]["name"] for c in components} == {
        "statestore",
        "pubsub",
        "secretstore",
        "sweep",
    }
    for component in components:
        assert component["inputs"]["scopes"] == [app_id]
        assert (
            component["inputs"]["metadata"]["namespace"]
            == deployment["inputs"]["metadata"]["namespace"]
        )
    resiliency = one(prototype.resources, "kubernetes:dapr.io/v1alpha1:Resiliency")
    assert resiliency["inputs"]["scopes"] == [app_id]
    config = one(prototype.resources, "kubernetes:dapr.io/v1alpha1:Configuration")
    assert annotations["dapr.io/config"] == config["inputs"]["metadata"]["name"]
    assert annotations["dapr.io/app-port"] == str(
        pod_spec(deployment)["containers"][0]["ports"][0]["containerPort"]
    )


def test_component_types_and_credentials_come_from_config_and_secrets(
    prototype: SynthResult,
) -> None:
    by_name = {
        c["inputs"]["metadata"]["name"]: c["inputs"]
        for c in of_type(prototype.resources, "kubernetes:dapr.io/v1alpha1:Component")
    }
    assert by_name["statestore"]["spec"]["type"] == "state.redis"
    assert by_name["pubsub"]["spec"]["type"] == "pubsub.redis"
    assert by_name["secretstore"]["spec"]["type"] == "secretstores.kubernetes"
    redis_secret = one(prototype.resources, "kubernetes:core/v1:Secret", "redis-secret")["inputs"]
    for name in ("statestore", "pubsub"):
        items = {m["name"]: m for m in by_name[name]["spec"]["metadata"]}
        assert items["redisHost"]["value"] == "redis.daca.svc.cluster.local:6379"
        ref = items["redisPassword"]["secretKeyRef"]
        assert ref["name"] == redis_secret["metadata"]["name"]
        assert ref["key"] in redis_secret["stringData"]
        assert "value" not in items["redisPassword"]
    state = {m["name"]: m for m in by_name["statestore"]["spec"]["metadata"]}
    assert state["actorStateStore"]["value"] == "true"  # the shipped stack runs Dapr Workflows


def test_no_plaintext_secret_in_any_input(stack_config: Callable[[dict[str, Any]], Path]) -> None:
    """A model key given as the CLI gives it (decrypted, flagged secret) never shows."""
    planted = "sk-PLANTED-0123456789abcdef"
    config, values, secrets = load_stack_config(stack_config({}))
    values["daca:modelApiKey"] = planted
    secrets = [*secrets, "daca:modelApiKey"]
    from infra.config import decode_pulumi_values, load_config

    config = load_config(decode_pulumi_values(values), frozenset({"modelApiKey"}))
    records, outputs = evaluate("prototype", values, secrets, config)
    text = json.dumps(records) + json.dumps(outputs)
    assert planted not in text
    assert "synth-" not in text, "the generated Redis password leaked"
    key_secret = one(records, "kubernetes:core/v1:Secret", "agent-model-key")["inputs"]
    assert key_secret["stringData"] == {"OPENAI_API_KEY": "[secret]"}
    env = {
        e["name"]: e
        for e in pod_spec(one(records, "kubernetes:apps/v1:Deployment"))["containers"][0]["env"]
    }
    assert env["DACA_MODEL_PROVIDER"]["value"] == "openai"
    assert "secretKeyRef" in env["OPENAI_API_KEY"]["valueFrom"]


def test_without_a_key_the_app_runs_the_offline_model(prototype: SynthResult) -> None:
    env = {
        e["name"]: e
        for e in pod_spec(one(prototype.resources, "kubernetes:apps/v1:Deployment"))["containers"][
            0
        ]["env"]
    }
    assert env["DACA_MODEL_PROVIDER"]["value"] == "offline"
    assert "OPENAI_API_KEY" not in env
    assert not [
        r
        for r in of_type(prototype.resources, "kubernetes:core/v1:Secret")
        if r["name"] == "agent-model-key"
    ]


def test_every_container_is_hardened_probed_and_bounded(prototype: SynthResult) -> None:
    workloads = of_type(prototype.resources, "kubernetes:apps/v1:Deployment") + of_type(
        prototype.resources, "kubernetes:apps/v1:StatefulSet"
    )
    assert len(workloads) == 2
    for workload in workloads:
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["serviceAccountName"] not in ("", "default")
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert container["readinessProbe"]
            assert container["livenessProbe"]
            assert container["resources"]["requests"]["cpu"]
            assert container["resources"]["limits"]["memory"]
            image = container["image"]
            assert not image.endswith(":latest")
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image


def test_app_image_is_the_built_image_by_digest(prototype: SynthResult) -> None:
    image = one(prototype.resources, "docker:index/image:Image")["inputs"]
    container = pod_spec(one(prototype.resources, "kubernetes:apps/v1:Deployment"))["containers"][0]
    repository = image["imageName"].rsplit(":", 1)[0]
    assert repository == "localhost:5017/daca-agent"
    assert container["image"].startswith(f"{repository}@sha256:")
    assert prototype.outputs["image"] == container["image"]


def test_the_image_follows_the_registry_container(prototype: SynthResult) -> None:
    """A recreated registry container (new id) is empty: the image push must depend on it."""
    image = one(prototype.resources, "docker:index/image:Image")
    registry = one(prototype.resources, "docker:index/container:Container")
    tag = image["inputs"]["imageName"].rsplit(":", 1)[1]
    # the mocks give a resource the id `<name>-id`
    fingerprint = hashlib.sha256(f"{registry['name']}-id".encode()).hexdigest()[:12]
    assert tag.endswith(f"-{fingerprint}")


def test_chart_version_is_the_configured_pin(prototype: SynthResult) -> None:
    release = one(prototype.resources, "kubernetes:helm.sh/v3:Release")["inputs"]
    assert release["version"] == prototype.config.dapr.version
    assert release["values"]["global"]["mtls"]["enabled"] is True


def test_service_and_url_follow_the_committed_kind_config(prototype: SynthResult) -> None:
    kind_file = read_kind_config(prototype.config.kind.config_file)
    service = one(prototype.resources, "kubernetes:core/v1:Service", "agent-service")["inputs"][
        "spec"
    ]
    assert service["type"] == "NodePort"
    assert service["ports"][0]["nodePort"] == kind_file.node_port
    assert prototype.outputs["appUrl"] == f"http://localhost:{kind_file.host_port}"
    assert prototype.outputs["kubeconfig"] == "[secret]"
    assert prototype.outputs["namespace"] == "daca"


def test_resources_hang_off_their_components(prototype: SynthResult) -> None:
    parents = {r["name"]: r["parent"] for r in prototype.resources}
    assert parents["agent-deployment"] == "agent"
    assert parents["redis-statefulset"] == "redis"
    assert parents["dapr-release"] == "dapr"
    assert parents["kind-cluster"] == "kind"
    assert parents["agent"] is None
    # our own components, and the provider-side ConfigGroup (expanded at deploy)
    components = {r["type"] for r in prototype.resources if not r["custom"]}
    assert {t for t in components if not t.startswith("daca:")} == {
        "kubernetes:yaml/v2:ConfigGroup"
    }


@pytest.mark.parametrize("stack", ["prototype", "oci", "planet"])
def test_every_cluster_object_goes_through_a_cluster_provider_of_the_stack(
    stack: str, tmp_path: Path
) -> None:
    """An object without its provider (or parent, which passes the provider on) would go
    to the default provider: whatever cluster the operator's kubeconfig points at."""
    result = synthesize(stack, out_dir=tmp_path)
    providers = {r["name"] for r in of_type(result.resources, "pulumi:providers:kubernetes")}
    objects = [r for r in result.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert objects
    assert [r["name"] for r in objects if r.get("provider") not in providers] == []
    assert [r["name"] for r in objects if r["parent"] is None] == []


def test_resources_json_is_what_a_policy_pack_reads(prototype: SynthResult) -> None:
    written = json.loads(prototype.resources_path.read_text())
    # the file holds every record, ordered by URN (registration order is not stable)
    registered = json.loads(json.dumps(prototype.resources))
    assert written == sorted(registered, key=lambda record: record["urn"])
    for record in written:
        assert set(record) >= {"type", "name", "parent", "inputs"}

    def no_whole_floats(value: Any) -> None:
        if isinstance(value, float):
            assert not value.is_integer(), value
        elif isinstance(value, dict):
            for v in value.values():
                no_whole_floats(v)
        elif isinstance(value, list):
            for v in value:
                no_whole_floats(v)

    no_whole_floats(written)
    container = pod_spec(one(written, "kubernetes:apps/v1:Deployment"))["containers"][0]
    assert "readinessProbe" in container
    assert "readiness_probe" not in container


def test_scaled_out_config_adds_hpa_and_pdb(
    stack_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    result = synthesize(
        "prototype", stack_config({"app.minReplicas": 2, "app.maxReplicas": 4}), tmp_path / "out"
    )
    hpa = one(result.resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")["inputs"][
        "spec"
    ]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)
    one(result.resources, "kubernetes:policy/v1:PodDisruptionBudget")
    assert any("horizontalpodautoscaler" in p.name for p in result.manifests_dir.iterdir())


def test_creation_order_is_what_a_real_cluster_needs(prototype: SynthResult) -> None:
    """Dapr's release and objects need its CRDs; the app pod needs the sidecar injector;
    the registry container needs kind's network; the image push needs the registry."""
    deps = {(r["type"], r["name"]): set(r["dependsOn"]) for r in prototype.resources}
    # the chart skips its CRDs (Helm never upgrades them): they are applied first
    (release,) = [r for r in prototype.resources if r["name"] == "dapr-release"]
    assert "dapr-crds" in deps[(release["type"], "dapr-release")]
    for component in of_type(prototype.resources, "kubernetes:dapr.io/v1alpha1:Component"):
        assert {"dapr-crds", "dapr-release"} <= deps[(component["type"], component["name"])]
    deployment = deps[("kubernetes:apps/v1:Deployment", "agent-deployment")]
    assert {"dapr-release", "dapr-components-statestore", "redis-statefulset"} <= deployment
    assert "kind-cluster" in deps[("docker:index/container:Container", "registry-container")]
    assert "registry-node-config" in deps[("docker:index/image:Image", "agent-image-image")]
    assert "kind-cluster" in deps[("pulumi:providers:kubernetes", "kind")]


def test_every_env_var_the_infra_sets_is_a_setting_the_app_reads(
    prototype: SynthResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract between the Deployment and app/config.py: no variable lost to a typo,
    and the app accepts every value the infra gives it."""
    from app.config import ENV_PREFIX, Settings, load_settings

    container = pod_spec(one(prototype.resources, "kubernetes:apps/v1:Deployment"))["containers"][0]
    plain = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    readable = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
    assert set(plain) <= readable, sorted(set(plain) - readable)
    for name, value in plain.items():
        monkeypatch.setenv(name, value)
    # as in the pod, where the injector gives the app its sidecar's ports
    monkeypatch.setenv("DAPR_GRPC_PORT", "50001")
    monkeypatch.setenv("DAPR_HTTP_PORT", "3500")
    settings = load_settings()
    assert settings.port == prototype.config.app.port
    assert settings.workflow_engine.value == "dapr"  # the shipped stack runs Dapr Workflows
    # auth on: the digests of the generated user and reviewer keys, metrics off the API port
    assert len(settings.api_keys) == 1
    assert len(settings.reviewer_keys) == 1
    assert settings.metrics_port == prototype.config.app.metrics_port != settings.port
    assert settings.pubsub_topic == prototype.config.app.pubsub_topic
    assert (settings.statestore, settings.pubsub, settings.secretstore) == (
        "statestore",
        "pubsub",
        "secretstore",
    )


def test_no_command_logs_a_secret_output(prototype: SynthResult) -> None:
    names = [c["name"] for c in secret_output_commands(prototype.resources)]
    assert names == ["kind-cluster"]


def test_shipped_stack_samples_no_traces(prototype: SynthResult) -> None:
    config = one(prototype.resources, "kubernetes:dapr.io/v1alpha1:Configuration")["inputs"]
    assert config["spec"]["tracing"] == {"samplingRate": "0"}


def test_an_otlp_exporter_reaches_the_dapr_configuration(
    stack_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    tracing = {"exporter": "otlp", "endpoint": "otel-collector.obs:4317", "secure": False}
    result = synthesize("prototype", stack_config({"dapr.tracing": tracing}), tmp_path / "o")
    config = one(result.resources, "kubernetes:dapr.io/v1alpha1:Configuration")["inputs"]
    otel = {"endpointAddress": "otel-collector.obs:4317", "isSecure": False, "protocol": "grpc"}
    assert config["spec"]["tracing"] == {"samplingRate": "1", "otel": otel}
    version = result.config.kubernetes_version  # type: ignore[attr-defined]
    assert validate_manifests(result.manifests_dir, version) == []


def test_a_non_default_app_port_reaches_every_object_and_the_apps_settings(
    stack_config: Callable[[dict[str, Any]], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stack config → rendered objects → the app's Settings, at a value no default hides.
    (One program evaluation, a few seconds: the only way to see the whole chain.)"""
    from app.config import load_settings

    config, values, secrets = load_stack_config(stack_config({"app.port": 9090}))
    resources, _ = evaluate("prototype", values, secrets, config)
    deployment = one(resources, "kubernetes:apps/v1:Deployment")
    pod = pod_spec(deployment)
    container = pod["containers"][0]
    assert [p["containerPort"] for p in container["ports"] if p["name"] == "http"] == [9090]
    assert container["readinessProbe"]["httpGet"]["port"] in (9090, "http")
    annotations = deployment["inputs"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dapr.io/app-port"] == "9090"
    service = one(resources, "kubernetes:core/v1:Service", "agent-service")
    assert {p["targetPort"] for p in service["inputs"]["spec"]["ports"]} <= {9090, "http"}
    for env in container["env"]:
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    monkeypatch.setenv("DAPR_GRPC_PORT", "50001")
    monkeypatch.setenv("DAPR_HTTP_PORT", "3500")
    assert load_settings().port == 9090
