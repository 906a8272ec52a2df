"""The `planet` stage's config: regions on several clouds, federation, the front door.

`daca:planet.regions` lists the regions; each region's `overrides` are merged over
`daca:planet.defaults`, which are merged over `daca:app`. Everything is checked before
any resource is registered: names, the active set, Front Door's ranges, the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from infra.config.aca import _azure_location, _subscription_id
from infra.config.base import (
    NAMESPACE,
    AppConfig,
    ConfigError,
    DnsLabel,
    ModelConfig,
    ResourcesConfig,
    _Section,
)
from infra.config.kubernetes import KubernetesStackConfig, RedisConfig
from infra.config.oci import OciSiteConfig, _hostname, _operator_cidr

#: Azure Front Door's ranges for an origin's weight and priority
FRONT_DOOR_WEIGHT = (1, 1000)
FRONT_DOOR_PRIORITY = (1, 5)


class AksGpuPoolConfig(_Section):
    """An extra AKS node pool of NVIDIA GPU VMs, tainted `nvidia.com/gpu` so only pods that
    tolerate it (vLLM's) land there. AKS installs the GPU driver; the platform installs
    NVIDIA's device plugin with `daca:llm.engine: vllm`."""

    #: an NVIDIA GPU size, e.g. Standard_NC4as_T4_v3 (1 T4, 16 GB) or Standard_NC24ads_A100_v4
    vm_size: Annotated[str, Field(pattern=r"^Standard_N[CDV][A-Za-z0-9_]+$")] = (
        "Standard_NC4as_T4_v3"
    )
    node_count: Annotated[int, Field(ge=1, le=100)] = 1


class AksClusterConfig(_Section):
    """An AKS cluster this stack creates in an Azure region."""

    kind: Literal["aks"]
    location: Annotated[str, AfterValidator(_azure_location)]
    #: unset: AKS's default version
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]+(\.[0-9]+)?$")] | None = None
    node_vm_size: Annotated[str, Field(pattern=r"^Standard_[A-Za-z0-9_]+$")] = "Standard_D2s_v5"
    node_count: Annotated[int, Field(ge=1, le=100)] = 2
    #: above nodeCount turns on the cluster autoscaler
    max_node_count: Annotated[int, Field(ge=1, le=1000)] | None = None
    #: a GPU node pool beside the system pool (what `daca:llm.engine: vllm` needs)
    gpu_pool: AksGpuPoolConfig | None = None


class OciClusterConfig(OciSiteConfig):
    """A k3s cluster this stack creates in an OCI region, as the `oci` stage does."""

    kind: Literal["oci"]


class KubeconfigClusterConfig(_Section):
    """An existing cluster: its kubeconfig from secret config or another stack's output."""

    kind: Literal["kubeconfig"]
    #: the region's public host name (an A/CNAME record to its ingress controller)
    host: Annotated[str, AfterValidator(_hostname)]
    #: `org/project/stack` whose `output` holds the kubeconfig; unset: the secret
    #: config `daca:regionKubeconfigs.<region name>`
    stack_reference: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+/[\w.-]+$")] | None = None
    output: str = "kubeconfig"
    #: install Traefik (false: the cluster already runs one with this class)
    install_ingress_controller: bool = True
    ingress_class: DnsLabel = "traefik"


class RegionOverrides(_Section):
    """What a region may set differently; unset keys come from `defaults`, then `app`."""

    min_replicas: Annotated[int, Field(ge=1, le=100)] | None = None
    max_replicas: Annotated[int, Field(ge=1, le=100)] | None = None
    target_cpu_utilization: Annotated[int, Field(ge=10, le=100)] | None = None
    resources: ResourcesConfig | None = None
    #: the region's LLM (e.g. a nearer OpenAI-compatible endpoint)
    model: ModelConfig | None = None
    redis: RedisConfig | None = None


class RegionConfig(_Section):
    """One region of the planet."""

    name: DnsLabel
    cluster: AksClusterConfig | OciClusterConfig | KubeconfigClusterConfig = Field(
        discriminator="kind"
    )
    weight: Annotated[int, Field(ge=FRONT_DOOR_WEIGHT[0], le=FRONT_DOOR_WEIGHT[1])] = 50
    priority: Annotated[int, Field(ge=FRONT_DOOR_PRIORITY[0], le=FRONT_DOOR_PRIORITY[1])] = 1
    #: true: the front door stops sending traffic here; the cluster stays
    drain: bool = False
    overrides: RegionOverrides = RegionOverrides()


class FrontDoorConfig(_Section):
    """Azure Front Door Standard: health probes, balancing, affinity."""

    probe_path: Annotated[str, Field(pattern=r"^/[\w./-]*$")] = "/healthz"
    probe_interval_seconds: Annotated[int, Field(ge=5, le=255)] = 30
    session_affinity: bool = True
    origin_response_timeout_seconds: Annotated[int, Field(ge=16, le=240)] = 60


class KarmadaConfig(_Section):
    """Karmada on the hub region (`federation: karmada`)."""

    #: who may reach the Karmada API server's load balancer (its kubeconfig is an admin's):
    #: the operator's and CI's CIDRs; required in karmada mode
    api_sources: list[Annotated[str, AfterValidator(_operator_cidr)]] = Field(default_factory=list)
    #: the hub's outbound addresses: Karmada pushes to every member's API, which OCI
    #: regions open only to named sources (AKS and existing clusters: their own rules)
    hub_egress_cidrs: list[Annotated[str, AfterValidator(_operator_cidr)]] = Field(
        default_factory=list
    )
    #: how long the app may be unhealthy in a region before Karmada fails it over
    failover_toleration_seconds: Annotated[int, Field(ge=0, le=3600)] = 300


class PlanetAzureConfig(_Section):
    """Where the global resources (Front Door, AKS clusters' groups) live."""

    subscription_id: Annotated[str, AfterValidator(_subscription_id)] = ""
    #: the location of the resource groups' metadata (Front Door itself is global)
    location: Annotated[str, AfterValidator(_azure_location)] = "eastus"
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "daca"


class PlanetConfig(_Section):
    """Regions, how they are kept in step, and the global entry."""

    regions: Annotated[list[RegionConfig], Field(min_length=1, max_length=50)]
    federation: Literal["pulumi", "karmada"] = "pulumi"
    #: karmada only: the region whose cluster runs the Karmada control plane
    hub: DnsLabel | None = None
    defaults: RegionOverrides = RegionOverrides()
    karmada: KarmadaConfig = KarmadaConfig()
    front_door: FrontDoorConfig = FrontDoorConfig()
    azure: PlanetAzureConfig = PlanetAzureConfig()

    @model_validator(mode="after")
    def _regions_make_a_planet(self) -> PlanetConfig:
        names = [region.name for region in self.regions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"region names must be unique; repeated: {', '.join(duplicates)}")
        if all(region.drain for region in self.regions):
            raise ValueError(
                "every region is drained: at least one must stay active (drain: false), "
                "or the front door has no origin to send traffic to"
            )
        if self.federation == "karmada":
            if self.hub is None:
                raise ValueError(
                    f"federation 'karmada' needs hub: the region that runs Karmada; "
                    f"one of {', '.join(names)}"
                )
            if self.hub not in names:
                raise ValueError(f"hub {self.hub!r} is not a region; regions: {', '.join(names)}")
            oci_members = [r.name for r in self.regions if r.cluster.kind == "oci" and not r.drain]
            if oci_members and not self.karmada.hub_egress_cidrs:
                raise ValueError(
                    "federation 'karmada' pushes to every member's Kubernetes API, which the "
                    f"OCI region(s) {', '.join(oci_members)} open only to named sources: set "
                    "karmada.hubEgressCidrs to the hub's outbound address(es)"
                )
            if not self.karmada.api_sources:
                raise ValueError(
                    "federation 'karmada' needs karmada.apiSources: the CIDRs allowed to reach "
                    "the Karmada API (its kubeconfig holds admin credentials)"
                )
        elif self.hub is not None:
            raise ValueError("hub is only for federation 'karmada'")
        return self


class PlanetStackConfig(KubernetesStackConfig):
    """The `planet` stage: the shared platform in every region, one front door before them."""

    stage: Literal["planet"]
    planet: PlanetConfig
    # Secret config only: `name -> kubeconfig` for `kind: kubeconfig` regions
    region_kubeconfigs: dict[str, str] | None = None

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.redis"}),
        "pubsub": frozenset({"pubsub.redis", "pubsub.kafka"}),
        "secretStore": frozenset({"secretstores.kubernetes"}),
    }

    @property
    def kubernetes_version(self) -> str:
        """Manifests are validated against the oldest Kubernetes a region may run."""
        return "1.33.0"

    @property
    def active_regions(self) -> list[RegionConfig]:
        return [region for region in self.planet.regions if not region.drain]

    def region_app(self, region: RegionConfig) -> AppConfig:
        """`daca:app`, then `defaults`, then the region's `overrides`."""
        merged: dict[str, Any] = {}
        for layer in (self.planet.defaults, region.overrides):
            # field by field, so nested sections stay typed objects
            merged.update(
                {
                    key: getattr(layer, key)
                    for key in type(layer).model_fields
                    if key != "redis" and getattr(layer, key) is not None
                }
            )
        return self.app.model_copy(update=merged)

    def regions_without_gpu_nodes(self) -> list[str]:
        """The config key of every active region whose cluster has no GPU node pool."""
        return [
            f"{NAMESPACE}:planet.regions[{region.name}].cluster.gpuPool"
            for region in self.active_regions
            if not (isinstance(region.cluster, AksClusterConfig) and region.cluster.gpu_pool)
        ]

    @property
    def gpu_nodes(self) -> bool:
        """Every active region has GPU nodes (only AKS regions can: `cluster.gpuPool`)."""
        return not self.regions_without_gpu_nodes()

    def region_redis(self, region: RegionConfig) -> RedisConfig:
        return region.overrides.redis or self.planet.defaults.redis or self.redis

    def check_stage(self) -> None:
        if self.app.image is None:
            raise ConfigError(
                f"{NAMESPACE}:app.image is required on planet: regions run on amd64 (AKS) and "
                "arm64 (OCI A1) nodes, so give a published multi-arch image, e.g. built with "
                "`docker buildx build --platform linux/amd64,linux/arm64 --push`"
            )
        for region in self.planet.regions:
            app = self.region_app(region)
            if app.min_replicas > app.max_replicas:
                raise ConfigError(
                    f"{NAMESPACE}:planet.regions[{region.name}].overrides: minReplicas "
                    f"({app.min_replicas}) is above maxReplicas ({app.max_replicas})"
                )
            cluster = region.cluster
            needs_secret = (
                isinstance(cluster, KubeconfigClusterConfig) and cluster.stack_reference is None
            )
            if needs_secret and region.name not in (self.region_kubeconfigs or {}):
                raise ConfigError(
                    f"{NAMESPACE}:planet.regions[{region.name}] is a kubeconfig region "
                    "without stackReference, so it needs the secret "
                    f"{NAMESPACE}:regionKubeconfigs.{region.name} (`pulumi config set "
                    f"--secret --path '{NAMESPACE}:regionKubeconfigs.{region.name}' "
                    '"$(cat kubeconfig)"`)'
                )
            if isinstance(cluster, OciClusterConfig):
                cluster.check_free_tier(f"{NAMESPACE}:planet.regions[{region.name}].cluster")
            if self.llm.enabled and app.model.base_url is not None:
                raise ConfigError(
                    f"{NAMESPACE}:planet.regions[{region.name}].overrides.model.baseUrl "
                    f"({app.model.base_url!r}) is set, but {NAMESPACE}:llm.engine "
                    f"{self.llm.engine!r} points every region's app at its in-cluster "
                    "server; remove one of them"
                )
