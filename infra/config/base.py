"""The parts of the stack config every stage shares: value types, sections, the base model.

Every setting lives under the ``daca:`` namespace of ``Pulumi.<stack>.yaml``. The raw
values are parsed into these models before any resource is registered; anything wrong
stops the program with a :class:`ConfigError` whose message names the key, the bad value
and what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "daca"
#: the first Dapr release whose workflows the app's workflow extension speaks
DAPR_WORKFLOWS_VERSION = (1, 18, 0)
SECRET_PLACEHOLDER = "[secret]"
REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """Invalid stack configuration; the message is one line, fit to show a user."""


# --- value types --------------------------------------------------------------------

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
        raise ValueError("must be an exact version MAJOR.MINOR.PATCH, e.g. '1.18.3'")
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
    #: Prometheus metrics, on a listener of their own that no Service or ingress publishes
    metrics_port: Port = 9464
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    target_cpu_utilization: Annotated[int, Field(ge=10, le=100)] = 70
    image: PinnedImage | None = None
    resources: ResourcesConfig = ResourcesConfig()
    model: ModelConfig = ModelConfig()
    pubsub_topic: DnsLabel = "agent-events"
    #: what runs the durable workflows (moderation): `state-machine` (the app's own, on the
    #: state store; every stage) or `dapr` (Dapr Workflows: Dapr >= 1.18 and an actor
    #: state store; not on aca, whose managed Dapr has no workflows)
    workflow_engine: Literal["state-machine", "dapr"] = "state-machine"

    @model_validator(mode="after")
    def _replica_bounds(self) -> AppConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas "
                f"({self.max_replicas}); minReplicas must be <= maxReplicas"
            )
        if self.metrics_port == self.port:
            raise ValueError(
                f"metricsPort ({self.metrics_port}) is the app's port; the metrics listener "
                "needs a port of its own"
            )
        return self


class SidecarResources(_Section):
    """Resources of the injected daprd sidecar."""

    cpu_request: Quantity = "50m"
    memory_request: Quantity = "64Mi"
    cpu_limit: Quantity = "500m"
    memory_limit: Quantity = "256Mi"


_HOST_PORT = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$")


class TracingConfig(_Section):
    """Where daprd sends its traces. Without an exporter nothing is sampled: spans that
    no one receives still cost every sidecar CPU and memory."""

    #: `none`, `otlp` (an OpenTelemetry collector) or `zipkin`
    exporter: Literal["none", "otlp", "zipkin"] = "none"
    #: otlp: the collector's `host:port` (no scheme); zipkin: its spans URL
    endpoint: str | None = None
    #: the fraction of requests traced, 0..1; default 1 once an exporter is set
    sampling_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    #: otlp only: `grpc` (port 4317, the default) or `http` (4318)
    protocol: Literal["grpc", "http"] | None = None
    #: otlp only: TLS to the collector (Dapr's default); false for a plain in-cluster one
    secure: bool | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_for_exporter(cls, value: str, info: ValidationInfo) -> str:
        exporter = info.data.get("exporter")
        if exporter == "none":
            raise ValueError("an endpoint needs an exporter: set exporter to otlp or zipkin")
        if exporter == "otlp" and not _HOST_PORT.match(value):
            raise ValueError(
                "the otlp endpoint is the collector's host:port, without a scheme "
                "(e.g. otel-collector.observability:4317)"
            )
        if exporter == "zipkin" and not re.match(r"^https?://\S+$", value):
            raise ValueError(
                "the zipkin endpoint is an http(s) URL "
                "(e.g. http://zipkin.observability:9411/api/v2/spans)"
            )
        return value

    @field_validator("sampling_rate")
    @classmethod
    def _sampling_needs_an_exporter(cls, value: float, info: ValidationInfo) -> float:
        if value > 0 and info.data.get("exporter") == "none":
            raise ValueError(
                "sampling needs an exporter (otlp or zipkin) to send traces to; "
                "with exporter none only 0 is allowed"
            )
        return value

    @field_validator("protocol", "secure")
    @classmethod
    def _otlp_only(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("exporter") != "otlp":
            raise ValueError(f"{to_camel(str(info.field_name))} is only for exporter otlp")
        return value

    @model_validator(mode="after")
    def _exporter_has_endpoint(self) -> TracingConfig:
        if self.exporter != "none" and self.endpoint is None:
            raise ValueError(f"exporter {self.exporter!r} needs endpoint (where to send traces)")
        return self

    @property
    def effective_sampling_rate(self) -> float:
        """What daprd samples: nothing without an exporter, all requests by default."""
        if self.exporter == "none":
            return 0.0
        return 1.0 if self.sampling_rate is None else self.sampling_rate

    @property
    def otlp_protocol(self) -> str:
        return self.protocol or "grpc"

    @property
    def otlp_secure(self) -> bool:
        return True if self.secure is None else self.secure


class DaprConfig(_Section):
    """Dapr runtime version and the component types that back the app's building blocks."""

    version: ExactVersion
    state_store: str
    pubsub: str
    secret_store: str
    actor_state_store: bool = False
    tracing: TracingConfig = TracingConfig()
    sidecar: SidecarResources = SidecarResources()

    @model_validator(mode="before")
    @classmethod
    def _tracing_sampling_rate_moved(cls, data: Any) -> Any:
        # the old key sampled (by default every request) with no exporter: refuse it
        # rather than guess, and say what replaced it
        if isinstance(data, Mapping) and "tracingSamplingRate" in data:
            old = json.dumps(data["tracingSamplingRate"])
            raise ValueError(
                f"tracingSamplingRate ({old}) is no longer read: it sampled with no exporter; "
                f"use {NAMESPACE}:dapr.tracing {{exporter: none|otlp|zipkin, endpoint, "
                "samplingRate}, or remove it (the default samples nothing)"
            )
        return data


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

    def check_workflows(self) -> None:
        """Dapr Workflows need daprd 1.18+ and an actor state store; raises ConfigError."""
        if self.app.workflow_engine != "dapr":
            return
        version = tuple(int(part) for part in self.dapr.version.split("."))
        if version < DAPR_WORKFLOWS_VERSION:
            raise ConfigError(
                f"{NAMESPACE}:app.workflowEngine: 'dapr' needs {NAMESPACE}:dapr.version 1.18.0 "
                f"or later (Dapr Workflows); it is {self.dapr.version}"
            )
        if not self.dapr.actor_state_store:
            raise ConfigError(
                f"{NAMESPACE}:app.workflowEngine: 'dapr' needs {NAMESPACE}:dapr.actorStateStore: "
                "true (workflows are actors, kept in the state store)"
            )


#: secret config keys (outside the namespace prefix) and where they may appear
SECRET_KEYS = frozenset({"modelApiKey", "ociAuthToken", "regionKubeconfigs"})

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
