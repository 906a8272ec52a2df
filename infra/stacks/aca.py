"""The `aca` stage: Azure Container Apps + ACA-managed Dapr + Cosmos DB/Blob, Service Bus,
Key Vault and ACR, every edge authenticated by a user-assigned managed identity."""

from __future__ import annotations

import re

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.provider as azure_provider
import pulumi_azure_native.resources as resources
import pulumi_random as random

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
from infra.dapr.spec import PUBSUB, SECRETSTORE, STATESTORE, DaprComponentSpec
from infra.stacks.common import app_environment

#: the topic the app subscribes to (app/README.md); its backlog scales the app
REVIEW_TOPIC = "agent-reviews"
#: the Key Vault secret holding the model key
MODEL_KEY_VAULT_SECRET = "model-api-key"


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


def build(config: AcaConfig) -> dict[str, pulumi.Input[object]]:
    """Register the aca stage's resources; return the stack outputs."""
    azure = config.azure
    app = config.app
    prefix = azure.name_prefix
    unique = pulumi.Output.concat(prefix, name_suffix(config))
    stack = azure_label(pulumi.get_stack())

    provider = azure_provider.Provider(
        "azure",
        location=azure.location,
        subscription_id=azure.subscription_id or None,
    )
    on_azure = pulumi.ResourceOptions(providers={"azure-native": provider})
    client = authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    subscription_id = client.subscription_id
    location = azure.location

    if azure.resource_group is not None:
        resource_group_name: pulumi.Input[str] = azure.resource_group
    else:
        resource_group_name = resources.ResourceGroup(
            "resource-group",
            resource_group_name=f"{prefix}-{stack}-rg",
            location=location,
            opts=on_azure,
        ).name

    def identity(label: str) -> AcaIdentity:
        return AcaIdentity(
            f"{label}-identity",
            AcaIdentityArgs(
                resource_group_name=resource_group_name,
                location=location,
                identity_name=f"{prefix}-{app.name}-{label}",
            ),
            opts=on_azure,
        )

    # one identity per concern: the app (image pull, its Key Vault reference), its Dapr
    # components (state, pub/sub, secret store) and its Service Bus scaler
    app_identity = identity("app")
    dapr_identity = identity("dapr")
    scaler_identity = identity("scaler")

    environment = AcaEnvironment(
        "environment",
        AcaEnvironmentArgs(
            resource_group_name=resource_group_name,
            location=location,
            environment_name=f"{prefix}-{stack}-env",
            app_insights=config.container_app.app_insights,
        ),
        opts=on_azure,
    )

    registry: AcaRegistry | None = None
    if app.image is not None:
        image_ref: pulumi.Input[str] = app.image
    else:
        registry = AcaRegistry(
            "registry",
            AcaRegistryArgs(
                resource_group_name=resource_group_name,
                location=location,
                registry_name=pulumi.Output.concat(unique, "acr"),
                subscription_id=subscription_id,
                pullers=[app_identity.grantee("app")],
                docker_login=True,
                login_trigger=image_tag(REPO_ROOT),
            ),
            opts=on_azure,
        )
        image_ref = AppImage(
            "agent-image",
            AppImageArgs(
                repository=pulumi.Output.concat(registry.login_server, "/", app.name),
                context=REPO_ROOT,
                # Container Apps run linux/amd64 only, whatever machine builds the image
                platform="linux/amd64",
            ),
            opts=pulumi.ResourceOptions(depends_on=registry.ready),
        ).ref

    secrets: dict[str, pulumi.Output[str]] = {}
    if config.model_api_key:
        secrets[MODEL_KEY_VAULT_SECRET] = pulumi.Output.secret(config.model_api_key)
    vault = AcaKeyVault(
        "vault",
        AcaKeyVaultArgs(
            resource_group_name=resource_group_name,
            location=location,
            vault_name=pulumi.Output.concat(unique, "-kv"),
            tenant_id=client.tenant_id,
            subscription_id=subscription_id,
            secrets=secrets,
            readers=[app_identity.grantee("app"), dapr_identity.grantee("dapr")],
        ),
        opts=on_azure,
    )

    state = AcaState(
        "state",
        AcaStateArgs(
            resource_group_name=resource_group_name,
            location=location,
            component_type=config.dapr.state_store,
            account_name=pulumi.Output.concat(unique, "state"),
            subscription_id=subscription_id,
            writers=[dapr_identity.grantee("dapr")],
            cosmos_capacity=config.cosmos.capacity,
            database=config.cosmos.database,
            container=config.cosmos.container,
        ),
        opts=on_azure,
    )

    bus = AcaServiceBus(
        "servicebus",
        AcaServiceBusArgs(
            resource_group_name=resource_group_name,
            location=location,
            namespace_name=pulumi.Output.concat(unique, "-bus"),
            subscription_id=subscription_id,
            topics=[app.pubsub_topic, REVIEW_TOPIC],
            # Dapr names a topic's subscription after the consumerID, here the app-id
            subscriptions=[(REVIEW_TOPIC, app.name)],
            clients=[dapr_identity.grantee("dapr")],
            monitors=[(scaler_identity.grantee("scaler"), REVIEW_TOPIC)],
            sku=config.service_bus.sku,
        ),
        opts=on_azure,
    )

    scopes = (app.name,)
    client_id = {"azureClientId": dapr_identity.client_id}
    components = AcaDaprComponents(
        "dapr-components",
        AcaDaprComponentsArgs(
            resource_group_name=resource_group_name,
            environment_name=environment.name,
            components=[
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
                        "consumerID": app.name,
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
            ],
        ),
        opts=on_azure,
    )

    container_app = AcaContainerApp(
        "agent",
        AcaContainerAppArgs(
            resource_group_name=resource_group_name,
            location=location,
            environment_id=environment.id,
            app_id=app.name,
            image=image_ref,
            port=app.port,
            cpu=config.container_app.cpu,
            memory=config.container_app.memory,
            min_replicas=config.container_app.min_replicas,
            max_replicas=config.container_app.max_replicas,
            concurrent_requests=config.container_app.concurrent_requests,
            app_identity_id=app_identity.id,
            extra_identity_ids=[dapr_identity.id, scaler_identity.id],
            env=app_environment(config),
            registry_server=registry.login_server if registry is not None else None,
            model_key_url=vault.secret_urls.get(MODEL_KEY_VAULT_SECRET),
            service_bus_rule=ServiceBusScaleRule(
                namespace=bus.name,
                topic=REVIEW_TOPIC,
                subscription=app.name,
                message_count=config.container_app.queue_messages,
                identity_id=scaler_identity.id,
            ),
        ),
        # the roles must exist before the first revision pulls, reads and connects
        opts=pulumi.ResourceOptions(
            providers={"azure-native": provider},
            depends_on=[components, vault, state, bus, *([registry] if registry else [])],
        ),
    )

    return {
        "appUrl": container_app.url,
        "resourceGroup": resource_group_name,
        "registryLoginServer": registry.login_server if registry is not None else "",
        "environment": environment.name,
        "image": image_ref,
        "daprAppId": app.name,
        "keyVault": vault.name,
        "serviceBusNamespace": bus.name,
    }
