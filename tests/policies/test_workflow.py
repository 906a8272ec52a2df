"""The PR workflow pins its actions and runs the pack the way the docs say."""

from __future__ import annotations

import re

import yaml

from .conftest import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "pr.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _steps() -> list[dict]:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    return [step for job in jobs.values() for step in job.get("steps", [])]


def test_every_action_is_pinned_to_a_full_version_or_sha() -> None:
    loose = [s["uses"] for s in _steps() if "uses" in s and not PINNED.match(s["uses"])]
    assert not loose


def test_preview_runs_the_pack_with_the_stack_config() -> None:
    (preview,) = [s for s in _steps() if s.get("uses", "").startswith("pulumi/actions@")]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policies"
    assert preview["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert preview["with"]["comment-on-pr"]


def test_every_stack_runs_daca_check() -> None:
    runs = [s.get("run", "") for s in _steps()]
    assert "uv run daca check ${{ matrix.stack }}" in runs
    assert "uv sync --project policies" in runs
