"""Pieces of the oci stage that run somewhere else: the shell read over SSH, the image filter."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from infra.components.oci.images import image_name_pattern, newest_image_id
from infra.components.oci.kubeconfig import read_kubeconfig_script

K3S_YAML = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Zm9v
    server: https://127.0.0.1:6443
  name: default
"""


def _fake_server(tmp_path: Path, cloud_init_status: int) -> dict[str, str]:
    """A PATH where `cloud-init` exits with `cloud_init_status` and `sudo` just runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cloud-init").write_text(f"#!/bin/sh\nexit {cloud_init_status}\n")
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
    )


def test_kubeconfig_comes_back_pointing_at_the_public_address(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k3s.yaml"
    kubeconfig.write_text(K3S_YAML)
    script = read_kubeconfig_script("203.0.113.9", path=str(kubeconfig), wait_seconds=5)
    done = _run(script, _fake_server(tmp_path, 0))
    assert done.returncode == 0, done.stderr
    assert "server: https://203.0.113.9:6443" in done.stdout
    assert "127.0.0.1" not in done.stdout
    assert done.stdout.startswith("apiVersion: v1")  # nothing but the kubeconfig on stdout


def test_a_failed_cloud_init_fails_the_read_with_where_to_look(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k3s.yaml"
    kubeconfig.write_text(K3S_YAML)
    script = read_kubeconfig_script("203.0.113.9", path=str(kubeconfig), wait_seconds=5)
    done = _run(script, _fake_server(tmp_path, 1))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "/var/log/cloud-init-output.log" in done.stderr


def test_no_kubeconfig_in_time_fails_instead_of_returning_nothing(tmp_path: Path) -> None:
    script = read_kubeconfig_script(
        "203.0.113.9", path=str(tmp_path / "missing.yaml"), wait_seconds=0
    )
    done = _run(script, _fake_server(tmp_path, 0))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "journalctl -u k3s" in done.stderr


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("Canonical-Ubuntu-24.04-aarch64-2026.09.18-0", True),
        ("Canonical-Ubuntu-24.04-Minimal-aarch64-2026.09.18-0", False),
        ("Canonical-Ubuntu-24.04-aarch64-2026.09.18-0-GPU-DOCA", False),
        ("Canonical-Ubuntu-24.04-2026.09.18-0", False),  # x86_64
        ("Canonical-Ubuntu-22.04-aarch64-2026.09.18-0", False),
    ],
)
def test_image_filter_takes_only_the_full_aarch64_image(name: str, matches: bool) -> None:
    assert bool(re.match(image_name_pattern("24.04"), name)) is matches


def test_no_matching_image_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"set daca:oci\.image\.id"):
        newest_image_id([], "24.04")
    assert newest_image_id([{"id": "ocid1.image.a"}, {"id": "ocid1.image.b"}], "24.04") == (
        "ocid1.image.a"
    )
