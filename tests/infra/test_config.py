"""Bad stack config stops before any resource, with one line naming key, value and rule."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_config, parse_image, read_kind_config
from infra.synth import load_stack_config

BAD_CONFIGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("unknown stage", {"stage": "protoype"}, ["daca:stage", "'protoype'", "prototype"]),
    ("wrong type", {"app.port": "http"}, ["daca:app.port", "'http'", "integer"]),
    ("bool for int", {"app.minReplicas": True}, ["daca:app.minReplicas", "true", "integer"]),
    (
        "zero replicas",
        {"app.minReplicas": 0},
        ["daca:app.minReplicas", "0", "greater than or equal to 1"],
    ),
    ("negative replicas", {"app.maxReplicas": -2}, ["daca:app.maxReplicas", "-2"]),
    (
        "min above max",
        {"app.minReplicas": 3, "app.maxReplicas": 2},
        ["minReplicas (3)", "maxReplicas (2)"],
    ),
    ("port too high", {"app.port": 70000}, ["daca:app.port", "70000", "65535"]),
    (
        "metrics on the app port",
        {"app.port": 9000, "app.metricsPort": 9000},
        ["daca:app", "metricsPort (9000)", "a port of its own"],
    ),
    (
        "registry port privileged",
        {"registry.hostPort": 80},
        ["daca:registry.hostPort", "80", "1024"],
    ),
    (
        "malformed image",
        {"app.image": "Not An Image"},
        ["daca:app.image", "'Not An Image'", "image reference"],
    ),
    (
        "unpinned image",
        {"app.image": "ghcr.io/x/agent:latest"},
        ["daca:app.image", "latest", "pinned"],
    ),
    ("untagged image", {"redis.image": "redis"}, ["daca:redis.image", "'redis'", "pinned"]),
    (
        "unknown dapr type",
        {"dapr.stateStore": "state.redsi"},
        ["daca:dapr.stateStore", "'state.redsi'", "state.redis"],
    ),
    (
        "type stage cannot back",
        {"dapr.pubsub": "pubsub.rabbitmq"},
        ["daca:dapr.pubsub", "'pubsub.rabbitmq'", "cannot back"],
    ),
    ("missing required key", {"dapr.version": None}, ["missing required key daca:dapr.version"]),
    ("missing stage", {"stage": None}, ["missing required key daca:stage"]),
    ("unknown nested key", {"app.replcias": 2}, ["unknown key daca:app.replcias", "maxReplicas"]),
    ("unknown top-level key", {"redsi": {"image": "redis:7"}}, ["unknown key daca:redsi", "redis"]),
    (
        "bad dapr version",
        {"dapr.version": "1.16"},
        ["daca:dapr.version", "'1.16'", "MAJOR.MINOR.PATCH"],
    ),
    (
        "bad quantity",
        {"app.resources.memoryLimit": "lots"},
        ["daca:app.resources.memoryLimit", "'lots'"],
    ),
    (
        "bad namespace",
        {"app.namespace": "Daca_NS"},
        ["daca:app.namespace", "'Daca_NS'", "DNS-1123"],
    ),
    ("section not a mapping", {"app": "daca-agent"}, ["daca:app", "object"]),
    ("plaintext model key", {"modelApiKey": "sk-plain"}, ["daca:modelApiKey", "--secret"]),
    ("compatible model without URL", {"app.model.provider": "openai-compatible"}, ["baseUrl"]),
    ("kind config without mapping", {"kind.configFile": "Pulumi.yaml"}, ["daca:kind.configFile"]),
    (
        "kind node image without digest",
        {"kind.nodeImage": "kindest/node:v1.34.0"},
        ["daca:kind.nodeImage", "'kindest/node:v1.34.0'", "@sha256:"],
    ),
    ("key without namespace", {"@app": {"port": 8000}}, ["daca-ascent:app", "daca:app"]),
    (
        "unknown tracing exporter",
        {"dapr.tracing": {"exporter": "jaeger"}},
        ["daca:dapr.tracing.exporter", "'jaeger'", "'none'", "'otlp'", "'zipkin'"],
    ),
    (
        "sampling without an exporter",
        {"dapr.tracing": {"samplingRate": 0.5}},
        ["daca:dapr.tracing.samplingRate", "0.5", "exporter"],
    ),
    (
        "sampling rate above 1",
        {"dapr.tracing": {"exporter": "zipkin", "endpoint": "http://z:9411", "samplingRate": 2}},
        ["daca:dapr.tracing.samplingRate", "2", "1"],
    ),
    (
        "exporter without endpoint",
        {"dapr.tracing": {"exporter": "otlp"}},
        ["daca:dapr.tracing", "endpoint", "otlp"],
    ),
    (
        "otlp endpoint with a scheme",
        {"dapr.tracing": {"exporter": "otlp", "endpoint": "http://otel:4317"}},
        ["daca:dapr.tracing.endpoint", "'http://otel:4317'", "host:port"],
    ),
    (
        "zipkin endpoint not a URL",
        {"dapr.tracing": {"exporter": "zipkin", "endpoint": "zipkin:9411"}},
        ["daca:dapr.tracing.endpoint", "'zipkin:9411'", "URL"],
    ),
    (
        "endpoint without an exporter",
        {"dapr.tracing": {"endpoint": "otel:4317"}},
        ["daca:dapr.tracing.endpoint", "'otel:4317'", "exporter"],
    ),
    (
        "otlp settings on zipkin",
        {"dapr.tracing": {"exporter": "zipkin", "endpoint": "http://z:9411", "protocol": "http"}},
        ["daca:dapr.tracing.protocol", "'http'", "otlp"],
    ),
    (
        "dapr workflows on a dapr too old for them",
        {"dapr.version": "1.16.9"},
        ["daca:app.workflowEngine", "'dapr'", "daca:dapr.version 1.18.0", "1.16.9"],
    ),
    (
        "dapr workflows without an actor state store",
        {"dapr.actorStateStore": False},
        ["daca:app.workflowEngine", "daca:dapr.actorStateStore: true"],
    ),
    (
        "unknown workflow engine",
        {"app.workflowEngine": "temporal"},
        ["daca:app.workflowEngine", "'temporal'", "state-machine"],
    ),
    (
        "old tracingSamplingRate key",
        {"dapr.tracingSamplingRate": 1},
        ["daca:dapr", "tracingSamplingRate", "1", "daca:dapr.tracing", "exporter"],
    ),
]


@pytest.mark.parametrize(
    ("case", "changes", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_is_one_line_naming_the_key(
    case: str,
    changes: dict[str, Any],
    expected: list[str],
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    file = stack_config(changes)

    def load() -> None:
        config, _, _ = load_stack_config(file)
        read_kind_config(config.kind.config_file)  # type: ignore[attr-defined]

    with pytest.raises(ConfigError) as caught:
        load()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_shipped_prototype_config_is_valid() -> None:
    config, _, _ = load_stack_config(Path(__file__).parents[2] / "Pulumi.prototype.yaml")
    assert config.stage == "prototype"
    assert config.dapr.version.count(".") == 2


def test_kind_node_image_is_pinned_by_digest_by_default_and_as_shipped() -> None:
    """kind publishes node images per kind release, and the same tag is pushed again
    for later releases: only the digest names the image a kind version was tested with."""
    from infra.config.prototype import KindConfig

    shipped, _, _ = load_stack_config(Path(__file__).parents[2] / "Pulumi.prototype.yaml")
    for image in (KindConfig().node_image, shipped.kind.node_image):  # type: ignore[attr-defined]
        repository, tag, digest = parse_image(image)
        assert (repository, tag) == ("kindest/node", "v1.34.0")
        assert digest is not None
    assert shipped.kubernetes_version == "1.34.0"


def test_redis_image_is_pinned_by_digest_by_default_and_as_shipped() -> None:
    from infra.config import RedisConfig

    shipped, _, _ = load_stack_config(Path(__file__).parents[2] / "Pulumi.prototype.yaml")
    for image in (RedisConfig().image, shipped.redis.image):  # type: ignore[attr-defined]
        repository, tag, digest = parse_image(image)
        assert repository == "redis"
        assert tag is not None
        assert tag.endswith("-alpine")
        assert digest is not None


def test_registry_defaults_do_not_collide_with_kinds_own_registry_script() -> None:
    """kind's local-registry script (site/static/examples/kind-with-registry.sh) runs
    `kind-registry` on 127.0.0.1:5001: most kind users already have that container."""
    from infra.config.prototype import RegistryConfig

    defaults = RegistryConfig()
    assert defaults.name != "kind-registry"
    assert defaults.host_port != 5001
    shipped, _, _ = load_stack_config(Path(__file__).parents[2] / "Pulumi.prototype.yaml")
    registry = shipped.registry  # type: ignore[attr-defined]
    assert (registry.name, registry.host_port) == (defaults.name, defaults.host_port)


def test_tracing_samples_nothing_without_an_exporter() -> None:
    """Sampling with no exporter costs CPU and memory in every sidecar for traces nobody
    receives: the default samples nothing."""
    from infra.config.base import TracingConfig

    shipped, _, _ = load_stack_config(Path(__file__).parents[2] / "Pulumi.prototype.yaml")
    for tracing in (TracingConfig(), shipped.dapr.tracing):
        assert tracing.exporter == "none"
        assert tracing.effective_sampling_rate == 0
    otlp = TracingConfig.model_validate({"exporter": "otlp", "endpoint": "otel.obs:4317"})
    assert otlp.effective_sampling_rate == 1
    assert (otlp.otlp_protocol, otlp.otlp_secure) == ("grpc", True)


def test_model_key_given_as_secret_is_accepted() -> None:
    base = {
        "stage": "prototype",
        "dapr": {
            "version": "1.16.9",
            "stateStore": "state.redis",
            "pubsub": "pubsub.redis",
            "secretStore": "secretstores.kubernetes",
        },
        "modelApiKey": "sk-secret",
    }
    assert load_config(base, frozenset({"modelApiKey"})).model_api_key == "sk-secret"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [({"app.minReplicas": 0}, "daca:app.minReplicas"), ({"stage": "gke"}, "daca:stage")],
)
def test_cli_exits_2_with_one_line_and_writes_nothing(
    changes: dict[str, Any],
    fragment: str,
    stack_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "synth",
            "prototype",
            "--config",
            str(stack_config(changes)),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists(), "nothing may be written for a bad config"


@pytest.mark.parametrize("changes", [{"app.port": 0}, {"@app": {"port": 8000}}])
def test_pulumi_program_stops_before_registering_anything(
    changes: dict[str, Any],
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    """Under `pulumi up`, infra/__main__ exits 2 with an error log and registers nothing."""
    from pulumi.runtime.config import set_all_config

    from infra import program
    from infra.synth import read_stack_file
    from tests.infra.conftest import run_under_mocks

    values, secrets = read_stack_file(stack_config(changes))

    def build() -> None:
        set_all_config(values, secrets)
        with pytest.raises(SystemExit) as exited:
            program.main()
        assert exited.value.code == 2

    assert run_under_mocks(build) == []
