"""Render Dapr specs to Azure Container Apps ``DaprComponent`` arguments.

ACA's format differs from the Kubernetes CRD: the type is ``componentType``, a
credential is a ``secretRef`` to a secret of the component (or, with
``secretStoreComponent``, a secret name in that Dapr secret store), and ``scopes``
is a property of the component itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_azure_native.app as app

from infra.dapr.spec import DaprComponentSpec


@dataclass(frozen=True)
class AcaComponentArgs:
    """What a spec becomes on ACA: the `app.DaprComponent` properties that depend on it."""

    component_name: str
    component_type: str
    version: str
    metadata: list[app.DaprMetadataArgsDict]
    scopes: list[str]
    secret_store_component: str | None
    ignore_errors: bool
    init_timeout: str


def render_aca_component(spec: DaprComponentSpec, init_timeout: str = "30s") -> AcaComponentArgs:
    """The ACA shape of `spec`: credentials only as `secretRef`, never a value.

    A spec's `SecretRef.name` names the secret: in the store named by
    `spec.secret_store` when one is set (`secretStoreComponent`), else among the
    component's own Key Vault-referenced secrets.
    """
    metadata: list[app.DaprMetadataArgsDict] = [
        {"name": key, "value": value} for key, value in sorted(spec.metadata.items())
    ]
    metadata += [{"name": key, "secret_ref": ref.name} for key, ref in sorted(spec.secrets.items())]
    return AcaComponentArgs(
        component_name=spec.name,
        component_type=spec.type,
        version=spec.version,
        metadata=metadata,
        scopes=list(spec.scopes),
        secret_store_component=spec.secret_store if spec.secrets else None,
        # a component that fails to load must stop the sidecar, not degrade silently
        ignore_errors=False,
        init_timeout=init_timeout,
    )
