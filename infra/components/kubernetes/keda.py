"""KEDA, the event-driven autoscaler, from its official chart (kedacore/charts `keda`).

KEDA turns each `ScaledObject` into an HPA of its own (`keda-hpa-<name>`) fed by its
metrics server (the cluster's `external.metrics.k8s.io` API), so it must run in the
cluster where the scaled pods run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options

CHART_REPO = "https://kedacore.github.io/charts"
#: chart 2.20.2 = KEDA 2.20.2 (its appVersion); values.yaml and the CRDs
#: (templates/crds/) were read at kedacore/charts tag v2.20.2
CHART_VERSION = "2.20.2"
NAMESPACE = "keda"


def _resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> Any:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


#: the chart asks 100m/100Mi and allows 1 CPU/1000Mi for each of its three pods; a few
#: ScaledObjects on a small cluster need far less (the operator caches the most)
RESOURCES = {
    "operator": _resources("50m", "96Mi", "500m", "512Mi"),
    "metricServer": _resources("20m", "64Mi", "500m", "256Mi"),
    "webhooks": _resources("10m", "32Mi", "200m", "128Mi"),
}
_NON_ROOT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def chart_values() -> dict[str, Any]:
    """Our values over the chart's: CRDs with the chart, small requests, non-root pods,
    images pulled once (the chart pins their tags to its appVersion)."""
    return {
        # the ScaledObject/TriggerAuthentication CRDs come with the release; objects of
        # those kinds wait for it (dependsOn)
        "crds": {"install": True},
        "image": {"pullPolicy": "IfNotPresent"},
        "resources": RESOURCES,
        "podSecurityContext": dict.fromkeys(RESOURCES, _NON_ROOT),
        "securityContext": dict.fromkeys(RESOURCES, _CONTAINER),
        # the admission webhook refuses a ScaledObject whose target another HPA scales
        "webhooks": {"enabled": True},
    }


@dataclass(frozen=True)
class KedaArgs:
    namespace: str = NAMESPACE
    version: str = CHART_VERSION


class Keda(pulumi.ComponentResource):
    """The KEDA operator, its metrics API server and admission webhooks, with KEDA's CRDs;
    `release` is what ScaledObjects must wait for."""

    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: KedaArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:Keda", name, None, opts)
        args = args or KedaArgs()
        self.release = pinned_release(
            f"{name}-release",
            PinnedChart(
                release="keda",
                repo=CHART_REPO,
                version=args.version,
                namespace=args.namespace,
                values=chart_values(),
            ),
            child_options(self, opts),
        )
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs({"namespace": self.namespace})
