"""k3s on Ampere A1 VMs: one server and N agents as plain instances, booted by cloud-init."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_oci as oci
import pulumi_random as random
import pulumi_tls as tls

from infra.components.oci.cloud_init import (
    K3sAgentConfig,
    K3sServerConfig,
    encode_user_data,
    render_agent,
    render_server,
)
from infra.components.options import child_options
from infra.config.oci import A1_SHAPE, OciAgentsConfig, OciNodeConfig

#: the login user of Canonical's Ubuntu images
SSH_USER = "ubuntu"


@dataclass(frozen=True)
class K3sClusterArgs:
    #: the compartment of the instances
    compartment_id: pulumi.Input[str]
    #: the availability domain of every node (its full name)
    availability_domain: pulumi.Input[str]
    #: the other availability domains, named in the hint shown when A1 capacity runs out
    other_availability_domains: pulumi.Input[Sequence[str]]
    #: the nodes' subnet and network security groups
    subnet_id: pulumi.Input[str]
    nsg_ids: Sequence[pulumi.Input[str]]
    #: the aarch64 platform image
    image_id: pulumi.Input[str]
    #: the exact k3s release
    k3s_version: str
    #: the server's size
    server: OciNodeConfig
    #: the agents' count and size
    agents: OciAgentsConfig
    #: the public address clients reach the API on (a `tls-san` of its certificate)
    api_address: pulumi.Input[str]
    #: more OpenSSH public keys allowed to log in as `ubuntu` (the deploy key always is)
    ssh_public_keys: Sequence[pulumi.Input[str]] = ()
    #: give the nodes public addresses (False: private subnet behind a NAT gateway)
    public_ips: bool = True


class K3sCluster(pulumi.ComponentResource):
    """The k3s server and agents, their join tokens generated and kept secret.

    Instances ignore later changes to their image and cloud-init: both apply at first
    boot only, so a newer image in the lookup or an edited cloud-init must never
    silently replace a node and its boot volume (the cluster's state). Rebuild a node on
    purpose with `pulumi up --replace <urn>`.
    """

    server_id: pulumi.Output[str]
    server_private_ip: pulumi.Output[str]
    server_public_ip: pulumi.Output[str]
    #: every node's instance OCID, server first (the load balancer's backends)
    node_ids: pulumi.Output[list[str]]
    #: the deploy key (ED25519, generated, secret): what reads the kubeconfig over SSH
    ssh_private_key: pulumi.Output[str]

    def __init__(
        self, name: str, args: K3sClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:K3sCluster", name, None, opts)
        child = child_options(self, opts)
        deploy_key = tls.PrivateKey(f"{name}-deploy-key", algorithm="ED25519", opts=child)
        keys = [deploy_key.public_key_openssh, *args.ssh_public_keys]
        token = random.RandomPassword(f"{name}-token", length=48, special=False, opts=child)
        # agents hold only this one: a leaked agent cannot join as a server
        agent_token = random.RandomPassword(
            f"{name}-agent-token", length=48, special=False, opts=child
        )
        server_user_data = pulumi.Output.all(
            token.result, agent_token.result, args.api_address
        ).apply(
            lambda values: encode_user_data(
                render_server(
                    K3sServerConfig(
                        token=values[0],
                        agent_token=values[1],
                        tls_sans=(values[2],),
                        k3s_version=args.k3s_version,
                        node_labels=("daca.dev/role=server",),
                    )
                )
            )
        )
        server = self._instance(
            f"{name}-server", args, args.server, keys, pulumi.Output.secret(server_user_data), child
        )
        nodes = [server]
        for index in range(args.agents.count):
            agent_user_data = pulumi.Output.all(agent_token.result, server.private_ip).apply(
                lambda values: encode_user_data(
                    render_agent(
                        K3sAgentConfig(
                            token=values[0],
                            server_ip=values[1],
                            k3s_version=args.k3s_version,
                            node_labels=("daca.dev/role=agent",),
                        )
                    )
                )
            )
            nodes.append(
                self._instance(
                    f"{name}-agent-{index + 1}",
                    args,
                    args.agents,
                    keys,
                    pulumi.Output.secret(agent_user_data),
                    child,
                )
            )
        pulumi.Output.all(args.availability_domain, args.other_availability_domains).apply(
            lambda ads: pulumi.log.info(
                f"if Oracle answers 'Out of host capacity' for these A1 instances in {ads[0]}, "
                "A1 is full there for now: set daca:oci.availabilityDomain to another of "
                f"{', '.join(ads[1]) or 'none (this region has one)'} and run `pulumi up` "
                "again, or retry later",
                resource=server,
            )
        )
        self.server_id = server.id
        self.server_private_ip = server.private_ip
        self.server_public_ip = server.public_ip
        self.node_ids = pulumi.Output.all(*(node.id for node in nodes))
        self.ssh_private_key = pulumi.Output.secret(deploy_key.private_key_openssh)
        self.register_outputs(
            {
                "serverId": self.server_id,
                "serverPrivateIp": self.server_private_ip,
                "serverPublicIp": self.server_public_ip,
                "nodeIds": self.node_ids,
            }
        )

    def _instance(
        self,
        name: str,
        args: K3sClusterArgs,
        size: OciNodeConfig,
        ssh_keys: Sequence[pulumi.Input[str]],
        user_data: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> oci.core.Instance:
        authorized = pulumi.Output.all(*ssh_keys).apply(
            lambda values: "\n".join(str(v).strip() for v in values)
        )
        return oci.core.Instance(
            name,
            compartment_id=args.compartment_id,
            availability_domain=args.availability_domain,
            display_name=name,
            shape=A1_SHAPE,
            shape_config={"ocpus": size.ocpus, "memory_in_gbs": size.memory_gbs},
            source_details={
                "source_type": "image",
                "source_id": args.image_id,
                # pulumi-oci types this as a string
                "boot_volume_size_in_gbs": str(size.boot_volume_gbs),
            },
            create_vnic_details={
                "subnet_id": args.subnet_id,
                "assign_public_ip": "true" if args.public_ips else "false",
                "nsg_ids": list(args.nsg_ids),
                "hostname_label": name.replace("_", "-")[:63],
            },
            metadata={"ssh_authorized_keys": authorized, "user_data": user_data},
            instance_options={"are_legacy_imds_endpoints_disabled": True},
            availability_config={"recovery_action": "RESTORE_INSTANCE"},
            preserve_boot_volume=False,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    ignore_changes=["sourceDetails.sourceId", "metadata"],
                    additional_secret_outputs=["metadata"],
                ),
            ),
        )
