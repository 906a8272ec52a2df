"""The state store's Azure backend: Cosmos DB (SQL API) or Blob Storage, identity-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_azure_native.cosmosdb as cosmosdb
import pulumi_azure_native.storage as storage
import pulumi_random as random

from infra.components.azure.identity import (
    COSMOS_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    Grantee,
    grant_role,
)
from infra.components.options import child_options

COSMOSDB = "state.azure.cosmosdb"
BLOBSTORAGE = "state.azure.blobstorage"


@dataclass(frozen=True)
class AcaStateArgs:
    #: the resource group that holds the account
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the Dapr component type to back: `state.azure.cosmosdb` or `state.azure.blobstorage`
    component_type: str
    #: the account's globally unique name (Cosmos: 3-44, storage: 3-24 lower-case chars)
    account_name: pulumi.Input[str]
    #: the subscription (role definitions are subscription-scoped)
    subscription_id: pulumi.Input[str]
    #: identities that read and write state
    writers: Sequence[Grantee] = field(default_factory=list)
    #: Cosmos DB: serverless, or provisioned throughput under the free tier
    cosmos_capacity: Literal["serverless", "freeTier"] = "serverless"
    #: Cosmos DB database / Blob container name
    database: str = "daca"
    #: Cosmos DB container name
    container: str = "state"


class AcaState(pulumi.ComponentResource):
    """The account and its database/container; key auth off, writers granted a data role.

    `metadata` is the Dapr component metadata that points at it (no keys: the
    component authenticates with `azureClientId`, which the caller adds).
    """

    id: pulumi.Output[str]
    metadata: dict[str, pulumi.Input[str]]

    def __init__(
        self, name: str, args: AcaStateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_state:AcaState", name, None, opts)
        child = child_options(self, opts)
        if args.component_type == COSMOSDB:
            self.id, self.metadata = self._cosmos(name, args, child)
        elif args.component_type == BLOBSTORAGE:
            self.id, self.metadata = self._blob(name, args, child)
        else:
            raise ValueError(f"AcaState cannot back {args.component_type!r}")
        self.register_outputs({"id": self.id})

    def _cosmos(
        self, name: str, args: AcaStateArgs, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], dict[str, pulumi.Input[str]]]:
        serverless = args.cosmos_capacity == "serverless"
        account = cosmosdb.DatabaseAccount(
            f"{name}-cosmos",
            resource_group_name=args.resource_group_name,
            location=args.location,
            account_name=args.account_name,
            database_account_offer_type=cosmosdb.DatabaseAccountOfferType.STANDARD,
            kind="GlobalDocumentDB",
            locations=[cosmosdb.LocationArgs(location_name=args.location, failover_priority=0)],
            consistency_policy=cosmosdb.ConsistencyPolicyArgs(
                default_consistency_level=cosmosdb.DefaultConsistencyLevel.SESSION
            ),
            capabilities=[cosmosdb.CapabilityArgs(name="EnableServerless")] if serverless else None,
            # the free tier grants 1000 RU/s and 25 GB (one account per subscription)
            enable_free_tier=not serverless,
            # at most the free 1000 RU/s, so provisioned throughput never bills
            capacity=None if serverless else cosmosdb.CapacityArgs(total_throughput_limit=1000),
            disable_local_auth=True,
            disable_key_based_metadata_write_access=True,
            minimal_tls_version="Tls12",
            opts=child,
        )
        database = cosmosdb.SqlResourceSqlDatabase(
            f"{name}-database",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            database_name=args.database,
            resource={"id": args.database},
            opts=child,
        )
        container = cosmosdb.SqlResourceSqlContainer(
            f"{name}-container",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            database_name=database.name,
            container_name=args.container,
            # Dapr's state store partitions by `/partitionKey` (the key unless set)
            resource={
                "id": args.container,
                "partition_key": {"paths": ["/partitionKey"], "kind": "Hash"},
            },
            # provisioned (free tier) containers need throughput; serverless ones refuse it
            options=None if serverless else {"throughput": 400},
            opts=child,
        )
        for grantee in args.writers:
            label = f"{name}-{grantee.label}-data-contributor"
            # the assignment's name must be a GUID: kept in state, so stable across updates,
            # and new for a new principal, so a replacement never reuses the old name
            assignment_id = random.RandomUuid(
                f"{label}-id", keepers={"principalId": grantee.principal_id}, opts=child
            )
            cosmosdb.SqlResourceSqlRoleAssignment(
                label,
                role_assignment_id=assignment_id.result,
                resource_group_name=args.resource_group_name,
                account_name=account.name,
                principal_id=grantee.principal_id,
                role_definition_id=pulumi.Output.concat(
                    account.id, "/sqlRoleDefinitions/", COSMOS_DATA_CONTRIBUTOR
                ),
                scope=account.id,
                # one principal, role and scope cannot be assigned twice: a replacement
                # (a new name, e.g. from auto-naming) deletes the old one first
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(delete_before_replace=True)
                ),
            )
        return account.id, {
            "url": account.document_endpoint,
            "database": database.name,
            "collection": container.name,
        }

    def _blob(
        self, name: str, args: AcaStateArgs, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], dict[str, pulumi.Input[str]]]:
        account = storage.StorageAccount(
            f"{name}-storage",
            resource_group_name=args.resource_group_name,
            location=args.location,
            account_name=args.account_name,
            kind=storage.Kind.STORAGE_V2,
            sku={"name": storage.SkuName.STANDARD_LRS},
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            opts=child,
        )
        container = storage.BlobContainer(
            f"{name}-container",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            container_name=args.container,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        for grantee in args.writers:
            grant_role(
                f"{name}-{grantee.label}-blob-contributor",
                subscription_id=args.subscription_id,
                role=STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=account.id,
                grantee=grantee,
                parent=self,
            )
        return account.id, {"accountName": account.name, "containerName": container.name}
