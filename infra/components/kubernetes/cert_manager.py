"""cert-manager (official chart, pinned) and a Let's Encrypt ClusterIssuer solving HTTP-01."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options

CHART_REPO = "https://charts.jetstack.io"
#: the chart and app version (cert-manager publishes them together)
CHART_VERSION = "v1.19.1"


def crds_url(version: str) -> str:
    """cert-manager's CRDs as each release publishes them (its install docs' URL)."""
    return (
        "https://github.com/cert-manager/cert-manager/releases/download/"
        f"{version}/cert-manager.crds.yaml"
    )


ACME_SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


@dataclass(frozen=True)
class CertManagerArgs:
    #: the ingress class whose controller serves the HTTP-01 challenges
    ingress_class: str
    #: Let's Encrypt's production or staging directory
    acme_server: Literal["production", "staging"] = "production"
    #: the ACME account's email (expiry notices); optional
    acme_email: str | None = None
    #: where cert-manager runs
    namespace: str = "cert-manager"
    version: str = CHART_VERSION


def _sizes(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    """A container's requests and limits (the chart sets neither)."""
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def cluster_issuer(name: str, args: CertManagerArgs) -> dict[str, Any]:
    """The ClusterIssuer's `spec` (cert-manager.io/v1)."""
    acme: dict[str, Any] = {
        "server": ACME_SERVERS[args.acme_server],
        "privateKeySecretRef": {"name": f"{name}-account-key"},
        "solvers": [{"http01": {"ingress": {"ingressClassName": args.ingress_class}}}],
    }
    if args.acme_email:
        acme["email"] = args.acme_email
    return {"acme": acme}


class CertManager(pulumi.ComponentResource):
    """The controller with its CRDs (the chart's `crds.enabled`, kept on uninstall), and one
    ClusterIssuer; `issuer` is what an Ingress names in `cert-manager.io/cluster-issuer`."""

    issuer: pulumi.Output[str]

    def __init__(
        self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:CertManager", name, None, opts)
        # the CRDs are ours, not the chart's (as Dapr's are): the engine then knows the
        # ClusterIssuer kind at preview, even on a reachable cluster without cert-manager
        crds = k8s.yaml.v2.ConfigGroup(
            f"{name}-crds", files=[crds_url(args.version)], opts=child_options(self, opts)
        )
        release = pinned_release(
            f"{name}-release",
            PinnedChart(
                release="cert-manager",
                repo=CHART_REPO,
                version=args.version,
                namespace=args.namespace,
                values={
                    "crds": {"enabled": False},
                    "resources": _sizes("10m", "64Mi", "200m", "256Mi"),
                    "webhook": {"resources": _sizes("10m", "32Mi", "100m", "128Mi")},
                    "cainjector": {"resources": _sizes("10m", "64Mi", "100m", "256Mi")},
                },
            ),
            child_options(self, opts, depends_on=[crds]),
        )
        issuer_name = f"letsencrypt-{args.acme_server}"
        k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": issuer_name},
            spec=cluster_issuer(issuer_name, args),
            opts=child_options(self, opts, depends_on=[crds, release]),
        )
        self.issuer = pulumi.Output.from_input(issuer_name)
        self.register_outputs({"issuer": self.issuer})
