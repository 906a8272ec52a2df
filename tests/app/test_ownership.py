"""A session belongs to whoever created it; to everyone else it does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.app.conftest import OTHER_USER_KEY, AppFactory, http_client
from tests.fakes.dapr_sidecar import FakeDaprSidecar

pytestmark = pytest.mark.anyio

NOT_FOUND = {"error": {"code": "not_found", "message": "session 'owned' not found"}}


@pytest.fixture
async def other(embedded_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second user of the same app."""
    async with http_client(embedded_app, OTHER_USER_KEY) as http:
        yield http


async def agent_runs(client: httpx.AsyncClient) -> float:
    metrics = (await client.get("/metrics")).text
    line = next(
        m for m in metrics.splitlines() if m.startswith("daca_agent_run_duration_seconds_count")
    )
    return float(line.split()[-1])


async def test_another_user_cannot_read_write_or_delete_a_session(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    assert (await client.post("/v1/sessions/owned/messages", json={"content": "mine"})).is_success
    runs = await agent_runs(client)

    # exactly what a session that does not exist answers
    for response in (
        await other.get("/v1/sessions/owned"),
        await other.post("/v1/sessions/owned/messages", json={"content": "let me in"}),
        await other.delete("/v1/sessions/owned"),
    ):
        assert response.status_code == 404, response.text
        assert response.json() == NOT_FOUND

    history = (await client.get("/v1/sessions/owned")).json()["messages"]
    assert [m["content"] for m in history if m["role"] == "user"] == ["mine"]
    assert await agent_runs(client) == runs, "a refused message must not spend a model call"
    assert (await client.delete("/v1/sessions/owned")).status_code == 204
    assert (await client.get("/v1/sessions/owned")).status_code == 404


async def test_each_user_may_use_any_free_session_id(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    assert (await client.post("/v1/sessions/a/messages", json={"content": "one"})).is_success
    assert (await other.post("/v1/sessions/b/messages", json={"content": "two"})).is_success
    assert (await client.get("/v1/sessions/b")).status_code == 404
    assert (await other.get("/v1/sessions/a")).status_code == 404


async def test_reviews_are_readable_by_their_owner_and_reviewers_only(
    client: httpx.AsyncClient, other: httpx.AsyncClient, reviewer: httpx.AsyncClient
) -> None:
    held = (await client.post("/v1/sessions/h/messages", json={"content": "review my text"})).json()
    url = f"/v1/reviews/{held['review_id']}"
    assert (await client.get(url)).status_code == 200
    assert (await reviewer.get(url)).status_code == 200
    refused = await other.get(url)
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == f"review {held['review_id']!r} not found"
    # a reviewer decides reviews; it does not get to read other people's sessions
    assert (await reviewer.get("/v1/sessions/h")).status_code == 404


async def test_sessions_stored_before_ownership_are_reachable_by_nobody(
    embedded_app: FastAPI,
    client: httpx.AsyncClient,
    other: httpx.AsyncClient,
    reviewer: httpx.AsyncClient,
) -> None:
    legacy = {
        "session_id": "legacy",
        "messages": [{"message_id": "m1", "role": "user", "content": "old secret"}],
    }
    store = embedded_app.state.backend.state
    await store.save("session-legacy", legacy, None)
    for caller in (client, other, reviewer):
        for response in (
            await caller.get("/v1/sessions/legacy"),
            await caller.post("/v1/sessions/legacy/messages", json={"content": "claim it"}),
            await caller.delete("/v1/sessions/legacy"),
        ):
            assert response.status_code == 404, response.text
            assert "old secret" not in response.text
    assert (await store.get("session-legacy")).value == legacy, "left for the operator to purge"


async def test_an_id_taken_by_another_replica_meanwhile_is_not_written(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """Another principal creates the id between this request's read and its write: the
    ETag retry re-checks the owner, so nothing is appended to the other's session."""
    theirs = {
        "session_id": "race",
        "owner": "key:someoneelse0",
        "messages": [{"message_id": "t", "role": "user", "content": "theirs"}],
    }

    def someone_else_creates(key: str) -> None:
        if key == "session-race" and sidecar.value(key) is None:
            sidecar.put(key, theirs)

    sidecar.before_save = someone_else_creates
    async with app_factory() as (_, client):
        response = await client.post("/v1/sessions/race/messages", json={"content": "mine"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "session 'race' not found"
    assert sidecar.value("session-race") == theirs


async def test_delete_removes_only_the_version_whose_owner_was_checked(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """The session changes hands between the owner check and the delete (another replica):
    the ETag on the delete refuses it, and the re-check answers 404."""
    theirs = {"session_id": "d", "owner": "key:someoneelse0", "messages": []}

    def taken_over(key: str) -> None:
        if key == "session-d" and sidecar.value(key)["owner"] != theirs["owner"]:
            sidecar.put(key, theirs)

    async with app_factory() as (_, client):
        await client.post("/v1/sessions/d/messages", json={"content": "mine"})
        sidecar.before_delete = taken_over
        response = await client.delete("/v1/sessions/d")
    assert response.status_code == 404
    assert sidecar.value("session-d") == theirs
