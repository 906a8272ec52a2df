"""Content moderation end to end, in embedded mode (the state-machine engine, the offline
model): fan-out to the specialists, fan-in, approval at once or a human with a deadline,
the outcome recorded and published. Time is a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from agents import Model, ModelBehaviorError, ModelProvider
from fastapi import FastAPI

from app.agents.offline_model import OfflineModel
from app.store import EmbeddedBackend
from app.workflows.clock import ManualClock
from tests.app.conftest import OTHER_USER_KEY, REVIEWER_KEY, http_client, running_app

pytestmark = pytest.mark.anyio

CLEAN = {"content": "Lovely weather for a walk by the river today."}
RISKY = {"content": "You are an idiot, mail me at someone@example.com"}


@dataclass
class Moderating:
    """The app, a user, a reviewer and the clock the workflows see."""

    app: FastAPI
    user: httpx.AsyncClient
    reviewer: httpx.AsyncClient
    clock: ManualClock

    async def settle(self) -> None:
        await self.app.state.workflows.drain()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.app.state.workflows.run_due()
        await self.settle()

    async def submit(self, body: dict[str, Any]) -> str:
        response = await self.user.post("/v1/moderations", json=body)
        assert response.status_code == 202, response.text
        moderation_id: str = response.json()["moderation_id"]
        await self.settle()
        return moderation_id

    async def get(self, moderation_id: str) -> dict[str, Any]:
        response = await self.user.get(f"/v1/moderations/{moderation_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def decide(self, review_id: str, approved: bool, note: str | None = None) -> Any:
        response = await self.reviewer.post(
            f"/v1/reviews/{review_id}/decision", json={"approved": approved, "note": note}
        )
        await self.settle()
        return response

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        backend = self.app.state.backend
        assert isinstance(backend, EmbeddedBackend)
        return [e for e in backend.events.events if event_type in (None, e["type"])]


@asynccontextmanager
async def moderating(
    clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[Moderating]:
    clock = clock or ManualClock()
    settings = {"workflow_tick_seconds": 0, "monitor_interval_seconds": 0, **overrides}
    async with running_app(clock=clock, **settings) as (app, user):  # noqa: SIM117 - app first
        async with http_client(app, REVIEWER_KEY) as reviewer:
            yield Moderating(app, user, reviewer, clock)


@pytest.fixture
async def mod() -> AsyncIterator[Moderating]:
    async with moderating(moderation_review_deadline_seconds=600) as harness:
        yield harness


async def test_low_risk_is_approved_at_once(mod: Moderating) -> None:
    response = await mod.user.post("/v1/moderations", json=CLEAN)
    assert response.status_code == 202
    accepted = response.json()
    moderation_id = accepted["moderation_id"]
    assert response.headers["location"] == f"/v1/moderations/{moderation_id}"
    assert accepted["status_url"] == response.headers["location"]
    assert accepted["status"] == "running"
    await mod.settle()

    body = await mod.get(moderation_id)
    assert body["status"] == "approved"
    assert body["decided_by"] == "auto"
    assert body["review_id"] is None
    assert [v["specialist"] for v in body["verdicts"]] == ["toxicity", "personal_data", "spam"]
    assert not any(v["flagged"] for v in body["verdicts"])
    assert body["aggregate"] == {"risk": 0.05, "flagged_by": [], "needs_review": False}
    [decided] = mod.events("moderation.decided")
    assert decided["data"]["status"] == "approved"
    assert decided["subject"] == moderation_id


async def test_high_risk_waits_for_a_reviewer_who_approves(mod: Moderating) -> None:
    moderation_id = await mod.submit(RISKY)
    body = await mod.get(moderation_id)
    assert body["status"] == "awaiting_review"
    assert body["aggregate"]["flagged_by"] == ["toxicity", "personal_data"]
    assert body["aggregate"]["risk"] == 0.9
    review_id = body["review_id"]
    assert body["review_deadline"]

    review = (await mod.reviewer.get(f"/v1/reviews/{review_id}")).json()
    assert review["kind"] == "moderation"
    assert review["moderation_id"] == moderation_id
    assert review["status"] == "pending"
    assert "toxicity" in review["reason"]
    assert review["deadline"] == body["review_deadline"]
    # the submitter may see the review of their content; they may not decide it
    assert (await mod.user.get(f"/v1/reviews/{review_id}")).status_code == 200
    assert (
        await mod.user.post(f"/v1/reviews/{review_id}/decision", json={"approved": True})
    ).status_code == 403

    decision = await mod.decide(review_id, True, "satire, fine")
    assert decision.status_code == 200
    assert decision.json()["status"] == "approved"
    body = await mod.get(moderation_id)
    assert body["status"] == "approved"
    assert body["decided_by"].startswith("key:")
    assert body["note"] == "satire, fine"
    assert [e["type"] for e in mod.events()] == [
        "review.requested",
        "review.decided",
        "moderation.decided",
    ]
    # a moderation review has no session: its decision is announced on the moderation
    assert mod.events("review.decided")[0]["subject"] == moderation_id


async def test_a_reviewer_rejects(mod: Moderating) -> None:
    moderation_id = await mod.submit(RISKY)
    review_id = (await mod.get(moderation_id))["review_id"]
    assert (await mod.decide(review_id, False, "abusive")).status_code == 200
    body = await mod.get(moderation_id)
    assert (body["status"], body["note"]) == ("rejected", "abusive")
    [decided] = mod.events("moderation.decided")
    assert decided["data"]["status"] == "rejected"


async def test_nobody_decides_before_the_deadline(mod: Moderating) -> None:
    moderation_id = await mod.submit(RISKY)
    review_id = (await mod.get(moderation_id))["review_id"]
    await mod.advance(599)
    assert (await mod.get(moderation_id))["status"] == "awaiting_review"
    await mod.advance(2)
    body = await mod.get(moderation_id)
    assert (body["status"], body["decided_by"]) == ("timed_out", "deadline")
    review = (await mod.reviewer.get(f"/v1/reviews/{review_id}")).json()
    assert review["status"] == "expired"
    late = await mod.decide(review_id, True)
    assert late.status_code == 409
    assert (await mod.get(moderation_id))["status"] == "timed_out"
    assert [e["data"]["status"] for e in mod.events("moderation.decided")] == ["timed_out"]


async def test_escalation_gives_the_review_more_time_once() -> None:
    async with moderating(
        moderation_review_deadline_seconds=60,
        moderation_on_timeout="escalate",
        moderation_escalation_seconds=120,
    ) as mod:
        moderation_id = await mod.submit(RISKY)
        first = await mod.get(moderation_id)
        await mod.advance(61)
        escalated = await mod.get(moderation_id)
        assert escalated["status"] == "awaiting_review"
        assert escalated["escalated"] is True
        assert escalated["review_deadline"] > first["review_deadline"]
        review = (await mod.reviewer.get(f"/v1/reviews/{escalated['review_id']}")).json()
        assert (review["status"], review["escalated"]) == ("pending", True)
        assert len(mod.events("moderation.escalated")) == 1
        await mod.advance(121)
        assert (await mod.get(moderation_id))["status"] == "timed_out"


async def test_an_escalated_review_can_still_be_decided() -> None:
    async with moderating(
        moderation_review_deadline_seconds=60, moderation_on_timeout="escalate"
    ) as mod:
        moderation_id = await mod.submit(RISKY)
        await mod.advance(61)
        review_id = (await mod.get(moderation_id))["review_id"]
        assert (await mod.decide(review_id, True)).status_code == 200
        body = await mod.get(moderation_id)
        assert (body["status"], body["escalated"]) == ("approved", True)


async def test_duplicate_decisions_are_idempotent(mod: Moderating) -> None:
    moderation_id = await mod.submit(RISKY)
    review_id = (await mod.get(moderation_id))["review_id"]
    first, second = await asyncio.gather(
        mod.reviewer.post(f"/v1/reviews/{review_id}/decision", json={"approved": False}),
        mod.reviewer.post(f"/v1/reviews/{review_id}/decision", json={"approved": False}),
    )
    await mod.settle()
    third = await mod.decide(review_id, False)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert first.json() == third.json()
    assert (await mod.decide(review_id, True)).status_code == 409
    assert (await mod.get(moderation_id))["status"] == "rejected"
    assert len(mod.events("moderation.decided")) == 1
    assert len(mod.events("review.decided")) == 1


class FlakyProvider(ModelProvider):
    """The offline model, failing its first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self._model = OfflineModel()
        provider = self

        class Flaky(OfflineModel):
            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                provider.calls += 1
                if provider.calls <= provider.failures:
                    raise ModelBehaviorError("model unavailable")
                return await super().get_response(*args, **kwargs)

        self._model = Flaky()

    def get_model(self, model_name: str | None) -> Model:
        return self._model


async def test_model_errors_are_retried_with_backoff() -> None:
    clock = ManualClock()
    provider = FlakyProvider(failures=2)
    async with running_app(
        clock=clock,
        provider=provider,
        workflow_tick_seconds=0,
        monitor_interval_seconds=0,
        moderation_retry_first_seconds=2,
    ) as (app, user):
        response = await user.post("/v1/moderations", json=CLEAN)
        await app.state.workflows.drain()
        body = (await user.get(response.headers["location"])).json()
    assert body["status"] == "approved"
    assert provider.calls == 5  # three specialists, two of them twice
    assert clock.slept == [2.0, 2.0]


async def test_a_model_that_stays_down_fails_the_moderation() -> None:
    clock = ManualClock()
    async with running_app(
        clock=clock,
        provider=FlakyProvider(failures=1000),
        workflow_tick_seconds=0,
        monitor_interval_seconds=0,
        moderation_retry_attempts=3,
    ) as (app, user):
        response = await user.post("/v1/moderations", json=CLEAN)
        await app.state.workflows.drain()
        body = (await user.get(response.headers["location"])).json()
        events = app.state.backend.events.events
    assert body["status"] == "failed"
    assert "model unavailable" in body["failure"]
    assert sorted(clock.slept) == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]  # doubling, per specialist
    assert [e["data"]["status"] for e in events if e["type"] == "moderation.decided"] == ["failed"]


class GatedProvider(ModelProvider):
    """The offline model behind a gate that never opens: a run stuck mid-activity."""

    def __init__(self) -> None:
        self.calls = 0
        provider = self

        class Gated(OfflineModel):
            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                provider.calls += 1
                await asyncio.Event().wait()
                raise AssertionError("unreachable")

        self._model = Gated()

    def get_model(self, model_name: str | None) -> Model:
        return self._model


async def test_a_moderation_survives_an_app_restart_mid_run() -> None:
    clock = ManualClock()
    backend = EmbeddedBackend()  # the state store both processes share
    quiet = {"workflow_tick_seconds": 0, "monitor_interval_seconds": 0}
    stuck = GatedProvider()
    async with running_app(backend=backend, clock=clock, provider=stuck, **quiet) as (
        _,
        user,
    ):
        response = await user.post("/v1/moderations", json=RISKY)
        location = response.headers["location"]
        for _ in range(200):
            if stuck.calls == 3:
                break
            await asyncio.sleep(0.01)
        assert stuck.calls == 3  # every specialist is mid-call when the process dies
        assert (await user.get(location)).json()["status"] == "running"

    async with running_app(backend=backend, clock=clock, **quiet) as (app, user):
        clock.advance(61)  # the dead process's lease on the instance expires
        await app.state.workflows.run_due()
        await app.state.workflows.drain()
        body = (await user.get(location)).json()
    assert body["status"] == "awaiting_review"
    assert len(body["verdicts"]) == 3


async def test_moderations_belong_to_their_submitter(mod: Moderating) -> None:
    moderation_id = await mod.submit(CLEAN)
    async with http_client(mod.app, OTHER_USER_KEY) as other:
        assert (await other.get(f"/v1/moderations/{moderation_id}")).status_code == 404
    assert (await mod.reviewer.get(f"/v1/moderations/{moderation_id}")).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"content": ""}, 422, "validation_error"),
        ({"content": "   "}, 422, "input_rejected"),
        ({"content": "bell\x07"}, 422, "input_rejected"),
        ({"content": "hi", "extra": 1}, 422, "validation_error"),
    ],
)
async def test_bad_content_is_refused(
    mod: Moderating, body: dict[str, Any], status: int, code: str
) -> None:
    response = await mod.user.post("/v1/moderations", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_unknown_and_malformed_ids(mod: Moderating) -> None:
    assert (await mod.user.get("/v1/moderations/abc123")).status_code == 404
    assert (await mod.user.get("/v1/moderations/NOT-HEX")).status_code == 422


async def test_the_monitor_publishes_when_health_changes() -> None:
    model_up = True

    async def probe() -> bool:
        return model_up

    clock = ManualClock()
    async with running_app(
        clock=clock, model_probe=probe, workflow_tick_seconds=0, monitor_interval_seconds=30
    ) as (app, _):
        workflows = app.state.workflows
        await workflows.drain()

        async def health_events() -> list[dict[str, Any]]:
            clock.advance(30)
            await workflows.run_due()
            await workflows.drain()
            return [e for e in app.state.backend.events.events if e["type"] == "health.changed"]

        assert await health_events() == []  # unchanged: nothing to say
        model_up = False
        [changed] = await health_events()
        assert changed["data"]["previous"] == {"model": "up", "sidecar": "up"}
        assert changed["data"]["current"] == {"model": "down", "sidecar": "up"}
        assert len(await health_events()) == 1  # still down: no news
        model_up = True
        assert len(await health_events()) == 2
        state = await workflows.get("daca-monitor")
        assert state.status.value == "running"  # continue_as_new: one instance, forever
