"""The oci stage's public entry: the Always Free Network Load Balancer on the reserved IP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_oci as oci

from infra.components.oci.network import PORT_NAMES
from infra.components.options import child_options


@dataclass(frozen=True)
class Forward:
    """One listener: TCP `port` on the public address to the same port on `targets`."""

    port: int
    #: "nodes": every node (the ingress controller listens on all of them);
    #: "server": the k3s server only (the API, SSH)
    targets: str = "nodes"


@dataclass(frozen=True)
class PublicEntryArgs:
    #: the compartment of the IP and the load balancer
    compartment_id: pulumi.Input[str]
    #: the public subnet the load balancer sits in
    subnet_id: pulumi.Input[str]
    #: the reserved public IP the load balancer carries
    public_ip_id: pulumi.Input[str]
    #: NSGs of the load balancer (where each listener's allowed sources live)
    nsg_ids: Sequence[pulumi.Input[str]]
    #: the k3s server's instance OCID
    server_id: pulumi.Input[str]
    #: every node's instance OCID, the server included
    node_ids: pulumi.Input[Sequence[str]]
    #: the node count (backends are registered per node, so it must be known here)
    node_count: int
    #: the listeners
    forwards: Sequence[Forward]


def _nth(index: int) -> Callable[[Sequence[str]], str]:
    return lambda values: values[index]


class PublicEntry(pulumi.ComponentResource):
    """One Network Load Balancer on the reserved IP, forwarding TCP to the nodes.

    OCI answers 409 to concurrent changes on one load balancer, so every backend set,
    backend and listener waits for the one before it.
    """

    load_balancer_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: PublicEntryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:PublicEntry", name, None, opts)
        child = child_options(self, opts)
        balancer = oci.networkloadbalancer.NetworkLoadBalancer(
            f"{name}-nlb",
            compartment_id=args.compartment_id,
            display_name=f"{name}-nlb",
            subnet_id=args.subnet_id,
            is_private=False,
            reserved_ips=[{"id": args.public_ip_id}],
            network_security_group_ids=list(args.nsg_ids),
            # no transparent mode: the NLB forwards to backends as a plain proxy would;
            # each backend set keeps the client's source address instead (below)
            is_preserve_source_destination=False,
            nlb_ip_version="IPV4",
            opts=child,
        )
        previous: pulumi.Resource = balancer
        for forward in args.forwards:
            previous = self._forward(name, forward, args, balancer, previous, child)
        self.load_balancer_id = balancer.id
        self.register_outputs({"loadBalancerId": self.load_balancer_id})

    def _forward(
        self,
        name: str,
        forward: Forward,
        args: PublicEntryArgs,
        balancer: oci.networkloadbalancer.NetworkLoadBalancer,
        previous: pulumi.Resource,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        """Backend set, its backends, then the listener; returns the last one registered."""
        label = PORT_NAMES.get(forward.port, str(forward.port))

        def after(resource: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[resource])
            )

        backend_set = oci.networkloadbalancer.BackendSet(
            f"{name}-{label}-backends",
            network_load_balancer_id=balancer.id,
            name=label,
            policy="FIVE_TUPLE",
            # the API keeps the client's address (the nodes' NSG filters on it); HTTP(S)
            # does not: cert-manager's HTTP-01 self-check reaches the host from a node,
            # and with the source kept, a reply to a node that is its own backend never
            # returns (hairpin). The nodes admit the load balancer from the VCN.
            is_preserve_source=forward.targets == "server",
            health_checker={
                "protocol": "TCP",
                "port": forward.port,
                "interval_in_millis": 10000,
                "timeout_in_millis": 3000,
                "retries": 3,
            },
            opts=after(previous),
        )
        previous = backend_set
        targets: list[pulumi.Input[str]]
        if forward.targets == "server":
            targets = [args.server_id]
        else:
            node_ids = pulumi.Output.from_input(args.node_ids)
            targets = [node_ids.apply(_nth(i)) for i in range(args.node_count)]
        for index, target in enumerate(targets):
            previous = oci.networkloadbalancer.Backend(
                f"{name}-{label}-backend-{index}",
                network_load_balancer_id=balancer.id,
                backend_set_name=backend_set.name,
                target_id=target,
                port=forward.port,
                opts=after(previous),
            )
        return oci.networkloadbalancer.Listener(
            f"{name}-{label}-listener",
            network_load_balancer_id=balancer.id,
            name=label,
            default_backend_set_name=backend_set.name,
            port=forward.port,
            protocol="TCP",
            opts=after(previous),
        )
