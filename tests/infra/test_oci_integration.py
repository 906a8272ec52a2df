"""A real `pulumi up` and `destroy` of the oci stack, with the Pulumi CLI and OCI credentials.

Creates billable-if-misconfigured cloud resources, so it also needs DACA_OCI_IT=1 and the
stack's own FILL IN values (compartment, operator CIDR, OCIR user and token) set in the
environment: DACA_OCI_COMPARTMENT, DACA_OCI_OPERATOR_CIDR, DACA_OCI_REGISTRY_USER,
DACA_OCI_AUTH_TOKEN, DACA_OCI_REGION.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.infra.conftest import scratch_stack

NEEDED = (
    "DACA_OCI_REGION",
    "DACA_OCI_COMPARTMENT",
    "DACA_OCI_OPERATOR_CIDR",
    "DACA_OCI_REGISTRY_USER",
    "DACA_OCI_AUTH_TOKEN",
)


def _oci_credentials() -> str | None:
    """Why there are no usable OCI credentials, or None if there are."""
    if os.environ.get("DACA_OCI_IT") != "1":
        return "set DACA_OCI_IT=1 to let this test create (and destroy) OCI resources"
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        return f"missing {', '.join(missing)}"
    config = Path(os.environ.get("OCI_CLI_CONFIG_FILE", "~/.oci/config")).expanduser()
    # the provider's own variable names (pulumi-oci reads TF_VAR_private_key[_path])
    key_vars = ("TF_VAR_private_key", "TF_VAR_private_key_path")
    if not any(os.environ.get(name) for name in key_vars) and not config.exists():
        return f"no OCI API key: neither TF_VAR_private_key(_path) nor {config}"
    return None


@pytest.mark.integration
def test_pulumi_up_and_destroy_oci(tmp_path: Path) -> None:
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not installed")
    if shutil.which("docker") is None:
        pytest.skip("Docker is not installed (the arm64 image is built here)")
    reason = _oci_credentials()
    if reason:
        pytest.skip(reason)
    from pulumi import automation as auto

    env = os.environ
    with scratch_stack("oci", tmp_path) as stack:
        for key, value in {
            "daca:oci.region": env["DACA_OCI_REGION"],
            "daca:oci.compartmentId": env["DACA_OCI_COMPARTMENT"],
            "daca:oci.operatorCidr": env["DACA_OCI_OPERATOR_CIDR"],
            "daca:oci.registry.username": env["DACA_OCI_REGISTRY_USER"],
        }.items():
            stack.set_config(key, auto.ConfigValue(value=value), path=True)
        stack.set_config(
            "daca:ociAuthToken", auto.ConfigValue(value=env["DACA_OCI_AUTH_TOKEN"], secret=True)
        )
        try:
            result = stack.up(color="never", on_output=print)
            assert result.outputs["appUrl"].value.startswith("https://")
        finally:
            stack.destroy(color="never", on_output=print)
