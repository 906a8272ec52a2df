"""`daca`: the offline face of the Pulumi program.

    daca synth STACK [--config FILE] [--out DIR]
    daca check STACK [--config FILE] [--policy-config FILE]
    daca check --resources FILE [--stack NAME] [--policy-config FILE]
    daca plan --users N [--requests-per-user-per-minute R] [--tokens-per-request T]
              [--llm api|self-hosted] [--stage STAGE] [--out DIR] [--emit planet]

Exit codes: 0 clean, 1 a mandatory policy violation or an invalid manifest,
2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.config import REPO_ROOT, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def available_stacks(root: Path = REPO_ROOT) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daca",
        description="Evaluate DACA Ascent stacks offline: no Pulumi CLI, credentials or network.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    synth = commands.add_parser(
        "synth", help="write resources.json and Kubernetes manifests for a stack"
    )
    synth.add_argument("stack", help=f"the stack ({', '.join(available_stacks()) or 'none yet'})")
    synth.add_argument("--config", type=Path, help="a Pulumi.<stack>.yaml-format file to use")
    synth.add_argument("--out", type=Path, help="output directory (default build/synth/STACK)")
    check = commands.add_parser(
        "check", help="synthesize a stack (or read resources.json) and run policies + schemas"
    )
    check.add_argument("stack", nargs="?", help="the stack to synthesize and check")
    check.add_argument("--config", type=Path, help="a Pulumi.<stack>.yaml-format file to use")
    check.add_argument("--resources", type=Path, help="check this resources.json instead")
    check.add_argument("--stack", dest="stack_name", help="with --resources: the stack's name")
    check.add_argument(
        "--policy-config", type=Path, help="policy config (default policies/config/STACK.json)"
    )
    from infra.plan.command import add_arguments

    plan = commands.add_parser(
        "plan",
        help="size every stage for N concurrent users: limits, replicas, nodes, GPUs, cost",
        description="Plan every stage for a load: whether it carries it, which limit binds "
        "first, replicas, nodes, regions, GPUs or API spend, state store and pub/sub "
        "throughput, and a monthly cost with its assumptions. Prints a table and writes "
        "OUT/plan.json and OUT/plan.png. Every figure comes from infra/plan/inputs.yaml, "
        "with its source.",
    )
    add_arguments(plan)
    return parser


def _synth(stack: str, config: Path | None, out: Path | None) -> int:
    from infra.synth import stack_file, synthesize

    if config is None and not stack_file(stack).exists():
        known = ", ".join(available_stacks()) or "none"
        print(
            f"daca: error: no stack {stack!r} (no Pulumi.{stack}.yaml); stacks: {known}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        result = synthesize(stack, config, out)
    except ConfigError as exc:
        print(f"daca: error: invalid config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    manifests = len(list(result.manifests_dir.glob("*.yaml")))
    print(
        f"synthesized {stack}: {len(result.resources)} resources, {manifests} manifests "
        f"in {result.seconds:.1f}s -> {result.out_dir}"
    )
    for item in result.not_rendered:
        print(f"  expanded by the provider at deploy, not rendered offline: {item}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "synth":
        return _synth(args.stack, args.config, args.out)
    if args.command == "plan":
        from infra.plan.command import run_plan

        return run_plan(args)
    if bool(args.stack) == bool(args.resources):
        print("daca: error: check takes a STACK or --resources FILE (one of them)", file=sys.stderr)
        return EXIT_USAGE
    from infra.check import run_check

    return run_check(
        stack=args.stack or args.stack_name,
        resources=args.resources,
        config_file=args.config,
        policy_config=args.policy_config,
    )


if __name__ == "__main__":
    sys.exit(main())
