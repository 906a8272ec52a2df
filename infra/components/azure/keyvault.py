"""Key Vault in RBAC mode: the app's secrets, readable only by the identities granted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.keyvault as keyvault

from infra.components.azure.identity import KEY_VAULT_SECRETS_USER, Grantee, grant_role
from infra.components.options import child_options


@dataclass(frozen=True)
class AcaKeyVaultArgs:
    #: the resource group that holds the vault
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the vault's globally unique name: 3-24 letters, digits and '-'
    vault_name: pulumi.Input[str]
    #: the Entra ID tenant that owns the vault
    tenant_id: pulumi.Input[str]
    #: the subscription (role definitions are subscription-scoped)
    subscription_id: pulumi.Input[str]
    #: secrets to store, by Key Vault secret name; values must be Pulumi secrets
    secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    #: who reads which secret: Key Vault Secrets User on that secret alone, never on the
    #: vault (a reader of the model key must not read the API keys stored beside it)
    readers: Mapping[str, Sequence[Grantee]] = field(default_factory=dict)
    #: keep deleted secrets recoverable this many days (7 is the minimum)
    soft_delete_retention_days: int = 7


class AcaKeyVault(pulumi.ComponentResource):
    """A Standard vault with Azure RBAC (no access policies).

    Secrets are written through ARM (a control-plane operation the deployer's
    Contributor/Owner role allows), so the deployer needs no data-plane role.
    `secret_urls` holds each secret's versionless URL, the form ACA's Key Vault
    references take (the app picks up a rotated value on its next revision restart).
    """

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    secret_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: AcaKeyVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_keyvault:AcaKeyVault", name, None, opts)
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            location=args.location,
            vault_name=args.vault_name,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": keyvault.SkuName.STANDARD},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": args.soft_delete_retention_days,
                "public_network_access": "Enabled",
            },
            opts=child_options(self, opts),
        )
        self.id = vault.id
        self.name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri or "")
        self.secret_urls = {}
        unknown = sorted(set(args.readers) - set(args.secrets))
        if unknown:
            raise ValueError(f"readers name secrets this vault does not hold: {unknown}")
        for secret_name, value in sorted(args.secrets.items()):
            secret = keyvault.Secret(
                f"{name}-{secret_name}",
                resource_group_name=args.resource_group_name,
                vault_name=vault.name,
                secret_name=secret_name,
                properties={"value": value.apply(pulumi.Output.secret)},
                opts=child_options(self, opts),
            )
            self.secret_urls[secret_name] = pulumi.Output.concat(
                self.vault_uri.apply(lambda uri: uri.rstrip("/")),
                "/secrets/",
                secret.name,
            )
            for grantee in args.readers.get(secret_name, ()):
                grant_role(
                    f"{name}-{grantee.label}-reads-{secret_name}",
                    subscription_id=args.subscription_id,
                    role=KEY_VAULT_SECRETS_USER,
                    # the secret's ARM id: RBAC on one secret (Key Vault allows this scope)
                    scope=pulumi.Output.concat(vault.id, "/secrets/", secret.name),
                    grantee=grantee,
                    parent=self,
                )
        self.register_outputs({"id": self.id, "name": self.name, "vaultUri": self.vault_uri})
