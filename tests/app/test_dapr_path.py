"""The Dapr path, against a fake sidecar speaking Dapr's gRPC API with daprd's semantics."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import grpc
import httpx
import pytest
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions
from dapr.proto import common_v1

from app.dapr_backend import grpc_details, grpc_status
from tests.app.conftest import USER_PRINCIPAL, AppFactory
from tests.fakes.dapr_sidecar import FIRST_WRITE, FakeDaprSidecar

pytestmark = pytest.mark.anyio

# save_state wraps gRPC errors in DaprInternalError (code on __cause__); others raise them.
SDK_ERRORS = (grpc.RpcError, DaprInternalError)


async def wait_for_status(client: httpx.AsyncClient, path: str, status: int) -> httpx.Response:
    """Bounded polling instead of sleeps: up to 10 s for ``path`` to answer ``status``."""
    deadline = time.monotonic() + 10
    while True:
        response = await client.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


def app_probes(sidecar: FakeDaprSidecar) -> int:
    """The app's own sidecar probes (the SDK's client constructor sends one more)."""
    return sum(
        request.path == "/v1.0/healthz/outbound" and request.user_agent.startswith("python-httpx")
        for request in sidecar.http_requests
    )


# -- the fake itself mirrors daprd's answers, seen through the official SDK -----------------


async def test_fake_reports_etag_mismatch_like_daprd(sidecar: FakeDaprSidecar) -> None:
    first_write = StateOptions(concurrency=Concurrency.first_write)
    async with DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}") as dapr:
        await dapr.save_state("statestore", "k", "v1", options=first_write)
        state = await dapr.get_state("statestore", "k")
        assert (state.data, state.etag) == (b"v1", "1")
        await dapr.save_state("statestore", "k", "v2", etag="1", options=first_write)

        with pytest.raises(SDK_ERRORS) as stale:
            await dapr.save_state("statestore", "k", "v3", etag="1", options=first_write)
        assert grpc_status(stale.value) is grpc.StatusCode.ABORTED
        assert "possible etag mismatch" in str(stale.value)
        # the sidecar's own text, also behind whatever wraps the gRPC error
        assert "possible etag mismatch" in grpc_details(stale.value)
        wrapped = RuntimeError("the app's wrapper")
        wrapped.__cause__ = stale.value
        assert "possible etag mismatch" in grpc_details(wrapped)

        with pytest.raises(SDK_ERRORS) as insert:
            await dapr.save_state("statestore", "k", "v4", options=first_write)
        assert grpc_status(insert.value) is grpc.StatusCode.ABORTED

        with pytest.raises(SDK_ERRORS) as invalid:
            await dapr.save_state("statestore", "k", "v5", etag="abc", options=first_write)
        assert grpc_status(invalid.value) is grpc.StatusCode.INVALID_ARGUMENT

        with pytest.raises(SDK_ERRORS) as unknown:
            await dapr.get_state("nostore", "k")
        assert grpc_status(unknown.value) is grpc.StatusCode.INVALID_ARGUMENT

        with pytest.raises(SDK_ERRORS) as delete:
            await dapr.delete_state("statestore", "k", etag="7")
        assert grpc_status(delete.value) is grpc.StatusCode.ABORTED
        await dapr.delete_state("statestore", "k", etag="2")
        assert (await dapr.get_state("statestore", "k")).data == b""

        metadata = await dapr.get_metadata()
        assert metadata.application_id == "daca-agent"
        assert (await dapr.get_secret("secretstore", "openai")).secret == {
            "api-key": "sk-from-secret-store"
        }


# -- the app through the sidecar ---------------------------------------------------------


async def test_conversation_lives_in_the_sidecars_store(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    reply = await dapr_client.post("/v1/sessions/d1/messages", json={"content": "via dapr"})
    assert reply.status_code == 200
    stored = sidecar.value("session-d1")
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    history = (await dapr_client.get("/v1/sessions/d1")).json()["messages"]
    assert history[0]["content"] == "via dapr"

    [event] = sidecar.published
    assert (event.pubsub, event.topic) == ("pubsub", "agent-events")
    assert event.content_type == "application/cloudevents+json"
    assert event.cloudevent["type"] == "message.completed"
    assert event.cloudevent["data"]["message_id"] == reply.json()["message_id"]

    assert (await dapr_client.delete("/v1/sessions/d1")).status_code == 204
    assert sidecar.value("session-d1") is None
    assert (await dapr_client.get("/v1/sessions/d1")).status_code == 404


async def test_ready_through_the_sidecar(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    response = await dapr_client.get("/readyz")
    assert response.json() == {"status": "ready", "backend": "dapr"}
    assert sidecar.calls["GetMetadata"] >= 1


@pytest.mark.parametrize("component", ["statestore", "pubsub"])
async def test_not_ready_while_a_dapr_component_is_not_loaded(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar, component: str
) -> None:
    # daprd keeps serving when a component fails to initialise; only its metadata tells
    sidecar.unloaded = {component}
    ready = await dapr_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "not_ready"
    assert ready.json()["error"]["message"] == f"dapr components not loaded: {component}"
    assert ready.headers["retry-after"] == "2"
    sidecar.unloaded = set()
    assert (await dapr_client.get("/readyz")).status_code == 200


async def test_not_ready_names_every_missing_component(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    sidecar.unloaded = {"statestore", "pubsub", "secretstore"}
    ready = await dapr_client.get("/readyz")
    assert ready.json()["error"]["message"] == "dapr components not loaded: statestore, pubsub"


async def test_store_down_means_not_ready_and_503(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    sidecar.store_down = True
    ready = await dapr_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "2"
    # the operator's probe reads daprd's own words
    daprd_says = (
        "failed getting state from state store statestore: redis store: "
        "error connecting to redis: connection refused"
    )
    assert ready.json()["error"]["message"] == f"get state failed: {daprd_says}"
    post = await dapr_client.post("/v1/sessions/x/messages", json={"content": "hi"})
    assert post.status_code == 503
    # an API caller is told to retry, never the store's internals
    assert post.json()["error"] == {
        "code": "unavailable",
        "message": "the state store or the Dapr sidecar is unavailable; retry later",
    }
    sidecar.store_down = False
    assert (await dapr_client.get("/readyz")).status_code == 200


async def test_sidecar_down_gives_503_with_retry_after_then_recovers(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    assert (await dapr_client.post("/v1/sessions/r1/messages", json={"content": "a"})).is_success
    sidecar.stop()

    ready = await wait_for_status(dapr_client, "/readyz", 503)
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "not_ready"
    for call in (
        dapr_client.post("/v1/sessions/r1/messages", json={"content": "b"}),
        dapr_client.get("/v1/sessions/r1"),
        dapr_client.delete("/v1/sessions/r1"),
    ):
        response = await call
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        assert response.json()["error"]["code"] == "unavailable"
    assert (await dapr_client.get("/healthz")).status_code == 200  # alive, just not ready

    sidecar.start(sidecar.grpc_port, sidecar.http_port)
    assert (await wait_for_status(dapr_client, "/readyz", 200)).status_code == 200
    assert (await dapr_client.post("/v1/sessions/r1/messages", json={"content": "c"})).is_success
    contents = [m["content"] for m in (await dapr_client.get("/v1/sessions/r1")).json()["messages"]]
    assert contents[0] == "a"
    assert contents[2] == "c"


async def test_startup_without_sidecar_serves_503_until_it_appears(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    sidecar.stop()
    async with app_factory(sidecar_wait_seconds=0.2) as (_, client):
        assert (await client.get("/readyz")).status_code == 503
        sidecar.start(sidecar.grpc_port, sidecar.http_port)
        assert (await wait_for_status(client, "/readyz", 200)).status_code == 200


async def test_etag_conflict_is_retried_and_nothing_is_lost(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    async with app_factory() as (_, client):
        await client.post("/v1/sessions/c1/messages", json={"content": "one"})
        injected = []

        def another_replica_writes(key: str) -> None:
            # Between our read and our write, another replica appends a message.
            if key == "session-c1" and not injected:
                injected.append(key)
                document = sidecar.value(key)
                document["messages"].append(
                    {"message_id": "other", "role": "user", "content": "from elsewhere"}
                )
                sidecar.put(key, document)

        sidecar.before_save = another_replica_writes
        assert (await client.post("/v1/sessions/c1/messages", json={"content": "two"})).is_success
        metrics = (await client.get("/metrics")).text
    contents = [m["content"] for m in sidecar.value("session-c1")["messages"]]
    assert contents[0] == "one"
    assert "from elsewhere" in contents
    assert "two" in contents
    assert len(contents) == 5
    assert "daca_state_conflicts_retried_total 1.0" in metrics


@pytest.mark.parametrize("insert_conflict", ["aborted", "internal"])
async def test_racing_session_creation_keeps_both(
    app_factory: AppFactory, sidecar: FakeDaprSidecar, insert_conflict: str
) -> None:
    """First write of a new session: the other replica created it meanwhile. Redis reports
    that as INTERNAL, other stores as ABORTED; both must end in a retry, not a lost message."""
    sidecar.insert_conflict = insert_conflict

    def other_replica_creates(key: str) -> None:
        if key == "session-new" and sidecar.value(key) is None:
            sidecar.put(
                key,
                {
                    "session_id": "new",
                    "owner": USER_PRINCIPAL,  # the same user, through another replica
                    "messages": [{"message_id": "o", "role": "user", "content": "other"}],
                },
            )

    sidecar.before_save = other_replica_creates
    async with app_factory() as (_, client):
        response = await client.post("/v1/sessions/new/messages", json={"content": "mine"})
    assert response.status_code == 200
    contents = [m["content"] for m in sidecar.value("session-new")["messages"]]
    assert contents[:2] == ["other", "mine"]


async def test_hitl_through_the_sidecar(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    held = (
        await dapr_client.post("/v1/sessions/h/messages", json={"content": "refund order Z9 for 5"})
    ).json()
    review_id = held["review_id"]
    assert sidecar.value(f"review-{review_id}")["status"] == "pending"
    event = {
        "specversion": "1.0",
        "id": "1",
        "source": "ui",
        "type": "review.decision",
        "data": {"review_id": review_id, "approved": True},
    }
    delivered = await dapr_client.post(
        "/dapr/events/review-decisions",
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert delivered.json() == {"status": "SUCCESS"}
    assert sidecar.value(f"review-{review_id}")["status"] == "approved"
    types = [e.cloudevent["type"] for e in sidecar.published]
    assert types == ["review.requested", "review.decided", "message.completed"]


async def test_pubsub_decision_is_retried_while_the_sidecar_is_down(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    sidecar.stop()
    event = {"data": {"review_id": "abcdef", "approved": True}}
    response = await dapr_client.post("/dapr/events/review-decisions", json=event)
    assert response.json() == {"status": "RETRY"}


async def test_model_key_from_an_unreachable_secret_store_is_a_named_startup_error(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    from app.config import SettingsError

    sidecar.stop()
    with pytest.raises(SettingsError, match=r"DACA_OPENAI_KEY_SECRET='openai'.*not reachable"):
        async with app_factory(
            model_provider="openai",
            openai_key_secret="openai",
            sidecar_wait_seconds=0.3,
        ):
            pass


async def test_model_key_from_the_dapr_secret_store(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    async with app_factory(
        model_provider="openai", openai_key_secret="openai", openai_key_secret_field="api-key"
    ) as (app, _):
        provider = app.state.service._run_config.model_provider
    assert sidecar.calls["GetSecret"] == 1
    assert provider._stored_api_key == "sk-from-secret-store"


def review_event(review_id: str) -> dict[str, object]:
    return {"data": {"review_id": review_id, "approved": True}}


async def test_a_decision_stands_when_publishing_it_fails(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    """The store is the source of truth: a broker outage after the decision is saved is
    counted, not a failed (and then repeated) delivery that would run the tool again."""
    held = (
        await dapr_client.post("/v1/sessions/p/messages", json={"content": "refund order Z9 for 5"})
    ).json()
    sidecar.pubsub_down = True
    delivered = await dapr_client.post(
        "/dapr/events/review-decisions", json=review_event(held["review_id"])
    )
    assert delivered.json() == {"status": "SUCCESS"}
    stored = sidecar.value(f"review-{held['review_id']}")
    assert stored["status"] == "approved"
    assert stored["final_reply"].startswith("Done. Refund of 5.00 for order Z9")
    assert sidecar.value("session-p")["messages"][-1]["status"] == "approved"
    assert [e.cloudevent["type"] for e in sidecar.published] == ["review.requested"]
    metrics = (await dapr_client.get("/metrics")).text
    assert 'daca_events_published_total{outcome="failed",type="review.decided"} 1.0' in metrics
    assert 'daca_events_published_total{outcome="failed",type="message.completed"} 1.0' in metrics


async def test_a_store_outage_mid_decision_is_retried_not_acked(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    held = (
        await dapr_client.post("/v1/sessions/m/messages", json={"content": "refund order Z9 for 5"})
    ).json()
    key = f"review-{held['review_id']}"
    saves: list[str] = []

    def fail_after_the_claim(saved: str) -> None:
        saves.append(saved)
        if saves.count(key) == 1:  # the claim goes through; the store dies right after it
            sidecar.store_down = True

    sidecar.before_save = fail_after_the_claim
    event = review_event(held["review_id"])
    first = await dapr_client.post("/dapr/events/review-decisions", json=event)
    assert first.json() == {"status": "RETRY"}
    assert sidecar.value(key)["status"] == "approved"
    assert sidecar.value(key)["final_reply"] is None
    sidecar.before_save = None
    sidecar.store_down = False
    # its claimant is alive (lease held): redelivery waits instead of acking a half decision
    second = await dapr_client.post("/dapr/events/review-decisions", json=event)
    assert second.json() == {"status": "RETRY"}


async def test_every_state_write_and_delete_asks_for_first_write_and_strong_consistency(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    """Without first-write a store takes an insert over an existing key (a lost update,
    e.g. two replicas creating one session); without strong consistency a replicated store
    (Cosmos DB) may answer a read from a replica that has not seen the last write."""
    assert (await dapr_client.post("/v1/sessions/c/messages", json={"content": "hi"})).is_success
    assert (await dapr_client.delete("/v1/sessions/c")).status_code == 204
    strong = common_v1.StateOptions.StateConsistency.CONSISTENCY_STRONG
    assert {operation for operation, _, _ in sidecar.state_options} == {"save", "delete"}
    assert {options[1:] for options in sidecar.state_options} == {(FIRST_WRITE, strong)}


async def test_a_store_error_keeps_the_sidecar_connection_an_outage_renews_it(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar
) -> None:
    """A store error comes from a live sidecar: reconnecting (a health probe and a new
    channel on the next call) would only add latency. A sidecar that stopped answering
    gets a new channel once it is back, not gRPC's own back-off of up to minutes."""
    assert (await dapr_client.post("/v1/sessions/k/messages", json={"content": "a"})).is_success
    probes = app_probes(sidecar)
    sidecar.store_down = True
    assert (await dapr_client.get("/v1/sessions/k")).status_code == 503
    sidecar.store_down = False
    assert (await dapr_client.get("/v1/sessions/k")).status_code == 200
    assert app_probes(sidecar) == probes

    sidecar.stop()
    assert (await dapr_client.get("/v1/sessions/k")).status_code == 503
    sidecar.start(sidecar.grpc_port, sidecar.http_port)
    assert (await wait_for_status(dapr_client, "/v1/sessions/k", 200)).status_code == 200
    assert app_probes(sidecar) > probes


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [
        ("get", "GET", "/v1/sessions/slow"),
        ("save", "POST", "/v1/sessions/slow/messages"),
        ("delete", "DELETE", "/v1/sessions/slow"),
    ],
)
async def test_a_stalled_sidecar_call_is_a_503_after_the_dapr_timeout(
    app_factory: AppFactory,
    sidecar: FakeDaprSidecar,
    caplog: pytest.LogCaptureFixture,
    operation: str,
    method: str,
    path: str,
) -> None:
    """A store that hangs (a Redis failover, a full disk) must not hold requests forever;
    the log names the operation that timed out."""

    def stall(key: str) -> None:
        if key == "session-slow":
            time.sleep(5)

    async with app_factory(dapr_timeout_seconds=0.5, workflow_tick_seconds=0) as (_, client):
        await client.post("/v1/sessions/slow/messages", json={"content": "hi"})
        setattr(sidecar, f"before_{operation}", stall)
        started = time.monotonic()
        with caplog.at_level("WARNING", logger="app.errors"):
            response = await client.request(
                method, path, json={"content": "b"} if method == "POST" else None
            )
        waited = time.monotonic() - started
        setattr(sidecar, f"before_{operation}", None)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert waited < 4  # the timeout's 0.5 s and a loaded machine's slack, not the 5 s stall
    assert f"backend unavailable on {method} {path}: {operation} state timed out" in (
        caplog.messages
    )


@pytest.mark.parametrize(
    ("appears_after", "wait", "ready"),
    # the app stops waiting once the sidecar answers: a long wait costs a loaded machine
    # nothing and keeps a slow restart of the fake from failing the test
    [(0.3, 10.0, True), (None, 1.0, False)],
)
async def test_startup_waits_for_the_sidecar_up_to_the_configured_time(
    app_factory: AppFactory,
    sidecar: FakeDaprSidecar,
    caplog: pytest.LogCaptureFixture,
    appears_after: float | None,
    wait: float,
    ready: bool,
) -> None:
    """Pods start their app and daprd together: a sidecar up within DACA_SIDECAR_WAIT_SECONDS
    is waited for (and logged ready); one that is not, is logged, and the app serves 503s."""
    sidecar.stop()
    if appears_after is not None:
        restart = threading.Timer(
            appears_after, sidecar.start, (sidecar.grpc_port, sidecar.http_port)
        )
        restart.start()
    started = time.monotonic()
    with caplog.at_level("INFO", logger="app.dapr_backend"):
        async with app_factory(sidecar_wait_seconds=wait):
            took = time.monotonic() - started
    logged = [record.getMessage() for record in caplog.records]
    if ready:
        assert f"dapr sidecar ready at 127.0.0.1:{sidecar.grpc_port}" in logged
    else:
        assert "dapr sidecar not ready after 1.0s; serving with /readyz 503 until it is" in logged
        assert took >= 1.0


REDIS_DOWN = "redis store: error connecting to redis: connection refused"


@pytest.mark.parametrize(
    ("failing", "method", "logged"),
    [
        (
            "get",
            "GET",
            f"get state failed: failed getting state from state store statestore: {REDIS_DOWN}",
        ),
        (
            "save",
            "POST",
            f"save state failed: failed saving state in state store statestore: {REDIS_DOWN}",
        ),
        (
            "delete",
            "DELETE",
            f"delete state failed: failed deleting state with key session-o: {REDIS_DOWN}",
        ),
    ],
)
async def test_a_failed_state_operation_is_logged_with_daprds_reason(
    dapr_client: httpx.AsyncClient,
    sidecar: FakeDaprSidecar,
    caplog: pytest.LogCaptureFixture,
    failing: str,
    method: str,
    logged: str,
) -> None:
    """The client gets a generic 503; the operator's log says which operation failed and
    daprd's words for why."""
    assert (await dapr_client.post("/v1/sessions/o/messages", json={"content": "a"})).is_success
    sidecar.failing = {failing}
    content = {"content": "b"} if method == "POST" else None
    path = "/v1/sessions/o" + ("/messages" if method == "POST" else "")
    with caplog.at_level("WARNING", logger="app.errors"):
        response = await dapr_client.request(method, path, json=content)
    assert response.status_code == 503
    assert f"backend unavailable on {method} {path}: {logged}" in caplog.messages


async def test_a_failed_publish_is_logged_with_daprds_reason(
    dapr_client: httpx.AsyncClient, sidecar: FakeDaprSidecar, caplog: pytest.LogCaptureFixture
) -> None:
    sidecar.pubsub_down = True
    with caplog.at_level("WARNING", logger="app.service"):
        await dapr_client.post("/v1/sessions/p/messages", json={"content": "hi"})
    assert (
        "publishing message.completed for p failed: publish event failed: error when publish "
        "to topic agent-events in pubsub pubsub: dial tcp: connection refused"
    ) in caplog.messages


async def test_a_model_key_the_secret_store_does_not_hold_is_a_startup_error_saying_so(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    from app.config import SettingsError

    with pytest.raises(SettingsError) as refused:
        async with app_factory(model_provider="openai", openai_key_secret="missing"):
            pass
    assert str(refused.value) == (
        "DACA_OPENAI_KEY_SECRET='missing': the model key cannot be read from the Dapr secret "
        "store 'secretstore' (get secret failed: failed getting secret with key missing from "
        "secret store secretstore: secret missing not found)"
    )


async def test_the_sidecar_probe_presents_the_dapr_api_token(
    app_factory: AppFactory, sidecar: FakeDaprSidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With daprd's API token auth on (dapr.io/api-token-secret: the injector sets
    DAPR_API_TOKEN), a probe without the token would be refused and the app would never
    see its sidecar as up."""
    monkeypatch.setenv("DAPR_API_TOKEN", "tok-3f9a")
    async with app_factory() as (_, client):
        assert (await client.get("/readyz")).status_code == 200
    assert app_probes(sidecar)
    assert {request.api_token for request in sidecar.http_requests} == {"tok-3f9a"}


async def test_many_callers_after_a_timeout_renew_the_connection_once(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """A timed-out call marks the channel for renewal; the callers queued behind the one
    renewing it use the new channel rather than each probing and building their own."""
    # no workflow ticker: its calls could renew the channel before the callers do
    async with app_factory(dapr_timeout_seconds=0.5, workflow_tick_seconds=0) as (_, client):
        await client.post("/v1/sessions/m/messages", json={"content": "a"})
        sidecar.before_get = lambda key: time.sleep(1) if key == "session-m" else None
        assert (await client.get("/v1/sessions/m")).status_code == 503
        sidecar.before_get = None
        probes = app_probes(sidecar)
        answers = await asyncio.gather(*(client.get("/v1/sessions/m") for _ in range(5)))
    assert [response.status_code for response in answers] == [200] * 5
    assert app_probes(sidecar) == probes + 1


def test_a_failure_that_is_no_grpc_error_is_told_by_its_message_or_its_kind() -> None:
    """What a 503 and the log say when the SDK fails before reaching daprd."""

    class LooksLikeGrpc(Exception):
        def details(self) -> str:
            return "a method of the same name, not the sidecar's text"

    assert grpc_details(ConnectionRefusedError("connection refused")) == "connection refused"
    assert grpc_details(TimeoutError()) == "TimeoutError"
    assert grpc_details(LooksLikeGrpc("its own words")) == "its own words"
