"""`pulumi up` / `destroy` of the prototype stack through the Automation API.

Needs the Pulumi CLI, kind and a running Docker engine (the program drives kind and the
Kubernetes provider itself; no kubectl); skips, naming what is missing, anywhere else.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.infra.conftest import scratch_stack

ROOT = Path(__file__).parents[2]


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("pulumi", "kind", "docker") if shutil.which(tool) is None]
    if "docker" not in missing:
        try:
            engine = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            engine = None
        if engine is None or engine.returncode != 0:
            missing.append("a running Docker engine")
    return missing


@pytest.mark.integration
def test_prototype_up_answers_then_destroys(tmp_path: Path) -> None:
    missing = _missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: not available on this machine")

    def own_cluster(text: str) -> str:
        return text.replace("clusterName: daca", "clusterName: daca-it")

    with scratch_stack("prototype", tmp_path, own_cluster) as stack:
        try:
            result = stack.up(on_output=print)
            _answers(result.outputs["appUrl"].value)
        finally:
            stack.destroy(on_output=print)


def _answers(url: str) -> None:
    """The app is ready within 5 minutes and answers a message."""
    deadline = time.monotonic() + 300
    body = b""
    while time.monotonic() < deadline and not body:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                body = response.read()
        except OSError:
            time.sleep(5)
    assert body, f"{url}/readyz never answered"
    request = urllib.request.Request(
        f"{url}/v1/sessions/it/messages",
        data=b'{"content": "hello"}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
