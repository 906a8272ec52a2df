"""The `aca` stage: Azure Container Apps + ACA-managed Dapr + Cosmos DB/Blob, Service Bus,
Key Vault and ACR, every edge authenticated by a user-assigned managed identity."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.provider as azure_provider
import pulumi_azure_native.resources as resources
import pulumi_random as random

from infra.components.api_keys import ApiKeys
from infra.components.app_image import AppImage, AppImageArgs, image_tag
from infra.components.azure.container_app import (
    AcaContainerApp,
    AcaContainerAppArgs,
    ServiceBusScaleRule,
)
from infra.components.azure.dapr_components import AcaDaprComponents, AcaDaprComponentsArgs
from infra.components.azure.environment import AcaEnvironment, AcaEnvironmentArgs
from infra.components.azure.identity import AcaIdentity, AcaIdentityArgs
from infra.components.azure.keyvault import AcaKeyVault, AcaKeyVaultArgs
from infra.components.azure.registry import AcaRegistry, AcaRegistryArgs
from infra.components.azure.servicebus import AcaServiceBus, AcaServiceBusArgs
from infra.components.azure.state import BLOBSTORAGE, AcaState, AcaStateArgs
from infra.config import REPO_ROOT, AcaConfig
from infra.dapr.spec import PUBSUB, SECRETSTORE, STATESTORE, DaprComponentSpec, sweep_binding
from infra.stacks.common import app_environment

#: the topic the app subscribes to (app/README.md); its backlog scales the app
REVIEW_TOPIC = "agent-reviews"
#: the Key Vault secret holding the model key
MODEL_KEY_VAULT_SECRET = "model-api-key"
#: the Key Vault secrets holding the app's API keys (the app itself gets only digests)
API_KEY_VAULT_SECRET = "api-key"
REVIEWER_KEY_VAULT_SECRET = "reviewer-key"


def azure_label(text: str) -> str:
    """`text` (e.g. a stack name: letters, digits, '_', '.', '-') as a name ACA and
    resource groups accept: lower case, '-' for anything else, no leading digit."""
    label = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")
    return label if label[:1].isalpha() else f"s-{label}".rstrip("-")


def name_suffix(config: AcaConfig) -> pulumi.Input[str]:
    """The suffix of globally unique names (registry, vault, accounts, namespace).

    Pinned by config, else random and kept in the stack's state: the same for every
    update of this stack, different for everyone else's (a suffix derived from the
    config alone would be the same for every user of the defaults).
    """
    if config.azure.name_suffix:
        return config.azure.name_suffix
    return random.RandomString(
        "name-suffix", length=6, special=False, upper=False, numeric=True
    ).result


@dataclass(frozen=True)
class AzureTarget:
    """Where every resource of the stage goes, and as whom."""

    options: pulumi.ResourceOptions
    resource_group_name: pulumi.Input[str]
    location: str
    subscription_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    #: the start of globally unique names (prefix + suffix)
    unique: pulumi.Output[str]


@dataclass(frozen=True)
class AppIdentities:
    """One identity per concern: the app (image pull, its Key Vault reference), its Dapr
    components (state, pub/sub, secret store) and its Service Bus scaler."""

    app: AcaIdentity
    dapr: AcaIdentity
    scaler: AcaIdentity


def azure_target(config: AcaConfig) -> AzureTarget:
    """The provider, the resource group (created unless given) and the deployer's tenant."""
    azure = config.azure
    provider = azure_provider.Provider(
        "azure", location=azure.location, subscription_id=azure.subscription_id or None
    )
    options = pulumi.ResourceOptions(providers={"azure-native": provider})
    client = authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    if azure.resource_group is not None:
        resource_group_name: pulumi.Input[str] = azure.resource_group
    else:
        resource_group_name = resources.ResourceGroup(
            "resource-group",
            resource_group_name=f"{azure.name_prefix}-{azure_label(pulumi.get_stack())}-rg",
            location=azure.location,
            opts=options,
        ).name
    return AzureTarget(
        options=options,
        resource_group_name=resource_group_name,
        location=azure.location,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        unique=pulumi.Output.concat(azure.name_prefix, name_suffix(config)),
    )


def app_identities(config: AcaConfig, target: AzureTarget) -> AppIdentities:
    def identity(label: str) -> AcaIdentity:
        return AcaIdentity(
            f"{label}-identity",
            AcaIdentityArgs(
                resource_group_name=target.resource_group_name,
                location=target.location,
                identity_name=f"{config.azure.name_prefix}-{config.app.name}-{label}",
            ),
            opts=target.options,
        )

    return AppIdentities(app=identity("app"), dapr=identity("dapr"), scaler=identity("scaler"))


def app_image(
    config: AcaConfig, target: AzureTarget, puller: AcaIdentity
) -> tuple[AcaRegistry | None, pulumi.Input[str]]:
    """`app.image` as given, or the image built here and pushed to a new ACR."""
    if config.app.image is not None:
        return None, config.app.image
    registry = AcaRegistry(
        "registry",
        AcaRegistryArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            registry_name=pulumi.Output.concat(target.unique, "acr"),
            subscription_id=target.subscription_id,
            pullers=[puller.grantee("app")],
            docker_login=True,
            login_trigger=image_tag(REPO_ROOT),
        ),
        opts=target.options,
    )
    image = AppImage(
        "agent-image",
        AppImageArgs(
            repository=pulumi.Output.concat(registry.login_server, "/", config.app.name),
            context=REPO_ROOT,
            # Container Apps run linux/amd64 only, whatever machine builds the image
            platform="linux/amd64",
        ),
        opts=pulumi.ResourceOptions(depends_on=registry.ready),
    )
    return registry, image.ref


def key_vault(
    config: AcaConfig, target: AzureTarget, ids: AppIdentities, api_keys: ApiKeys
) -> AcaKeyVault:
    secrets: dict[str, pulumi.Output[str]] = {
        API_KEY_VAULT_SECRET: api_keys.user_key,
        REVIEWER_KEY_VAULT_SECRET: api_keys.reviewer_key,
    }
    if config.model_api_key:
        secrets[MODEL_KEY_VAULT_SECRET] = pulumi.Output.secret(config.model_api_key)
    return AcaKeyVault(
        "vault",
        AcaKeyVaultArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            vault_name=pulumi.Output.concat(target.unique, "-kv"),
            tenant_id=target.tenant_id,
            subscription_id=target.subscription_id,
            secrets=secrets,
            # ACA resolves the model key's reference as the app's identity; nothing in the
            # app reads the API keys (it gets their digests), so only operators can
            readers={MODEL_KEY_VAULT_SECRET: [ids.app.grantee("app")]}
            if config.model_api_key
            else {},
        ),
        opts=target.options,
    )


def state_store(config: AcaConfig, target: AzureTarget, ids: AppIdentities) -> AcaState:
    return AcaState(
        "state",
        AcaStateArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            component_type=config.dapr.state_store,
            account_name=pulumi.Output.concat(target.unique, "state"),
            subscription_id=target.subscription_id,
            writers=[ids.dapr.grantee("dapr")],
            cosmos_capacity=config.cosmos.capacity,
            database=config.cosmos.database,
            container=config.cosmos.container,
        ),
        opts=target.options,
    )


def service_bus(config: AcaConfig, target: AzureTarget, ids: AppIdentities) -> AcaServiceBus:
    return AcaServiceBus(
        "servicebus",
        AcaServiceBusArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            namespace_name=pulumi.Output.concat(target.unique, "-bus"),
            subscription_id=target.subscription_id,
            topics=[config.app.pubsub_topic, REVIEW_TOPIC],
            # Dapr names a topic's subscription after the consumerID, here the app-id
            subscriptions=[(REVIEW_TOPIC, config.app.name)],
            clients=[ids.dapr.grantee("dapr")],
            monitors=[(ids.scaler.grantee("scaler"), REVIEW_TOPIC)],
            sku=config.service_bus.sku,
        ),
        opts=target.options,
    )


def component_specs(
    config: AcaConfig,
    dapr_identity: AcaIdentity,
    state: AcaState,
    bus: AcaServiceBus,
    vault: AcaKeyVault,
) -> list[DaprComponentSpec]:
    """The same component names as every stage, backed by Azure, by managed identity."""
    scopes = (config.app.name,)
    client_id = {"azureClientId": dapr_identity.client_id}
    return [
        DaprComponentSpec(
            name=STATESTORE,
            type=config.dapr.state_store,
            # blob storage v2 is the version Dapr recommends for new stores
            version="v2" if config.dapr.state_store == BLOBSTORAGE else "v1",
            metadata={
                **state.metadata,
                **client_id,
                "actorStateStore": str(config.dapr.actor_state_store).lower(),
            },
            scopes=scopes,
        ),
        DaprComponentSpec(
            name=PUBSUB,
            type=config.dapr.pubsub,
            metadata={
                "namespaceName": bus.host,
                **client_id,
                "consumerID": config.app.name,
                # the topics and subscription exist; Dapr needs no Manage right
                "disableEntityManagement": "true",
            },
            scopes=scopes,
        ),
        DaprComponentSpec(
            name=SECRETSTORE,
            type=config.dapr.secret_store,
            metadata={"vaultName": vault.name, **client_id},
            scopes=scopes,
        ),
        # fires on every replica, and not while the app is scaled to zero
        sweep_binding(scopes),
    ]


def build(config: AcaConfig) -> dict[str, pulumi.Input[object]]:
    """Register the aca stage's resources; return the stack outputs."""
    app = config.app
    target = azure_target(config)
    ids = app_identities(config, target)
    environment = AcaEnvironment(
        "environment",
        AcaEnvironmentArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            environment_name=f"{config.azure.name_prefix}-{azure_label(pulumi.get_stack())}-env",
            app_insights=config.container_app.app_insights,
        ),
        opts=target.options,
    )
    registry, image_ref = app_image(config, target, ids.app)
    api_keys = ApiKeys("api-keys")
    vault = key_vault(config, target, ids, api_keys)
    state = state_store(config, target, ids)
    bus = service_bus(config, target, ids)
    components = AcaDaprComponents(
        "dapr-components",
        AcaDaprComponentsArgs(
            resource_group_name=target.resource_group_name,
            environment_name=environment.name,
            components=component_specs(config, ids.dapr, state, bus, vault),
        ),
        opts=target.options,
    )
    scale = config.container_app
    container_app = AcaContainerApp(
        "agent",
        AcaContainerAppArgs(
            resource_group_name=target.resource_group_name,
            location=target.location,
            environment_id=environment.id,
            app_id=app.name,
            image=image_ref,
            port=app.port,
            cpu=scale.cpu,
            memory=scale.memory,
            min_replicas=scale.min_replicas,
            max_replicas=scale.max_replicas,
            concurrent_requests=scale.concurrent_requests,
            app_identity_id=ids.app.id,
            extra_identity_ids=[ids.dapr.id, ids.scaler.id],
            env=app_environment(config),
            registry_server=registry.login_server if registry is not None else None,
            model_key_url=vault.secret_urls.get(MODEL_KEY_VAULT_SECRET),
            api_keys=api_keys,
            metrics_port=app.metrics_port,
            service_bus_rule=ServiceBusScaleRule(
                namespace=bus.name,
                topic=REVIEW_TOPIC,
                subscription=app.name,
                message_count=scale.queue_messages,
                identity_id=ids.scaler.id,
            ),
        ),
        # the roles must exist before the first revision pulls, reads and connects
        opts=pulumi.ResourceOptions.merge(
            target.options,
            pulumi.ResourceOptions(
                depends_on=[components, vault, state, bus, *([registry] if registry else [])]
            ),
        ),
    )
    return {
        "appUrl": container_app.url,
        "resourceGroup": target.resource_group_name,
        "registryLoginServer": registry.login_server if registry is not None else "",
        "environment": environment.name,
        "image": image_ref,
        "daprAppId": app.name,
        "keyVault": vault.name,
        "serviceBusNamespace": bus.name,
        # bearer keys for /v1 (secret: `pulumi stack output apiKey --show-secrets`)
        "apiKey": api_keys.user_key,
        "reviewerKey": api_keys.reviewer_key,
    }
