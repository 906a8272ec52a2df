"""`daca_reviews_pending`: the review backlog alert's metric, right with several replicas.

Each replica's sweep reads the backlog from the shared state store, so every replica
reports the same total (the alert takes max() across them); a per-replica count of what
that replica created would be wrong as soon as another replica decides the review.
"""

from __future__ import annotations

import re

import httpx
import pytest

from app.routes.dapr_bindings import SWEEP_ROUTE
from app.store import EmbeddedBackend
from app.workflows.clock import ManualClock
from tests.app.conftest import REVIEWER_KEY, AppFactory, http_client, running_app
from tests.fakes.dapr_sidecar import FakeDaprSidecar

pytestmark = pytest.mark.anyio

QUIET = {"workflow_tick_seconds": 0, "monitor_interval_seconds": 0, "sidecar_wait_seconds": 5}
HELD = "Please refund order B-42 for 30"  # the offline model holds refunds for review


async def pending(client: httpx.AsyncClient) -> float:
    """What Prometheus would scrape from this replica after daprd fired the sweep on it."""
    fired = await client.post(SWEEP_ROUTE, headers={"authorization": ""})
    assert fired.status_code == 200, fired.text
    text = (await client.get("/metrics")).text
    match = re.search(r"^daca_reviews_pending (\S+)$", text, re.MULTILINE)
    assert match is not None, "daca_reviews_pending is not exported"
    return float(match.group(1))


async def test_two_replicas_report_the_shared_backlog(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    async with (
        app_factory(**QUIET) as (_, one),
        app_factory(**QUIET) as (app_two, two),
    ):
        assert [await pending(one), await pending(two)] == [0.0, 0.0]
        first = (await one.post("/v1/sessions/a/messages", json={"content": HELD})).json()
        await two.post("/v1/sessions/b/messages", json={"content": HELD})
        await one.post("/v1/sessions/c/messages", json={"content": HELD})
        # both replicas see all three, whoever created them (not 2 and 1; not 6 summed)
        assert [await pending(one), await pending(two)] == [3.0, 3.0]
        # replica two decides a review replica one created; the same decision again is harmless
        async with http_client(app_two, REVIEWER_KEY) as reviewer:
            for _ in range(2):
                await reviewer.post(
                    f"/v1/reviews/{first['review_id']}/decision", json={"approved": True}
                )
        assert [await pending(one), await pending(two)] == [2.0, 2.0]
    assert len(sidecar.value("reviews-pending")["reviews"]) == 2


async def test_an_expired_review_leaves_the_backlog() -> None:
    backend, clock = EmbeddedBackend(), ManualClock()
    quiet = {"workflow_tick_seconds": 0, "monitor_interval_seconds": 0}
    async with (
        running_app(backend=backend, clock=clock, review_deadline_seconds=60, **quiet) as (_, one),
        running_app(backend=backend, clock=clock, review_deadline_seconds=60, **quiet) as (_, two),
    ):
        await one.post("/v1/sessions/x/messages", json={"content": HELD})
        assert [await pending(one), await pending(two)] == [1.0, 1.0]
        clock.advance(600)  # past the deadline: whichever replica claims the sweep expires it
        assert [await pending(two), await pending(one)] == [0.0, 0.0]


async def test_a_backlog_count_that_fails_loses_no_decision_and_the_sweep_heals_it(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """The backlog is a metric: when its shared key cannot be written (here another writer
    always wins, so the app runs out of retries), the decision and its events still go
    through, and the next sweep drops the decided review from the count."""

    def always_contended(key: str) -> None:
        if key == "reviews-pending":
            sidecar.put(key, sidecar.value(key))

    fast = {"state_max_retries": 1, "state_retry_base_ms": 1, "state_retry_max_ms": 1}
    clock = ManualClock()
    async with app_factory(clock=clock, **QUIET, **fast) as (app, client):
        held = (await client.post("/v1/sessions/a/messages", json={"content": HELD})).json()
        assert await pending(client) == 1.0
        sidecar.before_save = always_contended
        async with http_client(app, REVIEWER_KEY) as reviewer:
            decided = await reviewer.post(
                f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
            )
        assert decided.status_code == 200, decided.text
        types = [event.cloudevent["type"] for event in sidecar.published]
        assert types.count("review.decided") == 1
        assert types.count("message.completed") == 1
        session = (await client.get("/v1/sessions/a")).json()
        assert session["messages"][-1]["status"] == "approved"
        assert sidecar.value("reviews-pending")["reviews"] == [held["review_id"]]  # stale
        sidecar.before_save = None
        clock.advance(3600)  # the next period: this replica claims the sweep
        assert await pending(client) == 0.0  # and reconciled the set with the reviews
    assert sidecar.value("reviews-pending")["reviews"] == []
