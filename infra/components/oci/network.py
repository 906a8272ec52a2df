"""The oci stage's network: a VCN of its own, closed by default, opened port by port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_oci as oci

from infra.components.options import child_options

TCP, ALL = "6", "all"
ANYWHERE = "0.0.0.0/0"
#: what the Network Load Balancer forwards from the internet (the ingress controller)
PUBLIC_PORTS = (80, 443)
#: what only the operator may reach
ADMIN_PORTS = (22, 6443)


@dataclass(frozen=True)
class OciNetworkArgs:
    #: the compartment every resource goes into
    compartment_id: pulumi.Input[str]
    #: the VCN's address range
    vcn_cidr: str
    #: the subnet of the load balancer (and of the nodes, unless `private_nodes`)
    public_subnet_cidr: str
    #: the nodes' subnet when `private_nodes`
    private_subnet_cidr: str
    #: the one source allowed to reach SSH and the Kubernetes API
    operator_cidr: str
    #: more sources for the Kubernetes API only (e.g. a Karmada hub's egress, which pushes
    #: to this cluster's API); never SSH
    api_sources: tuple[str, ...] = ()
    #: nodes without public addresses, behind a NAT gateway (not Always Free)
    private_nodes: bool = False


@dataclass(frozen=True)
class IngressRule:
    """One NSG ingress rule: TCP to `port` (or every protocol when `port` is None)."""

    source: str
    description: str
    port: int | None = None


PORT_NAMES = {22: "ssh", 80: "http", 443: "https", 6443: "kube-api"}


def node_rules(
    vcn_cidr: str, operator_cidr: str, api_sources: Sequence[str] = ()
) -> dict[str, IngressRule]:
    """The nodes' NSG: everything inside the VCN (k3s, flannel VXLAN, kubelet, and the
    load balancer, which forwards HTTP(S) from its own address), and the admin ports from
    the operator only (the API's backend set keeps the client's address). No web port is
    open to the world on a node: the internet comes in through the load balancer."""
    rules = {"vcn": IngressRule(vcn_cidr, "nodes and the load balancer inside the VCN")}
    for port in ADMIN_PORTS:
        rules[PORT_NAMES[port]] = IngressRule(operator_cidr, "operator only", port)
    rules.update(_api_source_rules(api_sources))
    return rules


def _api_source_rules(api_sources: Sequence[str]) -> dict[str, IngressRule]:
    return {
        f"kube-api-source-{index}": IngressRule(source, "Kubernetes API for a named source", 6443)
        for index, source in enumerate(api_sources)
    }


def load_balancer_rules(
    operator_cidr: str, admin_ports: Sequence[int], api_sources: Sequence[str] = ()
) -> dict[str, IngressRule]:
    """The load balancer's NSG: HTTP(S) from anywhere, its admin listeners from the operator."""
    rules = {
        PORT_NAMES[port]: IngressRule(ANYWHERE, "HTTP(S) from the internet", port)
        for port in PUBLIC_PORTS
    }
    for port in admin_ports:
        rules[PORT_NAMES[port]] = IngressRule(operator_cidr, "operator only", port)
    rules.update(_api_source_rules(api_sources))
    return rules


class OciNetwork(pulumi.ComponentResource):
    """VCN, internet gateway, route tables, our own security list, subnets and NSGs.

    The VCN's default security list (which opens SSH to the internet) is attached to no
    subnet: ours allows only traffic inside the VCN plus path-MTU discovery; every port
    opened to the outside is an NSG rule with its source.
    """

    vcn_id: pulumi.Output[str]
    #: where the Network Load Balancer lives (always public)
    public_subnet_id: pulumi.Output[str]
    #: where the nodes live (the public subnet unless `private_nodes`)
    node_subnet_id: pulumi.Output[str]
    node_nsg_id: pulumi.Output[str]
    load_balancer_nsg_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: OciNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:OciNetwork", name, None, opts)
        child = child_options(self, opts)
        compartment = args.compartment_id
        vcn = oci.core.Vcn(
            f"{name}-vcn",
            compartment_id=compartment,
            cidr_blocks=[args.vcn_cidr],
            display_name=f"{name}-vcn",
            dns_label="daca",
            opts=child,
        )
        gateway = oci.core.InternetGateway(
            f"{name}-igw",
            compartment_id=compartment,
            vcn_id=vcn.id,
            enabled=True,
            display_name=f"{name}-igw",
            opts=child,
        )
        security_list = self._security_list(name, args, vcn, child)
        public_subnet = self._subnet(
            name, "public", args.public_subnet_cidr, args, vcn, security_list,
            self._routes(name, "public", args, vcn, gateway.id, child), public=True, opts=child,
        )  # fmt: skip
        node_subnet = public_subnet
        if args.private_nodes:
            nat = oci.core.NatGateway(
                f"{name}-nat",
                compartment_id=compartment,
                vcn_id=vcn.id,
                display_name=f"{name}-nat",
                opts=child,
            )
            node_subnet = self._subnet(
                name, "private", args.private_subnet_cidr, args, vcn, security_list,
                self._routes(name, "private", args, vcn, nat.id, child), public=False, opts=child,
            )  # fmt: skip
        admin_ports = (22, 6443) if args.private_nodes else (6443,)
        node_nsg = self._nsg(
            name,
            "nodes",
            args,
            vcn,
            node_rules(args.vcn_cidr, args.operator_cidr, args.api_sources),
            child,
        )
        lb_nsg = self._nsg(
            name,
            "lb",
            args,
            vcn,
            load_balancer_rules(args.operator_cidr, admin_ports, args.api_sources),
            child,
        )
        self.vcn_id = vcn.id
        self.public_subnet_id = public_subnet.id
        self.node_subnet_id = node_subnet.id
        self.node_nsg_id = node_nsg.id
        self.load_balancer_nsg_id = lb_nsg.id
        self.register_outputs(
            {
                "vcnId": self.vcn_id,
                "publicSubnetId": self.public_subnet_id,
                "nodeSubnetId": self.node_subnet_id,
                "nodeNsgId": self.node_nsg_id,
                "loadBalancerNsgId": self.load_balancer_nsg_id,
            }
        )

    def _security_list(
        self, name: str, args: OciNetworkArgs, vcn: oci.core.Vcn, child: pulumi.ResourceOptions
    ) -> oci.core.SecurityList:
        return oci.core.SecurityList(
            f"{name}-security-list",
            compartment_id=args.compartment_id,
            vcn_id=vcn.id,
            display_name=f"{name}-security-list",
            egress_security_rules=[{"protocol": ALL, "destination": ANYWHERE}],
            ingress_security_rules=[
                {"protocol": ALL, "source": args.vcn_cidr, "description": "inside the VCN"},
                # ICMP 3/4 "fragmentation needed": without it path-MTU discovery breaks
                {"protocol": "1", "source": ANYWHERE, "icmp_options": {"type": 3, "code": 4}},
            ],
            opts=child,
        )

    def _routes(
        self,
        name: str,
        kind: str,
        args: OciNetworkArgs,
        vcn: oci.core.Vcn,
        gateway_id: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> oci.core.RouteTable:
        return oci.core.RouteTable(
            f"{name}-{kind}-routes",
            compartment_id=args.compartment_id,
            vcn_id=vcn.id,
            display_name=f"{name}-{kind}-routes",
            route_rules=[
                {
                    "network_entity_id": gateway_id,
                    "destination": ANYWHERE,
                    "destination_type": "CIDR_BLOCK",
                }
            ],
            opts=child,
        )

    def _subnet(
        self,
        name: str,
        kind: str,
        cidr: str,
        args: OciNetworkArgs,
        vcn: oci.core.Vcn,
        security_list: oci.core.SecurityList,
        routes: oci.core.RouteTable,
        public: bool,
        opts: pulumi.ResourceOptions,
    ) -> oci.core.Subnet:
        return oci.core.Subnet(
            f"{name}-{kind}-subnet",
            compartment_id=args.compartment_id,
            vcn_id=vcn.id,
            cidr_block=cidr,
            display_name=f"{name}-{kind}",
            dns_label=kind,
            route_table_id=routes.id,
            security_list_ids=[security_list.id],
            prohibit_public_ip_on_vnic=not public,
            opts=opts,
        )

    def _nsg(
        self,
        name: str,
        kind: str,
        args: OciNetworkArgs,
        vcn: oci.core.Vcn,
        rules: dict[str, IngressRule],
        child: pulumi.ResourceOptions,
    ) -> oci.core.NetworkSecurityGroup:
        nsg = oci.core.NetworkSecurityGroup(
            f"{name}-{kind}-nsg",
            compartment_id=args.compartment_id,
            vcn_id=vcn.id,
            display_name=f"{name}-{kind}",
            opts=child,
        )
        # named by purpose, so adding or removing one rule never replaces another
        for key, rule in rules.items():
            oci.core.NetworkSecurityGroupSecurityRule(
                f"{name}-{kind}-{key}",
                network_security_group_id=nsg.id,
                direction="INGRESS",
                protocol=ALL if rule.port is None else TCP,
                source=rule.source,
                source_type="CIDR_BLOCK",
                stateless=False,
                description=rule.description,
                tcp_options=(
                    None
                    if rule.port is None
                    else {"destination_port_range": {"min": rule.port, "max": rule.port}}
                ),
                opts=child,
            )
        return nsg
