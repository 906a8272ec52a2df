"""The Dapr control plane, from its official Helm chart at a pinned version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options

CHART_REPO = "https://dapr.github.io/helm-charts/"
# The CRDs of a Dapr release; Helm installs a chart's CRDs once and never upgrades
# them, so this component owns them instead, at the chart's own version.
CRD_FILES = ("components", "configuration", "subscription", "resiliency", "httpendpoints")
#: CRDs a release added to charts/dapr/crds (read at the tags): from 1.18.0 on, MCP servers
#: and workflow access policies; a control plane without them lacks those kinds
CRDS_SINCE: tuple[tuple[tuple[int, int, int], tuple[str, ...]], ...] = (
    ((1, 18, 0), ("mcpservers", "workflowaccesspolicy")),
)


def crd_files(version: str) -> list[str]:
    """The CRD files of Dapr release `version`'s chart."""
    release = tuple(int(part) for part in version.split("."))
    files = list(CRD_FILES)
    for since, added in CRDS_SINCE:
        if release >= since:
            files.extend(added)
    return files


def crd_urls(version: str) -> list[str]:
    base = f"https://raw.githubusercontent.com/dapr/dapr/v{version}/charts/dapr/crds"
    return [f"{base}/{crd}.yaml" for crd in crd_files(version)]


@dataclass(frozen=True)
class DaprRuntimeArgs:
    #: the exact Dapr chart (and runtime) version
    version: str
    #: where the control plane runs
    namespace: str = "dapr-system"
    #: three replicas of each control-plane service
    high_availability: bool = False
    #: extra chart values, merged over the defaults below
    values: dict[str, Any] = field(default_factory=dict)


class DaprRuntime(pulumi.ComponentResource):
    """Dapr's CRDs and control plane (operator, sentry, placement, injector, scheduler)."""

    namespace: pulumi.Output[str]
    version: pulumi.Output[str]

    def __init__(
        self, name: str, args: DaprRuntimeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:dapr:DaprRuntime", name, None, opts)
        crds = k8s.yaml.v2.ConfigGroup(
            f"{name}-crds",
            files=crd_urls(args.version),
            opts=child_options(self, opts),
        )
        values: dict[str, Any] = {
            "global": {
                # the chart renders these into the `daprsystem` Configuration, which is
                # where Dapr on Kubernetes reads mTLS from (not the app's Configuration)
                "mtls": {"enabled": True, "workloadCertTTL": "24h", "allowedClockSkew": "15m"},
                "ha": {"enabled": args.high_availability},
                "logAsJson": True,
                "prometheus": {"enabled": True},
            },
        }
        values.update(args.values)
        release = pinned_release(
            f"{name}-release",
            PinnedChart(
                release="dapr",
                repo=CHART_REPO,
                version=args.version,
                namespace=args.namespace,
                values=values,
                skip_crds=True,
            ),
            child_options(self, opts, depends_on=[crds]),
        )
        self.namespace = release.namespace.apply(lambda ns: ns or args.namespace)
        self.version = pulumi.Output.from_input(args.version)
        self.register_outputs({"namespace": self.namespace, "version": self.version})
