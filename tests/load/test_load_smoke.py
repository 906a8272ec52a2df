"""The load test's scenario runs, bounded, against the app on loopback, so it never rots.

The app runs in embedded mode (offline model, in-process store) with an API key, as
`uv run uvicorn app.main:app` does; Locust drives it for 15 s with 10 users through the
same `tests/load/locustfile.py` that `make load` points at a deployed stage. Traffic goes
to 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "tests" / "load" / "locustfile.py"
USERS, SECONDS, RATE = 10, 15, 30


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DACA_", "DAPR_")) and k not in ("OPENAI_API_KEY", "APP_API_TOKEN")
    }


@pytest.fixture(scope="module")
def app_on_loopback() -> Iterator[tuple[str, str]]:
    """The app on 127.0.0.1 with one API key and no rate limit; yields (url, key)."""
    key = secrets.token_urlsafe(32)
    port = _free_port()
    env = _clean_env() | {
        "DACA_API_KEYS": hashlib.sha256(key.encode()).hexdigest(),
        "DACA_RATE_LIMIT_PER_MINUTE": "0",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the app did not start on loopback")
            time.sleep(0.1)
        yield url, key
    finally:
        server.terminate()
        server.wait(timeout=10)


def _locust(
    url: str, key: str, users: int = USERS, seconds: int = SECONDS, p95_ms: float = 60_000
) -> subprocess.CompletedProcess[str]:
    assert url.startswith("http://127.0.0.1:")
    env = _clean_env() | {
        "DACA_LOAD_API_KEY": key,
        "DACA_LOAD_USERS": str(users),
        "DACA_LOAD_DURATION": str(seconds),
        "DACA_LOAD_RATE": str(RATE),
        "DACA_LOAD_REPLICAS": "1",
        # a test never depends on this machine's speed: the smoke's latency limit is one
        # it cannot miss, and the test below sets one it cannot meet
        "DACA_LOAD_P95_MS": str(p95_ms),
    }
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    command += ["--host", url, "--only-summary", "--loglevel", "WARNING"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60
    )


@pytest.mark.timeout(SECONDS * 2 + 90)
def test_the_load_scenario_passes_its_thresholds_against_the_app_on_loopback(
    app_on_loopback: tuple[str, str],
) -> None:
    url, key = app_on_loopback
    run = _locust(url, key)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "result: PASS" in out
    assert "plan check: PASS" in out
    # the real API shape was exercised: messages posted and read back
    assert "POST     /v1/sessions/[id]/messages" in out
    assert "GET      /v1/sessions/[id]" in out


@pytest.mark.timeout(SECONDS * 2 + 90)
def test_a_wrong_key_fails_the_run_with_exit_code_1(app_on_loopback: tuple[str, str]) -> None:
    url, _ = app_on_loopback
    run = _locust(url, "not-the-key", users=2, seconds=5)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    assert "threshold errors < 10%: FAIL" in out
    assert "result: FAIL" in out


@pytest.mark.timeout(SECONDS * 2 + 90)
def test_a_latency_over_the_threshold_fails_the_run(app_on_loopback: tuple[str, str]) -> None:
    url, key = app_on_loopback
    run = _locust(url, key, users=2, seconds=5, p95_ms=0.001)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    assert "threshold p95 < 0 ms: FAIL" in out
    assert "threshold errors < 10%: PASS" in out
