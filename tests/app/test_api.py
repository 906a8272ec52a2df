"""Every route and error path of the HTTP API, on the embedded backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.store import EmbeddedBackend
from tests.app.conftest import AppFactory

pytestmark = pytest.mark.anyio


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert "Traceback" not in response.text


async def test_post_message_returns_the_agents_reply(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/sessions/s1/messages", json={"content": "hello agent"})
    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == "s1"
    assert body["status"] == "completed"
    assert body["message_id"]
    assert body["reply"] == 'You said: "hello agent". That is 2 words, 11 characters.'


async def test_history_is_kept_oldest_first(client: httpx.AsyncClient) -> None:
    for text in ("first", "second"):
        assert (await client.post("/v1/sessions/s1/messages", json={"content": text})).is_success
    response = await client.get("/v1/sessions/s1")
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [(m["role"], m["content"][:12]) for m in messages] == [
        ("user", "first"),
        ("assistant", 'You said: "f'),
        ("user", "second"),
        ("assistant", 'You said: "s'),
    ]


async def test_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/sessions/nobody"), 404, "not_found")


async def test_delete_is_204_and_idempotent(client: httpx.AsyncClient) -> None:
    await client.post("/v1/sessions/gone/messages", json={"content": "hi"})
    first = await client.delete("/v1/sessions/gone")
    again = await client.delete("/v1/sessions/gone")
    assert (first.status_code, again.status_code) == (204, 204)
    assert first.content == b""
    assert_error(await client.get("/v1/sessions/gone"), 404, "not_found")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("   \n ", "empty"),
        ("bell\x07", "control character"),
        ("nul\x00byte", "control character"),
        ("x" * 4001, "longer than 4000"),
    ],
)
async def test_guardrail_rejects_bad_input(
    client: httpx.AsyncClient, content: str, fragment: str
) -> None:
    response = await client.post("/v1/sessions/s1/messages", json={"content": content})
    assert_error(response, 422, "input_rejected")
    assert fragment in response.json()["error"]["message"]
    # Nothing was stored for the rejected message.
    assert_error(await client.get("/v1/sessions/s1"), 404, "not_found")
    metrics = (await client.get("/metrics")).text
    assert 'daca_agent_run_duration_seconds_count{outcome="rejected"} 1.0' in metrics


async def test_empty_message_is_refused_by_the_published_schema(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schema["PostMessageRequest"]["properties"]["content"]["minLength"] == 1
    response = await client.post("/v1/sessions/s1/messages", json={"content": ""})
    assert_error(response, 422, "validation_error")
    assert "content" in response.json()["error"]["message"]
    assert_error(await client.get("/v1/sessions/s1"), 404, "not_found")


async def test_newlines_and_tabs_are_fine(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/sessions/s1/messages", json={"content": "a\n\tb"})
    assert response.status_code == 200


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = {"content": "x" * (64 * 1024)}
    assert_error(await client.post("/v1/sessions/s1/messages", json=big), 413, "payload_too_large")


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"content": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    response = await client.post(
        "/v1/sessions/s1/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [b'{"content": ', b"[" * 30000 + b"]" * 30000],
    ids=["truncated", "nested-too-deep"],
)
async def test_malformed_json_is_422(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/v1/sessions/s1/messages", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "malformed_json")


@pytest.mark.parametrize(
    "payload",
    [{}, {"content": 3}, {"content": "hi", "extra": 1}, [1, 2], "text"],
)
async def test_wrong_shape_is_422(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/v1/sessions/s1/messages", json=payload)
    assert_error(response, 422, "validation_error")


async def test_invalid_session_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/sessions/-bad%20id/messages", json={"content": "hi"})
    assert_error(response, 422, "validation_error")


async def test_unknown_route_is_404_and_wrong_method_405(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v2/whatever"), 404, "not_found")
    wrong = await client.put("/v1/sessions/s1")
    assert_error(wrong, 405, "method_not_allowed")
    # GET and DELETE are two routes on one path: the Allow header names both
    assert wrong.headers["allow"] == "DELETE, GET"


async def test_every_405_allows_exactly_the_documented_methods(
    client: httpx.AsyncClient,
) -> None:
    """What OpenAPI documents for a path is what a 405 on that path says is allowed."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    concrete = {"{session_id}": "s1", "{review_id}": "abc123"}
    for template, operations in paths.items():
        path = template
        for param, value in concrete.items():
            path = path.replace(param, value)
        documented = {method.upper() for method in operations}
        unused = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented)[0]
        response = await client.request(unused, path)
        assert response.status_code == 405, (template, unused, response.text)
        assert set(response.headers["allow"].split(", ")) - {"HEAD"} == documented, template


async def test_unexpected_failure_is_a_json_500_without_trace(app_factory: AppFactory) -> None:
    async with app_factory() as (app, client):
        await client.post("/v1/sessions/s1/messages", json={"content": "hi"})

        async def broken(key: str, etag: str | None = None) -> None:
            raise RuntimeError("secret internals")

        app.state.backend.state.delete = broken
        response = await client.delete("/v1/sessions/s1")
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text


async def test_message_completed_event_is_a_cloudevent(app_factory: AppFactory) -> None:
    async with app_factory() as (app, client):
        reply = (await client.post("/v1/sessions/s9/messages", json={"content": "hey"})).json()
        backend = app.state.backend
        assert isinstance(backend, EmbeddedBackend)
        events = list(backend.events.events)
    assert len(events) == 1
    event = events[0]
    assert event["specversion"] == "1.0"
    assert event["type"] == "message.completed"
    assert event["source"] == "daca-agent"
    assert event["subject"] == "s9"
    assert event["data"] == {
        "session_id": "s9",
        "message_id": reply["message_id"],
        "reply": reply["reply"],
    }


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "backend": "embedded"}


async def test_metrics_report_routes_runs_and_tokens(client: httpx.AsyncClient) -> None:
    await client.post("/v1/sessions/m1/messages", json={"content": "count me"})
    await client.get("/v1/sessions/nope")
    await client.get("/not/a/route")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'daca_http_requests_total{method="POST",route="/v1/sessions/{session_id}/messages",'
        'status="200"} 1.0' in text
    )
    assert 'route="/v1/sessions/{session_id}",status="404"' in text
    assert 'route="unmatched",status="404"' in text
    assert 'daca_agent_run_duration_seconds_count{outcome="completed"} 1.0' in text
    assert 'daca_model_tokens_total{direction="input"}' in text
    assert 'daca_model_tokens_total{direction="output"}' in text
    assert "daca_state_conflicts_retried_total 0.0" in text
    assert 'daca_events_published_total{outcome="published",type="message.completed"} 1.0' in text


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/sessions/{session_id}/messages",
        "/v1/sessions/{session_id}",
        "/v1/reviews/{review_id}/decision",
        "/healthz",
        "/readyz",
        "/metrics",
        "/dapr/subscribe",
    } <= set(paths)


async def test_the_input_length_limit_is_the_configured_one_not_the_default() -> None:
    from tests.app.conftest import running_app

    async with running_app(max_input_chars=12) as (_, client):
        at_limit = await client.post("/v1/sessions/len/messages", json={"content": "x" * 12})
        over = await client.post("/v1/sessions/len/messages", json={"content": "x" * 13})
    assert at_limit.status_code == 200
    assert over.status_code == 422
    assert over.json()["error"]["message"] == "message is longer than 12 characters"
