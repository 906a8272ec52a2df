"""The `aca` stage's config: Azure location and names, Cosmos DB, Service Bus, the Container App."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from infra.config.base import NAMESPACE, ConfigError, StackConfig, _Section

_ACA_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_AZURE_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,89}[-\w_()]$")
#: the CPU/memory pairs the ACA Consumption plan accepts (vCPU -> memory)
ACA_CPU_MEMORY = {
    0.25: "0.5Gi",
    0.5: "1Gi",
    0.75: "1.5Gi",
    1.0: "2Gi",
    1.25: "2.5Gi",
    1.5: "3Gi",
    1.75: "3.5Gi",
    2.0: "4Gi",
}


def _azure_location(value: str) -> str:
    if not _AZURE_LOCATION.match(value):
        raise ValueError(
            "must be an Azure region name such as 'eastus' or 'westeurope' "
            "(lower-case, no spaces; `az account list-locations -o table`)"
        )
    return value


def _subscription_id(value: str) -> str:
    if value and not _GUID.match(value):
        raise ValueError(
            "must be a subscription GUID (`az account show --query id -o tsv`), or empty to "
            "use the az CLI's default subscription"
        )
    return value


def _resource_group(value: str) -> str:
    if not _RESOURCE_GROUP.match(value):
        raise ValueError(
            "must be an Azure resource group name: 1-90 letters, digits, '-', '_', '.', "
            "'(' or ')', not ending with '.'"
        )
    return value


class AzureConfig(_Section):
    """Where the aca stage deploys: subscription, region, resource group, names."""

    #: the Azure region of every resource
    location: Annotated[str, AfterValidator(_azure_location)]
    #: empty: the subscription `az login` selected (`az account show`)
    subscription_id: Annotated[str, AfterValidator(_subscription_id)] = ""
    #: an existing resource group to deploy into; unset: the stack creates one
    resource_group: Annotated[str, AfterValidator(_resource_group)] | None = None
    #: the start of every Azure resource name (globally unique ones get a suffix)
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "daca"
    #: pins the suffix of globally unique names (registry, vault, Cosmos DB, Service Bus,
    #: storage); unset: derived from the subscription, resource group and stack
    name_suffix: Annotated[str, Field(pattern=r"^[a-z0-9]{4,8}$")] | None = None


class CosmosConfig(_Section):
    """The Cosmos DB account behind `state.azure.cosmosdb`."""

    #: serverless (pay per request) or provisioned with the free tier (one per subscription)
    capacity: Literal["serverless", "freeTier"] = "serverless"
    database: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$")] = "daca"
    container: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$")] = "state"


class ServiceBusConfig(_Section):
    """The Service Bus namespace behind `pubsub.azure.servicebus.topics`."""

    #: Basic has no topics; Premium works but costs far more than this app needs
    sku: Literal["Standard", "Premium"] = "Standard"


class ContainerAppConfig(_Section):
    """The Container App: size and scale (ACA's own units; `app.resources`/`app.*Replicas`
    are the Kubernetes stages')."""

    cpu: float = 0.25
    memory: str = "0.5Gi"
    #: 0 lets ACA scale to zero between requests (the cheapest setting)
    min_replicas: Annotated[int, Field(ge=0, le=300)] = 0
    max_replicas: Annotated[int, Field(ge=1, le=300)] = 3
    #: concurrent HTTP requests per replica before ACA adds one
    concurrent_requests: Annotated[int, Field(ge=1, le=1000)] = 10
    #: active messages on the review subscription per replica before ACA adds one
    queue_messages: Annotated[int, Field(ge=1, le=10000)] = 5
    #: Dapr telemetry (and the app's traces) to an Application Insights resource
    app_insights: bool = False

    @model_validator(mode="after")
    def _valid_pair_and_bounds(self) -> ContainerAppConfig:
        pairs = ", ".join(f"{cpu:g}/{mem}" for cpu, mem in ACA_CPU_MEMORY.items())
        if ACA_CPU_MEMORY.get(self.cpu) != self.memory:
            raise ValueError(
                f"cpu {self.cpu:g} with memory {self.memory!r} is not a pair ACA accepts; "
                f"allowed cpu/memory: {pairs}"
            )
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas "
                f"({self.max_replicas}); minReplicas must be <= maxReplicas"
            )
        return self


class AcaConfig(StackConfig):
    """The `aca` stage: Azure Container Apps with managed Dapr and Azure-backed components."""

    stage: Literal["aca"]
    azure: AzureConfig
    cosmos: CosmosConfig = CosmosConfig()
    service_bus: ServiceBusConfig = ServiceBusConfig()
    container_app: ContainerAppConfig = ContainerAppConfig()

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.azure.cosmosdb", "state.azure.blobstorage"}),
        "pubsub": frozenset({"pubsub.azure.servicebus.topics"}),
        "secretStore": frozenset({"secretstores.azure.keyvault"}),
    }

    def check_stage(self) -> None:
        if self.app.workflow_engine == "dapr":
            raise ConfigError(
                f"{NAMESPACE}:app.workflowEngine: 'dapr' is not allowed on aca: Container Apps' "
                "managed Dapr does not run Dapr Workflows; use 'state-machine'"
            )
        # the app-id is also the Container App's name, which ACA limits further
        if not _ACA_APP_NAME.match(self.app.name) or "--" in self.app.name:
            raise ConfigError(
                f"{NAMESPACE}:app.name: {self.app.name!r} is not allowed on aca: a Container "
                "App name is 2-32 lower-case letters, digits and single '-', starting with "
                "a letter and ending with a letter or digit"
            )
        if self.dapr.tracing.exporter != "none":
            # ACA runs Dapr, and its Configuration, itself: its traces go where the
            # environment sends them (Application Insights, daprAIConnectionString)
            raise ConfigError(
                f"{NAMESPACE}:dapr.tracing.exporter: {self.dapr.tracing.exporter!r} is not "
                "allowed on aca: ACA runs Dapr's tracing itself; allowed: 'none', and "
                f"{NAMESPACE}:containerApp.appInsights: true sends Dapr's traces to "
                "Application Insights"
            )
        if self.dapr.actor_state_store and self.dapr.state_store == "state.azure.blobstorage":
            raise ConfigError(
                f"{NAMESPACE}:dapr.actorStateStore: true is not allowed with "
                "state.azure.blobstorage (not transactional); use state.azure.cosmosdb"
            )
