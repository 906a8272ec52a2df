"""Many parallel posts to one session: every message is kept, on both backends."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.app.conftest import AppFactory
from tests.fakes.dapr_sidecar import FakeDaprSidecar

pytestmark = pytest.mark.anyio

PER_CLIENT = 20


async def post_many(client: httpx.AsyncClient, tag: str) -> list[httpx.Response]:
    return await asyncio.gather(
        *(
            client.post("/v1/sessions/busy/messages", json={"content": f"{tag}-{i}"})
            for i in range(PER_CLIENT)
        )
    )


def assert_all_kept(messages: list[dict[str, str]], expected: set[str]) -> None:
    users = Counter(m["content"] for m in messages if m["role"] == "user")
    assert set(users) == expected
    assert all(count == 1 for count in users.values())
    assert len(messages) == 2 * len(expected)


async def test_parallel_posts_on_the_embedded_store(app_factory: AppFactory) -> None:
    async with app_factory() as (_, client):
        responses = await post_many(client, "e")
        assert all(r.status_code == 200 for r in responses)
        messages = (await client.get("/v1/sessions/busy")).json()["messages"]
    assert_all_kept(messages, {f"e-{i}" for i in range(PER_CLIENT)})


async def test_two_replicas_through_one_sidecar(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """Two app instances share the sidecar's store, like two pods: their writes race on the
    same key and only ETags keep them from overwriting each other."""
    async with app_factory() as (_, first), app_factory() as (_, second):
        results = await asyncio.gather(post_many(first, "a"), post_many(second, "b"))
        assert all(r.status_code == 200 for batch in results for r in batch)
    expected = {f"{tag}-{i}" for tag in "ab" for i in range(PER_CLIENT)}
    assert_all_kept(sidecar.value("session-busy")["messages"], expected)


FAST_RETRIES = {"state_retry_base_ms": 1, "state_retry_max_ms": 1, "retry_after_seconds": 7}


async def test_a_delete_racing_a_writer_retries_then_deletes(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """Another replica writes the session between this delete's read and its delete."""
    raced: list[str] = []

    def another_replica_writes_once(key: str) -> None:
        if not raced:
            raced.append(key)
            sidecar.put(key, sidecar.value(key))

    async with app_factory(state_max_retries=1, **FAST_RETRIES) as (_, client):
        await client.post("/v1/sessions/d/messages", json={"content": "hi"})
        sidecar.before_delete = another_replica_writes_once
        response = await client.delete("/v1/sessions/d")
    assert response.status_code == 204
    assert raced == ["session-d"]
    assert sidecar.value("session-d") is None


async def test_a_delete_that_keeps_losing_is_a_503_like_a_post(
    app_factory: AppFactory, sidecar: FakeDaprSidecar
) -> None:
    """Writers that always win: the delete tries the configured number of times, then
    answers exactly what a post losing the same race answers."""
    tries: list[str] = []

    def another_replica_always_writes(key: str) -> None:
        tries.append(key)
        sidecar.put(key, sidecar.value(key))

    async with app_factory(state_max_retries=2, **FAST_RETRIES) as (_, client):
        await client.post("/v1/sessions/d/messages", json={"content": "hi"})
        sidecar.before_save = another_replica_always_writes
        post = await client.post("/v1/sessions/d/messages", json={"content": "again"})
        post_tries = [key for key in tries if key == "session-d"]
        sidecar.before_save = None
        sidecar.before_delete = another_replica_always_writes
        tries.clear()
        delete = await client.delete("/v1/sessions/d")
    assert len(tries) == len(post_tries) == 3, "the first attempt and two retries"
    assert post.status_code == delete.status_code == 503
    assert delete.headers["retry-after"] == "7"
    assert delete.json() == post.json()
    assert sidecar.value("session-d") is not None


async def test_retries_back_off_exponentially_up_to_the_cap_with_full_jitter(
    app_factory: AppFactory, sidecar: FakeDaprSidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """state_retry_base_ms doubles per retry up to state_retry_max_ms; each wait is drawn
    from zero up to that bound, so replicas that collided spread out."""
    from types import SimpleNamespace

    bounds: list[tuple[float, float]] = []
    waits: list[float] = []

    def widest(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("app.service.random", SimpleNamespace(uniform=widest))
    monkeypatch.setattr("app.service.asyncio", SimpleNamespace(sleep=no_wait))
    settings = {"state_max_retries": 4, "state_retry_base_ms": 10, "state_retry_max_ms": 50}
    async with app_factory(**settings) as (_, client):
        await client.post("/v1/sessions/d/messages", json={"content": "hi"})
        sidecar.before_delete = lambda key: sidecar.put(key, sidecar.value(key))
        assert (await client.delete("/v1/sessions/d")).status_code == 503
    assert waits == [0.01, 0.02, 0.04, 0.05]
    assert [low for low, _ in bounds] == [0, 0, 0, 0]
