"""Azure Container Registry: admin user off, images pulled by managed identity (AcrPull)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.containerregistry as containerregistry
from pulumi_command import local

from infra.components.azure.identity import ACR_PULL, Grantee, grant_role
from infra.components.options import child_options


@dataclass(frozen=True)
class AcaRegistryArgs:
    #: the resource group that holds the registry
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the registry's globally unique name: 5-50 letters and digits
    registry_name: pulumi.Input[str]
    #: the subscription (role definitions are subscription-scoped)
    subscription_id: pulumi.Input[str]
    #: identities that pull images (granted AcrPull on the registry only)
    pullers: Sequence[Grantee] = field(default_factory=list)
    #: log the local Docker client in (`az acr login`) so a build can push; the admin
    #: user stays off, Docker gets a token for the `az login` identity instead
    docker_login: bool = False
    #: changes when there is a new image to push (e.g. its tag): logs in again then
    login_trigger: pulumi.Input[str] = ""
    #: Basic is the cheapest SKU (about USD 5 a month) and enough for one app
    sku: str = "Basic"


class AcaRegistry(pulumi.ComponentResource):
    """A private registry; `login_server` is what image names start with."""

    id: pulumi.Output[str]
    login_server: pulumi.Output[str]
    #: resources a push must wait for (the registry, and the Docker login when asked)
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: AcaRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_registry:AcaRegistry", name, None, opts)
        registry = containerregistry.Registry(
            f"{name}-registry",
            resource_group_name=args.resource_group_name,
            location=args.location,
            registry_name=args.registry_name,
            sku={"name": args.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            opts=child_options(self, opts),
        )
        for grantee in args.pullers:
            grant_role(
                f"{name}-{grantee.label}-acrpull",
                subscription_id=args.subscription_id,
                role=ACR_PULL,
                scope=registry.id,
                grantee=grantee,
                parent=self,
            )
        self.ready = [registry]
        if args.docker_login:
            self.ready.append(
                local.Command(
                    f"{name}-docker-login",
                    create=pulumi.Output.concat("az acr login --name ", registry.name),
                    # ACR tokens last three hours: log in again whenever there is a new
                    # image to push (its tag is the digest of its sources)
                    triggers=[registry.id, args.login_trigger],
                    opts=child_options(self, opts, depends_on=[registry]),
                )
            )
        self.id = registry.id
        self.login_server = registry.login_server
        self.register_outputs({"id": self.id, "loginServer": self.login_server})
