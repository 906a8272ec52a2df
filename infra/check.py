"""`daca check`: the policy pack and the manifest schemas on a stack, with no Pulumi CLI.

The pack runs in its own environment (``policies/.venv``: pulumi-policy needs protobuf
5, this project has protobuf 6), in a subprocess that drives pulumi_policy's analyzer
exactly as ``pulumi preview --policy-pack policies --policy-pack-config
policies/config/<stack>.json`` would.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
POLICIES_DIR = REPO_ROOT / "policies"
EXIT_OK, EXIT_VIOLATION, EXIT_USAGE = 0, 1, 2
RUNNER_TIMEOUT_SECONDS = 300


class PackEnvError(Exception):
    """The pack's environment is missing and could not be created."""


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    type: str
    message: str
    level: str
    severity: str

    def render(self) -> str:
        where = f"{self.resource} ({self.type})" if self.type else self.resource
        severity = f" [{self.severity}]" if self.severity else ""
        return f"{self.level.upper():<9} {self.policy}{severity}  {where}: {self.message}"


@dataclass(frozen=True)
class PolicyReport:
    policies: int
    resources: int
    violations: list[Violation]
    not_applicable: list[dict[str, str]]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]


def pack_python(policies_dir: Path = POLICIES_DIR) -> Path:
    """The pack environment's interpreter, created with `uv sync` when it is missing."""
    bin_dir = "Scripts" if os.name == "nt" else "bin"
    python = policies_dir / ".venv" / bin_dir / ("python.exe" if os.name == "nt" else "python")
    if python.exists() and _imports_pack(python, policies_dir):
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise PackEnvError(
            f"the policy pack environment {policies_dir / '.venv'} is missing and uv is not "
            f"installed; create it with `uv sync --project {policies_dir} --frozen` or "
            f"`python -m venv {policies_dir / '.venv'} && "
            f"{policies_dir / '.venv' / bin_dir / 'pip'} install -r "
            f"{policies_dir / 'requirements.txt'}`"
        )
    print(
        f"creating the policy pack environment in {policies_dir / '.venv'} (uv sync)",
        file=sys.stderr,
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [uv, "sync", "--project", str(policies_dir), "--frozen", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not python.exists():
        raise PackEnvError(
            f"`uv sync --project {policies_dir} --frozen` failed: "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no output']}"
        )
    return python


@functools.cache
def _imports_pack(python: Path, policies_dir: Path) -> bool:
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(python), "-c", "import pulumi_policy, jsonschema"],
        cwd=policies_dir,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def evaluate_policies(
    resources: Path,
    policy_config: Path | None,
    stack: str | None,
    policies_dir: Path = POLICIES_DIR,
) -> PolicyReport:
    """Runs the pack on a resources.json in the pack's environment."""
    python = pack_python(policies_dir)
    argv = [
        str(python),
        "-m",
        "daca_policies.runner",
        "--resources",
        str(resources.resolve()),
        "--stack",
        stack or "stack",
        "--format",
        "json",
    ]
    if policy_config is not None:
        argv += ["--config", str(policy_config.resolve())]
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        argv,
        cwd=policies_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=RUNNER_TIMEOUT_SECONDS,
    )
    if done.returncode == EXIT_USAGE:
        raise ValueError(done.stderr.strip().removeprefix("error: "))
    if done.returncode != 0:
        raise RuntimeError(f"the policy runner failed:\n{done.stderr.strip()}")
    data: dict[str, Any] = json.loads(done.stdout)
    return PolicyReport(
        policies=int(data["policies"]),
        resources=int(data["resources"]),
        violations=[
            Violation(**{k: str(v.get(k, "")) for k in Violation.__dataclass_fields__})
            for v in data["violations"]
        ],
        not_applicable=list(data.get("notApplicable", [])),
    )


def default_policy_config(stack: str | None) -> Path | None:
    if not stack:
        return None
    path = POLICIES_DIR / "config" / f"{stack}.json"
    return path if path.is_file() else None


def _validate_manifests(manifests_dir: Path, k8s_version: str | None) -> list[str]:
    if not manifests_dir.is_dir() or not any(manifests_dir.glob("*.y*ml")):
        return []  # a stack with no Kubernetes objects (aca) has nothing to validate
    if k8s_version is None:
        print(
            f"daca check: {manifests_dir} not schema-checked: name the stack (--stack) so "
            "its Kubernetes version is known",
            file=sys.stderr,
        )
        return []
    try:
        validate = importlib.import_module("infra.validate")
    except ImportError:  # pragma: no cover - only until infra.validate lands
        print(
            "daca check: manifest schema validation unavailable (no infra.validate)",
            file=sys.stderr,
        )
        return []
    return [str(e) for e in validate.validate_manifests(manifests_dir, k8s_version)]


def run_check(
    stack: str | None,
    resources: Path | None,
    config_file: Path | None,
    policy_config: Path | None,
    out_dir: Path | None = None,
) -> int:
    """`daca check`: prints each violation; 0 clean, 1 mandatory violation or invalid
    manifest, 2 bad usage or bad config. A stack is synthesized into `out_dir` (default
    build/synth/STACK)."""
    if stack is None and resources is None:
        return _usage("give a STACK or --resources FILE")
    if resources is not None and config_file is not None:
        return _usage("--config applies to a STACK, not to --resources")
    if policy_config is not None and not policy_config.is_file():
        return _usage(f"policy config not found: {policy_config}")
    policy_config = policy_config or default_policy_config(stack)

    k8s_version: str | None = None
    if resources is None:
        assert stack is not None
        from infra.config import ConfigError
        from infra.synth import synthesize

        try:
            result = synthesize(stack, config_file=config_file, out_dir=out_dir)
        except (ConfigError, FileNotFoundError) as e:
            return _usage(str(e))
        resources, manifests_dir, k8s_version = (
            result.resources_path,
            result.manifests_dir,
            result.k8s_version,
        )
    else:
        if not resources.is_file():
            return _usage(f"resources file not found: {resources}")
        manifests_dir = resources.parent / "manifests"
        if stack is not None:
            from infra.config import ConfigError
            from infra.synth import load_stack_config, stack_file

            known = stack_file(stack).is_file() or default_policy_config(stack) is not None
            if not known:
                return _usage(
                    f"unknown stack {stack!r}: no Pulumi.{stack}.yaml and no "
                    f"policies/config/{stack}.json"
                )
            if stack_file(stack).is_file():
                try:
                    config, _, _ = load_stack_config(stack_file(stack))
                except ConfigError as e:
                    return _usage(str(e))
                k8s_version = getattr(config, "kubernetes_version", None)

    try:
        report = evaluate_policies(resources, policy_config, stack)
    except (PackEnvError, ValueError) as e:
        return _usage(str(e))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        # a policy that crashed checked nothing: never report that as clean
        last = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        print(f"daca check: the policy pack could not finish: {last}", file=sys.stderr)
        return EXIT_VIOLATION

    for violation in report.violations:
        print(violation.render())
    manifest_errors = _validate_manifests(manifests_dir, k8s_version)
    for error in manifest_errors:
        print(f"INVALID   manifest  {error}")

    advisory = len(report.violations) - len(report.mandatory)
    config_note = f" with {_relative(policy_config)}" if policy_config else ""
    print(
        f"{report.policies} policies on {report.resources} resources{config_note}: "
        f"{len(report.mandatory)} mandatory, {advisory} advisory violation(s), "
        f"{len(report.not_applicable)} not applicable; "
        f"{len(manifest_errors)} invalid manifest(s)"
    )
    return EXIT_VIOLATION if report.mandatory or manifest_errors else EXIT_OK


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _usage(message: str) -> int:
    print(f"daca check: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry (`python -m infra.check`) until the `daca` CLI wires it."""
    import argparse

    parser = argparse.ArgumentParser(prog="daca check")
    parser.add_argument("stack", nargs="?")
    parser.add_argument("--resources", type=Path)
    parser.add_argument("--stack", dest="stack_name")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--policy-config", type=Path)
    args = parser.parse_args(argv)
    stack = args.stack or args.stack_name
    return run_check(stack, args.resources, args.config, args.policy_config)


if __name__ == "__main__":
    sys.exit(main())
