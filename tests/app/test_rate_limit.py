"""Each principal gets DACA_RATE_LIMIT_PER_MINUTE requests per minute on /v1 (per replica)."""

from __future__ import annotations

import asyncio

import pytest

from app.auth.rate_limit import RateLimiter
from tests.app.conftest import OTHER_USER_KEY, http_client, running_app

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def frozen_limiter_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The app's limiter on a clock that stands still: a bucket refills with time, so on a
    slow machine the 121st request could find a new token (a test never hangs on speed)."""
    clock = Clock()
    monkeypatch.setattr(
        "app.main.RateLimiter",
        lambda per_minute: RateLimiter(per_minute, clock=clock),
    )
    return clock


async def test_over_the_limit_is_429_with_retry_after_per_principal() -> None:
    async with running_app(rate_limit_per_minute=3) as (app, user):
        for _ in range(3):
            assert (await user.get("/v1/sessions/x")).status_code == 404
        limited = await user.post("/v1/sessions/x/messages", json={"content": "one more"})
        async with http_client(app, OTHER_USER_KEY) as other:
            assert (await other.get("/v1/sessions/x")).status_code == 404
        assert (await user.get("/healthz")).status_code == 200  # probes are not counted
        metrics = (await user.get("/metrics")).text
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    # 3 per minute: one more request every 20 s, in whole seconds
    retry_after = limited.headers["retry-after"]
    assert 1 <= int(retry_after) <= 20
    assert limited.json()["error"]["message"] == f"too many requests; retry in {retry_after} s"
    assert 'daca_agent_run_duration_seconds_count{outcome="completed"}' not in metrics, (
        "a limited request never reaches the model"
    )
    assert 'route="/v1/sessions/{session_id}/messages",status="429"} 1.0' in metrics


async def test_the_default_limit_is_120_per_minute() -> None:
    async with running_app() as (_, user):
        answers = [(await user.get("/v1/sessions/x")).status_code for _ in range(121)]
    assert answers[:120] == [404] * 120
    assert answers[120] == 429


async def test_zero_disables_the_limit() -> None:
    async with running_app(rate_limit_per_minute=0) as (_, user):
        answers = {(await user.get("/v1/sessions/x")).status_code for _ in range(200)}
    assert answers == {404}


async def test_concurrent_requests_never_exceed_the_budget() -> None:
    async with running_app(rate_limit_per_minute=10) as (_, user):
        answers = await asyncio.gather(*(user.get("/v1/sessions/x") for _ in range(40)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [404] * 10 + [429] * 30


def test_the_budget_refills_over_time() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one per second, bursts of 60
    assert all(limiter.acquire("p") is None for _ in range(60))
    assert limiter.acquire("p") == 1
    clock.now += 0.5
    assert limiter.acquire("p") == 1  # half a token: still a whole second to say
    clock.now += 0.5
    assert limiter.acquire("p") is None
    clock.now += 3600
    assert all(limiter.acquire("p") is None for _ in range(60))  # capped at the burst
    assert limiter.acquire("p") == 1


def test_memory_is_bounded_and_drops_the_least_recent_first() -> None:
    clock = Clock()
    limiter = RateLimiter(2, max_principals=100, clock=clock)
    limiter.acquire("busy")
    limiter.acquire("busy")
    for n in range(1000):
        limiter.acquire(f"p{n}")
        if n % 10 == 0:
            assert limiter.acquire("busy") is not None  # still limited: kept, being used
    assert len(limiter) == 100


def test_threads_share_one_budget() -> None:
    from concurrent.futures import ThreadPoolExecutor

    limiter = RateLimiter(50, clock=Clock())
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: limiter.acquire("p"), range(400)))
    assert results.count(None) == 50
