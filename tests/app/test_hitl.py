"""Human in the loop end to end: held replies, decisions over HTTP and over pub/sub."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from agents import Model, ModelBehaviorError, ModelProvider

from app.agents.offline_model import OfflineModel
from app.store import EmbeddedBackend
from tests.app.conftest import REVIEWER_KEY, AppFactory, http_client

pytestmark = pytest.mark.anyio

REFUND = {"content": "Please refund order B-42 for 30"}


async def hold(client: httpx.AsyncClient, session: str = "h1") -> dict[str, Any]:
    response = await client.post(f"/v1/sessions/{session}/messages", json=REFUND)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["status"] == "pending_review"
    assert body["reply"] is None
    assert body["review_id"]
    return body


def cloudevent(data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "reviewer-ui",
        "type": "review.decision",
        "datacontenttype": "application/json",
        "pubsubname": "pubsub",
        "topic": "agent-reviews",
        "data": data,
    }


async def test_tool_needing_approval_holds_the_reply(client: httpx.AsyncClient) -> None:
    held = await hold(client)
    history = (await client.get("/v1/sessions/h1")).json()["messages"]
    assert history[-1]["status"] == "pending_review"
    assert history[-1]["content"] is None
    assert history[-1]["review_id"] == held["review_id"]
    review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert review["status"] == "pending"
    assert review["kind"] == "tool_approval"
    assert "issue_refund" in review["reason"]


async def test_approval_runs_the_tool_and_releases_the_reply(app_factory: AppFactory) -> None:
    async with app_factory() as (app, client), http_client(app, REVIEWER_KEY) as reviewer:
        held = await hold(client)
        decision = await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True, "note": "ok"}
        )
        assert decision.status_code == 200
        body = decision.json()
        assert body["status"] == "approved"
        assert body["final_reply"].startswith("Done. Refund of 30.00 for order B-42 issued")
        history = (await client.get("/v1/sessions/h1")).json()["messages"]
        backend = app.state.backend
        assert isinstance(backend, EmbeddedBackend)
        types = [event["type"] for event in backend.events.events]
    assert history[-1]["status"] == "approved"
    assert history[-1]["content"] == body["final_reply"]
    assert types == ["review.requested", "review.decided", "message.completed"]


async def test_rejection_is_shown_in_the_history(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    held = await hold(client)
    decision = await reviewer.post(
        f"/v1/reviews/{held['review_id']}/decision",
        json={"approved": False, "note": "order already refunded"},
    )
    assert decision.json()["status"] == "rejected"
    last = (await client.get("/v1/sessions/h1")).json()["messages"][-1]
    assert last["status"] == "rejected"
    assert last["content"] == "I did not issue the refund: order already refunded"


async def test_decisions_are_idempotent_and_conflicts_are_409(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    held = await hold(client)
    url = f"/v1/reviews/{held['review_id']}/decision"
    first = await reviewer.post(url, json={"approved": True})
    again = await reviewer.post(url, json={"approved": True})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    conflict = await reviewer.post(url, json={"approved": False})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert "already approved" in conflict.json()["error"]["message"]
    # The session got exactly one released reply.
    messages = (await client.get("/v1/sessions/h1")).json()["messages"]
    assert [m["status"] for m in messages] == ["completed", "approved"]


async def test_low_confidence_reply_is_held_until_approved(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    response = await client.post("/v1/sessions/h2/messages", json={"content": "review my text"})
    held = response.json()
    assert held["status"] == "pending_review"
    review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert review["kind"] == "output_review"
    assert "confidence 0.30" in review["reason"]
    decided = await reviewer.post(
        f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
    )
    assert decided.json()["final_reply"].startswith('You said: "review my text"')


@pytest.mark.parametrize(
    ("threshold", "status"),
    # the offline model rates an ordinary answer 0.9 and does not ask for review
    [(0.95, "pending_review"), (0.9, "completed"), (0.5, "completed")],
)
async def test_a_reply_rated_below_the_threshold_is_held_though_the_model_did_not_ask(
    app_factory: AppFactory, threshold: float, status: str
) -> None:
    """ "Below" is strict: a reply rated exactly at the threshold is released."""
    async with app_factory(review_confidence_threshold=threshold) as (_, client):
        response = await client.post("/v1/sessions/t/messages", json={"content": "hello"})
    assert response.json()["status"] == status


async def test_unknown_review_is_404(reviewer: httpx.AsyncClient) -> None:
    response = await reviewer.post("/v1/reviews/abc123/decision", json={"approved": True})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "abc123" in response.json()["error"]["message"]


async def test_subscription_lists_the_review_topic(client: httpx.AsyncClient) -> None:
    assert (await client.get("/dapr/subscribe")).json() == [
        {
            "pubsubname": "pubsub",
            "topic": "agent-reviews",
            "routes": {"default": "/dapr/events/review-decisions"},
        }
    ]


async def test_review_decision_arrives_over_pubsub(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    held = await hold(client)
    event = cloudevent({"review_id": held["review_id"], "approved": True})
    response = await client.post(
        "/dapr/events/review-decisions",
        json=event,
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.json() == {"status": "SUCCESS"}
    review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert review["status"] == "approved"
    # Redelivery of the same event is harmless; a contradicting one is dropped, not retried.
    again = await client.post("/dapr/events/review-decisions", json=event)
    assert again.json() == {"status": "SUCCESS"}
    contra = cloudevent({"review_id": held["review_id"], "approved": False})
    with caplog.at_level("WARNING", logger="app.routes.dapr_subscriptions"):
        dropped = await client.post("/dapr/events/review-decisions", json=contra)
    assert dropped.json() == {"status": "DROP"}
    # the operator learns which review's decision was dropped, and why
    (logged,) = [m for m in caplog.messages if m.startswith("dropping review decision")]
    assert logged.startswith(f"dropping review decision for {held['review_id']}: ")
    assert "already approved" in logged


async def test_a_decision_over_pubsub_is_announced_as_decided_by_pubsub(
    app_factory: AppFactory,
) -> None:
    """The audit trail tells a decision that came over pub/sub from a signed-in reviewer's."""
    async with app_factory() as (app, client):
        held = await hold(client)
        event = cloudevent({"review_id": held["review_id"], "approved": True})
        response = await client.post("/dapr/events/review-decisions", json=event)
        assert response.json() == {"status": "SUCCESS"}
        events = {e["type"]: e for e in app.state.backend.events.events}
    assert events["review.decided"]["data"]["decided_by"] == "dapr:pubsub"


async def test_a_rejection_over_pubsub_carries_the_reviewers_note(
    client: httpx.AsyncClient,
) -> None:
    held = (
        await client.post("/v1/sessions/h2/messages", json={"content": "review my text"})
    ).json()
    event = cloudevent({"review_id": held["review_id"], "approved": False, "note": "too vague"})
    response = await client.post("/dapr/events/review-decisions", json=event)
    assert response.json() == {"status": "SUCCESS"}
    last = (await client.get("/v1/sessions/h2")).json()["messages"][-1]
    assert last["content"] == "A reviewer withheld this reply. Note: too vague"


async def test_a_decision_whose_data_is_a_json_string_is_applied(
    client: httpx.AsyncClient,
) -> None:
    """Publishers that send data as text: Dapr passes it as a JSON-encoded string."""
    import json

    held = await hold(client)
    data = json.dumps({"review_id": held["review_id"], "approved": True})
    response = await client.post("/dapr/events/review-decisions", json={"data": data})
    assert response.json() == {"status": "SUCCESS"}
    review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert review["status"] == "approved"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",  # JSON, but no envelope
        b'"a string"',
        b'{"data": {"approved": true}}',
        b'{"data": "{\\"review_id\\": \\"ffff\\", \\"approved\\": true}"}',
        # nested past Python's recursion limit: json.loads raises RecursionError
        b"[" * 30000 + b"]" * 30000,
        b'{"data": "' + b"[" * 30000 + b"]" * 30000 + b'"}',
    ],
)
async def test_undeliverable_pubsub_events_are_dropped(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    with caplog.at_level("WARNING", logger="app.routes.dapr_subscriptions"):
        response = await client.post("/dapr/events/review-decisions", content=body)
    assert response.status_code == 200
    assert response.json() == {"status": "DROP"}
    # the kind of error, never the event's content (it may hold a reviewer's note)
    (logged,) = caplog.messages
    if b"ffff" in body:  # well formed, for a review that does not exist
        assert logged == "dropping review decision for ffff: review 'ffff' not found"
    else:
        assert logged.startswith("dropping malformed review-decision event: ")
        kind = logged.rsplit(": ", 1)[1]
        assert kind in {"JSONDecodeError", "ValidationError", "RecursionError"}


async def test_parallel_approvals_run_the_tool_once(app_factory: AppFactory) -> None:
    """A reviewer's double click, or an HTTP decision racing the same one over pub/sub."""
    import asyncio

    async with app_factory() as (app, client), http_client(app, REVIEWER_KEY) as reviewer:
        held = await hold(client)
        url = f"/v1/reviews/{held['review_id']}/decision"
        answers = await asyncio.gather(
            *(reviewer.post(url, json={"approved": True}) for _ in range(4))
        )
        backend = app.state.backend
        assert isinstance(backend, EmbeddedBackend)
        types = [event["type"] for event in backend.events.events]
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["final_reply"] for a in answers}) == 1
    assert types == ["review.requested", "review.decided", "message.completed"]


async def _decided_elsewhere(app: Any, review_id: str, lease_seconds: float) -> None:
    """Make the stored review look approved by another replica that is (or was) resolving it."""
    from datetime import UTC, datetime, timedelta

    from app.service import review_key

    backend = app.state.backend
    key = review_key(review_id)
    current = await backend.state.get(key)
    document = dict(current.value)
    until = datetime.now(UTC) + timedelta(seconds=lease_seconds)
    document.update(status="approved", decided_at=datetime.now(UTC).isoformat())
    document["resolving_until"] = until.isoformat()
    await backend.state.save(key, document, current.etag)


async def test_a_review_another_replica_is_resolving_is_not_resumed_twice(
    app_factory: AppFactory,
) -> None:
    async with app_factory() as (app, client), http_client(app, REVIEWER_KEY) as reviewer:
        held = await hold(client)
        await _decided_elsewhere(app, held["review_id"], lease_seconds=120)
        answer = await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
        )
        types = [event["type"] for event in app.state.backend.events.events]
    assert answer.status_code == 200
    assert answer.json()["status"] == "approved"
    assert answer.json()["final_reply"] is None, "still being resolved by its claimant"
    assert types == ["review.requested"]


async def test_a_pubsub_decision_another_attempt_is_resolving_is_retried_not_acked(
    app_factory: AppFactory,
) -> None:
    """SUCCESS would tell Dapr to forget the event while the claimant may still die."""
    async with app_factory() as (app, client):
        held = await hold(client)
        event = cloudevent({"review_id": held["review_id"], "approved": True})
        await _decided_elsewhere(app, held["review_id"], lease_seconds=120)
        busy = await client.post("/dapr/events/review-decisions", json=event)
        await _decided_elsewhere(app, held["review_id"], lease_seconds=-1)  # claimant died
        taken_over = await client.post("/dapr/events/review-decisions", json=event)
        review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert busy.json() == {"status": "RETRY"}
    assert taken_over.json() == {"status": "SUCCESS"}
    assert review["final_reply"].startswith("Done. Refund")


async def test_an_abandoned_resolution_is_taken_over(app_factory: AppFactory) -> None:
    async with app_factory() as (app, client), http_client(app, REVIEWER_KEY) as reviewer:
        held = await hold(client)
        await _decided_elsewhere(app, held["review_id"], lease_seconds=-1)
        answer = await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
        )
        types = [event["type"] for event in app.state.backend.events.events]
    assert answer.json()["final_reply"].startswith("Done. Refund")
    assert types == ["review.requested", "review.decided", "message.completed"]


@pytest.mark.parametrize("approved", ["yes", 1, "false", None])
async def test_a_decision_must_be_a_json_boolean(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient, approved: object
) -> None:
    held = await hold(client)
    url = f"/v1/reviews/{held['review_id']}/decision"
    response = await reviewer.post(url, json={"approved": approved})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
    assert review["status"] == "pending"


class SwitchableModel(ModelProvider):
    """The offline model, failing every call while ``down``."""

    def __init__(self) -> None:
        self.down = False
        provider = self

        class Switchable(OfflineModel):
            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                if provider.down:
                    raise ModelBehaviorError("model unavailable")
                return await super().get_response(*args, **kwargs)

        self._model = Switchable()

    def get_model(self, model_name: str | None) -> Model:
        return self._model


async def test_a_pubsub_decision_the_model_fails_is_retried_until_it_applies() -> None:
    """Dapr's subscription contract: RETRY redelivers, DROP discards for good. A decision
    that failed half-way (the model down while resuming the run) must be retried, and the
    redelivery must finish it rather than find it 'already being resolved'."""
    from tests.app.conftest import running_app

    model = SwitchableModel()
    async with running_app(provider=model) as (_, client):
        held = await hold(client)
        event = cloudevent({"review_id": held["review_id"], "approved": True})
        model.down = True
        failed = await client.post("/dapr/events/review-decisions", json=event)
        assert failed.json() == {"status": "RETRY"}
        model.down = False
        redelivered = await client.post("/dapr/events/review-decisions", json=event)
        assert redelivered.json() == {"status": "SUCCESS"}
        review = (await client.get(f"/v1/reviews/{held['review_id']}")).json()
        last = (await client.get("/v1/sessions/h1")).json()["messages"][-1]
    assert review["status"] == "approved"
    assert review["final_reply"].startswith("Done. Refund of 30.00 for order B-42 issued")
    assert last["status"] == "approved"
    assert last["content"] == review["final_reply"]


async def test_an_http_decision_the_model_fails_is_502_and_can_be_repeated() -> None:
    from tests.app.conftest import running_app

    model = SwitchableModel()
    async with (
        running_app(provider=model) as (app, client),
        http_client(app, REVIEWER_KEY) as reviewer,
    ):
        held = await hold(client)
        url = f"/v1/reviews/{held['review_id']}/decision"
        model.down = True
        failed = await reviewer.post(url, json={"approved": True})
        assert failed.status_code == 502
        assert failed.headers["retry-after"] == "2"
        model.down = False
        repeated = await reviewer.post(url, json={"approved": True})
    assert repeated.status_code == 200
    assert repeated.json()["final_reply"].startswith("Done. Refund of 30.00")


class GatedModel(ModelProvider):
    """The offline model; while ``armed``, the next call waits at a gate until opened."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        provider = self

        class Gated(OfflineModel):
            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                if provider.armed:
                    provider.armed = False
                    provider.entered.set()
                    await provider.gate.wait()
                return await super().get_response(*args, **kwargs)

        self._model = Gated()

    def get_model(self, model_name: str | None) -> Model:
        return self._model


async def test_a_decision_waiting_on_the_model_holds_up_no_other_review() -> None:
    """Decisions are serialized per review, not per replica: one resumed run waiting on a
    slow model must not keep every other reviewer's decision waiting behind it."""
    from tests.app.conftest import running_app

    model = GatedModel()
    async with running_app(provider=model) as (_, client):
        first = await hold(client, "g1")
        second = await hold(client, "g2")
        model.armed = True
        slow = asyncio.create_task(
            client.post(
                "/dapr/events/review-decisions",
                json=cloudevent({"review_id": first["review_id"], "approved": True}),
            )
        )
        try:
            await asyncio.wait_for(model.entered.wait(), 5)
            other = await asyncio.wait_for(
                client.post(
                    "/dapr/events/review-decisions",
                    json=cloudevent({"review_id": second["review_id"], "approved": True}),
                ),
                5,
            )
            assert other.json() == {"status": "SUCCESS"}
            assert not slow.done()
        finally:
            model.gate.set()
        assert (await asyncio.wait_for(slow, 5)).json() == {"status": "SUCCESS"}


class RecordingModel(ModelProvider):
    """The offline model, keeping the input of every call."""

    def __init__(self) -> None:
        self.inputs: list[Any] = []
        provider = self

        class Recording(OfflineModel):
            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                provider.inputs.append(kwargs["input"] if "input" in kwargs else args[1])
                return await super().get_response(*args, **kwargs)

        self._model = Recording()

    def get_model(self, model_name: str | None) -> Model:
        return self._model


def _texts(items: Any) -> list[str]:
    if isinstance(items, str):
        return [items]
    return [str(i.get("content")) for i in items if isinstance(i, dict) and "role" in i]


async def test_the_model_sees_earlier_turns_but_never_a_rejected_reply() -> None:
    from tests.app.conftest import running_app

    model = RecordingModel()
    async with (
        running_app(provider=model) as (app, client),
        http_client(app, REVIEWER_KEY) as reviewer,
    ):
        first = await client.post("/v1/sessions/h1/messages", json={"content": "hello there"})
        held = await hold(client)
        await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision",
            json={"approved": False, "note": "no refunds today"},
        )
        rejected = (await client.get("/v1/sessions/h1")).json()["messages"][-1]
        model.inputs.clear()
        await client.post("/v1/sessions/h1/messages", json={"content": "and now?"})
    seen = _texts(model.inputs[0])
    assert rejected["status"] == "rejected"
    assert seen == ["hello there", first.json()["reply"], REFUND["content"], "and now?"]
    assert rejected["content"] not in seen


async def test_the_history_window_limits_what_the_model_sees() -> None:
    from tests.app.conftest import running_app

    model = RecordingModel()
    async with running_app(provider=model, history_window=2) as (_, client):
        for text in ("one", "two", "three"):
            await client.post("/v1/sessions/w/messages", json={"content": text})
    # the two stored messages before "three" (the user's "two" and its reply), then "three"
    assert _texts(model.inputs[-1])[0] == "two"
    assert _texts(model.inputs[-1])[-1] == "three"
    assert len(_texts(model.inputs[-1])) == 3


@pytest.mark.parametrize(
    ("note", "shown"),
    [
        ("too vague", "A reviewer withheld this reply. Note: too vague"),
        (None, "A reviewer withheld this reply."),
    ],
)
async def test_a_withheld_reply_tells_the_user_with_the_reviewers_note(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient, note: str | None, shown: str
) -> None:
    held = (
        await client.post("/v1/sessions/h2/messages", json={"content": "review my text"})
    ).json()
    decided = await reviewer.post(
        f"/v1/reviews/{held['review_id']}/decision", json={"approved": False, "note": note}
    )
    last = (await client.get("/v1/sessions/h2")).json()["messages"][-1]
    assert decided.json()["final_reply"] == shown
    assert last == {**last, "status": "rejected", "content": shown}


async def test_a_tool_rejected_without_a_note_says_a_reviewer_rejected_it(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    held = await hold(client)
    await reviewer.post(f"/v1/reviews/{held['review_id']}/decision", json={"approved": False})
    last = (await client.get("/v1/sessions/h1")).json()["messages"][-1]
    assert last["content"] == "I did not issue the refund: A reviewer rejected this action."


async def test_a_decided_review_shows_where_it_belongs_and_how_it_was_decided(
    client: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    held = await hold(client)
    url = f"/v1/reviews/{held['review_id']}"
    assert (await client.get(url)).json()["decided_at"] is None
    await reviewer.post(f"{url}/decision", json={"approved": True, "note": "fine by me"})
    review = (await client.get(url)).json()
    assert review["session_id"] == "h1"
    assert review["message_id"] == held["message_id"]
    assert review["note"] == "fine by me"
    assert review["decided_at"] is not None


async def test_a_taken_over_resolution_holds_a_live_lease_while_it_resumes() -> None:
    """Other replicas must see the takeover's own lease, or they would resume it too."""
    from datetime import UTC, datetime

    from app.service import review_key
    from tests.app.conftest import running_app

    backend = EmbeddedBackend()
    leases: list[str | None] = []
    watched: list[str] = []

    class Watching(ModelProvider):
        def __init__(self) -> None:
            class Model(OfflineModel):
                async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                    if watched:
                        stored = (await backend.state.get(review_key(watched[0]))).value
                        leases.append(stored["resolving_until"])
                    return await super().get_response(*args, **kwargs)

            self._model = Model()

        def get_model(self, model_name: str | None) -> Model:
            return self._model

    async with (
        running_app(backend=backend, provider=Watching()) as (app, client),
        http_client(app, REVIEWER_KEY) as reviewer,
    ):
        held = await hold(client)
        await _decided_elsewhere(app, held["review_id"], lease_seconds=-1)
        watched.append(held["review_id"])
        answer = await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
        )
    assert answer.json()["final_reply"].startswith("Done. Refund")
    assert leases, "the resumed run called the model"
    assert all(
        lease is not None and datetime.fromisoformat(lease) > datetime.now(UTC) for lease in leases
    )


async def test_a_held_reply_is_announced_with_what_reviewers_need(
    app_factory: AppFactory,
) -> None:
    async with app_factory() as (app, client):
        held = await hold(client)
        metrics = (await client.get("/metrics")).text
        events = {event["type"]: event for event in app.state.backend.events.events}
    assert 'daca_reviews_total{transition="requested"} 1.0' in metrics
    requested = events["review.requested"]
    assert requested["subject"] == "h1"
    assert requested["data"] == {
        "session_id": "h1",
        "message_id": held["message_id"],
        "review_id": held["review_id"],
        "kind": "tool_approval",
        "reason": "the agent wants to call issue_refund, which needs a human's approval",
    }


async def test_a_decision_is_announced_with_what_subscribers_need(app_factory: AppFactory) -> None:
    from app.auth.api_keys import key_digest, key_principal_id

    async with app_factory() as (app, client), http_client(app, REVIEWER_KEY) as reviewer:
        held = await hold(client)
        decided = await reviewer.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
        )
        metrics = (await client.get("/metrics")).text
        events = {event["type"]: event for event in app.state.backend.events.events}
    assert 'daca_reviews_total{transition="approved"} 1.0' in metrics
    announced = events["review.decided"]
    assert announced["subject"] == "h1"
    assert announced["data"] == {
        "review_id": held["review_id"],
        "session_id": "h1",
        "message_id": held["message_id"],
        "moderation_id": None,
        "approved": True,
        "decided_by": key_principal_id(key_digest(REVIEWER_KEY)),
    }
    completed = events["message.completed"]
    assert completed["subject"] == "h1"
    assert completed["data"] == {
        "session_id": "h1",
        "message_id": held["message_id"],
        "reply": decided.json()["final_reply"],
    }


async def test_a_history_window_of_one_keeps_the_last_reply() -> None:
    from tests.app.conftest import running_app

    model = RecordingModel()
    async with running_app(provider=model, history_window=1) as (_, client):
        first = await client.post("/v1/sessions/w/messages", json={"content": "one"})
        await client.post("/v1/sessions/w/messages", json={"content": "two"})
    assert _texts(model.inputs[-1]) == [first.json()["reply"], "two"]


async def test_turns_after_a_rejected_reply_still_reach_the_model() -> None:
    from tests.app.conftest import running_app

    model = RecordingModel()
    async with (
        running_app(provider=model) as (app, client),
        http_client(app, REVIEWER_KEY) as reviewer,
    ):
        held = await hold(client)
        await reviewer.post(f"/v1/reviews/{held['review_id']}/decision", json={"approved": False})
        later = await client.post("/v1/sessions/h1/messages", json={"content": "later"})
        model.inputs.clear()
        await client.post("/v1/sessions/h1/messages", json={"content": "and now?"})
    seen = _texts(model.inputs[0])
    assert seen[-3:] == ["later", later.json()["reply"], "and now?"]


def test_a_failed_resume_gives_up_its_own_lease_only() -> None:
    """A claimant that outlived its lease must not clear the one another replica took over
    with: both would resume the run (and run an approved tool twice)."""
    from app.schemas import Review, ReviewKind, ReviewStatus
    from app.service import _release_lease

    mine, theirs = "2026-11-23T06:00:00+00:00", "2026-11-23T06:05:00+00:00"
    held = Review(
        review_id="r",
        kind=ReviewKind.TOOL_APPROVAL,
        reason="refund",
        status=ReviewStatus.APPROVED,
        resolving_until=mine,
    )
    released = _release_lease(mine)(held)
    assert released is not None
    assert released.resolving_until is None
    taken_over = held.model_copy(update={"resolving_until": theirs})
    assert _release_lease(mine)(taken_over) is None  # not ours: left alone
    finished = held.model_copy(update={"final_reply": "done"})
    assert _release_lease(mine)(finished) is None


class _FailingDecider:
    """A service whose every decision fails with one API error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def decide(self, *args: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(500, "RETRY"), (502, "RETRY"), (503, "RETRY"), (499, "DROP"), (409, "DROP"), (404, "DROP")],
)
async def test_a_decision_failing_with_a_server_error_is_retried_a_client_error_dropped(
    status: int, verdict: str
) -> None:
    """Dapr's contract: DROP discards the event (there is no dead-letter topic configured),
    so every 5xx from the service is RETRY, 500 included: an internal error is not the
    event's fault. A 4xx can never apply, and is dropped."""
    from app.errors import ApiError
    from app.routes.dapr_subscriptions import apply_review_decision

    error = ApiError("failed")
    error.status_code = status
    event = cloudevent({"review_id": "a" * 32, "approved": True})
    result = await apply_review_decision(json.dumps(event).encode(), _FailingDecider(error))  # type: ignore[arg-type]
    assert result.status == verdict
