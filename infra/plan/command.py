"""`daca plan`: read the scenario, check it, plan every stage, print and write the result."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import get_args

from infra.config import REPO_ROOT, ConfigError
from infra.plan.inputs import DEFAULT_INPUTS, InputsError, load_inputs
from infra.plan.model import STAGES, LlmMode, Scenario, Stage
from infra.plan.report import render, write_chart, write_json

EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_OUT = REPO_ROOT / "build" / "plan"

#: above these a value is a typo, not a plan: more users than people, a message a second
MAX_USERS = 10_000_000_000
MAX_REQUESTS_PER_MINUTE = 60.0
MAX_TOKENS = 1_000_000


class UsageError(ValueError):
    """A bad argument; the message is one line naming the option, the value and the range."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`daca plan`'s options. Values are checked by `scenario_from`, so every mistake gets
    one line, not argparse's usage block."""
    parser.add_argument(
        "--users", metavar="N", help=f"concurrent users to plan for (1 to {MAX_USERS:,}; required)"
    )
    parser.add_argument(
        "--requests-per-user-per-minute",
        metavar="R",
        default="1",
        help="messages each user sends a minute, each one an agent run (default 1; at most 60)",
    )
    parser.add_argument(
        "--tokens-per-request",
        metavar="T",
        default="1000",
        help="LLM tokens per message, input + output, all model calls (default 1000)",
    )
    parser.add_argument(
        "--llm",
        metavar="MODE",
        default="api",
        help="api: the OpenAI API, gpt-4o-mini (default); self-hosted: Llama 3.1 8B on vLLM GPUs",
    )
    parser.add_argument(
        "--stage", help=f"plan one stage only ({', '.join(STAGES)}); default: every stage"
    )
    parser.add_argument(
        "--out", type=Path, help="where plan.json and plan.png go (default build/plan)"
    )
    parser.add_argument(
        "--emit",
        metavar="STAGE",
        help="planet: also write OUT/planet.yaml, a daca:planet block for Pulumi.planet.yaml",
    )
    parser.add_argument(
        "--inputs",
        type=Path,
        default=DEFAULT_INPUTS,
        help="the figures file (default infra/plan/inputs.yaml: every figure with its source)",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip plan.png")


def _show(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def _number(option: str, text: str | None, low: float, high: float, whole: bool) -> float:
    kind = "a whole number" if whole else "a number"
    allowed = f"must be {kind} from {_show(low)} to {_show(high)}"
    if text is None:
        raise UsageError(f"plan needs {option} ({allowed})")
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not allowed: {allowed}") from None
    if not math.isfinite(value) or not low <= value <= high or (whole and value != int(value)):
        raise UsageError(f"{option} {text} is not allowed: {allowed}")
    return value


def scenario_from(args: argparse.Namespace) -> tuple[Scenario, tuple[Stage, ...]]:
    """The checked scenario and stages; raise UsageError with one line."""
    users = _number("--users", args.users, 1, MAX_USERS, whole=True)
    rate = _number(
        "--requests-per-user-per-minute",
        args.requests_per_user_per_minute,
        0.001,
        MAX_REQUESTS_PER_MINUTE,
        whole=False,
    )
    tokens = _number("--tokens-per-request", args.tokens_per_request, 1, MAX_TOKENS, whole=True)
    modes: tuple[LlmMode, ...] = get_args(LlmMode)
    if args.llm not in modes:
        raise UsageError(f"--llm {args.llm!r} is not allowed: one of {', '.join(modes)}")
    stages: tuple[Stage, ...] = STAGES
    if args.stage is not None:
        if args.stage not in STAGES:
            raise UsageError(f"--stage {args.stage!r} is not a stage: one of {', '.join(STAGES)}")
        stages = (args.stage,)
    if args.emit is not None and args.emit != "planet":
        raise UsageError(f"--emit {args.emit!r} is not allowed: only planet can be emitted")
    scenario = Scenario(int(users), rate, int(tokens), args.llm)
    return scenario, stages


def run_plan(args: argparse.Namespace) -> int:
    """Plan, print, write; 0 done, 2 bad usage or bad inputs."""
    from infra.plan.emit import planet_yaml
    from infra.plan.stages import plan

    try:
        scenario, stages = scenario_from(args)
        inputs = load_inputs(args.inputs)
        emitted = planet_yaml(scenario, inputs) if args.emit else None
    except (UsageError, InputsError, ConfigError) as exc:
        print(f"daca: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    plans = plan(scenario, inputs, stages)
    out: Path = args.out or DEFAULT_OUT
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"daca: error: --out {out}: cannot write there ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    print(render(scenario, plans, inputs))
    written = [out / "plan.json"]
    try:
        write_json(plans, written[0])
        if not args.no_chart:
            written.append(out / "plan.png")
            write_chart(scenario, inputs, stages, written[-1])
        if emitted is not None:
            written.append(out / "planet.yaml")
            written[-1].write_text(emitted)
    except OSError as exc:
        print(f"daca: error: cannot write {written[-1]} ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    print("\nwrote " + ", ".join(str(path) for path in written))
    return EXIT_OK
