"""Who may call the app, on every stage (issue 9, infra half), as `daca synth` records it.

The expected keys are rebuilt from what the mocks answer for a RandomPassword
("synth-" + sha256(its name)[:24], infra/synth.py), not from the program's own helpers,
so a wrong digest or a wrong key in the program cannot hide behind the same mistake here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from infra.synth import SynthResult, synthesize

from .conftest import of_type, one, pod_spec

STAGES = ("prototype", "oci", "aca")
K8S_STAGES = ("prototype", "oci")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
CONTAINER_APP = "azure-native:app:ContainerApp"
VAULT_SECRET = "azure-native:keyvault:Secret"
METRICS_PORT = 9464  # the default of daca:app.metricsPort


def mock_password(name: str) -> str:
    """What the synth mocks return as a RandomPassword's result."""
    return "synth-" + hashlib.sha256(name.encode()).hexdigest()[:24]


USER_KEY = "daca_u_" + mock_password("api-keys-user")
REVIEWER_KEY = "daca_r_" + mock_password("api-keys-reviewer")
APP_TOKEN = mock_password("agent-app-token")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module", params=STAGES)
def stage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    name: str = request.param
    return synthesize(name, out_dir=tmp_path_factory.mktemp(f"synth-{name}"))


@pytest.fixture(scope="module", params=K8S_STAGES)
def k8s_stage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SynthResult:
    name: str = request.param
    return synthesize(name, out_dir=tmp_path_factory.mktemp(f"synth-{name}-k8s"))


def app_env(result: SynthResult) -> dict[str, dict[str, Any]]:
    """The app container's env entries by name, on either platform."""
    if result.stack == "aca":
        container = one(result.resources, CONTAINER_APP)["inputs"]["template"]["containers"][0]
    else:
        container = pod_spec(one(result.resources, DEPLOYMENT, "agent-deployment"))["containers"][0]
    return {e["name"]: e for e in container["env"]}


def everything_written(result: SynthResult) -> str:
    """resources.json, outputs.json and every manifest, as written."""
    texts = [result.resources_path.read_text(), (result.out_dir / "outputs.json").read_text()]
    texts += [path.read_text() for path in sorted(result.manifests_dir.glob("*.yaml"))]
    return "\n".join(texts)


def test_generated_keys_are_never_written_in_plaintext(stage: SynthResult) -> None:
    """Secret inputs are written as "[secret]"; a key passed on unsecreted would show here
    (the digest test below proves these are the values the program generated)."""
    written = everything_written(stage)
    for value in (USER_KEY, REVIEWER_KEY, APP_TOKEN):
        # the random part alone would be as bad as the whole key
        assert value.removeprefix("daca_u_").removeprefix("daca_r_") not in written


def test_the_app_gets_the_digests_of_the_generated_keys(stage: SynthResult) -> None:
    env = app_env(stage)
    assert env["DACA_API_KEYS"] == {"name": "DACA_API_KEYS", "value": sha256_hex(USER_KEY)}
    assert env["DACA_REVIEWER_KEYS"] == {
        "name": "DACA_REVIEWER_KEYS",
        "value": sha256_hex(REVIEWER_KEY),
    }
    # digests only: nothing else in the app's env derives from the keys
    assert not {name for name in env if "KEY" in name} - {
        "DACA_API_KEYS",
        "DACA_REVIEWER_KEYS",
        "OPENAI_API_KEY",
    }


def test_keys_are_secret_stack_outputs(stage: SynthResult) -> None:
    outputs = json.loads((stage.out_dir / "outputs.json").read_text())
    assert outputs["apiKey"] == "[secret]"
    assert outputs["reviewerKey"] == "[secret]"


def test_kubernetes_keeps_the_keys_in_a_secret_the_app_cannot_read(k8s_stage: SynthResult) -> None:
    deployment = one(k8s_stage.resources, DEPLOYMENT, "agent-deployment")["inputs"]
    namespace = deployment["metadata"]["namespace"]
    secret = one(k8s_stage.resources, SECRET, "agent-api-keys")["inputs"]
    assert secret["metadata"]["name"] == "daca-agent-api-keys"
    assert secret["metadata"]["namespace"] == namespace
    assert secret["stringData"] == {"api-key": "[secret]", "reviewer-key": "[secret]"}
    # no env entry, volume or Role points the pod at it, and Dapr's secret store denies it
    pod = json.dumps(deployment["spec"]["template"])
    assert "daca-agent-api-keys" not in pod
    for role in of_type(k8s_stage.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role"):
        for rule in role["inputs"]["rules"]:
            assert "daca-agent-api-keys" not in rule.get("resourceNames", [])
    config = one(k8s_stage.resources, "kubernetes:dapr.io/v1alpha1:Configuration")["inputs"]
    (scope,) = config["spec"]["secrets"]["scopes"]
    assert scope["defaultAccess"] == "deny"
    assert "daca-agent-api-keys" not in scope["allowedSecrets"]


def test_dapr_app_token_comes_from_the_secret_the_annotation_names(
    k8s_stage: SynthResult,
) -> None:
    deployment = one(k8s_stage.resources, DEPLOYMENT, "agent-deployment")["inputs"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    secret_name = annotations["dapr.io/app-token-secret"]
    (secret,) = [
        s["inputs"]
        for s in of_type(k8s_stage.resources, SECRET)
        if s["inputs"]["metadata"]["name"] == secret_name
        and s["inputs"]["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    ]
    # daprd reads the key `token` (Dapr's convention); the value is generated and secret
    assert secret["stringData"] == {"token": "[secret]"}
    one(k8s_stage.resources, "random:index/randomPassword:RandomPassword", "agent-app-token")
    assert app_env(k8s_stage)["APP_API_TOKEN"] == {
        "name": "APP_API_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": secret_name, "key": "token"}},
    }


def test_metrics_port_is_served_but_neither_published_nor_open(k8s_stage: SynthResult) -> None:
    container = pod_spec(one(k8s_stage.resources, DEPLOYMENT, "agent-deployment"))["containers"][0]
    assert {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"} in container[
        "ports"
    ]
    assert app_env(k8s_stage)["DACA_METRICS_PORT"]["value"] == str(METRICS_PORT)
    for service in of_type(k8s_stage.resources, "kubernetes:core/v1:Service"):
        for port in service["inputs"]["spec"]["ports"]:
            assert METRICS_PORT not in (port.get("port"), port.get("targetPort"))
            assert port.get("targetPort") != "metrics"
    policy = one(
        k8s_stage.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "agent-ingress"
    )["inputs"]["spec"]
    rules = [
        rule
        for rule in policy["ingress"]
        if {"protocol": "TCP", "port": METRICS_PORT} in rule["ports"]
        or {"protocol": "TCP", "port": 9090} in rule["ports"]
    ]
    # nobody scrapes without daca:observability (tests/infra/test_observability.py: with
    # it, Prometheus in `monitoring` and nothing else)
    assert rules == []


def test_aca_keeps_the_keys_in_key_vault_and_metrics_off_the_ingress(tmp_path: Path) -> None:
    result = synthesize("aca", out_dir=tmp_path)
    vault = one(result.resources, "azure-native:keyvault:Vault")["inputs"]["vaultName"]
    stored = {
        s["inputs"]["secretName"]: s["inputs"]
        for s in of_type(result.resources, VAULT_SECRET)
        if s["inputs"]["vaultName"] == vault
    }
    assert stored["api-key"]["properties"] == {"value": "[secret]"}
    assert stored["reviewer-key"]["properties"] == {"value": "[secret]"}
    app = one(result.resources, CONTAINER_APP)["inputs"]
    # the app never references them: no Container App secret points at the keys
    assert not [
        s
        for s in app["configuration"]["secrets"]
        if s["keyVaultUrl"].endswith(("/secrets/api-key", "/secrets/reviewer-key"))
    ]
    assert app_env(result)["DACA_METRICS_PORT"]["value"] == str(METRICS_PORT)
    ingress = app["configuration"]["ingress"]
    assert ingress["targetPort"] == result.config.app.port != METRICS_PORT
    assert "additionalPortMappings" not in ingress
