"""A real `pulumi preview` of the aca stack, where the Pulumi CLI and Azure credentials exist."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import scratch_stack

ROOT = Path(__file__).parents[2]


def _azure_credentials() -> str | None:
    """Why there are no usable Azure credentials, or None if there are."""
    if os.environ.get("ARM_CLIENT_ID") or os.environ.get("AZURE_CLIENT_ID"):
        return None
    az = shutil.which("az")
    if az is None:
        return "no Azure credentials: neither ARM_CLIENT_ID/AZURE_CLIENT_ID nor the az CLI"
    try:
        done = subprocess.run([az, "account", "show"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "`az account show` did not answer"
    return None if done.returncode == 0 else "the az CLI is not logged in (`az login`)"


@pytest.mark.integration
def test_pulumi_preview_aca(tmp_path: Path) -> None:
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not installed")
    reason = _azure_credentials()
    if reason:
        pytest.skip(reason)
    from pulumi import automation as auto

    with scratch_stack("aca", tmp_path) as stack:
        result = stack.preview(color="never")
    assert result.change_summary.get(auto.OpType.CREATE, 0) > 0
