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
    env = os.environ
    client = env.get("ARM_CLIENT_ID") or env.get("AZURE_CLIENT_ID")
    if client:
        # a client id alone authenticates nothing: azure-native also needs the tenant, the
        # subscription and a way to prove the identity (a secret, a certificate or OIDC)
        missing = [
            name
            for name, aliases in (
                ("ARM_TENANT_ID", ("ARM_TENANT_ID", "AZURE_TENANT_ID")),
                ("ARM_SUBSCRIPTION_ID", ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID")),
            )
            if not any(env.get(alias) for alias in aliases)
        ]
        proof = (
            env.get("ARM_CLIENT_SECRET")
            or env.get("AZURE_CLIENT_SECRET")
            or env.get("ARM_CLIENT_CERTIFICATE_PATH")
            or (env.get("ARM_USE_OIDC") == "true" and env.get("ACTIONS_ID_TOKEN_REQUEST_URL"))
            or env.get("ARM_OIDC_TOKEN")
        )
        if not proof:
            missing.append("ARM_CLIENT_SECRET, ARM_CLIENT_CERTIFICATE_PATH or ARM_USE_OIDC")
        if missing:
            return f"ARM_CLIENT_ID is set but not {' / '.join(missing)}"
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


_AZURE_VARS = (
    "ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_TENANT_ID", "AZURE_TENANT_ID",
    "ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID", "ARM_CLIENT_SECRET", "AZURE_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE_PATH", "ARM_USE_OIDC", "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ARM_OIDC_TOKEN",
)  # fmt: skip


@pytest.mark.parametrize(
    ("env", "usable"),
    [
        ({"ARM_CLIENT_ID": "c"}, False),
        ({"ARM_CLIENT_ID": "c", "ARM_TENANT_ID": "t", "ARM_SUBSCRIPTION_ID": "s"}, False),
        ({"ARM_CLIENT_ID": "c", "ARM_TENANT_ID": "t", "ARM_CLIENT_SECRET": "x"}, False),
        (
            {
                "ARM_CLIENT_ID": "c",
                "ARM_TENANT_ID": "t",
                "ARM_SUBSCRIPTION_ID": "s",
                "ARM_USE_OIDC": "true",
            },
            False,  # OIDC outside a GitHub job that may request a token
        ),
        (
            {
                "AZURE_CLIENT_ID": "c",
                "AZURE_TENANT_ID": "t",
                "AZURE_SUBSCRIPTION_ID": "s",
                "AZURE_CLIENT_SECRET": "x",
            },
            True,
        ),
        (
            {
                "ARM_CLIENT_ID": "c",
                "ARM_TENANT_ID": "t",
                "ARM_SUBSCRIPTION_ID": "s",
                "ARM_USE_OIDC": "true",
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token",
            },
            True,
        ),
    ],
)
def test_a_client_id_alone_is_not_taken_for_azure_credentials(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], usable: bool
) -> None:
    for name in _AZURE_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reason = _azure_credentials()
    assert (reason is None) is usable, reason
