"""The moderation feature on Dapr Workflows: the app with DACA_WORKFLOW_ENGINE=dapr, the
SDK's unmodified workflow runtime and client, against the fake daprd (state, pub/sub and
the task hub on one port). And, where a real daprd exists, the same against it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI

from app.auth.api_keys import key_digest
from app.workflows.clock import ManualClock
from tests.app.conftest import REVIEWER_KEY, USER_KEY, http_client, running_app
from tests.fakes.dapr_sidecar import FakeDaprSidecar
from tests.fakes.workflow_sidecar import FakeTaskHub

pytestmark = pytest.mark.anyio

RISKY = {"content": "You are an idiot, mail me at someone@example.com"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hub(clock: ManualClock) -> FakeTaskHub:
    return FakeTaskHub(clock)


@pytest.fixture
def workflow_sidecar(
    monkeypatch: pytest.MonkeyPatch, hub: FakeTaskHub
) -> Iterator[FakeDaprSidecar]:
    fake = FakeDaprSidecar(workflows=hub)
    grpc_port, http_port = fake.start()
    monkeypatch.setenv("DAPR_GRPC_PORT", str(grpc_port))
    monkeypatch.setenv("DAPR_HTTP_PORT", str(http_port))
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "2")
    yield fake
    fake.stop()


@pytest.fixture
async def dapr_app(
    workflow_sidecar: FakeDaprSidecar, clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        clock=clock,
        workflow_engine="dapr",
        sidecar_wait_seconds=5,
        monitor_interval_seconds=0,
        moderation_review_deadline_seconds=600,
    ) as (app, user):
        yield app, user


async def poll(client: httpx.AsyncClient, location: str, status: str) -> dict[str, Any]:
    """The worker runs in threads: wait (bounded) for the moderation to reach ``status``."""
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, Any] = (await client.get(location)).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.02)


async def test_low_risk_is_approved_through_dapr_workflows(
    dapr_app: tuple[FastAPI, httpx.AsyncClient], workflow_sidecar: FakeDaprSidecar
) -> None:
    app, user = dapr_app
    assert app.state.workflows.kind == "dapr"
    response = await user.post("/v1/moderations", json={"content": "A calm, friendly note."})
    assert response.status_code == 202
    body = await poll(user, response.headers["location"], "approved")
    assert body["status"] == "approved"
    assert len(body["verdicts"]) == 3
    moderation_id = body["moderation_id"]
    assert workflow_sidecar.value(f"moderation-{moderation_id}")["status"] == "approved"
    await until(lambda: workflow_sidecar.published)
    types = [event.cloudevent["type"] for event in workflow_sidecar.published]
    assert types == ["moderation.decided"]


async def test_a_reviewer_decides_through_the_workflow_event(
    dapr_app: tuple[FastAPI, httpx.AsyncClient], workflow_sidecar: FakeDaprSidecar
) -> None:
    app, user = dapr_app
    response = await user.post("/v1/moderations", json=RISKY)
    location = response.headers["location"]
    waiting = await poll(user, location, "awaiting_review")
    assert waiting["status"] == "awaiting_review"
    async with http_client(app, REVIEWER_KEY) as reviewer:
        decision = await reviewer.post(
            f"/v1/reviews/{waiting['review_id']}/decision", json={"approved": False}
        )
        again = await reviewer.post(
            f"/v1/reviews/{waiting['review_id']}/decision", json={"approved": False}
        )
    assert (decision.status_code, again.status_code) == (200, 200)
    body = await poll(user, location, "rejected")
    assert body["status"] == "rejected"

    def decided_events() -> list[Any]:
        return [
            e for e in workflow_sidecar.published if e.cloudevent["type"] == "moderation.decided"
        ]

    await until(decided_events)
    decided = [
        e for e in workflow_sidecar.published if e.cloudevent["type"] == "moderation.decided"
    ]
    assert len(decided) == 1


async def test_the_deadline_passes_on_the_engines_clock(
    dapr_app: tuple[FastAPI, httpx.AsyncClient], hub: FakeTaskHub, clock: ManualClock
) -> None:
    _, user = dapr_app
    response = await user.post("/v1/moderations", json=RISKY)
    location = response.headers["location"]
    assert (await poll(user, location, "awaiting_review"))["status"] == "awaiting_review"
    # The review is opened by an activity; the deadline timer comes on the workflow's next
    # turn, so "awaiting_review" can show before it exists (this raced in CI).
    deadline = clock.now() + timedelta(seconds=600)

    def deadline_timer() -> list[datetime]:
        return [due for due in hub.pending_timers() if due <= deadline]

    await until(deadline_timer)
    assert len(deadline_timer()) == 1
    clock.advance(599)
    assert hub.fire_due_timers() == 0
    clock.advance(2)
    assert hub.fire_due_timers() == 1
    body = await poll(user, location, "timed_out")
    assert (body["status"], body["decided_by"]) == ("timed_out", "deadline")


async def test_a_moderation_survives_an_app_restart_on_dapr(
    workflow_sidecar: FakeDaprSidecar, clock: ManualClock
) -> None:
    settings = {
        "clock": clock,
        "workflow_engine": "dapr",
        "sidecar_wait_seconds": 5,
        "monitor_interval_seconds": 0,
    }
    async with running_app(**settings) as (_, user):
        response = await user.post("/v1/moderations", json=RISKY)
        location = response.headers["location"]
        assert (await poll(user, location, "awaiting_review"))["status"] == "awaiting_review"
    # a new process: the history is daprd's, the review decides the restarted workflow
    async with running_app(**settings) as (app, user):
        review_id = (await user.get(location)).json()["review_id"]
        async with http_client(app, REVIEWER_KEY) as reviewer:
            await reviewer.post(f"/v1/reviews/{review_id}/decision", json={"approved": True})
        assert (await poll(user, location, "approved"))["status"] == "approved"


class SidecarDown(grpc.RpcError):
    """What the SDK's gRPC client raises when daprd does not answer."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


def _fail(*_: Any, **__: Any) -> Any:
    raise SidecarDown()


async def test_a_sidecar_outage_when_scheduling_is_a_503_and_leaves_no_orphan(
    dapr_app: tuple[FastAPI, httpx.AsyncClient],
    workflow_sidecar: FakeDaprSidecar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, user = dapr_app
    monkeypatch.setattr(app.state.workflows._client, "schedule_new_workflow", _fail)
    response = await user.post("/v1/moderations", json=RISKY)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    # the stored record is taken back: no moderation shows "pending" forever
    assert not [key for key in workflow_sidecar.state if "moderation" in key]


async def test_a_sidecar_outage_when_reading_is_a_503(
    dapr_app: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, user = dapr_app
    response = await user.post("/v1/moderations", json=RISKY)
    waiting = await poll(user, response.headers["location"], "awaiting_review")
    assert waiting["status"] == "awaiting_review"
    monkeypatch.setattr(app.state.workflows._client, "get_workflow_state", _fail)
    read = await user.get(response.headers["location"])
    assert read.status_code == 503


async def until(condition: Any) -> None:
    """Bounded wait for ``condition()`` (the chained publish runs after the record)."""
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


# -- a real daprd ---------------------------------------------------------------------------


def _dapr_binary(name: str) -> str | None:
    """A Dapr binary from DACA_DAPR_BIN (a directory), PATH, or `dapr init --slim`'s place."""
    for directory in (os.environ.get("DACA_DAPR_BIN"), None, os.path.expanduser("~/.dapr/bin")):
        found = shutil.which(name, path=directory) if directory else shutil.which(name)
        if found:
            return found
    return None


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


_COMPONENTS = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: statestore}}
spec:
  type: state.in-memory
  version: v1
  metadata: [{{name: actorStateStore, value: "true"}}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: pubsub}}
spec: {{type: pubsub.in-memory, version: v1, metadata: []}}
"""


def _wait_http(url: str, seconds: float, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            pytest.fail(f"a process exited while waiting for {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 300:
                return
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {seconds:.0f} s")


@pytest.mark.integration
def test_moderation_end_to_end_on_a_real_daprd(tmp_path: Any) -> None:
    """Placement, scheduler and daprd (>= 1.18, flags as in dapr/dapr v1.18.3's cmd/*/options)
    on loopback with an in-memory actor state store, and the app with
    DACA_WORKFLOW_ENGINE=dapr: a risky text waits for a reviewer, who approves it."""
    binaries = {name: _dapr_binary(name) for name in ("daprd", "placement", "scheduler")}
    missing = [name for name, path in binaries.items() if path is None]
    if missing:
        pytest.skip(
            f"no {', '.join(missing)} (PATH, DACA_DAPR_BIN or ~/.dapr/bin): install Dapr 1.18+ "
            "(`dapr init --slim`) to run this test"
        )
    daprd, placement, scheduler = (str(binaries[n]) for n in ("daprd", "placement", "scheduler"))
    version = subprocess.run([daprd, "--version"], capture_output=True, text=True, check=False)
    major_minor = tuple(int(p) for p in version.stdout.strip().lstrip("v").split(".")[:2])
    if major_minor < (1, 18):
        pytest.skip(f"daprd {version.stdout.strip()} is older than 1.18 (no workflow support)")

    (
        app_port, metrics, dapr_http, dapr_grpc, dapr_internal, dapr_metrics,
        placement_port, placement_health, placement_metrics, raft,
        scheduler_port, scheduler_health, scheduler_metrics, etcd_client, etcd_peer,
    ) = _free_ports(15)  # fmt: skip
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "components.yaml").write_text(_COMPONENTS)
    token = "e2e-app-token"
    loopback = "127.0.0.1"
    commands = [
        [placement, "--port", str(placement_port), "--healthz-port", str(placement_health),
         "--metrics-port", str(placement_metrics), "--listen-address", loopback,
         "--initial-cluster", f"dapr-placement-0={loopback}:{raft}"],
        [scheduler, "--port", str(scheduler_port), "--healthz-port", str(scheduler_health),
         "--metrics-port", str(scheduler_metrics), "--listen-address", loopback,
         "--override-broadcast-host-port", f"{loopback}:{scheduler_port}",
         "--etcd-data-dir", str(tmp_path / "etcd"), "--etcd-client-port", str(etcd_client),
         "--etcd-initial-cluster", f"dapr-scheduler-server-0=http://localhost:{etcd_peer}"],
    ]  # fmt: skip
    app_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DACA_", "DAPR_"))},
        "DACA_HOST": loopback,
        "DACA_PORT": str(app_port),
        "DACA_METRICS_PORT": str(metrics),
        "DACA_API_KEYS": key_digest(USER_KEY),
        "DACA_REVIEWER_KEYS": key_digest(REVIEWER_KEY),
        "DACA_RATE_LIMIT_PER_MINUTE": "0",
        "DACA_WORKFLOW_ENGINE": "dapr",
        "DACA_MODERATION_REVIEW_DEADLINE_SECONDS": "600",
        "DAPR_HTTP_PORT": str(dapr_http),
        "DAPR_GRPC_PORT": str(dapr_grpc),
        "APP_API_TOKEN": token,
    }
    daprd_command = [
        daprd, "--app-id", "daca-agent", "--app-port", str(app_port), "--app-protocol", "http",
        "--app-channel-address", loopback, "--dapr-http-port", str(dapr_http),
        "--dapr-grpc-port", str(dapr_grpc), "--dapr-internal-grpc-port", str(dapr_internal),
        "--metrics-port", str(dapr_metrics), "--resources-path", str(resources),
        "--placement-host-address", f"{loopback}:{placement_port}",
        "--scheduler-host-address", f"{loopback}:{scheduler_port}",
    ]  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            processes.append(subprocess.Popen(command, cwd=tmp_path))
        _wait_http(f"http://{loopback}:{placement_health}/healthz", 30, processes)
        _wait_http(f"http://{loopback}:{scheduler_health}/healthz", 60, processes)
        processes.append(subprocess.Popen([sys.executable, "-m", "app"], env=app_env))
        # daprd sends the app token it finds in its own environment (Dapr's convention)
        processes.append(
            subprocess.Popen(daprd_command, env={**os.environ, "APP_API_TOKEN": token})
        )
        _wait_http(f"http://{loopback}:{dapr_http}/v1.0/healthz", 60, processes)
        _wait_http(f"http://{loopback}:{app_port}/readyz", 60, processes)
        base = f"http://{loopback}:{app_port}"
        user = {"Authorization": f"Bearer {USER_KEY}"}
        reviewer = {"Authorization": f"Bearer {REVIEWER_KEY}"}
        response = httpx.post(f"{base}/v1/moderations", json=RISKY, headers=user, timeout=10)
        assert response.status_code == 202, response.text
        location = base + response.headers["location"].removeprefix(base)

        def wait_for(status: str) -> dict[str, Any]:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                body: dict[str, Any] = httpx.get(location, headers=user, timeout=10).json()
                if body["status"] == status:
                    return body
                time.sleep(0.5)
            pytest.fail(f"the moderation never reached {status!r}")

        waiting = wait_for("awaiting_review")
        decision = httpx.post(
            f"{base}/v1/reviews/{waiting['review_id']}/decision",
            json={"approved": True},
            headers=reviewer,
            timeout=10,
        )
        assert decision.status_code == 200, decision.text
        assert wait_for("approved")["status"] == "approved"
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
