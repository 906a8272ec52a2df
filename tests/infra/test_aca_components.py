"""Each aca component on its own, under update-mode mocks, plus the ACA Dapr renderer."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest

from infra.components.azure.container_app import AcaContainerApp, AcaContainerAppArgs
from infra.components.azure.dapr_components import AcaDaprComponents, AcaDaprComponentsArgs
from infra.components.azure.environment import AcaEnvironment, AcaEnvironmentArgs
from infra.components.azure.identity import (
    ACR_PULL,
    KEY_VAULT_SECRETS_USER,
    SERVICE_BUS_DATA_OWNER,
    AcaIdentity,
    AcaIdentityArgs,
    Grantee,
)
from infra.components.azure.keyvault import AcaKeyVault, AcaKeyVaultArgs
from infra.components.azure.registry import AcaRegistry, AcaRegistryArgs
from infra.components.azure.servicebus import AcaServiceBus, AcaServiceBusArgs
from infra.components.azure.state import AcaState, AcaStateArgs
from infra.dapr.aca import render_aca_component
from infra.dapr.spec import DaprComponentSpec, SecretRef

from .conftest import of_type, one, run_under_mocks

RG, LOC, SUB = "rg", "eastus", "00000000-0000-0000-0000-000000000001"
ROLE = "azure-native:authorization:RoleAssignment"
WHO = Grantee(label="who", principal_id="p-1")


def _roles(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (r["inputs"]["principalId"], r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1])
        for r in of_type(records, ROLE)
    }


def test_renderer_uses_secret_ref_store_and_scopes() -> None:
    spec = DaprComponentSpec(
        name="statestore",
        type="state.azure.cosmosdb",
        metadata={"url": "https://x"},
        secrets={"masterKey": SecretRef(name="cosmos-key", key="unused")},
        scopes=("daca-agent",),
        secret_store="secretstore",
    )
    rendered = render_aca_component(spec)
    assert rendered.component_type == "state.azure.cosmosdb"
    assert rendered.metadata == [
        {"name": "url", "value": "https://x"},
        {"name": "masterKey", "secret_ref": "cosmos-key"},
    ]
    assert rendered.secret_store_component == "secretstore"
    assert rendered.scopes == ["daca-agent"]
    assert rendered.ignore_errors is False
    plain = render_aca_component(
        DaprComponentSpec(name="pubsub", type="pubsub.azure.servicebus.topics", scopes=("a",))
    )
    assert plain.secret_store_component is None  # nothing to resolve


def test_identity_component() -> None:
    records = run_under_mocks(
        lambda: (
            AcaIdentity(
                "app-identity",
                AcaIdentityArgs(resource_group_name=RG, location=LOC, identity_name="x"),
            ).client_id
        )
    )
    identity = one(records, "azure-native:managedidentity:UserAssignedIdentity")
    assert identity["inputs"]["resourceName"] == "x"
    assert identity["parent"] == "app-identity"
    assert one(records, "daca:aca_identity:AcaIdentity")["name"] == "app-identity"


@pytest.mark.parametrize("login", [True, False])
def test_registry_admin_off_acrpull_and_login(login: bool) -> None:
    records = run_under_mocks(
        lambda: (
            AcaRegistry(
                "registry",
                AcaRegistryArgs(
                    resource_group_name=RG,
                    location=LOC,
                    registry_name="dacaacr",
                    subscription_id=SUB,
                    pullers=[WHO],
                    docker_login=login,
                ),
            ).login_server
        )
    )
    registry = one(records, "azure-native:containerregistry:Registry")["inputs"]
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False
    assert _roles(records) == {("p-1", ACR_PULL)}
    assert one(records, ROLE)["inputs"]["roleDefinitionId"].startswith(f"/subscriptions/{SUB}/")
    assert len(of_type(records, "command:local:Command")) == int(login)


def test_keyvault_grants_a_reader_its_secret_and_nothing_else() -> None:
    records = run_under_mocks(
        lambda: AcaKeyVault(
            "vault",
            AcaKeyVaultArgs(
                resource_group_name=RG,
                location=LOC,
                vault_name="daca-kv",
                tenant_id="t",
                subscription_id=SUB,
                secrets={
                    "model-api-key": pulumi.Output.secret("sk-test-not-here"),
                    "reviewer-key": pulumi.Output.secret("rk-test-not-here"),
                },
                readers={"model-api-key": [WHO]},
            ),
        ).secret_urls["model-api-key"]
    )
    vault = one(records, "azure-native:keyvault:Vault")["inputs"]["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert "accessPolicies" not in vault
    secrets = of_type(records, "azure-native:keyvault:Secret")
    assert {s["inputs"]["properties"]["value"] for s in secrets} == {"[secret]"}
    assert "not-here" not in str(records)
    assert _roles(records) == {("p-1", KEY_VAULT_SECRETS_USER)}
    # scoped to the one secret: a reader of the model key cannot read the reviewer key
    scope = one(records, ROLE)["inputs"]["scope"]
    assert scope.endswith("/daca-kv/secrets/model-api-key"), scope  # the vault's id + secret


@pytest.mark.parametrize("capacity", ["serverless", "freeTier"])
def test_cosmos_state_capacity_and_no_keys(capacity: str) -> None:
    records = run_under_mocks(
        lambda: (
            AcaState(
                "state",
                AcaStateArgs(
                    resource_group_name=RG,
                    location=LOC,
                    component_type="state.azure.cosmosdb",
                    account_name="dacastate",
                    subscription_id=SUB,
                    writers=[WHO],
                    cosmos_capacity=capacity,  # type: ignore[arg-type]
                ),
            ).id
        )
    )
    account = one(records, "azure-native:cosmosdb:DatabaseAccount")["inputs"]
    assert account["disableLocalAuth"] is True
    serverless = capacity == "serverless"
    assert account["enableFreeTier"] is (not serverless)
    assert (account.get("capabilities") == [{"name": "EnableServerless"}]) is serverless
    container = one(records, "azure-native:cosmosdb:SqlResourceSqlContainer")["inputs"]
    assert container["resource"]["partitionKey"]["paths"] == ["/partitionKey"]
    assert ("options" in container) is (not serverless)
    assert (
        one(records, "azure-native:cosmosdb:SqlResourceSqlRoleAssignment")["inputs"]["principalId"]
        == "p-1"
    )


def test_cosmos_role_assignment_has_an_explicit_stable_guid() -> None:
    """A Cosmos SQL role assignment is named by a GUID; auto-naming does not make one. It
    comes from a RandomUuid in state (stable across updates), a new one per principal."""
    records = run_under_mocks(
        lambda: (
            AcaState(
                "state",
                AcaStateArgs(
                    resource_group_name=RG,
                    location=LOC,
                    component_type="state.azure.cosmosdb",
                    account_name="dacastate",
                    subscription_id=SUB,
                    writers=[WHO],
                ),
            ).id
        )
    )
    guid = one(records, "random:index/randomUuid:RandomUuid")
    assert guid["parent"] == "state"
    assert guid["inputs"]["keepers"] == {"principalId": "p-1"}
    assignment = one(records, "azure-native:cosmosdb:SqlResourceSqlRoleAssignment")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        assignment["inputs"]["roleAssignmentId"],
    )
    assert guid["name"] in assignment["dependsOn"]
    assert assignment["options"]["deleteBeforeReplace"] is True


def test_state_refuses_unknown_backend() -> None:
    with pytest.raises(ValueError, match="cannot back"):
        run_under_mocks(
            lambda: AcaState(
                "state",
                AcaStateArgs(
                    resource_group_name=RG,
                    location=LOC,
                    component_type="state.redis",
                    account_name="x",
                    subscription_id=SUB,
                ),
            )
        )


def test_servicebus_standard_entities_and_roles() -> None:
    records = run_under_mocks(
        lambda: (
            AcaServiceBus(
                "bus",
                AcaServiceBusArgs(
                    resource_group_name=RG,
                    location=LOC,
                    namespace_name="daca-bus",
                    subscription_id=SUB,
                    topics=["agent-events", "agent-reviews"],
                    subscriptions=[("agent-reviews", "daca-agent")],
                    clients=[WHO],
                    monitors=[(Grantee("scaler", "p-2"), "agent-reviews")],
                ),
            ).host
        )
    )
    namespace = one(records, "azure-native:servicebus:Namespace")["inputs"]
    assert namespace["sku"]["name"] == "Standard"
    assert namespace["disableLocalAuth"] is True
    assert len(of_type(records, "azure-native:servicebus:Topic")) == 2
    roles = _roles(records)
    assert ("p-2", SERVICE_BUS_DATA_OWNER) in roles
    assert len(roles) == 3
    owner = next(r for r in of_type(records, ROLE) if r["inputs"]["principalId"] == "p-2")
    assert owner["inputs"]["scope"].endswith("/agent-reviews")  # one topic, not the namespace


@pytest.mark.parametrize("insights", [True, False])
def test_environment_logs_and_optional_insights(insights: bool) -> None:
    records = run_under_mocks(
        lambda: (
            AcaEnvironment(
                "env",
                AcaEnvironmentArgs(
                    resource_group_name=RG,
                    location=LOC,
                    environment_name="e",
                    app_insights=insights,
                ),
            ).id
        )
    )
    environment = one(records, "azure-native:app:ManagedEnvironment")["inputs"]
    logs = environment["appLogsConfiguration"]
    # the shared key makes the whole block secret: keys kept, values redacted
    assert set(logs) == {"destination", "logAnalyticsConfiguration"}
    assert logs["logAnalyticsConfiguration"]["sharedKey"] == "[secret]"
    assert "workloadProfiles" not in environment  # Consumption only
    assert len(of_type(records, "azure-native:applicationinsights:Component")) == int(insights)
    assert ("daprAIConnectionString" in environment) is insights


def test_dapr_components_keep_names() -> None:
    specs = [
        DaprComponentSpec(name=n, type=t, metadata={"azureClientId": "c"}, scopes=("a",))
        for n, t in [
            ("statestore", "state.azure.cosmosdb"),
            ("pubsub", "pubsub.azure.servicebus.topics"),
        ]
    ]
    records = run_under_mocks(
        lambda: (
            AcaDaprComponents(
                "dc",
                AcaDaprComponentsArgs(
                    resource_group_name=RG, environment_name="e", components=specs
                ),
            ).urn
        )
    )
    components = of_type(records, "azure-native:app:DaprComponent")
    assert {c["inputs"]["componentName"] for c in components} == {"statestore", "pubsub"}
    assert all(c["parent"] == "dc" for c in components)


def test_container_app_without_key_or_registry() -> None:
    records = run_under_mocks(
        lambda: (
            AcaContainerApp(
                "agent",
                AcaContainerAppArgs(
                    resource_group_name=RG,
                    location=LOC,
                    environment_id="env-id",
                    app_id="daca-agent",
                    image="ghcr.io/x/y:1.0.0",
                    port=8000,
                    cpu=0.5,
                    memory="1Gi",
                    min_replicas=1,
                    max_replicas=2,
                    concurrent_requests=5,
                    app_identity_id="id-app",
                ),
            ).url
        )
    )
    inputs = one(records, "azure-native:app:ContainerApp")["inputs"]
    assert inputs["configuration"]["secrets"] == []
    assert inputs["configuration"]["ingress"]["allowInsecure"] is False
    assert inputs["configuration"]["dapr"] == {
        "enabled": True,
        "appId": "daca-agent",
        "appPort": 8000,
        "appProtocol": "http",
        "logLevel": "info",
    }
    assert [r["name"] for r in inputs["template"]["scale"]["rules"]] == ["http-concurrency"]


def test_role_ids_are_azures_built_in_roles() -> None:
    """The IDs as Microsoft documents them ("Azure built-in roles"); a wrong one fails
    only at deploy, with "role definition does not exist"."""
    from infra.components.azure import identity as ids

    documented = {
        "ACR_PULL": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "KEY_VAULT_SECRETS_USER": "4633458b-17de-408a-b874-0445c86b69e6",
        "SERVICE_BUS_DATA_SENDER": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
        "SERVICE_BUS_DATA_RECEIVER": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
        "SERVICE_BUS_DATA_OWNER": "090c5cfd-751d-490a-894a-3ce6f1109419",
        "STORAGE_BLOB_DATA_CONTRIBUTOR": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    }
    assert {name: getattr(ids, name) for name in documented} == documented
