"""A user-assigned managed identity, and the Azure RBAC role grants every ACA component uses."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity

from infra.components.options import child_options

#: Azure built-in role definition IDs (learn.microsoft.com: "Azure built-in roles")
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SERVICE_BUS_DATA_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
SERVICE_BUS_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
SERVICE_BUS_DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
#: Cosmos DB's own data-plane role (not an Azure RBAC role): "Cosmos DB Built-in Data
#: Contributor", defined on every account as sqlRoleDefinitions/<this id>
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"


@dataclass(frozen=True)
class Grantee:
    """A principal to grant roles to; `label` names the role-assignment resources."""

    label: str
    principal_id: pulumi.Input[str]


def grant_role(
    name: str,
    *,
    subscription_id: pulumi.Input[str],
    role: str,
    scope: pulumi.Input[str],
    grantee: Grantee,
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Assign built-in role `role` (a GUID) on `scope` to a managed identity's principal."""
    return authorization.RoleAssignment(
        name,
        principal_id=grantee.principal_id,
        # a fresh identity may not have replicated yet; the type skips the directory lookup
        principal_type="ServicePrincipal",
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/",
            subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            role,
        ),
        scope=scope,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class AcaIdentityArgs:
    #: the resource group that holds the identity
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the identity's Azure name
    identity_name: pulumi.Input[str]


class AcaIdentity(pulumi.ComponentResource):
    """One user-assigned managed identity: its resource ID, client ID and principal ID.

    Each concern gets its own identity (the app, its Dapr components, its scaler), so
    each holds only the roles it needs; the resources grant them roles.
    """

    id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AcaIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_identity:AcaIdentity", name, None, opts)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=args.resource_group_name,
            location=args.location,
            resource_name_=args.identity_name,
            opts=child_options(self, opts),
        )
        self.id = identity.id
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.register_outputs(
            {"id": self.id, "clientId": self.client_id, "principalId": self.principal_id}
        )

    def grantee(self, label: str) -> Grantee:
        """This identity as a role-assignment target."""
        return Grantee(label=label, principal_id=self.principal_id)
