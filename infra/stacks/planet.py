"""The `planet` stage: the shared platform in every region, one global front door.

    for each region: its cluster (AKS | k3s on OCI | an existing one) → its provider
        pulumi mode:  the whole platform on it (Dapr, Redis, components, app, ingress)
        karmada mode: the platform minus the app; the app once to Karmada on the hub
    Azure Front Door: one origin per active region, the route after every origin

Every logical name starts with its region's name, so adding or removing a region never
renames another region's resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.provider as azure_provider
import pulumi_azure_native.resources as resources
import pulumi_kubernetes as k8s
import yaml

from infra.components.api_keys import ApiKeys
from infra.components.azure.aks_cluster import AksCluster, AksClusterArgs
from infra.components.azure.front_door import FrontDoor, FrontDoorArgs, FrontDoorOrigin
from infra.components.kubernetes.app_namespace import AppNamespace, AppNamespaceArgs
from infra.components.kubernetes.kafka_mirror import KafkaMirror, KafkaMirrorArgs, MirrorSource
from infra.components.kubernetes.karmada import KarmadaControlPlane, KarmadaControlPlaneArgs
from infra.components.kubernetes.karmada_member import KarmadaMember, KarmadaMemberArgs
from infra.components.kubernetes.karmada_policies import (
    KarmadaAppPolicies,
    KarmadaAppPoliciesArgs,
)
from infra.components.kubernetes.platform import (
    KubernetesPlatform,
    KubernetesPlatformArgs,
    PublicIngress,
    agent_workload,
    install_platform,
)
from infra.components.kubernetes.thanos import (
    DISCOVERY_SERVICE,
    SIDECAR_GRPC_PORT,
    GlobalView,
    ThanosAuthority,
)
from infra.components.kubernetes.thanos_query import ThanosQuery, ThanosQueryArgs
from infra.config.oci import OciNetworkConfig
from infra.config.planet import (
    AksClusterConfig,
    KubeconfigClusterConfig,
    OciClusterConfig,
    PlanetStackConfig,
    RegionConfig,
)
from infra.stacks.aca import azure_label
from infra.stacks.common import app_environment
from infra.stacks.oci import INGRESS_CLASS, INSTANCE_METADATA, K3sSite, k3s_on_oci


@dataclass(frozen=True)
class AzureScope:
    """The Azure provider, the deployer, and the global resource group."""

    options: pulumi.ResourceOptions
    subscription_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    prefix: str
    stack: str


@dataclass(frozen=True)
class RegionCluster:
    """A region's cluster, as the platform sees it."""

    provider: k8s.Provider
    #: the region's public host name (its ingress controller's address)
    host: pulumi.Input[str]
    kubeconfig: pulumi.Output[str]
    ingress_class: str
    #: install Traefik with these Service annotations; None: the cluster has one
    controller: pulumi.Input[Mapping[str, str]] | None
    #: addresses the app's pods may never reach
    deny_egress_to: tuple[str, ...] = ()


def azure_scope(config: PlanetStackConfig) -> AzureScope:
    azure = config.planet.azure
    provider = azure_provider.Provider("azure", subscription_id=azure.subscription_id or None)
    options = pulumi.ResourceOptions(providers={"azure-native": provider})
    client = authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    stack = azure_label(pulumi.get_stack())
    group = resources.ResourceGroup(
        "global-rg",
        resource_group_name=f"{azure.name_prefix}-{stack}-global-rg",
        location=azure.location,
        opts=options,
    )
    return AzureScope(
        options=options,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        object_id=client.object_id,
        resource_group_name=group.name,
        prefix=azure.name_prefix,
        stack=stack,
    )


def aks_region(name: str, cluster: AksClusterConfig, scope: AzureScope) -> RegionCluster:
    group = resources.ResourceGroup(
        f"{name}-rg",
        resource_group_name=f"{scope.prefix}-{scope.stack}-{name}-rg",
        location=cluster.location,
        opts=scope.options,
    )
    aks = AksCluster(
        f"{name}-aks",
        AksClusterArgs(
            resource_group_name=group.name,
            location=cluster.location,
            cluster_name=f"{scope.prefix}-{scope.stack}-{name}",
            subscription_id=scope.subscription_id,
            tenant_id=scope.tenant_id,
            deployer_object_id=scope.object_id,
            dns_label=f"{scope.prefix}-{scope.stack}-{name}"[:63],
            kubernetes_version=cluster.kubernetes_version,
            node_vm_size=cluster.node_vm_size,
            node_count=cluster.node_count,
            min_count=cluster.node_count,
            max_count=cluster.max_node_count or cluster.node_count,
            gpu_pool=(
                (cluster.gpu_pool.vm_size, cluster.gpu_pool.node_count)
                if cluster.gpu_pool
                else None
            ),
        ),
        opts=scope.options,
    )
    provider = k8s.Provider(
        name,
        kubeconfig=aks.kubeconfig,
        delete_unreachable=True,
        cluster_identifier=aks.cluster_name,
    )
    return RegionCluster(
        provider=provider,
        host=aks.ingress_host,
        kubeconfig=aks.kubeconfig,
        ingress_class=INGRESS_CLASS,
        # the region's static public IP, by name, for the controller's LoadBalancer
        controller=aks.ingress_service_annotations,
    )


def oci_region(name: str, cluster: OciClusterConfig, config: PlanetStackConfig) -> RegionCluster:
    site = k3s_on_oci(
        K3sSite(
            region=cluster.region,
            config_profile=cluster.config_profile,
            compartment_id=cluster.compartment_id,
            availability_domain=cluster.availability_domain,
            operator_cidr=cluster.operator_cidr,
            k3s_version=cluster.k3s_version,
            image=cluster.image,
            server=cluster.server,
            agents=cluster.agents,
            network=OciNetworkConfig(),
            # in karmada mode the hub pushes to this cluster's API
            api_sources=(
                tuple(config.planet.karmada.hub_egress_cidrs)
                if config.planet.federation == "karmada"
                else ()
            ),
        ),
        prefix=name,
    )
    return RegionCluster(
        provider=site.provider,
        host=pulumi.Output.concat(site.address.ip_address, ".sslip.io"),
        kubeconfig=site.kubeconfig.kubeconfig,
        ingress_class=INGRESS_CLASS,
        controller=None,  # k3s ships Traefik
        deny_egress_to=(INSTANCE_METADATA,),
    )


def existing_region(
    name: str, cluster: KubeconfigClusterConfig, config: PlanetStackConfig
) -> RegionCluster:
    if cluster.stack_reference is not None:
        reference = pulumi.StackReference(f"{name}-stack", stack_name=cluster.stack_reference)
        kubeconfig = pulumi.Output.secret(reference.require_output(cluster.output)).apply(str)
    else:
        kubeconfig = pulumi.Output.secret((config.region_kubeconfigs or {})[name])
    provider = k8s.Provider(
        name, kubeconfig=kubeconfig, delete_unreachable=True, cluster_identifier=name
    )
    return RegionCluster(
        provider=provider,
        host=cluster.host,
        kubeconfig=kubeconfig,
        ingress_class=cluster.ingress_class,
        controller={} if cluster.install_ingress_controller else None,
    )


def region_cluster(
    region: RegionConfig, config: PlanetStackConfig, scope: AzureScope
) -> RegionCluster:
    cluster = region.cluster
    if isinstance(cluster, AksClusterConfig):
        return aks_region(region.name, cluster, scope)
    if isinstance(cluster, OciClusterConfig):
        return oci_region(region.name, cluster, config)
    return existing_region(region.name, cluster, config)


def region_platform(
    region: RegionConfig,
    cluster: RegionCluster,
    config: PlanetStackConfig,
    api_keys: ApiKeys,
    federated: bool,
    global_view: GlobalView | None = None,
) -> KubernetesPlatform:
    """The shared platform on the region's cluster, with its overrides."""
    return install_platform(
        KubernetesPlatformArgs(
            app=config.region_app(region),
            dapr=config.dapr,
            redis=config.region_redis(region),
            kafka=config.kafka,
            llm=config.llm,
            observability=config.observability,
            autoscaling=config.autoscaling,
            image=str(config.app.image),
            # the region's model settings reach its app's environment
            env=app_environment(config.model_copy(update={"app": config.region_app(region)})),
            model_api_key=config.model_api_key,
            ingress=PublicIngress(
                host=cluster.host,
                ingress_class=cluster.ingress_class,
                install_controller=cluster.controller,
            ),
            deny_egress_to=cluster.deny_egress_to,
            api_keys=api_keys,
            federated_workload=federated,
            prefix=region.name,
            global_view=global_view,
        ),
        cluster.provider,
    )


def global_query(
    query_region: str,
    authority: ThanosAuthority,
    clusters: dict[str, RegionCluster],
    platforms: dict[str, KubernetesPlatform],
) -> ThanosQuery:
    """Thanos Query in `query_region`, reaching its own sidecar in-cluster and every other
    region's through that region's ingress (port 443, SNI passthrough, mTLS)."""
    local = f"{DISCOVERY_SERVICE}.monitoring.svc:{SIDECAR_GRPC_PORT}"
    remote = [
        pulumi.Output.concat(cluster.host, ":443")
        for name, cluster in clusters.items()
        if name != query_region
    ]
    observability = [p.observability for p in platforms.values() if p.observability]
    return ThanosQuery(
        f"{query_region}-thanos-query",
        ThanosQueryArgs(authority=authority, endpoints=[local, *remote]),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": clusters[query_region].provider},
            depends_on=list(observability),
        ),
    )


def kubeconfig_server(kubeconfig: str) -> str:
    """The API server URL of a kubeconfig's current context."""
    document = yaml.safe_load(kubeconfig) or {}
    contexts = {c["name"]: c["context"] for c in document.get("contexts") or []}
    current = contexts.get(document.get("current-context"), {})
    clusters = {c["name"]: c["cluster"] for c in document.get("clusters") or []}
    cluster: dict[str, Any] = clusters.get(current.get("cluster")) or next(
        iter(clusters.values()), {}
    )
    return str(cluster.get("server", ""))


def federate(
    config: PlanetStackConfig,
    clusters: Mapping[str, RegionCluster],
    platforms: Mapping[str, KubernetesPlatform],
    api_keys: ApiKeys,
) -> KarmadaAppPolicies:
    """Karmada on the hub; every active region a member; the app sent once, propagated."""
    hub = str(config.planet.hub)
    app = config.app
    control_plane = KarmadaControlPlane(
        f"{hub}-karmada",
        KarmadaControlPlaneArgs(
            api_service_type="LoadBalancer",
            allowed_source_ranges=tuple(config.planet.karmada.api_sources),
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": clusters[hub].provider}),
    )
    karmada = k8s.Provider(
        "karmada-api", kubeconfig=control_plane.kubeconfig, cluster_identifier=f"{hub}-karmada"
    )
    on_karmada = pulumi.ResourceOptions(providers={"kubernetes": karmada})
    active = config.active_regions
    members = [
        KarmadaMember(
            f"{region.name}-member",
            KarmadaMemberArgs(
                cluster_name=region.name,
                # the API's URL is no secret, though the kubeconfig it comes from is
                api_endpoint=pulumi.Output.unsecret(
                    clusters[region.name].kubeconfig.apply(kubeconfig_server)
                ),
                member_provider=clusters[region.name].provider,
                region=region.name,
            ),
            opts=on_karmada,
        )
        for region in active
    ]
    # the app's namespace must exist in Karmada's API; each region has its own already
    namespace = AppNamespace(
        "karmada-app",
        AppNamespaceArgs(
            name=app.namespace,
            extra_labels={"namespace.karmada.io/skip-auto-propagation": "true"},
        ),
        opts=on_karmada,
    )
    template = platforms[hub]
    workload = agent_workload(
        "federated-agent",
        KubernetesPlatformArgs(
            app=app,
            dapr=config.dapr,
            redis=config.redis,
            image=str(app.image),
            env=app_environment(config),
            model_api_key=config.model_api_key,
            # with KEDA, each member's ScaledObject scales its copy: no HPA is propagated
            autoscaling=config.autoscaling,
        ),
        namespace.name,
        template.components.configuration,
        api_keys,
        None,
        pulumi.ResourceOptions.merge(on_karmada, pulumi.ResourceOptions(depends_on=members)),
    )
    return KarmadaAppPolicies(
        "federated-app",
        KarmadaAppPoliciesArgs(
            app_id=app.name,
            namespace=app.namespace,
            resources=propagated_resources(config),
            clusters=[region.name for region in active],
            replicas_by_cluster={r.name: config.region_app(r).min_replicas for r in active},
            member_autoscaler=config.autoscaling.enabled and scales_out_anywhere(config),
            failover_toleration_seconds=config.planet.karmada.failover_toleration_seconds,
        ),
        opts=pulumi.ResourceOptions.merge(
            on_karmada, pulumi.ResourceOptions(depends_on=[workload, *members])
        ),
    )


def scales_out_anywhere(config: PlanetStackConfig) -> bool:
    """Whether any active region's app has room to scale (maxReplicas above minReplicas)."""
    return any(
        config.region_app(r).max_replicas > config.region_app(r).min_replicas
        for r in config.active_regions
    )


def propagated_resources(config: PlanetStackConfig) -> list[tuple[str, str, str]]:
    """What the app is, in Karmada's API. The Secrets and ServiceAccount its pods mount or
    read follow the Deployment (`propagateDeps`); the app token Secret is named only by an
    annotation, so it is listed."""
    app = config.app.name
    scaled = scales_out_anywhere(config)
    resources = [
        ("apps/v1", "Deployment", app),
        ("v1", "Service", app),
        ("networking.k8s.io/v1", "NetworkPolicy", f"{app}-ingress"),
        ("v1", "Secret", f"{app}-app-token"),
        ("policy/v1", "PodDisruptionBudget", app),
    ]
    # KEDA's ScaledObject is made in each member, where KEDA runs, not propagated
    if scaled and not config.autoscaling.enabled:
        resources.append(("autoscaling/v2", "HorizontalPodAutoscaler", app))
    return resources


def kafka_mirrors(
    config: PlanetStackConfig,
    clusters: Mapping[str, RegionCluster],
    platforms: Mapping[str, KubernetesPlatform],
) -> list[KafkaMirror]:
    """A MirrorMaker 2 per region, sourcing every other region listed in
    `daca:kafka.mirror.bootstrap` through its external listener (with that region's CA and
    `mirror-source` login). Drained regions too: draining only takes a region's origin out
    of the front door."""
    kafka = config.kafka
    regions = [region.name for region in config.planet.regions]
    mirrors: list[KafkaMirror] = []
    for name in regions:
        local = platforms[name].kafka
        if local is None:  # mirroring needs kafka.enabled (checked with the config)
            continue
        sources: list[MirrorSource] = []
        for other in regions:
            remote = platforms[other].kafka
            # a region without a bootstrap entry has no external listener: not a source
            if other == name or remote is None or remote.mirror_password is None:
                continue
            sources.append(
                MirrorSource(
                    alias=other,
                    bootstrap_servers=kafka.mirror.bootstrap[other],
                    ca_cert=remote.ca_cert,
                    password=remote.mirror_password,
                )
            )
        if not sources:
            continue
        mirrors.append(
            KafkaMirror(
                f"{name}-kafka-mirror",
                KafkaMirrorArgs(
                    alias=name,
                    sources=tuple(sources),
                    topics=local.connection.topics,
                    groups=(local.connection.consumer_group,),
                    version=kafka.version,
                    replicas=kafka.mirror.replicas,
                    resources=kafka.mirror.resources,
                    replication_factor=kafka.replication_factor,
                    depends_on=tuple(local.ready),
                ),
                opts=pulumi.ResourceOptions(providers={"kubernetes": clusters[name].provider}),
            )
        )
    return mirrors


def build(config: PlanetStackConfig) -> dict[str, pulumi.Input[object]]:
    """Register the planet stage's resources; return the stack outputs."""
    scope = azure_scope(config)
    # one set of keys for the planet: the front door may send a client to any region
    api_keys = ApiKeys("api-keys")
    federated = config.planet.federation == "karmada"
    clusters: dict[str, RegionCluster] = {}
    platforms: dict[str, KubernetesPlatform] = {}
    query_region = config.observability.query_region_of(config.planet.regions)
    authority = ThanosAuthority("thanos-ca") if query_region is not None else None
    for region in config.planet.regions:
        clusters[region.name] = region_cluster(region, config, scope)
        view = None if authority is None else GlobalView(authority, region.name == query_region)
        platforms[region.name] = region_platform(
            region, clusters[region.name], config, api_keys, federated, view
        )
    if authority is not None and query_region is not None:
        global_query(query_region, authority, clusters, platforms)
    if federated:
        federate(config, clusters, platforms, api_keys)
    # --- Kafka: every region mirrors the app topics of every other one
    if config.kafka.mirror.enabled:
        kafka_mirrors(config, clusters, platforms)

    active = config.active_regions
    front_door = FrontDoor(
        "front-door",
        FrontDoorArgs(
            resource_group_name=scope.resource_group_name,
            profile_name=f"{scope.prefix}-{scope.stack}-fd",
            endpoint_name=f"{scope.prefix}-{scope.stack}",
            origins=[
                FrontDoorOrigin(
                    name=region.name,
                    host=clusters[region.name].host,
                    weight=region.weight,
                    priority=region.priority,
                )
                for region in active
            ],
            probe_path=config.planet.front_door.probe_path,
            probe_interval_seconds=config.planet.front_door.probe_interval_seconds,
            session_affinity=config.planet.front_door.session_affinity,
            origin_response_timeout_seconds=(
                config.planet.front_door.origin_response_timeout_seconds
            ),
        ),
        # an origin is only worth probing once its region serves the app over HTTPS
        opts=pulumi.ResourceOptions.merge(
            scope.options,
            pulumi.ResourceOptions(
                depends_on=[
                    platforms[region.name].ingress  # type: ignore[misc]
                    for region in active
                    if platforms[region.name].ingress is not None
                ]
            ),
        ),
    )
    outputs: dict[str, Any] = {
        "globalUrl": front_door.url,
        "regions": {
            region.name: {
                "url": pulumi.Output.concat("https://", clusters[region.name].host),
                "status": "drained" if region.drain else "active",
                "cluster": region.cluster.kind,
            }
            for region in config.planet.regions
        },
        "kubeconfigs": pulumi.Output.secret(
            pulumi.Output.all(**{name: cluster.kubeconfig for name, cluster in clusters.items()})
        ),
        "federation": config.planet.federation,
        "apiKey": api_keys.user_key,
        "reviewerKey": api_keys.reviewer_key,
    }
    grafana = {
        name: platform.observability.grafana_admin_password
        for name, platform in platforms.items()
        if platform.observability is not None
    }
    if grafana:
        outputs["grafanaAdminPasswords"] = pulumi.Output.secret(pulumi.Output.all(**grafana))
    return outputs
