"""The sweep the Dapr cron binding triggers: once per period however many replicas it fires
on; due workflow timers, reviews past their deadline, stale sessions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.routes.dapr_bindings import SWEEP_ROUTE
from app.store import EmbeddedBackend
from app.sweep import SESSION_DAYS_KEY
from app.workflows.clock import ManualClock
from tests.app.conftest import REMOTE, REVIEWER_KEY, http_client, running_app

pytestmark = pytest.mark.anyio

QUIET = {"workflow_tick_seconds": 0, "monitor_interval_seconds": 0}
DAY = 24 * 3600


async def sweep(client: httpx.AsyncClient) -> dict[str, Any]:
    """What daprd does on the binding's schedule (from loopback, no key)."""
    response = await client.post(SWEEP_ROUTE, headers={"authorization": ""})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_sweep_runs_once_per_period_across_replicas() -> None:
    backend, clock = EmbeddedBackend(), ManualClock()
    async with (
        running_app(backend=backend, clock=clock, **QUIET) as (_, one),
        running_app(backend=backend, clock=clock, **QUIET) as (_, two),
    ):
        first, second = await asyncio.gather(sweep(one), sweep(two))
        assert sorted([first["status"], second["status"]]) == ["done", "skipped"]
        assert first["slot"] == second["slot"]
        assert (await sweep(one))["status"] == "skipped"  # the same period again
        clock.advance(300)
        later = [await sweep(two), await sweep(one)]
        assert [r["status"] for r in later] == ["done", "skipped"]


async def test_only_the_sidecar_may_trigger_the_sweep() -> None:
    async with running_app(**QUIET) as (app, _):
        async with http_client(app, key=None, client=REMOTE) as outsider:
            assert (await outsider.post(SWEEP_ROUTE)).status_code == 403
        # daprd's startup probe: does the app take this binding's events?
        async with http_client(app, key=None) as sidecar:
            assert (await sidecar.options(SWEEP_ROUTE)).status_code == 200


@pytest.mark.parametrize(
    ("content", "kind"),
    [("Please refund order B-42 for 30", "tool_approval"), ("review my text", "output_review")],
)
async def test_reviews_past_their_deadline_are_closed(content: str, kind: str) -> None:
    clock = ManualClock()
    async with running_app(clock=clock, review_deadline_seconds=3600, **QUIET) as (app, user):
        held = await user.post("/v1/sessions/s1/messages", json={"content": content})
        review_id = held.json()["review_id"]
        assert (await user.get(f"/v1/reviews/{review_id}")).json()["kind"] == kind
        clock.advance(3599)
        assert (await sweep(user))["reviews_expired"] == 0
        clock.advance(300)
        assert (await sweep(user))["reviews_expired"] == 1
        review = (await user.get(f"/v1/reviews/{review_id}")).json()
        assert review["status"] == "expired"
        last = (await user.get("/v1/sessions/s1")).json()["messages"][-1]
        assert last["status"] == "rejected"
        assert "deadline" in last["content"]
        async with http_client(app, REVIEWER_KEY) as reviewer:
            late = await reviewer.post(f"/v1/reviews/{review_id}/decision", json={"approved": True})
        assert late.status_code == 409
        clock.advance(300)
        assert (await sweep(user))["reviews_expired"] == 0  # closed once


async def test_decided_reviews_are_left_alone() -> None:
    clock = ManualClock()
    async with running_app(clock=clock, review_deadline_seconds=60, **QUIET) as (app, user):
        held = await user.post(
            "/v1/sessions/s1/messages", json={"content": "Please refund order B-42 for 30"}
        )
        review_id = held.json()["review_id"]
        async with http_client(app, REVIEWER_KEY) as reviewer:
            await reviewer.post(f"/v1/reviews/{review_id}/decision", json={"approved": True})
        clock.advance(120)
        assert (await sweep(user))["reviews_expired"] == 0
        assert (await user.get(f"/v1/reviews/{review_id}")).json()["status"] == "approved"


async def test_sessions_idle_past_the_retention_are_deleted() -> None:
    clock = ManualClock()
    async with running_app(clock=clock, session_retention_seconds=2 * DAY, **QUIET) as (
        _,
        user,
    ):
        for session in ("old", "busy"):
            await user.post(f"/v1/sessions/{session}/messages", json={"content": "hi"})
        clock.advance(1.5 * DAY)
        await user.post("/v1/sessions/busy/messages", json={"content": "still here"})
        clock.advance(1.5 * DAY)
        result = await sweep(user)
        assert result["sessions_deleted"] == 1
        assert (await user.get("/v1/sessions/old")).status_code == 404
        assert (await user.get("/v1/sessions/busy")).status_code == 200
        clock.advance(3 * DAY)  # now "busy" is idle too; it was re-indexed, not forgotten
        assert (await sweep(user))["sessions_deleted"] == 1
        assert (await user.get("/v1/sessions/busy")).status_code == 404


@pytest.mark.parametrize(("retention", "indexed"), [(0, False), (1, True)])
async def test_new_sessions_are_indexed_only_when_a_retention_is_set(
    retention: int, indexed: bool
) -> None:
    """With retention off nothing ever reads the index: writing it would only grow the
    store by one entry a session (and cost a write a message). One second is a retention."""
    async with running_app(session_retention_seconds=retention, **QUIET) as (app, user):
        await user.post("/v1/sessions/kept/messages", json={"content": "hi"})
        days = (await app.state.backend.state.get(SESSION_DAYS_KEY)).value
    assert (days is not None) is indexed


async def test_the_sweep_fires_due_workflow_timers() -> None:
    clock = ManualClock()
    async with running_app(clock=clock, moderation_review_deadline_seconds=60, **QUIET) as (
        app,
        user,
    ):
        response = await user.post(
            "/v1/moderations", json={"content": "you idiot, buy now at http://x"}
        )
        await app.state.workflows.drain()
        location = response.headers["location"]
        assert (await user.get(location)).json()["status"] == "awaiting_review"
        clock.advance(61)
        assert (await sweep(user))["workflows_run"] >= 1
        await app.state.workflows.drain()
        assert (await user.get(location)).json()["status"] == "timed_out"


async def test_a_review_at_its_deadline_is_closed_and_announced() -> None:
    """What reviewers, dashboards and subscribers see of an expiry: the review carries
    who closed it and when, the counter moves, and review.decided goes out once."""
    from app.keys import review_key

    backend, clock = EmbeddedBackend(), ManualClock()
    async with running_app(backend=backend, clock=clock, review_deadline_seconds=60, **QUIET) as (
        _,
        user,
    ):
        held = (
            await user.post(
                "/v1/sessions/s1/messages", json={"content": "Please refund order B-42 for 30"}
            )
        ).json()
        clock.advance(60)  # exactly the deadline: it has passed
        assert (await sweep(user))["reviews_expired"] == 1
        review = (await user.get(f"/v1/reviews/{held['review_id']}")).json()
        last = (await user.get("/v1/sessions/s1")).json()["messages"][-1]
        metrics = (await user.get("/metrics")).text
    stored = (await backend.state.get(review_key(held["review_id"]))).value
    assert review["status"] == "expired"
    assert review["decided_at"] is not None
    assert review["final_reply"] == last["content"]
    assert stored["decided_by"] == "deadline"
    assert 'daca_reviews_total{transition="expired"} 1.0' in metrics
    decided = [e for e in backend.events.events if e["type"] == "review.decided"]
    assert len(decided) == 1
    assert decided[0]["subject"] == "s1"
    assert decided[0]["data"] == {
        "review_id": held["review_id"],
        "session_id": "s1",
        "message_id": held["message_id"],
        "approved": False,
        "decided_by": "deadline",
    }


@pytest.mark.parametrize(("seconds", "expires"), [(0, False), (1, True)])
async def test_a_review_deadline_of_zero_means_none(seconds: int, expires: bool) -> None:
    clock = ManualClock()
    async with running_app(clock=clock, review_deadline_seconds=seconds, **QUIET) as (_, user):
        held = await user.post(
            "/v1/sessions/s1/messages", json={"content": "Please refund order B-42 for 30"}
        )
        review_id = held.json()["review_id"]
        review = (await user.get(f"/v1/reviews/{review_id}")).json()
        clock.advance(DAY)
        assert (await sweep(user))["reviews_expired"] == int(expires)
    assert (review["deadline"] is not None) is expires
