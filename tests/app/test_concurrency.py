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
