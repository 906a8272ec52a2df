"""Service Bus (Standard: Basic has no topics) for Dapr pub/sub, with Entra ID auth only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.servicebus as servicebus

from infra.components.azure.identity import (
    SERVICE_BUS_DATA_OWNER,
    SERVICE_BUS_DATA_RECEIVER,
    SERVICE_BUS_DATA_SENDER,
    Grantee,
    grant_role,
)
from infra.components.options import child_options


@dataclass(frozen=True)
class AcaServiceBusArgs:
    #: the resource group that holds the namespace
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the namespace's globally unique name: 6-50 letters, digits and '-'
    namespace_name: pulumi.Input[str]
    #: the subscription (role definitions are subscription-scoped)
    subscription_id: pulumi.Input[str]
    #: topics to create
    topics: Sequence[str]
    #: (topic, subscription) pairs to create; Dapr's subscription name is the consumerID
    subscriptions: Sequence[tuple[str, str]] = field(default_factory=list)
    #: identities that publish and consume (Data Sender + Data Receiver on the namespace)
    clients: Sequence[Grantee] = field(default_factory=list)
    #: (identity, topic) pairs that read a topic's runtime counts (KEDA's scaler needs
    #: the Manage claim, so Data Owner, granted on that one topic only)
    monitors: Sequence[tuple[Grantee, str]] = field(default_factory=list)
    #: Standard (topics, about USD 10 a month base) or Premium
    sku: str = "Standard"


class AcaServiceBus(pulumi.ComponentResource):
    """A namespace with local (SAS) auth disabled, its topics and subscriptions.

    Entities are created here and Dapr runs with `disableEntityManagement`, so its
    identity needs only send and receive rights.
    """

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    #: the host name Dapr and KEDA connect to: `<namespace>.servicebus.windows.net`
    host: pulumi.Output[str]

    def __init__(
        self, name: str, args: AcaServiceBusArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_servicebus:AcaServiceBus", name, None, opts)
        child = child_options(self, opts)
        namespace = servicebus.Namespace(
            f"{name}-namespace",
            resource_group_name=args.resource_group_name,
            location=args.location,
            namespace_name=args.namespace_name,
            sku={"name": servicebus.SkuName(args.sku), "tier": servicebus.SkuTier(args.sku)},
            disable_local_auth=True,
            minimum_tls_version="1.2",
            opts=child,
        )
        topics: dict[str, servicebus.Topic] = {}
        for topic_name in args.topics:
            topics[topic_name] = servicebus.Topic(
                f"{name}-{topic_name}",
                resource_group_name=args.resource_group_name,
                namespace_name=namespace.name,
                topic_name=topic_name,
                opts=child,
            )
        for topic_name, subscription_name in args.subscriptions:
            servicebus.Subscription(
                f"{name}-{topic_name}-{subscription_name}",
                resource_group_name=args.resource_group_name,
                namespace_name=namespace.name,
                topic_name=topics[topic_name].name,
                subscription_name=subscription_name,
                # Dapr's component defaults (maxDeliveryCount 10, lock 60s)
                max_delivery_count=10,
                lock_duration="PT1M",
                dead_lettering_on_message_expiration=True,
                opts=child,
            )
        for grantee in args.clients:
            for role, label in (
                (SERVICE_BUS_DATA_SENDER, "sender"),
                (SERVICE_BUS_DATA_RECEIVER, "receiver"),
            ):
                grant_role(
                    f"{name}-{grantee.label}-{label}",
                    subscription_id=args.subscription_id,
                    role=role,
                    scope=namespace.id,
                    grantee=grantee,
                    parent=self,
                )
        for grantee, topic_name in args.monitors:
            grant_role(
                f"{name}-{grantee.label}-{topic_name}-owner",
                subscription_id=args.subscription_id,
                role=SERVICE_BUS_DATA_OWNER,
                scope=topics[topic_name].id,
                grantee=grantee,
                parent=self,
            )
        self.id = namespace.id
        self.name = namespace.name
        self.host = namespace.service_bus_endpoint.apply(
            lambda endpoint: endpoint.removeprefix("https://").split(":")[0].rstrip("/")
        )
        self.register_outputs({"id": self.id, "name": self.name, "host": self.host})
