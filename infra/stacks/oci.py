"""The `oci` stage: k3s on Always Free Ampere A1 VMs, then the shared Kubernetes platform.

network → image → nodes (cloud-init) → reserved IP + NLB → kubeconfig over SSH
        → provider → Dapr, Redis, components, agent, cert-manager + Ingress
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_oci as oci

from infra.components.app_image import AppImage, AppImageArgs, RegistryLogin
from infra.components.kubernetes.platform import (
    KubernetesPlatformArgs,
    PublicIngress,
    install_platform,
)
from infra.components.oci.images import node_image_id
from infra.components.oci.k3s_cluster import SSH_USER, K3sCluster, K3sClusterArgs
from infra.components.oci.kubeconfig import K3sKubeconfig, K3sKubeconfigArgs
from infra.components.oci.network import OciNetwork, OciNetworkArgs
from infra.components.oci.public_entry import Forward, PublicEntry, PublicEntryArgs
from infra.components.oci.registry import OcirRepository, OcirRepositoryArgs
from infra.components.oci.reserved_ip import ReservedIp, ReservedIpArgs
from infra.config import REPO_ROOT
from infra.config.oci import (
    OciAgentsConfig,
    OciImageConfig,
    OciNetworkConfig,
    OciNodeConfig,
    OciStackConfig,
)
from infra.stacks.common import app_environment

#: OCI's instance metadata service: it serves each node's cloud-init, join token included
INSTANCE_METADATA = "169.254.169.254/32"
#: k3s ships Traefik, exposed on every node's 80/443 by its ServiceLB
INGRESS_CLASS = "traefik"


def availability_domains(
    compartment_id: str, index: int, opts: pulumi.InvokeOutputOptions
) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
    """The chosen availability domain (1-based, by sorted name) and the others."""
    found = oci.identity.get_availability_domains_output(compartment_id=compartment_id, opts=opts)
    names = found.availability_domains.apply(lambda ads: sorted(str(ad.name) for ad in ads))

    def chosen(all_names: Sequence[str]) -> str:
        if index > len(all_names):
            raise ValueError(
                f"daca:oci.availabilityDomain: {index} is not allowed: this region has "
                f"{len(all_names)} availability domain(s): {', '.join(all_names)}"
            )
        return all_names[index - 1]

    return names.apply(chosen), names.apply(lambda all_names: [
        name for number, name in enumerate(all_names, 1) if number != index
    ])  # fmt: skip


def app_image(
    config: OciStackConfig, on_oci: pulumi.ResourceOptions, invoke: pulumi.InvokeOutputOptions
) -> tuple[pulumi.Input[str], RegistryLogin | None]:
    """`app.image` as given (it must be arm64), or built for arm64 and pushed to OCIR."""
    if config.app.image is not None:
        return config.app.image, None
    username, token = config.oci.registry.username, config.oci_auth_token
    if not (username and token):  # OciStackConfig.check_stage refuses this config
        raise ValueError("building the image needs daca:oci.registry.username and ociAuthToken")
    namespace = oci.objectstorage.get_namespace_output(
        compartment_id=config.oci.compartment_id, opts=invoke
    ).namespace
    repository = OcirRepository(
        "registry",
        OcirRepositoryArgs(
            compartment_id=config.oci.compartment_id,
            region=config.oci.region,
            namespace=namespace,
            repository=config.oci.registry.repository,
            username=username,
            auth_token=token,
        ),
        opts=on_oci,
    )
    image = AppImage(
        "agent-image",
        AppImageArgs(
            repository=repository.image_repository,
            context=REPO_ROOT,
            # Ampere A1 is aarch64, whatever machine builds the image
            platform="linux/arm64",
            registry=repository.login,
        ),
    )
    return image.ref, repository.login


@dataclass(frozen=True)
class K3sSite:
    """What a k3s cluster on OCI needs, whichever stage asks: the `oci` stage's own
    section, or one `planet` region's cluster entry."""

    region: str
    config_profile: str
    compartment_id: str
    availability_domain: int
    operator_cidr: str
    k3s_version: str
    image: OciImageConfig
    server: OciNodeConfig
    agents: OciAgentsConfig
    network: OciNetworkConfig
    ssh_public_key: str | None = None
    #: more sources allowed to the Kubernetes API (a Karmada hub's egress)
    api_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class K3sOnOci:
    """A running k3s cluster on OCI and how to reach it."""

    oci_options: pulumi.ResourceOptions
    invoke: pulumi.InvokeOutputOptions
    provider: k8s.Provider
    address: ReservedIp
    cluster: K3sCluster
    entry: PublicEntry
    kubeconfig: K3sKubeconfig
    ssh_host: pulumi.Output[str]


def _named(prefix: str, name: str) -> str:
    return f"{prefix}-{name}" if prefix else name


def k3s_on_oci(site: K3sSite, prefix: str = "") -> K3sOnOci:
    """Network, nodes, public entry and kubeconfig; the `kubernetes.Provider` on them.

    `prefix` starts every logical name (a planet region's name; empty for `oci`).
    """
    provider = oci.Provider(
        _named(prefix, "oci"), region=site.region, config_file_profile=site.config_profile
    )
    on_oci = pulumi.ResourceOptions(providers={"oci": provider})
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    compartment = site.compartment_id
    private = site.network.private_nodes

    network = OciNetwork(
        _named(prefix, "network"),
        OciNetworkArgs(
            compartment_id=compartment,
            vcn_cidr=site.network.vcn_cidr,
            public_subnet_cidr=site.network.public_subnet_cidr,
            private_subnet_cidr=site.network.private_subnet_cidr,
            operator_cidr=site.operator_cidr,
            private_nodes=private,
            api_sources=site.api_sources,
        ),
        opts=on_oci,
    )
    # the address exists before the nodes: the API certificate must name it
    address = ReservedIp(
        _named(prefix, "public-ip"), ReservedIpArgs(compartment_id=compartment), opts=on_oci
    )
    chosen_ad, other_ads = availability_domains(compartment, site.availability_domain, invoke)
    cluster = K3sCluster(
        _named(prefix, "k3s"),
        K3sClusterArgs(
            compartment_id=compartment,
            availability_domain=chosen_ad,
            other_availability_domains=other_ads,
            subnet_id=network.node_subnet_id,
            nsg_ids=[network.node_nsg_id],
            image_id=node_image_id(compartment, site.image, invoke),
            k3s_version=site.k3s_version,
            server=site.server,
            agents=site.agents,
            api_address=address.ip_address,
            ssh_public_keys=[site.ssh_public_key] if site.ssh_public_key else [],
            public_ips=not private,
        ),
        opts=on_oci,
    )
    entry = PublicEntry(
        _named(prefix, "entry"),
        PublicEntryArgs(
            compartment_id=compartment,
            subnet_id=network.public_subnet_id,
            nsg_ids=[network.load_balancer_nsg_id],
            public_ip_id=address.id,
            server_id=cluster.server_id,
            node_ids=cluster.node_ids,
            node_count=1 + site.agents.count,
            forwards=[
                Forward(80),
                Forward(443),
                Forward(6443, targets="server"),
                # private nodes have no address of their own: SSH goes through the NLB
                *([Forward(22, targets="server")] if private else []),
            ],
        ),
        opts=on_oci,
    )
    ssh_host = address.ip_address if private else cluster.server_public_ip
    kubeconfig = K3sKubeconfig(
        _named(prefix, "kubeconfig"),
        K3sKubeconfigArgs(
            ssh_host=ssh_host,
            ssh_private_key=cluster.ssh_private_key,
            api_address=address.ip_address,
            server_id=cluster.server_id,
            ssh_user=SSH_USER,
        ),
        # kubectl reaches the API through the load balancer's 6443 listener
        opts=pulumi.ResourceOptions(depends_on=[entry]),
    )
    k3s = k8s.Provider(
        prefix or "k3s",
        kubeconfig=kubeconfig.kubeconfig,
        delete_unreachable=True,
        # the kubeconfig is read again when the server is replaced; the cluster is the
        # same one until then, whatever else changes in the provider's configuration
        cluster_identifier=cluster.server_id,
    )
    return K3sOnOci(
        oci_options=on_oci,
        invoke=invoke,
        provider=k3s,
        address=address,
        cluster=cluster,
        entry=entry,
        kubeconfig=kubeconfig,
        ssh_host=ssh_host,
    )


def build(config: OciStackConfig) -> dict[str, pulumi.Input[object]]:
    """Register the oci stage's resources; return the stack outputs."""
    settings = config.oci
    site = k3s_on_oci(
        K3sSite(
            region=settings.region,
            config_profile=settings.config_profile,
            compartment_id=settings.compartment_id,
            availability_domain=settings.availability_domain,
            operator_cidr=settings.operator_cidr,
            k3s_version=settings.k3s_version,
            image=settings.image,
            server=settings.server,
            agents=settings.agents,
            network=settings.network,
            ssh_public_key=settings.ssh_public_key,
        )
    )
    on_oci, invoke, address, k3s = site.oci_options, site.invoke, site.address, site.provider
    image_ref, registry = app_image(config, on_oci, invoke)
    host = settings.ingress.host or pulumi.Output.concat(address.ip_address, ".sslip.io")
    platform = install_platform(
        KubernetesPlatformArgs(
            app=config.app,
            dapr=config.dapr,
            redis=config.redis,
            kafka=config.kafka,
            llm=config.llm,
            observability=config.observability,
            autoscaling=config.autoscaling,
            image=image_ref,
            env=app_environment(config),
            model_api_key=config.model_api_key,
            ingress=PublicIngress(
                host=host,
                ingress_class=INGRESS_CLASS,
                acme_server=settings.ingress.acme_server,
                acme_email=settings.ingress.acme_email,
            ),
            registry=registry,
            deny_egress_to=(INSTANCE_METADATA,),
        ),
        k3s,
    )
    outputs: dict[str, Any] = {
        "appUrl": pulumi.Output.concat("https://", host),
        "publicIp": address.ip_address,
        "kubeconfig": site.kubeconfig.kubeconfig,
        "sshCommand": pulumi.Output.concat(
            "pulumi stack output sshPrivateKey --show-secrets > daca-oci.key && "
            "chmod 600 daca-oci.key && ssh -i daca-oci.key ",
            SSH_USER,
            "@",
            site.ssh_host,
        ),
        "sshPrivateKey": site.cluster.ssh_private_key,
        "namespace": platform.namespace.name,
        "image": image_ref,
        "daprVersion": platform.dapr.version,
        "loadBalancerId": site.entry.load_balancer_id,
        # bearer keys for /v1 (secret: `pulumi stack output apiKey --show-secrets`)
        "apiKey": platform.api_keys.user_key,
        "reviewerKey": platform.api_keys.reviewer_key,
    }
    if platform.observability is not None:
        outputs["grafanaAdminPassword"] = platform.observability.grafana_admin_password
    return outputs
