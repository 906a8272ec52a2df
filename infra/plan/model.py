"""From concurrent users to replicas, nodes, regions, GPUs, limits and money, per stage.

The arithmetic, in one place:

* messages/s = users x requests per user per minute / 60; every request is a message
  (`POST /v1/sessions/{id}/messages`, the route that runs the agent).
* one replica carries `targetCpuUtilization x replica vCPU / CPU-seconds per message`
  messages/s (the app is one Python process: at most one vCPU per replica).
* every limit is turned into the number of users it allows; the smallest binds first.
  A `hard` limit cannot be raised (or not by asking); a `quota` is raised on request.
  A stage carries the load when every hard limit allows it; quotas it exceeds are listed.
  The binding limit is the hard one that stops a stage, or, for a stage that carries the
  load, the one that binds first as users grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from infra.plan.inputs import Figure, PlanInputs

Stage = Literal["prototype", "aca", "oci", "planet"]
STAGES: tuple[Stage, ...] = ("prototype", "aca", "oci", "planet")
LlmMode = Literal["api", "self-hosted"]
LimitKind = Literal["hard", "quota"]


@dataclass(frozen=True)
class Scenario:
    """The load to plan for."""

    users: int
    requests_per_user_per_minute: float = 1.0
    tokens_per_request: int = 1000
    llm: LlmMode = "api"


@dataclass(frozen=True)
class Limit:
    """One ceiling, expressed as the number of concurrent users it allows."""

    name: str
    kind: LimitKind
    capacity_users: float
    detail: str


@dataclass(frozen=True)
class Demand:
    """What the scenario asks of any stage."""

    messages_per_second: float
    model_requests_per_minute: float
    tokens_per_minute: float
    state_ops_per_second: float
    pubsub_ops_per_second: float
    messages_per_month: float


@dataclass
class StagePlan:
    """One stage's answer; `to_json` is one object of `plan.json`."""

    stage: Stage
    feasible: bool
    binding_limit: str
    binding_capacity_users: float
    quota_raises: list[str]
    replicas: int
    per_replica_messages_per_second: float
    nodes: int
    regions: int
    gpus: int
    llm_api_tier: str | None
    messages_per_second: float
    state_store_ops_per_second: float
    pubsub_ops_per_second: float
    llm_requests_per_minute: float
    llm_tokens_per_minute: float
    monthly_cost_usd: float
    cost_breakdown_usd: dict[str, float]
    limits: list[Limit]
    assumptions: list[str]
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["monthly_cost_usd"] = round(self.monthly_cost_usd, 2)
        data["cost_breakdown_usd"] = {k: round(v, 2) for k, v in self.cost_breakdown_usd.items()}
        for key in ("per_replica_messages_per_second", "messages_per_second"):
            data[key] = round(data[key], 3)
        return data


# --- shared arithmetic --------------------------------------------------------------


def demand(scenario: Scenario, inputs: PlanInputs) -> Demand:
    app = inputs.app
    per_minute = scenario.users * scenario.requests_per_user_per_minute
    messages = per_minute / 60
    return Demand(
        messages_per_second=messages,
        model_requests_per_minute=per_minute * inputs.llm.model_calls_per_message.value,
        tokens_per_minute=per_minute * scenario.tokens_per_request,
        state_ops_per_second=messages
        * (app.state_reads_per_message.value + app.state_writes_per_message.value),
        pubsub_ops_per_second=messages * app.publishes_per_message.value,
        messages_per_month=messages * 3600 * inputs.hours_per_month.value,
    )


def per_replica_messages(inputs: PlanInputs, replica_vcpu: float) -> float:
    """Messages/s one replica carries at the target utilization."""
    vcpu = min(replica_vcpu, inputs.app.replica_vcpu.value)
    return inputs.app.target_cpu_utilization.value * vcpu / inputs.app.cpu_seconds_per_message.value


def sidecar_calls_per_message(inputs: PlanInputs) -> float:
    app = inputs.app
    return (
        app.state_reads_per_message.value
        + app.state_writes_per_message.value
        + app.publishes_per_message.value
    )


def cpu_per_message_with_sidecar(inputs: PlanInputs) -> float:
    """App and daprd CPU-seconds for one message, where both share the same cores."""
    sidecar = sidecar_calls_per_message(inputs) * inputs.dapr.sidecar_cpu_seconds_per_call.value
    return inputs.app.cpu_seconds_per_message.value + sidecar


def users_for(messages_per_second: float, scenario: Scenario) -> float:
    return messages_per_second * 60 / scenario.requests_per_user_per_minute


def replicas_for(load: Demand, per_replica: float, minimum: int = 1) -> int:
    return max(minimum, math.ceil(load.messages_per_second / per_replica - 1e-9))


def llm_limits(
    scenario: Scenario, inputs: PlanInputs, gpu_capacity: float, where: str
) -> list[Limit]:
    """The LLM side's ceilings: the API's top tier, or the GPUs this stage can hold."""
    llm = inputs.llm
    rate = scenario.requests_per_user_per_minute
    if scenario.llm == "api":
        top = llm.api.tiers[-1]
        return [
            Limit(
                f"OpenAI {llm.api.model} {top.name}: {top.requests_per_minute:,} requests/min",
                "hard",
                top.requests_per_minute / (rate * llm.model_calls_per_message.value),
                f"{llm.model_calls_per_message.value:g} model calls per message; the highest "
                "published tier (more needs a contract with OpenAI)",
            ),
            Limit(
                f"OpenAI {llm.api.model} {top.name}: {top.tokens_per_minute:,} tokens/min",
                "hard",
                top.tokens_per_minute / (rate * scenario.tokens_per_request),
                f"{scenario.tokens_per_request:,} tokens per request",
            ),
        ]
    per_gpu = gpu_messages_per_second(scenario, inputs)
    return [
        Limit(
            f"GPUs for the self-hosted model: {where}",
            "hard",
            users_for(gpu_capacity * per_gpu, scenario),
            f"{per_gpu:.1f} messages/s per GPU ({llm.self_hosted.model})",
        )
    ]


def gpu_messages_per_second(scenario: Scenario, inputs: PlanInputs) -> float:
    """Messages/s one GPU serves: output tokens cost full price, input tokens a fraction."""
    hosted = inputs.llm.self_hosted
    share = inputs.llm.output_token_share.value
    weighted = scenario.tokens_per_request * (
        share + (1 - share) * hosted.input_token_cost_ratio.value
    )
    return hosted.output_tokens_per_second_per_gpu.value * hosted.gpu_utilization.value / weighted


def gpus_for(load: Demand, scenario: Scenario, inputs: PlanInputs) -> int:
    if scenario.llm != "self-hosted" or load.messages_per_second == 0:
        return 0
    return math.ceil(load.messages_per_second / gpu_messages_per_second(scenario, inputs) - 1e-9)


def api_tier(load: Demand, inputs: PlanInputs) -> str | None:
    """The lowest published tier whose limits hold the load, or None."""
    for tier in inputs.llm.api.tiers:
        if (
            tier.requests_per_minute >= load.model_requests_per_minute
            and tier.tokens_per_minute >= load.tokens_per_minute
        ):
            return tier.name
    return None


def api_usd_per_month(load: Demand, scenario: Scenario, inputs: PlanInputs) -> float:
    if scenario.llm != "api":
        return 0.0
    api, share = inputs.llm.api, inputs.llm.output_token_share.value
    tokens = load.tokens_per_minute * 60 * inputs.hours_per_month.value
    return (
        tokens
        / 1e6
        * (
            (1 - share) * api.input_usd_per_million_tokens.value
            + share * api.output_usd_per_million_tokens.value
        )
    )


def finish(
    stage: Stage,
    scenario: Scenario,
    limits: list[Limit],
    sizing: dict[str, Any],
    costs: dict[str, float],
    figures: list[tuple[str, Figure]],
    load: Demand,
    inputs: PlanInputs,
) -> StagePlan:
    """Name the binding limit, decide feasibility, total the costs, list the assumptions."""
    hard = [limit for limit in limits if limit.kind == "hard"]
    hard_ok = all(scenario.users <= limit.capacity_users for limit in hard)
    # what stops the stage when it cannot carry the load; else what binds first as it grows
    binding = min(limits if hard_ok else hard, key=lambda limit: limit.capacity_users)
    raises = [
        limit.name
        for limit in limits
        if limit.kind == "quota" and scenario.users > limit.capacity_users
    ]
    assumptions = [
        f"{name} = {figure.value:g} {figure.unit} ({figure.source})"
        for name, figure in figures
        if figure.assumption
    ]
    assumptions.insert(
        0,
        f"{scenario.users:,} concurrent users, each sending "
        f"{scenario.requests_per_user_per_minute:g} message(s) a minute of "
        f"{scenario.tokens_per_request:,} tokens, sustained for "
        f"{inputs.hours_per_month.value:g} hours a month (an upper bound)",
    )
    return StagePlan(
        stage=stage,
        feasible=hard_ok,
        binding_limit=binding.name,
        binding_capacity_users=math.floor(binding.capacity_users),
        quota_raises=raises,
        replicas=sizing["replicas"],
        per_replica_messages_per_second=sizing["per_replica"],
        nodes=sizing["nodes"],
        regions=sizing["regions"],
        gpus=sizing["gpus"],
        llm_api_tier=api_tier(load, inputs) if scenario.llm == "api" else None,
        messages_per_second=load.messages_per_second,
        state_store_ops_per_second=load.state_ops_per_second,
        pubsub_ops_per_second=load.pubsub_ops_per_second,
        llm_requests_per_minute=load.model_requests_per_minute,
        llm_tokens_per_minute=load.tokens_per_minute,
        monthly_cost_usd=sum(costs.values()),
        cost_breakdown_usd=costs,
        limits=sorted(limits, key=lambda limit: limit.capacity_users),
        assumptions=assumptions,
        inputs=[
            {"name": name, **figure.model_dump(mode="json", exclude_none=True)}
            for name, figure in figures
        ],
    )


def common_figures(inputs: PlanInputs, scenario: Scenario) -> list[tuple[str, Figure]]:
    """The figures every stage uses: the app, Dapr's sidecar and the LLM side."""
    figures: list[tuple[str, Figure]] = [("hours_per_month", inputs.hours_per_month)]
    figures += section_figures("app", inputs.app) + section_figures("dapr", inputs.dapr)
    llm = inputs.llm
    figures += [
        ("llm.model_calls_per_message", llm.model_calls_per_message),
        ("llm.output_token_share", llm.output_token_share),
    ]
    if scenario.llm == "api":
        figures += [
            ("llm.api.input_usd_per_million_tokens", llm.api.input_usd_per_million_tokens),
            ("llm.api.output_usd_per_million_tokens", llm.api.output_usd_per_million_tokens),
        ]
    else:
        hosted = llm.self_hosted
        figures += section_figures("llm.self_hosted", hosted)
    return figures


def section_figures(prefix: str, section: BaseModel) -> list[tuple[str, Figure]]:
    """The figures of one inputs section, named by their path in the file."""
    return [
        (f"{prefix}.{name}", value)
        for name in type(section).model_fields
        if isinstance(value := getattr(section, name), Figure)
    ]


StagePlanner = Callable[[Scenario, PlanInputs], StagePlan]
