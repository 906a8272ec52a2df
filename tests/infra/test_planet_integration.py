"""A real `pulumi preview` of the planet stack, with the Pulumi CLI and an Azure login.

The shipped file's OCI region also needs an OCI API key; without one, the preview runs on
the two AKS regions only (the OCI region is dropped from a throw-away copy).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.infra.conftest import scratch_stack
from tests.infra.test_aca_integration import _azure_credentials


def _without_oci_regions(text: str) -> str:
    document = yaml.safe_load(text)
    planet = document["config"]["daca:planet"]
    planet["regions"] = [r for r in planet["regions"] if r["cluster"]["kind"] != "oci"]
    return yaml.safe_dump(document)


@pytest.mark.integration
def test_pulumi_preview_planet(tmp_path: Path) -> None:
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not installed")
    reason = _azure_credentials()
    if reason:
        pytest.skip(reason)
    if shutil.which("kubelogin") is None:
        pytest.skip("kubelogin is not installed (AKS regions have local accounts disabled)")
    from pulumi import automation as auto

    oci_key = Path("~/.oci/config").expanduser().exists()
    edit = (lambda text: text) if oci_key else _without_oci_regions
    with scratch_stack("planet", tmp_path, edit) as stack:
        result = stack.preview(color="never")
    assert result.change_summary.get(auto.OpType.CREATE, 0) > 0
