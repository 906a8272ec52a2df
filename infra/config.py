"""Typed, validated stack configuration.

Every setting lives under the ``daca:`` namespace of ``Pulumi.<stack>.yaml``. The raw
values are parsed into the models below before any resource is registered; anything
wrong stops the program with a :class:`ConfigError` whose message names the key, the
bad value and what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "daca"
SECRET_PLACEHOLDER = "[secret]"

STAGES_PLANNED = ("oci", "planet")


class ConfigError(ValueError):
    """Invalid stack configuration; the message is one line, fit to show a user."""


# --- value types --------------------------------------------------------------------

_ACA_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
# registry[:port]/path[:tag][@sha256:digest]; the tag or the digest is mandatory.
_IMAGE = re.compile(
    r"^(?P<repo>(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 "
            "characters, starting and ending with a letter or digit"
        )
    return value


def _quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a Kubernetes quantity such as '250m', '1' or '512Mi'")
    text = str(value)
    if not _QUANTITY.match(text) or float(re.sub(r"[a-zA-Z]+$", "", text)) <= 0:
        raise ValueError("must be a positive Kubernetes quantity such as '250m' or '512Mi'")
    return text


def _version(value: str) -> str:
    if not _VERSION.match(value):
        raise ValueError("must be an exact version MAJOR.MINOR.PATCH, e.g. '1.16.9'")
    return value


def parse_image(value: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (repository, tag, digest); raise ValueError if bad."""
    match = _IMAGE.match(value)
    if not match:
        raise ValueError(
            "must be an image reference like 'registry/name:1.2.3' or 'name@sha256:<64 hex>'"
        )
    return match["repo"], match["tag"], match["digest"]


def _pinned_image(value: str) -> str:
    _, tag, digest = parse_image(value)
    if digest is None and tag is None:
        raise ValueError("must be pinned: give an exact tag or a digest")
    if digest is None and tag in {"latest", "stable", "main", "master", "edge"}:
        raise ValueError(f"must be pinned: the tag '{tag}' moves; give an exact version")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Quantity = Annotated[str, BeforeValidator(_quantity)]
ExactVersion = Annotated[str, AfterValidator(_version)]
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
Port = Annotated[int, Field(ge=1, le=65535)]
HostPort = Annotated[int, Field(ge=1024, le=65535)]


class _Section(BaseModel):
    """A config object: camelCase keys, strict types, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        strict=True,
        frozen=True,
    )


# --- sections shared by every stage -------------------------------------------------


class ResourcesConfig(_Section):
    """CPU and memory for one container; requests are guaranteed, limits are caps."""

    cpu_request: Quantity = "100m"
    memory_request: Quantity = "256Mi"
    cpu_limit: Quantity = "1"
    memory_limit: Quantity = "512Mi"


class ModelConfig(_Section):
    """Which LLM the agent talks to; the key itself is the secret `daca:modelApiKey`."""

    provider: Literal["offline", "openai", "openai-compatible"] = "offline"
    name: str = "gpt-4o-mini"
    base_url: str | None = None

    @model_validator(mode="after")
    def _base_url_for_compatible(self) -> ModelConfig:
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError("provider 'openai-compatible' needs baseUrl")
        if self.base_url is not None and not re.match(r"^https?://\S+$", self.base_url):
            raise ValueError(f"baseUrl {self.base_url!r} must be an http(s) URL")
        return self


class AppConfig(_Section):
    """The agent service: its Dapr app-id, port, scale, resources and model."""

    name: DnsLabel = "daca-agent"
    namespace: DnsLabel = "daca"
    port: Port = 8000
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    target_cpu_utilization: Annotated[int, Field(ge=10, le=100)] = 70
    image: PinnedImage | None = None
    resources: ResourcesConfig = ResourcesConfig()
    model: ModelConfig = ModelConfig()
    pubsub_topic: DnsLabel = "agent-events"

    @model_validator(mode="after")
    def _replica_bounds(self) -> AppConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas "
                f"({self.max_replicas}); minReplicas must be <= maxReplicas"
            )
        return self


class SidecarResources(_Section):
    """Resources of the injected daprd sidecar."""

    cpu_request: Quantity = "50m"
    memory_request: Quantity = "64Mi"
    cpu_limit: Quantity = "500m"
    memory_limit: Quantity = "256Mi"


class DaprConfig(_Section):
    """Dapr runtime version and the component types that back the app's building blocks."""

    version: ExactVersion
    state_store: str
    pubsub: str
    secret_store: str
    actor_state_store: bool = False
    tracing_sampling_rate: Annotated[float, Field(ge=0, le=1)] = 1.0
    sidecar: SidecarResources = SidecarResources()


# --- the prototype stage ------------------------------------------------------------


class KindConfig(_Section):
    """The local kind cluster."""

    cluster_name: DnsLabel = "daca"
    node_image: PinnedImage = "kindest/node:v1.34.0"
    config_file: str = "infra/kind/cluster.yaml"

    @property
    def kubernetes_version(self) -> str:
        _, tag, _ = parse_image(self.node_image)
        return (tag or "").lstrip("v")


class RegistryConfig(_Section):
    """The local image registry container kind pulls from."""

    name: DnsLabel = "kind-registry"
    host_port: HostPort = 5001
    image: PinnedImage = "registry:2.8.3"


class RedisConfig(_Section):
    """The in-cluster Redis behind the state store and pub/sub."""

    image: PinnedImage = "redis:7.4.2-alpine"
    storage: Quantity = "1Gi"
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "50m", "memoryRequest": "64Mi", "cpuLimit": "500m", "memoryLimit": "256Mi"}
    )


# --- the whole stack ----------------------------------------------------------------


class StackConfig(_Section):
    """Settings every stage has; a stage's own class adds its sections."""

    stage: str
    app: AppConfig = AppConfig()
    dapr: DaprConfig
    # Secret config only: set with `pulumi config set --secret daca:modelApiKey`.
    model_api_key: str | None = None

    #: component types each stage knows how to back, per building block
    component_types: ClassVar[Mapping[str, frozenset[str]]] = {}

    def check_stage(self) -> None:
        """Rules across sections that only this stage has; raises ConfigError."""


class PrototypeConfig(StackConfig):
    """The `prototype` stage: kind, a local registry, Helm-installed Dapr, Redis."""

    stage: Literal["prototype"]
    kind: KindConfig = KindConfig()
    registry: RegistryConfig = RegistryConfig()
    redis: RedisConfig = RedisConfig()

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.redis"}),
        "pubsub": frozenset({"pubsub.redis"}),
        "secretStore": frozenset({"secretstores.kubernetes"}),
    }

    @property
    def kubernetes_version(self) -> str:
        return self.kind.kubernetes_version


# --- the aca stage ------------------------------------------------------------------

_AZURE_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,89}[-\w_()]$")
#: the CPU/memory pairs the ACA Consumption plan accepts (vCPU -> memory)
ACA_CPU_MEMORY = {
    0.25: "0.5Gi",
    0.5: "1Gi",
    0.75: "1.5Gi",
    1.0: "2Gi",
    1.25: "2.5Gi",
    1.5: "3Gi",
    1.75: "3.5Gi",
    2.0: "4Gi",
}


def _azure_location(value: str) -> str:
    if not _AZURE_LOCATION.match(value):
        raise ValueError(
            "must be an Azure region name such as 'eastus' or 'westeurope' "
            "(lower-case, no spaces; `az account list-locations -o table`)"
        )
    return value


def _subscription_id(value: str) -> str:
    if value and not _GUID.match(value):
        raise ValueError(
            "must be a subscription GUID (`az account show --query id -o tsv`), or empty to "
            "use the az CLI's default subscription"
        )
    return value


def _resource_group(value: str) -> str:
    if not _RESOURCE_GROUP.match(value):
        raise ValueError(
            "must be an Azure resource group name: 1-90 letters, digits, '-', '_', '.', "
            "'(' or ')', not ending with '.'"
        )
    return value


class AzureConfig(_Section):
    """Where the aca stage deploys: subscription, region, resource group, names."""

    #: the Azure region of every resource
    location: Annotated[str, AfterValidator(_azure_location)]
    #: empty: the subscription `az login` selected (`az account show`)
    subscription_id: Annotated[str, AfterValidator(_subscription_id)] = ""
    #: an existing resource group to deploy into; unset: the stack creates one
    resource_group: Annotated[str, AfterValidator(_resource_group)] | None = None
    #: the start of every Azure resource name (globally unique ones get a suffix)
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "daca"
    #: pins the suffix of globally unique names (registry, vault, Cosmos DB, Service Bus,
    #: storage); unset: derived from the subscription, resource group and stack
    name_suffix: Annotated[str, Field(pattern=r"^[a-z0-9]{4,8}$")] | None = None


class CosmosConfig(_Section):
    """The Cosmos DB account behind `state.azure.cosmosdb`."""

    #: serverless (pay per request) or provisioned with the free tier (one per subscription)
    capacity: Literal["serverless", "freeTier"] = "serverless"
    database: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$")] = "daca"
    container: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$")] = "state"


class ServiceBusConfig(_Section):
    """The Service Bus namespace behind `pubsub.azure.servicebus.topics`."""

    #: Basic has no topics; Premium works but costs far more than this app needs
    sku: Literal["Standard", "Premium"] = "Standard"


class ContainerAppConfig(_Section):
    """The Container App: size and scale (ACA's own units; `app.resources`/`app.*Replicas`
    are the Kubernetes stages')."""

    cpu: float = 0.25
    memory: str = "0.5Gi"
    #: 0 lets ACA scale to zero between requests (the cheapest setting)
    min_replicas: Annotated[int, Field(ge=0, le=300)] = 0
    max_replicas: Annotated[int, Field(ge=1, le=300)] = 3
    #: concurrent HTTP requests per replica before ACA adds one
    concurrent_requests: Annotated[int, Field(ge=1, le=1000)] = 10
    #: active messages on the review subscription per replica before ACA adds one
    queue_messages: Annotated[int, Field(ge=1, le=10000)] = 5
    #: Dapr telemetry (and the app's traces) to an Application Insights resource
    app_insights: bool = False

    @model_validator(mode="after")
    def _valid_pair_and_bounds(self) -> ContainerAppConfig:
        pairs = ", ".join(f"{cpu:g}/{mem}" for cpu, mem in ACA_CPU_MEMORY.items())
        if ACA_CPU_MEMORY.get(self.cpu) != self.memory:
            raise ValueError(
                f"cpu {self.cpu:g} with memory {self.memory!r} is not a pair ACA accepts; "
                f"allowed cpu/memory: {pairs}"
            )
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas "
                f"({self.max_replicas}); minReplicas must be <= maxReplicas"
            )
        return self


class AcaConfig(StackConfig):
    """The `aca` stage: Azure Container Apps with managed Dapr and Azure-backed components."""

    stage: Literal["aca"]
    azure: AzureConfig
    cosmos: CosmosConfig = CosmosConfig()
    service_bus: ServiceBusConfig = ServiceBusConfig()
    container_app: ContainerAppConfig = ContainerAppConfig()

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.azure.cosmosdb", "state.azure.blobstorage"}),
        "pubsub": frozenset({"pubsub.azure.servicebus.topics"}),
        "secretStore": frozenset({"secretstores.azure.keyvault"}),
    }

    def check_stage(self) -> None:
        # the app-id is also the Container App's name, which ACA limits further
        if not _ACA_APP_NAME.match(self.app.name) or "--" in self.app.name:
            raise ConfigError(
                f"{NAMESPACE}:app.name: {self.app.name!r} is not allowed on aca: a Container "
                "App name is 2-32 lower-case letters, digits and single '-', starting with "
                "a letter and ending with a letter or digit"
            )
        if self.dapr.actor_state_store and self.dapr.state_store == "state.azure.blobstorage":
            raise ConfigError(
                f"{NAMESPACE}:dapr.actorStateStore: true is not allowed with "
                "state.azure.blobstorage (not transactional); use state.azure.cosmosdb"
            )


STAGE_MODELS: dict[str, type[StackConfig]] = {"prototype": PrototypeConfig, "aca": AcaConfig}

#: secret config keys (outside the namespace prefix) and where they may appear
SECRET_KEYS = frozenset({"modelApiKey"})

#: Dapr component types Dapr itself knows, per building block (a subset of
#: components-contrib; enough to tell a typo from a type this stage cannot back).
KNOWN_COMPONENT_TYPES: Mapping[str, frozenset[str]] = {
    "stateStore": frozenset(
        {
            "state.redis",
            "state.postgresql",
            "state.mongodb",
            "state.azure.cosmosdb",
            "state.azure.blobstorage",
            "state.azure.tablestorage",
            "state.aws.dynamodb",
            "state.gcp.firestore",
            "state.cassandra",
            "state.mysql",
            "state.sqlite",
            "state.in-memory",
            "state.etcd",
            "state.oci.objectstorage",
        }
    ),
    "pubsub": frozenset(
        {
            "pubsub.redis",
            "pubsub.kafka",
            "pubsub.azure.servicebus.topics",
            "pubsub.azure.servicebus.queues",
            "pubsub.azure.eventhubs",
            "pubsub.rabbitmq",
            "pubsub.nats",
            "pubsub.gcp.pubsub",
            "pubsub.aws.snssqs",
            "pubsub.mqtt3",
            "pubsub.pulsar",
            "pubsub.in-memory",
        }
    ),
    "secretStore": frozenset(
        {
            "secretstores.kubernetes",
            "secretstores.azure.keyvault",
            "secretstores.hashicorp.vault",
            "secretstores.aws.secretmanager",
            "secretstores.gcp.secretmanager",
            "secretstores.local.env",
            "secretstores.local.file",
        }
    ),
}


# --- loading ------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _key(loc: tuple[int | str, ...]) -> str:
    head, *rest = [str(part) for part in loc] or ["?"]
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The camelCase keys allowed at `loc` (the parent of an unknown key)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        field = next(
            (f for f in current.model_fields.values() if f.alias == part),
            None,
        )
        annotation = field.annotation if field else None
        current = None
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _describe(model: type[StackConfig], data: Mapping[str, Any], err: Any) -> str:
    loc: tuple[int | str, ...] = tuple(err["loc"])
    kind: str = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key {_key(loc)}; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key {_key(loc)}"
    message = str(err["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    message = re.sub(
        r"a valid dictionary or instance of \w+", "an object (a YAML mapping)", message
    )
    if err.get("ctx", {}).get("error") is not None and kind == "value_error":
        message = str(err["ctx"]["error"])
    if kind == "value_error" and loc and isinstance(_lookup(data, loc), Mapping):
        # an object-level check (e.g. replica bounds): its message names the keys
        return f"{_key(loc)}: {message}"
    return f"{_key(loc)}: {_show(_lookup(data, loc))} is not allowed: {message}"


def _check_component_types(model: type[StackConfig], dapr: Any) -> None:
    if not isinstance(dapr, Mapping):
        return
    for block, allowed in model.component_types.items():
        value = dapr.get(block)
        if not isinstance(value, str):
            continue  # missing or wrong type: the model reports it
        if value in allowed:
            continue
        key = f"{NAMESPACE}:dapr.{block}"
        known = KNOWN_COMPONENT_TYPES.get(block, frozenset())
        if value in known:
            raise ConfigError(
                f"{key}: {value!r} is a Dapr component type this stage cannot back; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        raise ConfigError(
            f"{key}: {value!r} is not a known Dapr {block} component type; "
            f"allowed on this stage: {', '.join(sorted(allowed))}"
        )


def decode_pulumi_values(raw: Mapping[str, str], project: str | None = None) -> dict[str, Any]:
    """Turn the engine's `daca:key -> string` config map into typed values.

    Pulumi hands a program every config value as a string; structured values (objects,
    lists) and scalars written as YAML numbers or booleans arrive as JSON text. A key
    written without a namespace lands in the project's (`<project>:key`), which this
    program never reads: that is a mistake, reported like any other bad key.
    """
    decoded: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, text in raw.items():
        if project and full_key.startswith(f"{project}:"):
            bare = full_key.removeprefix(f"{project}:")
            raise ConfigError(
                f"config key {full_key} is not read (a key without a namespace belongs to "
                f"the project); write it as {NAMESPACE}:{bare}"
            )
        if not full_key.startswith(prefix):
            continue
        try:
            value: Any = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            value = text
        decoded[full_key.removeprefix(prefix)] = value
    return decoded


def load_config(
    values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> StackConfig:
    """Validate the `daca:` config values (keys without the namespace prefix).

    `secret_keys` names the keys that were given as secrets (`pulumi config set --secret`).
    Raises :class:`ConfigError` with a one-line message on the first problem found.
    """
    stage = values.get("stage")
    if stage is None:
        raise ConfigError(
            f"missing required key {NAMESPACE}:stage; allowed: {', '.join(STAGE_MODELS)}"
        )
    if stage not in STAGE_MODELS:
        planned = f" ({', '.join(STAGES_PLANNED)} are planned)" if STAGES_PLANNED else ""
        raise ConfigError(
            f"{NAMESPACE}:stage: {_show(stage)} is not a stage this program builds; "
            f"allowed: {', '.join(STAGE_MODELS)}{planned}"
        )
    model = STAGE_MODELS[stage]
    for key in sorted(SECRET_KEYS & values.keys()):
        if key not in secret_keys:
            raise ConfigError(
                f"{NAMESPACE}:{key} holds a credential and must be secret config: "
                f"run `pulumi config set --secret {NAMESPACE}:{key} <value>`"
            )
    _check_component_types(model, values.get("dapr"))
    try:
        config = model.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ConfigError(_describe(model, values, first)) from None
    config.check_stage()
    return config


# --- the committed kind cluster file ------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_PORT_RANGE = range(30000, 32768)
_REGISTRY_PATCH = 'config_path = "/etc/containerd/certs.d"'


@dataclass(frozen=True)
class KindClusterFile:
    """What the program needs from the kind config file."""

    path: Path
    #: the nodePort the app's Service uses (a mapped containerPort in the NodePort range)
    node_port: int
    #: the port the app answers on at localhost
    host_port: int
    listen_address: str


def read_kind_config(config_file: str, root: Path = REPO_ROOT) -> KindClusterFile:
    """Read and check the kind config named by `daca:kind.configFile`."""
    key = f"{NAMESPACE}:kind.configFile"
    path = (root / config_file).resolve()
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{key}: {config_file!r} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: {config_file!r} is not valid YAML ({exc})") from None
    if not isinstance(document, dict) or document.get("kind") != "Cluster":
        raise ConfigError(f"{key}: {config_file!r} is not a kind Cluster config")
    patches = document.get("containerdConfigPatches") or []
    if not any(_REGISTRY_PATCH in str(patch) for patch in patches):
        raise ConfigError(
            f"{key}: {config_file!r} lacks the local-registry containerd patch "
            f"({_REGISTRY_PATCH}); the cluster could not pull the app image"
        )
    mappings = [
        mapping
        for node in document.get("nodes") or []
        for mapping in (node or {}).get("extraPortMappings") or []
        if isinstance(mapping, dict) and mapping.get("containerPort") in NODE_PORT_RANGE
    ]
    if len(mappings) != 1:
        raise ConfigError(
            f"{key}: {config_file!r} must map exactly one containerPort in "
            f"{NODE_PORT_RANGE.start}-{NODE_PORT_RANGE.stop - 1} (the app's nodePort) to a "
            f"hostPort; found {len(mappings)}"
        )
    mapping = mappings[0]
    host_port = mapping.get("hostPort")
    if not isinstance(host_port, int) or not 1 <= host_port <= 65535:
        raise ConfigError(f"{key}: {config_file!r} hostPort {host_port!r} is not a port")
    return KindClusterFile(
        path=path,
        node_port=int(mapping["containerPort"]),
        host_port=host_port,
        listen_address=str(mapping.get("listenAddress", "127.0.0.1")),
    )
