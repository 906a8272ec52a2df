"""One typed description of a Dapr component, independent of where it runs.

A stage builds :class:`DaprComponentSpec` values; a renderer turns them into the
platform's own shape (the Kubernetes ``Component`` CRD, the ACA ``DaprComponent``).
The component names stay the same on every stage, so the app never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

#: The names the app uses on every stage.
STATESTORE = "statestore"
PUBSUB = "pubsub"
SECRETSTORE = "secretstore"
#: the cron input binding that triggers the app's housekeeping sweep
SWEEP_BINDING = "sweep"
#: where daprd posts the binding's events (the app's /dapr/* routes answer only the sidecar)
SWEEP_ROUTE = "/dapr/bindings/sweep"
#: the sweep's period; the app's DACA_SWEEP_INTERVAL_SECONDS (300) matches it
SWEEP_SCHEDULE = "@every 5m"


@dataclass(frozen=True)
class SecretRef:
    """A metadata value held in a secret instead of in the component itself.

    On Kubernetes it is a ``secretKeyRef`` to key `key` of Secret `name`; on ACA, a
    ``secretRef`` to the app-environment secret `name` (`key` is not used there).
    """

    name: str
    key: str


@dataclass(frozen=True)
class DaprComponentSpec:
    """A Dapr component: what it is, how it is configured and who may use it."""

    #: the component name the app calls (`statestore`, `pubsub`, `secretstore`)
    name: str
    #: the Dapr component type, e.g. `state.redis`
    type: str
    #: the component's API version
    version: str = "v1"
    #: non-secret metadata; values may be Pulumi outputs
    metadata: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: metadata that holds a credential, by reference only
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    #: the app-ids allowed to load the component; never empty
    scopes: tuple[str, ...] = ()
    #: the secret store that resolves `secrets` (None: the platform's default)
    secret_store: str | None = None

    def __post_init__(self) -> None:
        if not self.scopes:
            raise ValueError(f"Dapr component {self.name!r} must be scoped to at least one app-id")
        clash = set(self.metadata) & set(self.secrets)
        if clash:
            raise ValueError(
                f"Dapr component {self.name!r}: {sorted(clash)} given both as plain and "
                "secret metadata"
            )


def sweep_binding(scopes: tuple[str, ...]) -> DaprComponentSpec:
    """The ``bindings.cron`` input binding that posts to the app's sweep route.

    It fires on every replica (the app claims each period once), and on Azure Container
    Apps not at all while the app is scaled to zero. No CronJob is needed beside it.
    """
    return DaprComponentSpec(
        name=SWEEP_BINDING,
        type="bindings.cron",
        metadata={"schedule": SWEEP_SCHEDULE, "route": SWEEP_ROUTE, "direction": "input"},
        scopes=scopes,
    )
