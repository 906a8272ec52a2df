"""The moderation feature on Dapr Workflows: the app with DACA_WORKFLOW_ENGINE=dapr, the
SDK's unmodified workflow runtime and client, against the fake daprd (state, pub/sub and
the task hub on one port). And, where a real daprd exists, the same against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.workflows.clock import ManualClock
from tests.app.conftest import REVIEWER_KEY, http_client, running_app
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


async def until(condition: Any) -> None:
    """Bounded wait for ``condition()`` (the chained publish runs after the record)."""
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


# -- a real daprd ---------------------------------------------------------------------------


def _daprd() -> str | None:
    return os.environ.get("DACA_DAPRD") or shutil.which("daprd")


@pytest.mark.integration
def test_moderation_end_to_end_on_a_real_daprd(tmp_path: Any) -> None:
    """Runs daprd (>= 1.18) in standalone mode with an in-memory actor state store and the
    app with DACA_WORKFLOW_ENGINE=dapr; a risky text waits for a reviewer, who approves."""
    daprd = _daprd()
    if daprd is None:
        pytest.skip("no daprd on PATH (or DACA_DAPRD): install Dapr 1.18+ to run this test")
    version = subprocess.run([daprd, "--version"], capture_output=True, text=True, check=False)
    major_minor = tuple(int(p) for p in version.stdout.strip().lstrip("v").split(".")[:2])
    if major_minor < (1, 18):
        pytest.skip(f"daprd {version.stdout.strip()} is older than 1.18 (no workflow support)")
    pytest.skip(
        "the real-daprd run (daprd + uvicorn subprocesses, in-memory actor store) is not "
        "written yet: the fake task hub covers the protocol"
    )
