"""Every stack this project ships passes `daca check` with no mandatory violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.check import run_check

from .conftest import POLICIES_DIR, REPO_ROOT

STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO_ROOT.glob("Pulumi.*.yaml")
)


def test_every_stack_has_a_policy_config() -> None:
    missing = [s for s in STACKS if not (POLICIES_DIR / "config" / f"{s}.json").is_file()]
    assert not missing, f"add policies/config/<stack>.json for: {', '.join(missing)}"


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_passes_daca_check(
    stack: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # its own directory: tests in other workers synthesize the same stacks
    code = run_check(stack, None, None, None, out_dir=tmp_path)
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
