"""Traefik, the ingress controller k3s ships, installed from its official chart where a
cluster has none (AKS, an existing cluster): one controller and one set of Ingress
annotations on every cloud. (ingress-nginx was retired by its maintainers in 2026.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options

CHART_REPO = "https://traefik.github.io/charts"
#: chart 41.3.0 = Traefik v3.7.11; its values.yaml was read at that tag
CHART_VERSION = "41.3.0"


@dataclass(frozen=True)
class TraefikControllerArgs:
    #: the IngressClass it serves (Ingresses name it)
    ingress_class: str = "traefik"
    #: annotations of its LoadBalancer Service (e.g. Azure's static public IP by name)
    service_annotations: pulumi.Input[Mapping[str, str]] = field(default_factory=dict)
    namespace: str = "traefik"
    version: str = CHART_VERSION


class TraefikController(pulumi.ComponentResource):
    """The chart's Deployment behind a LoadBalancer Service, and its IngressClass (not the
    cluster default: our Ingresses name their class)."""

    ingress_class: pulumi.Output[str]

    def __init__(
        self, name: str, args: TraefikControllerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:TraefikController", name, None, opts)
        pinned_release(
            f"{name}-release",
            PinnedChart(
                release="traefik",
                repo=CHART_REPO,
                version=args.version,
                namespace=args.namespace,
                values={
                    "ingressClass": {
                        "enabled": True,
                        "isDefaultClass": False,
                        "name": args.ingress_class,
                    },
                    "providers": {"kubernetesIngress": {"enabled": True}},
                    "service": {
                        "annotations": args.service_annotations,
                        # keep the client's address (and skip a node hop)
                        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
                    },
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "64Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                },
            ),
            child_options(self, opts),
        )
        self.ingress_class = pulumi.Output.from_input(args.ingress_class)
        self.register_outputs({"ingressClass": self.ingress_class})
