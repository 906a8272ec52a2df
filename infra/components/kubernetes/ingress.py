"""The app's public HTTPS entry: an Ingress with a Let's Encrypt certificate, API paths only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import standard_labels
from infra.components.options import child_options

#: what the internet may reach: the API, the probes, the API's own description. Not
#: `/metrics` (scraped inside the cluster) and not `/dapr/*` (only the sidecar calls it).
PUBLIC_PATHS: tuple[tuple[str, str], ...] = (
    ("/v1", "Prefix"),
    ("/healthz", "Exact"),
    ("/readyz", "Exact"),
    ("/docs", "Exact"),
    ("/openapi.json", "Exact"),
)
#: the port cert-manager's HTTP-01 solver pods listen on
ACME_SOLVER_PORT = 8089


@dataclass(frozen=True)
class AppIngressArgs:
    #: the app-id (the Service's name)
    app_id: str
    #: the app's namespace
    namespace: pulumi.Input[str]
    #: the public host name
    host: pulumi.Input[str]
    #: the ingress controller's class (k3s ships Traefik)
    ingress_class: str
    #: the cert-manager ClusterIssuer that signs the certificate
    cluster_issuer: pulumi.Input[str]


def ingress_spec(args: AppIngressArgs) -> dict[str, Any]:
    backend = {"service": {"name": args.app_id, "port": {"name": "http"}}}
    return {
        "ingressClassName": args.ingress_class,
        "tls": [{"hosts": [args.host], "secretName": f"{args.app_id}-tls"}],
        "rules": [
            {
                "host": args.host,
                "http": {
                    "paths": [
                        {"path": path, "pathType": kind, "backend": backend}
                        for path, kind in PUBLIC_PATHS
                    ]
                },
            }
        ],
    }


class AppIngress(pulumi.ComponentResource):
    """HTTPS only (Traefik's `websecure` entry point), certificate by cert-manager, and the
    NetworkPolicy that lets the ACME HTTP-01 solver answer in the default-deny namespace."""

    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppIngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:AppIngress", name, None, opts)
        child = child_options(self, opts)
        labels = standard_labels(args.app_id, "ingress")
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                "name": args.app_id,
                "namespace": args.namespace,
                "labels": labels,
                "annotations": {
                    "cert-manager.io/cluster-issuer": args.cluster_issuer,
                    # no plain-HTTP route to the app: HTTPS only
                    "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
                    "traefik.ingress.kubernetes.io/router.tls": "true",
                },
            },
            spec=ingress_spec(args),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-acme-solver",
            metadata={"name": "acme-http01-solver", "namespace": args.namespace, "labels": labels},
            spec={
                "podSelector": {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}]}],
            },
            opts=child,
        )
        self.url = pulumi.Output.concat("https://", args.host)
        self.register_outputs({"url": self.url})
