"""The namespace the app and its backing services live in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import PART_OF
from infra.components.options import child_options


@dataclass(frozen=True)
class AppNamespaceArgs:
    #: the namespace name
    name: str
    #: the Pod Security Standard enforced; `restricted` is warned and audited always
    enforce: str = "baseline"
    #: addresses the namespace's pods may never reach (e.g. a cloud's instance metadata
    #: service, which serves the node's cloud-init and so the cluster's join token)
    deny_egress_to: tuple[str, ...] = ()
    #: more labels on the namespace (e.g. Karmada's skip-auto-propagation)
    extra_labels: Mapping[str, str] = field(default_factory=dict)


class AppNamespace(pulumi.ComponentResource):
    """A namespace with Pod Security labels and a default-deny ingress policy.

    Workloads open only the ports they serve with their own NetworkPolicies.
    """

    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:AppNamespace", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": args.name,
                "labels": {
                    "app.kubernetes.io/part-of": PART_OF,
                    # the Dapr sidecar is not guaranteed `restricted`-clean on every
                    # version: enforce `baseline`, and report `restricted` gaps
                    "pod-security.kubernetes.io/enforce": args.enforce,
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                    **args.extra_labels,
                },
            },
            opts=child_options(self, opts),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": "default-deny-ingress", "namespace": namespace.metadata.name},
            spec={"podSelector": {}, "policyTypes": ["Ingress"]},
            opts=child_options(self, opts),
        )
        if args.deny_egress_to:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-deny-egress",
                metadata={"name": "deny-metadata-egress", "namespace": namespace.metadata.name},
                spec={
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        # everything in the cluster, and everywhere else but these addresses
                        {"to": [{"namespaceSelector": {}}]},
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": "0.0.0.0/0",
                                        "except": list(args.deny_egress_to),
                                    }
                                }
                            ]
                        },
                    ],
                },
                opts=child_options(self, opts),
            )
        self.name = namespace.metadata.name
        self.register_outputs({"name": self.name})
