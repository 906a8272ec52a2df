"""The stage's one public address, reserved so it survives the load balancer."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_oci as oci

from infra.components.options import child_options


@dataclass(frozen=True)
class ReservedIpArgs:
    #: the compartment of the address
    compartment_id: pulumi.Input[str]


class ReservedIp(pulumi.ComponentResource):
    """A reserved public IPv4 address. It exists before the nodes, whose API certificate
    names it, and before the load balancer that carries it; it stays when either is
    replaced, so DNS names and kubeconfigs stay valid."""

    id: pulumi.Output[str]
    ip_address: pulumi.Output[str]

    def __init__(
        self, name: str, args: ReservedIpArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:ReservedIp", name, None, opts)
        address = oci.core.PublicIp(
            f"{name}-ip",
            compartment_id=args.compartment_id,
            lifetime="RESERVED",
            display_name=name,
            # the NLB attaches the address and OCI then reports a private IP on it: that
            # is the attachment, not a change to undo
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts), pulumi.ResourceOptions(ignore_changes=["privateIpId"])
            ),
        )
        self.id = address.id
        self.ip_address = address.ip_address
        self.register_outputs({"id": self.id, "ipAddress": self.ip_address})
