"""What `daca plan` shows and writes: the terminal table, `plan.json`, the chart."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from infra.plan.inputs import PlanInputs
from infra.plan.model import STAGES, Scenario, Stage, StagePlan, demand
from infra.plan.stages import plan

PUBSUB_BY_STAGE = {
    "prototype": "Redis",
    "aca": "Service Bus",
    "oci": "Redis",
    "planet": "Kafka",
}


LLM_COST_ITEMS = ("LLM API", "GPU nodes")


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _usd(value: float) -> str:
    if value >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if value >= 1e4:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def headline(scenario: Scenario, inputs: PlanInputs) -> str:
    load = demand(scenario, inputs)
    llm = (
        f"OpenAI API ({inputs.llm.api.model})"
        if scenario.llm == "api"
        else f"self-hosted ({inputs.llm.self_hosted.model})"
    )
    return (
        f"daca plan: {_n(scenario.users)} concurrent users x "
        f"{scenario.requests_per_user_per_minute:g} message/min, "
        f"{_n(scenario.tokens_per_request)} tokens each, LLM: {llm}\n"
        f"needs {_n(load.messages_per_second)} messages/s; state store "
        f"{_n(load.state_ops_per_second)} ops/s; pub/sub {_n(load.pubsub_ops_per_second)} "
        f"events/s; LLM {_n(load.model_requests_per_minute)} requests/min, "
        f"{_n(load.tokens_per_minute)} tokens/min"
    )


def table(plans: list[StagePlan]) -> str:
    header = (
        "stage",
        "carries it",
        "binds first (users it allows)",
        "replicas",
        "nodes",
        "regions",
        "GPUs",
        "USD/month",
    )
    rows = [header]
    for p in plans:
        carries = "yes" if p.feasible else "no"
        if p.feasible and p.quota_raises:
            carries = "yes (quota)"
        rows.append(
            (
                p.stage,
                carries,
                f"{p.binding_limit} ({_n(p.binding_capacity_users)})",
                _n(p.replicas),
                _n(p.nodes),
                _n(p.regions),
                _n(p.gpus),
                _usd(p.monthly_cost_usd),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {3, 4, 5, 6, 7}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cost_line(p: StagePlan) -> str:
    parts = ", ".join(f"{name} {_usd(usd)}" for name, usd in p.cost_breakdown_usd.items())
    return f"  {p.stage}: {_usd(p.monthly_cost_usd)}/month = {parts}"


def _carrier(p: StagePlan) -> str:
    """`planet at about $1.2M a month (2,215 replicas, 230 nodes, 23 regions, ...)`."""
    shape = [f"{_n(p.replicas)} replicas"]
    if p.stage != "aca":  # Container Apps has no nodes to count
        shape.append(f"{_n(p.nodes)} nodes")
    if p.regions > 1:
        shape.append(f"{_n(p.regions)} regions")
    if p.gpus:
        shape.append(f"{_n(p.gpus)} GPUs")
    text = f"{p.stage} at about {_usd(p.monthly_cost_usd)} a month ({', '.join(shape)})"
    if p.quota_raises:
        text += " once these quotas are raised: " + ", ".join(p.quota_raises)
    return text


def verdict(scenario: Scenario, plans: list[StagePlan], inputs: PlanInputs) -> list[str]:
    """Plain sentences: which stage carries the load, at what cost, and what stops the rest."""
    lines: list[str] = []
    carriers = sorted((p for p in plans if p.feasible), key=lambda p: p.monthly_cost_usd)
    if carriers:
        lines.append(
            f"Carries {_n(scenario.users)} users, cheapest first: "
            + "; ".join(_carrier(p) for p in carriers)
            + "."
        )
        if carriers[0].llm_api_tier:
            lines.append(
                f"The OpenAI API needs usage {carriers[0].llm_api_tier} or above "
                f"({_n(carriers[0].llm_requests_per_minute)} requests/min, "
                f"{_n(carriers[0].llm_tokens_per_minute)} tokens/min)."
            )
    else:
        lines.append(f"No stage carries {_n(scenario.users)} users with --llm {scenario.llm}.")
        other: Scenario = replace(scenario, llm="self-hosted" if scenario.llm == "api" else "api")
        stages = tuple(q.stage for q in plans)
        alternatives = [p for p in plan(other, inputs, stages) if p.feasible]
        if alternatives:
            cheapest = min(alternatives, key=lambda p: p.monthly_cost_usd)
            lines.append(f"With --llm {other.llm}: {_carrier(cheapest)}.")
    for p in plans:
        if not p.feasible:
            lines.append(
                f"{p.stage} stops at {_n(p.binding_capacity_users)} users: {p.binding_limit}."
            )
    return lines


def render(scenario: Scenario, plans: list[StagePlan], inputs: PlanInputs) -> str:
    """The whole terminal report."""
    parts = [headline(scenario, inputs), "", table(plans), ""]
    parts += verdict(scenario, plans, inputs)
    parts += ["", "Monthly cost:"] + [_cost_line(p) for p in plans]
    assumptions = sorted({a for p in plans for a in p.assumptions[1:]})
    parts += ["", f"Assumptions ({len(assumptions)}; every figure and its source: plan.json):"]
    parts += [f"  - {plans[0].assumptions[0]}"] + [f"  - {a}" for a in assumptions]
    return "\n".join(parts)


def write_json(plans: list[StagePlan], path: Path) -> None:
    path.write_text(json.dumps([p.to_json() for p in plans], indent=2) + "\n")


def llm_usd(p: StagePlan) -> float:
    """The LLM's part of a stage's bill: API spend or GPU nodes."""
    return sum(usd for name, usd in p.cost_breakdown_usd.items() if name in LLM_COST_ITEMS)


def sweep(
    scenario: Scenario, inputs: PlanInputs, stages: tuple[Stage, ...], points: int = 60
) -> tuple[list[int], dict[Stage, list[StagePlan]]]:
    """Plans for users from 10 to the scenario's, evenly spaced on a log scale."""
    low, high = 10, max(scenario.users, 100)
    step = (math.log10(high) - math.log10(low)) / (points - 1)
    users = sorted({round(10 ** (math.log10(low) + i * step)) for i in range(points)})
    by_stage: dict[Stage, list[StagePlan]] = {stage: [] for stage in stages}
    for n in users:
        for p in plan(replace(scenario, users=n), inputs, stages):
            by_stage[p.stage].append(p)
    return users, by_stage


def write_chart(
    scenario: Scenario, inputs: PlanInputs, stages: tuple[Stage, ...], path: Path
) -> None:
    """Monthly cost and replicas against users (log-log), solid where the stage carries
    the load and dotted where it cannot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users, by_stage = sweep(scenario, inputs, stages)
    colours = dict(zip(STAGES, ("tab:green", "tab:blue", "tab:orange", "tab:purple"), strict=True))
    figure, (cost_axes, replica_axes) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for stage, plans in by_stage.items():
        for axes, values in (
            (cost_axes, [max(p.monthly_cost_usd - llm_usd(p), 1.0) for p in plans]),
            (replica_axes, [float(p.replicas) for p in plans]),
        ):
            feasible = [v if p.feasible else math.nan for v, p in zip(values, plans, strict=True)]
            axes.plot(users, values, color=colours[stage], linestyle=":", linewidth=1)
            axes.plot(users, feasible, color=colours[stage], linewidth=2.2, label=stage)
    # the LLM's bill is the same whichever stage calls it: one line for it
    llm_line = [
        max(max(llm_usd(p) for p in at), 1.0) for at in zip(*by_stage.values(), strict=True)
    ]
    cost_axes.plot(users, llm_line, color="black", linestyle="--", linewidth=1.5, label="LLM")
    cost_axes.set_yscale("log")
    cost_axes.set_ylabel("USD per month without the LLM (log; 0 drawn at 1)")
    cost_axes.legend(title="solid: carries the load; dotted: cannot", fontsize=9)
    replica_axes.set_yscale("log")
    replica_axes.set_ylabel("app replicas (log)")
    replica_axes.set_xscale("log")
    replica_axes.set_xlabel("concurrent users (log)")
    for axes in (cost_axes, replica_axes):
        axes.grid(True, which="major", alpha=0.3)
    llm = "OpenAI API" if scenario.llm == "api" else "self-hosted LLM"
    figure.suptitle(
        f"daca plan: {scenario.requests_per_user_per_minute:g} message/min per user, "
        f"{scenario.tokens_per_request:,} tokens, {llm}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
