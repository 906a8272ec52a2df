"""The PR and integration workflows pin their actions and run the pack the way the docs say."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "pr.yml"
INTEGRATION = WORKFLOWS / "integration.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _steps(workflow: Path = WORKFLOW) -> list[dict]:
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    return [step for job in jobs.values() for step in job.get("steps", [])]


@pytest.mark.parametrize("workflow", [WORKFLOW, INTEGRATION], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_version_or_sha(workflow: Path) -> None:
    uses = [s["uses"] for s in _steps(workflow) if "uses" in s]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


def test_integration_runs_nightly_and_on_demand_never_on_pull_requests() -> None:
    # PyYAML reads the bare `on:` key as the boolean True
    triggers = yaml.safe_load(INTEGRATION.read_text())[True]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"]


def test_integration_installs_the_real_tools_then_runs_the_tests_and_the_pack() -> None:
    steps = _steps(INTEGRATION)
    runs = [s.get("run", "") for s in steps]
    assert any(s.get("uses", "").startswith("pulumi/actions@") for s in steps)
    assert any("kind.sigs.k8s.io/dl/" in r for r in runs)
    assert any("dapr init --slim" in r for r in runs)
    (tests,) = [i for i, r in enumerate(runs) if r.startswith("uv run pytest -m integration")]
    (pack,) = [i for i, r in enumerate(runs) if "--policy-pack policies" in r]
    installs = [i for i, r in enumerate(runs) if "dapr init" in r or "kind version" in r]
    assert max(installs) < tests
    assert "--policy-pack-config policies/config/prototype.json" in runs[pack]


def test_preview_runs_the_pack_with_the_stack_config() -> None:
    (preview,) = [s for s in _steps() if s.get("uses", "").startswith("pulumi/actions@")]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policies"
    assert preview["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert preview["with"]["comment-on-pr"] == "${{ github.event_name == 'pull_request' }}"


def _gate(tmp_path: Path, **env: str) -> list[str]:
    """Run the workflow's credentials gate as GitHub would; return the stacks it lets through."""
    import json
    import shutil
    import subprocess

    if shutil.which("jq") is None:
        message = "jq is not installed (the workflow's runner has it; .ci/run installs it)"
        # where CI promises jq, its absence is a broken runner, not a reason to check less
        if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    (gate,) = [s for s in _steps() if s.get("id") == "gate"]
    output = tmp_path / "github_output"
    output.unlink(missing_ok=True)  # the step appends, as GitHub's file is per step
    full_env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_OUTPUT": str(output),
        "STACKS": json.dumps(["aca", "oci", "planet", "prototype"]),
        **env,
    }
    subprocess.run(["bash", "-e", "-c", gate["run"]], env=full_env, check=True, timeout=30)
    line = output.read_text().strip()
    assert line.startswith("stacks=")
    stacks: list[str] = json.loads(line.removeprefix("stacks="))
    return stacks


AZURE = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s"}


def test_previews_need_a_pulumi_token(tmp_path: Path) -> None:
    assert _gate(tmp_path, **AZURE) == []


def test_only_stacks_with_their_credentials_are_previewed_never_the_local_kind_stage(
    tmp_path: Path,
) -> None:
    assert _gate(tmp_path, PULUMI_ACCESS_TOKEN="p", **AZURE) == ["aca"]


def test_preview_stacks_variable_limits_the_previews(tmp_path: Path) -> None:
    oci = {
        "OCI_TENANCY_OCID": "a",
        "OCI_USER_OCID": "b",
        "OCI_FINGERPRINT": "c",
        "OCI_PRIVATE_KEY": "d",
    }
    everything = _gate(tmp_path, PULUMI_ACCESS_TOKEN="p", **AZURE, **oci)
    assert everything == ["aca", "oci", "planet"]
    assert _gate(tmp_path, PULUMI_ACCESS_TOKEN="p", PREVIEW_STACKS="aca", **AZURE, **oci) == ["aca"]


def test_every_stack_runs_daca_check() -> None:
    runs = [s.get("run", "") for s in _steps()]
    assert "uv run daca check ${{ matrix.stack }}" in runs
    assert "uv sync --project policies" in runs
