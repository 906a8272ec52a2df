"""The whole aca stack, as `daca synth aca` (update-mode mocks) records it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import check
from infra.components.azure.identity import (
    ACR_PULL,
    COSMOS_DATA_CONTRIBUTOR,
    KEY_VAULT_SECRETS_USER,
    SERVICE_BUS_DATA_OWNER,
    SERVICE_BUS_DATA_RECEIVER,
    SERVICE_BUS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
)
from infra.config import ConfigError
from infra.synth import (
    SynthResult,
    _fake_guid,
    evaluate,
    load_stack_config,
    read_stack_file,
    synthesize,
)

from .conftest import edited_stack_file, of_type, one, secret_output_commands

ROOT = Path(__file__).parents[2]
APP = "azure-native:app:ContainerApp"
COMPONENT = "azure-native:app:DaprComponent"
ROLE = "azure-native:authorization:RoleAssignment"
PLANTED = "sk-planted-0123456789abcdef"


def _aca_file(tmp_path: Path, changes: dict[str, Any]) -> Path:
    """The shipped Pulumi.aca.yaml with `section.key` changes (None removes)."""
    return edited_stack_file("aca", tmp_path, changes)


@pytest.fixture(scope="module")
def aca(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("aca", out_dir=tmp_path_factory.mktemp("synth-aca"))


def _principal(identity_label: str) -> str:
    # the mocks derive an identity's principalId from its resource name
    return _fake_guid("principal", f"{identity_label}-identity-identity")


def _client(identity_label: str) -> str:
    return _fake_guid("client", f"{identity_label}-identity-identity")


def test_same_component_names_and_app_id_as_prototype(aca: SynthResult) -> None:
    prototype = yaml.safe_load((ROOT / "Pulumi.prototype.yaml").read_text())["config"]
    app_id = prototype["daca:app"]["name"]
    container_app = one(aca.resources, APP)
    assert container_app["inputs"]["configuration"]["dapr"]["appId"] == app_id
    assert container_app["inputs"]["configuration"]["dapr"]["appPort"] == 8000
    names = {r["inputs"]["componentName"] for r in of_type(aca.resources, COMPONENT)}
    assert names == {"statestore", "pubsub", "secretstore", "sweep"}
    env = {
        e["name"]: e.get("value")
        for e in container_app["inputs"]["template"]["containers"][0]["env"]
    }
    assert env["DACA_STATESTORE"] == "statestore"
    assert env["DACA_PUBSUB"] == "pubsub"
    assert env["DACA_SECRETSTORE"] == "secretstore"
    assert env["DACA_PUBSUB_TOPIC"] == "agent-events"


def test_every_component_scoped_and_identity_authenticated(aca: SynthResult) -> None:
    app_id = one(aca.resources, APP)["inputs"]["configuration"]["dapr"]["appId"]
    for record in of_type(aca.resources, COMPONENT):
        inputs = record["inputs"]
        assert inputs["scopes"] == [app_id], record["name"]
        metadata = {m["name"]: m for m in inputs["metadata"]}
        if inputs["componentType"] != "bindings.cron":  # the only one reaching no Azure service
            assert metadata["azureClientId"]["value"] == _client("dapr"), record["name"]
        assert "secrets" not in inputs or not inputs["secrets"]
        for name in metadata:
            assert not any(w in name.lower() for w in ("key", "connectionstring", "password"))
    types = {
        r["inputs"]["componentName"]: r["inputs"]["componentType"]
        for r in of_type(aca.resources, COMPONENT)
    }
    assert types == {
        "statestore": "state.azure.cosmosdb",
        "pubsub": "pubsub.azure.servicebus.topics",
        "secretstore": "secretstores.azure.keyvault",
        "sweep": "bindings.cron",
    }


def test_pubsub_uses_precreated_entities(aca: SynthResult) -> None:
    pubsub = next(
        r for r in of_type(aca.resources, COMPONENT) if r["inputs"]["componentName"] == "pubsub"
    )
    metadata = {m["name"]: m["value"] for m in pubsub["inputs"]["metadata"]}
    assert metadata["disableEntityManagement"] == "true"
    assert metadata["namespaceName"].endswith(".servicebus.windows.net")
    topics = {
        r["inputs"]["topicName"] for r in of_type(aca.resources, "azure-native:servicebus:Topic")
    }
    assert topics == {"agent-events", "agent-reviews"}
    sub = one(aca.resources, "azure-native:servicebus:Subscription")["inputs"]
    assert (sub["topicName"], sub["subscriptionName"]) == ("agent-reviews", metadata["consumerID"])


def _grants(resources: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    out = set()
    for record in of_type(resources, ROLE):
        inputs = record["inputs"]
        assert inputs["principalType"] == "ServicePrincipal"
        role = inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        out.add((inputs["principalId"], role, inputs["scope"].rsplit("/", 1)[-1]))
    return out


def test_role_assignment_for_every_identity_edge(aca: SynthResult) -> None:
    grants = _grants(aca.resources)
    registry = one(aca.resources, "azure-native:containerregistry:Registry")["inputs"]
    vault = one(aca.resources, "azure-native:keyvault:Vault")["inputs"]["vaultName"]
    namespace = one(aca.resources, "azure-native:servicebus:Namespace")["inputs"]["namespaceName"]
    expected = {
        (_principal("app"), ACR_PULL, registry["registryName"]),
        (_principal("dapr"), SERVICE_BUS_DATA_SENDER, namespace),
        (_principal("dapr"), SERVICE_BUS_DATA_RECEIVER, namespace),
        (_principal("scaler"), SERVICE_BUS_DATA_OWNER, "agent-reviews"),
    }
    # no model key: nobody reads the vault, which holds only the API keys (the app gets
    # their digests); operators read those from the stack's secret outputs
    assert grants == expected  # and nothing broader
    assert vault
    cosmos = one(aca.resources, "azure-native:cosmosdb:SqlResourceSqlRoleAssignment")["inputs"]
    assert cosmos["principalId"] == _principal("dapr")
    assert cosmos["roleDefinitionId"].endswith(f"/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}")
    assert registry["adminUserEnabled"] is False


def test_container_app_https_identity_probes_and_scale(aca: SynthResult) -> None:
    inputs = one(aca.resources, APP)["inputs"]
    ingress = inputs["configuration"]["ingress"]
    assert ingress["external"] is True
    assert ingress["allowInsecure"] is False
    assert ingress["targetPort"] == 8000
    identities = inputs["identity"]["userAssignedIdentities"]
    assert inputs["identity"]["type"] == "UserAssigned"
    assert len(identities) == 3
    (registry,) = inputs["configuration"]["registries"]
    assert registry["identity"] == identities[0]
    assert "passwordSecretRef" not in registry
    container = inputs["template"]["containers"][0]
    assert container["resources"] == {"cpu": 0.25, "memory": "0.5Gi"}
    probes = {p["type"]: p["httpGet"]["path"] for p in container["probes"]}
    assert probes == {"Liveness": "/healthz", "Readiness": "/readyz"}
    scale = inputs["template"]["scale"]
    assert (scale["minReplicas"], scale["maxReplicas"]) == (0, 3)
    rules = {r["name"]: r for r in scale["rules"]}
    assert rules["http-concurrency"]["http"]["metadata"] == {"concurrentRequests": "10"}
    keda = rules["review-backlog"]["custom"]
    assert keda["type"] == "azure-servicebus"
    assert keda["identity"] == identities[2]
    assert keda["metadata"]["topicName"] == "agent-reviews"
    assert keda["metadata"]["subscriptionName"] == "daca-agent"
    assert "connectionFromEnv" not in keda["metadata"]
    assert "auth" not in keda
    assert aca.outputs["appUrl"].startswith("https://")
    assert aca.outputs["registryLoginServer"].endswith(".azurecr.io")
    assert aca.outputs["resourceGroup"] == "daca-aca-rg"


def test_no_plaintext_secret_anywhere(tmp_path: Path) -> None:
    config, values, secrets = load_stack_config(ROOT / "Pulumi.aca.yaml")
    config = config.model_copy(update={"model_api_key": PLANTED})
    values = {**values, "daca:modelApiKey": PLANTED}
    records, outputs = evaluate("aca", values, [*secrets, "daca:modelApiKey"], config)
    dumped = json.dumps(records) + json.dumps(outputs)
    assert PLANTED not in dumped
    secret = one(records, "azure-native:keyvault:Secret", "vault-model-api-key")["inputs"]
    assert secret["properties"] == {"value": "[secret]"}
    app = one(records, APP)["inputs"]
    (app_secret,) = app["configuration"]["secrets"]
    assert app_secret["keyVaultUrl"].endswith("/secrets/model-api-key")
    assert app_secret["identity"] == app["identity"]["userAssignedIdentities"][0]
    assert "value" not in app_secret
    env = {e["name"]: e for e in app["template"]["containers"][0]["env"]}
    assert env["OPENAI_API_KEY"] == {"name": "OPENAI_API_KEY", "secretRef": app_secret["name"]}
    assert env["DACA_MODEL_PROVIDER"]["value"] == "openai"
    # the app's identity reads the model key, that one secret only (not the API keys)
    vault_grants = {g for g in _grants(records) if g[1] == KEY_VAULT_SECRETS_USER}
    assert vault_grants == {(_principal("app"), KEY_VAULT_SECRETS_USER, "model-api-key")}
    role = next(
        r for r in of_type(records, ROLE) if r["inputs"]["scope"].endswith("/model-api-key")
    )
    assert role["name"] in one(records, APP)["dependsOn"]  # before the first revision


def test_blob_state_existing_group_and_image(tmp_path: Path) -> None:
    file = _aca_file(
        tmp_path,
        {
            "dapr.stateStore": "state.azure.blobstorage",
            "azure.resourceGroup": "my-existing-rg",
            "app.image": "ghcr.io/example/daca-agent:1.2.3",
            "containerApp.appInsights": True,
        },
    )
    result = synthesize("aca", config_file=file, out_dir=tmp_path / "out")
    types = {r["type"] for r in result.resources}
    assert "azure-native:resources:ResourceGroup" not in types
    assert "azure-native:containerregistry:Registry" not in types
    assert "azure-native:cosmosdb:DatabaseAccount" not in types
    account = one(result.resources, "azure-native:storage:StorageAccount")["inputs"]
    assert account["allowSharedKeyAccess"] is False
    assert account["resourceGroupName"] == "my-existing-rg"
    assert (_principal("dapr"), STORAGE_BLOB_DATA_CONTRIBUTOR, account["accountName"]) in _grants(
        result.resources
    )
    store = next(
        r
        for r in of_type(result.resources, COMPONENT)
        if r["inputs"]["componentName"] == "statestore"
    )
    assert {m["name"] for m in store["inputs"]["metadata"]} >= {
        "accountName",
        "containerName",
        "azureClientId",
    }
    app = one(result.resources, APP)["inputs"]
    assert app["template"]["containers"][0]["image"] == "ghcr.io/example/daca-agent:1.2.3"
    assert app["configuration"]["registries"] == []
    environment = one(result.resources, "azure-native:app:ManagedEnvironment")["inputs"]
    assert environment["daprAIConnectionString"] == "[secret]"
    assert result.outputs["registryLoginServer"] == ""


def test_daca_synth_aca_writes_resources(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "synth", "aca", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp_path / "resources.json").read_text())
    types = {r["type"] for r in records}
    assert {APP, COMPONENT, "azure-native:app:ManagedEnvironment"} <= types
    assert not list((tmp_path / "manifests").glob("*.yaml"))


def test_daca_check_aca_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert check.run_check("aca", None, None, None, out_dir=tmp_path) == 0
    out = capsys.readouterr().out
    assert "0 mandatory" in out
    assert "0 invalid manifest" in out


BAD = [
    ({"azure.location": "East US"}, "daca:azure.location"),
    ({"azure.location": None}, "daca:azure.location"),
    ({"azure.subscriptionId": "<your-subscription-id>"}, "daca:azure.subscriptionId"),
    ({"azure.resourceGroup": "bad/name"}, "daca:azure.resourceGroup"),
    ({"azure.namePrefix": "Daca-"}, "daca:azure.namePrefix"),
    ({"azure.nameSuffix": "x"}, "daca:azure.nameSuffix"),
    ({"azure.region": "eastus"}, "daca:azure.region"),
    ({"cosmos.capacity": "provisioned"}, "daca:cosmos.capacity"),
    ({"serviceBus.sku": "Basic"}, "daca:serviceBus.sku"),
    ({"containerApp.memory": "1Gi"}, "daca:containerApp"),
    ({"containerApp.minReplicas": 4}, "daca:containerApp"),
    ({"containerApp.maxReplicas": 0}, "daca:containerApp.maxReplicas"),
    ({"containerApp.concurrentRequests": "ten"}, "daca:containerApp.concurrentRequests"),
    ({"dapr.stateStore": "state.redis"}, "daca:dapr.stateStore"),
    ({"dapr.pubsub": "pubsub.azure.servicebus.queues"}, "daca:dapr.pubsub"),
    # the app-id is the Container App's name: 2-32 characters on ACA
    ({"app.name": "a-very-long-agent-name-beyond-32-chars"}, "daca:app.name"),
    ({"app.name": "agent--x"}, "daca:app.name"),
    (
        {"dapr.stateStore": "state.azure.blobstorage", "dapr.actorStateStore": True},
        "daca:dapr.actorStateStore",
    ),
    # ACA runs Dapr's tracing itself: Application Insights through the environment
    (
        {"dapr.tracing": {"exporter": "otlp", "endpoint": "otel:4317"}},
        "daca:dapr.tracing.exporter",
    ),
]


@pytest.mark.parametrize(("changes", "key"), BAD, ids=[k for _, k in BAD])
def test_bad_config_names_the_key(tmp_path: Path, changes: dict[str, Any], key: str) -> None:
    file = _aca_file(tmp_path, changes)
    with pytest.raises(ConfigError) as info:
        load_stack_config(file)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(key) or f" {key}" in message, message


def test_bad_config_exits_2_through_the_cli(tmp_path: Path) -> None:
    file = _aca_file(tmp_path, {"containerApp.cpu": 3})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "synth",
            "aca",
            "--config",
            str(file),
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "daca:containerApp" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o" / "resources.json").exists()


def test_shipped_file_reads_with_placeholders() -> None:
    values, secrets = read_stack_file(ROOT / "Pulumi.aca.yaml")
    assert values["daca:stage"] == "aca"
    assert not secrets


def test_container_app_waits_for_every_role_and_component(aca: SynthResult) -> None:
    """The first revision pulls, reads secrets and connects at once: every grant and
    every Dapr component must exist before the Container App is created."""
    app = one(aca.resources, "azure-native:app:ContainerApp")
    waits_for = set(app["dependsOn"])
    roles = {r["name"] for r in of_type(aca.resources, "azure-native:authorization:RoleAssignment")}
    roles |= {
        r["name"]
        for r in of_type(aca.resources, "azure-native:cosmosdb:SqlResourceSqlRoleAssignment")
    }
    components = {r["name"] for r in of_type(aca.resources, "azure-native:app:DaprComponent")}
    assert len(roles) >= 5
    assert roles <= waits_for, sorted(roles - waits_for)
    assert components <= waits_for


def _inputs(result: SynthResult, type_: str, name: str) -> dict[str, Any]:
    return one(result.resources, type_, name)["inputs"]


def test_global_names_take_a_per_stack_random_suffix(aca: SynthResult) -> None:
    """Names derived from config alone would be the same for every user of the defaults."""
    suffix = _inputs(aca, "random:index/randomString:RandomString", "name-suffix")
    assert suffix["length"] >= 6
    assert suffix["upper"] is False
    assert suffix["special"] is False
    registry = one(aca.resources, "azure-native:containerregistry:Registry")
    assert "name-suffix" in registry["dependsOn"]
    vault = one(aca.resources, "azure-native:keyvault:Vault")
    assert "name-suffix" in vault["dependsOn"]


def test_pinned_suffix_needs_no_random(tmp_path: Path) -> None:
    result = synthesize("aca", _aca_file(tmp_path, {"azure.nameSuffix": "ab12cd"}), tmp_path / "o")
    assert not of_type(result.resources, "random:index/randomString:RandomString")
    registry = one(result.resources, "azure-native:containerregistry:Registry")
    assert registry["inputs"]["registryName"] == "dacaab12cdacr"


def test_image_is_amd64_and_a_new_image_logs_in_again(aca: SynthResult) -> None:
    from infra.components.app_image import image_tag

    image = one(aca.resources, "docker:index/image:Image")["inputs"]
    assert image["build"]["platform"] == "linux/amd64"
    tag = image["imageName"].rsplit(":", 1)[1]
    login = one(aca.resources, "command:local:Command", "registry-docker-login")["inputs"]
    assert tag == image_tag(ROOT)
    assert tag in login["triggers"], "a changed image must renew the ACR login before its push"


def test_a_non_default_port_reaches_ingress_dapr_probes_and_the_app(tmp_path: Path) -> None:
    result = synthesize("aca", _aca_file(tmp_path, {"app.port": 8081}), tmp_path / "o")
    app = one(result.resources, APP)["inputs"]
    assert app["configuration"]["ingress"]["targetPort"] == 8081
    assert app["configuration"]["dapr"]["appPort"] == 8081
    container = app["template"]["containers"][0]
    assert {p["httpGet"]["port"] for p in container["probes"]} == {8081}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DACA_PORT"] == "8081"


def test_first_revision_waits_for_rbac_to_settle(aca: SynthResult) -> None:
    app = one(aca.resources, APP)
    assert "agent-rbac-settle" in app["dependsOn"]
    settle = one(aca.resources, "command:local:Command", "agent-rbac-settle")
    assert settle["inputs"]["create"].startswith("sleep ")
    roles = {r["name"] for r in of_type(aca.resources, ROLE)}
    assert roles <= set(settle["dependsOn"])


def test_blob_state_uses_component_version_2(tmp_path: Path) -> None:
    result = synthesize(
        "aca", _aca_file(tmp_path, {"dapr.stateStore": "state.azure.blobstorage"}), tmp_path / "o"
    )
    state = one(result.resources, COMPONENT, "dapr-components-statestore")["inputs"]
    assert state["componentType"] == "state.azure.blobstorage"
    assert state["version"] == "v2"


@pytest.mark.parametrize(
    ("stack", "label"),
    [("aca", "aca"), ("My_Stack.dev", "my-stack-dev"), ("2024-prod", "s-2024-prod")],
)
def test_stack_names_become_valid_azure_labels(stack: str, label: str) -> None:
    from infra.stacks.aca import azure_label

    assert azure_label(stack) == label


def test_no_command_logs_a_secret_output(aca: SynthResult) -> None:
    secret_output_commands(aca.resources)


def test_dapr_workflows_are_refused_on_aca(tmp_path: Path) -> None:
    """ACA's managed Dapr has no workflows: the state machine runs them there."""
    file = _aca_file(
        tmp_path,
        {"app.workflowEngine": "dapr", "dapr.actorStateStore": True, "dapr.version": "1.18.0"},
    )
    with pytest.raises(ConfigError, match="'dapr' is not allowed on aca"):
        load_stack_config(file)
