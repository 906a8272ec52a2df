"""The planner's inputs: `inputs.yaml` read into typed, validated objects.

Every number is a :class:`Figure` carrying its source and date, so the plan can say where
each of its numbers came from, and which ones are our own assumptions.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_INPUTS = Path(__file__).with_name("inputs.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Figure(_Strict):
    """One number and its provenance."""

    value: Annotated[float, Field(ge=0)]
    unit: str
    #: where the number comes from; "assumption: ..." when it is our estimate
    source: Annotated[str, Field(min_length=1)]
    #: when it was measured or published (or checked, for an undated page)
    date: datetime.date
    #: what the number is of, when that is a name (a VM size)
    name: str | None = None

    @property
    def assumption(self) -> bool:
        return self.source.lower().startswith("assumption")


class ApiTier(_Strict):
    """An API usage tier's rate limits for the model."""

    name: str
    requests_per_minute: Annotated[int, Field(gt=0)]
    tokens_per_minute: Annotated[int, Field(gt=0)]
    source: str
    date: datetime.date


class RegionList(_Strict):
    names: Annotated[list[str], Field(min_length=1)]
    source: str
    date: datetime.date


class AppInputs(_Strict):
    cpu_seconds_per_message: Figure
    benchmark_requests_per_second: Figure
    replica_vcpu: Figure
    replica_memory_gib: Figure
    target_cpu_utilization: Figure
    state_reads_per_message: Figure
    state_writes_per_message: Figure
    publishes_per_message: Figure
    response_kib: Figure


class DaprInputs(_Strict):
    sidecar_cpu_seconds_per_call: Figure
    sidecar_cpu_request: Figure
    sidecar_memory_gib: Figure


class KubernetesInputs(_Strict):
    max_pods_per_node: Figure
    max_nodes_per_cluster: Figure
    system_pods_per_node: Figure
    node_allocatable_fraction: Figure


class ApiInputs(_Strict):
    model: str
    input_usd_per_million_tokens: Figure
    output_usd_per_million_tokens: Figure
    tiers: Annotated[list[ApiTier], Field(min_length=1)]


class SelfHostedInputs(_Strict):
    model: str
    output_tokens_per_second_per_gpu: Figure
    input_token_cost_ratio: Figure
    gpu_utilization: Figure
    gpu_node_usd_per_hour: Figure


class LlmInputs(_Strict):
    model_calls_per_message: Figure
    output_token_share: Figure
    api: ApiInputs
    self_hosted: SelfHostedInputs


class PrototypeInputs(_Strict):
    laptop_vcpu: Figure
    laptop_memory_gib: Figure
    docker_share: Figure
    platform_vcpu: Figure
    platform_memory_gib: Figure
    nodes: Figure


class AcaInputs(_Strict):
    replica_vcpu: Figure
    replica_memory_gib: Figure
    max_replicas: Figure
    environment_cores_default: Figure
    environment_cores_max: Figure
    free_vcpu_seconds: Figure
    free_gib_seconds: Figure
    free_requests: Figure
    usd_per_vcpu_second: Figure
    usd_per_gib_second: Figure
    usd_per_million_requests: Figure
    cosmos_ru_per_second: Figure
    cosmos_ru_per_read: Figure
    cosmos_ru_per_write: Figure
    cosmos_usd_per_million_ru: Figure
    servicebus_base_usd_per_month: Figure
    servicebus_usd_per_million_operations: Figure


class OciInputs(_Strict):
    ocpus: Figure
    memory_gib: Figure
    vcpu_per_ocpu: Figure
    nodes: Figure
    platform_vcpu: Figure
    platform_memory_gib: Figure


class PlanetInputs(_Strict):
    max_regions: Figure
    min_regions: Figure
    max_replicas_per_region: Figure
    min_replicas_per_region: Figure
    max_nodes_per_region: Figure
    node_vm: Figure
    node_memory_gib: Figure
    node_usd_per_hour: Figure
    aks_usd_per_cluster_hour: Figure
    platform_vcpu_per_region: Figure
    platform_memory_gib_per_region: Figure
    redis_ops_per_second: Figure
    frontdoor_requests_per_second: Figure
    frontdoor_base_usd_per_month: Figure
    frontdoor_usd_per_10k_requests: Figure
    frontdoor_usd_per_gb: Figure
    azure_regions: RegionList


class StageInputs(_Strict):
    prototype: PrototypeInputs
    aca: AcaInputs
    oci: OciInputs
    planet: PlanetInputs


class PlanInputs(_Strict):
    """Everything the planner knows, from `inputs.yaml` (or a file in its format)."""

    hours_per_month: Figure
    app: AppInputs
    dapr: DaprInputs
    kubernetes: KubernetesInputs
    llm: LlmInputs
    stages: StageInputs


class InputsError(ValueError):
    """The inputs file is missing or invalid; the message is one line."""


def load_inputs(path: Path = DEFAULT_INPUTS) -> PlanInputs:
    """Read and validate an inputs file; raise :class:`InputsError` with one line."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputsError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputsError(f"{path} is not a UTF-8 text file") from None
    except yaml.YAMLError as exc:
        raise InputsError(f"{path} is not YAML: {str(exc).splitlines()[0]}") from None
    try:
        return PlanInputs.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputsError(f"{path}: {where}: {first['msg']}") from None
