"""The issuer's signing keys over time: cached for the TTL, refreshed after it, kept when the
issuer is briefly unreachable, fetched once however many requests arrive together. Served by
an httpx MockTransport and driven by a fake clock: no network, no sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.auth.oidc import (
    FAILED_FETCH_BACKOFF_SECONDS,
    IdentityProviderUnavailableError,
    InvalidTokenError,
    JwksCache,
)
from tests.fakes.oidc_provider import signing_key

pytestmark = pytest.mark.anyio

ISSUER = "https://issuer.example"


class Issuer:
    """Answers discovery and JWKS requests like an IdP; counts them; can fail."""

    def __init__(self) -> None:
        self.keys = [signing_key("k1", "RS256"), signing_key("e1", "ES256")]
        self.extra: list[dict[str, Any]] = []
        self.jwks_fetches = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"})
        self.jwks_fetches += 1
        return httpx.Response(200, json={"keys": [k.public_jwk() for k in self.keys] + self.extra})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(issuer: Issuer, clock: Clock, ttl: float = 600) -> JwksCache:
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle))
    return JwksCache(ISSUER, http, ttl=ttl, clock=clock)


async def test_keys_are_refreshed_after_the_ttl() -> None:
    issuer, clock = Issuer(), Clock()
    keys = cache(issuer, clock, ttl=600)
    await keys.key("k1", "RS256")
    clock.now += 599
    await keys.key("k1", "RS256")
    assert issuer.jwks_fetches == 1
    clock.now += 2
    await keys.key("k1", "RS256")
    assert issuer.jwks_fetches == 2


async def test_cached_keys_survive_an_issuer_outage() -> None:
    issuer, clock = Issuer(), Clock()
    keys = cache(issuer, clock, ttl=60)
    await keys.key("k1", "RS256")
    issuer.down = True
    clock.now += 120
    assert (await keys.key("k1", "RS256")).key_id == "k1"


async def test_no_keys_and_no_issuer_fails_fast_then_recovers() -> None:
    issuer, clock = Issuer(), Clock()
    keys = cache(issuer, clock)
    issuer.down = True
    with pytest.raises(IdentityProviderUnavailableError):
        await keys.key("k1", "RS256")
    issuer.down = False
    with pytest.raises(IdentityProviderUnavailableError):
        await keys.key("k1", "RS256")  # within the back-off: not even asked
    assert issuer.jwks_fetches == 0
    clock.now += FAILED_FETCH_BACKOFF_SECONDS
    assert (await keys.key("k1", "RS256")).key_id == "k1"


async def test_concurrent_first_requests_fetch_once() -> None:
    issuer, clock = Issuer(), Clock()
    keys = cache(issuer, clock)
    found = await asyncio.gather(*(keys.key("k1", "RS256") for _ in range(20)))
    assert {key.key_id for key in found} == {"k1"}
    assert issuer.jwks_fetches == 1


async def test_a_key_is_used_only_with_its_own_algorithm() -> None:
    issuer, clock = Issuer(), Clock()
    keys = cache(issuer, clock)
    with pytest.raises(InvalidTokenError, match="does not match"):
        await keys.key("e1", "RS256")


@pytest.mark.parametrize(
    "entry",
    [
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
        {**signing_key("enc", "RS256").public_jwk(), "use": "enc"},
        {**signing_key("hs", "RS256").public_jwk(), "alg": "RS512"},
        {k: v for k, v in signing_key("nokid", "RS256").public_jwk().items() if k != "kid"},
    ],
    ids=["symmetric", "encryption-key", "other-alg", "no-kid"],
)
async def test_unusable_jwks_entries_are_ignored(entry: dict[str, Any]) -> None:
    issuer, clock = Issuer(), Clock()
    issuer.extra = [entry]
    keys = cache(issuer, clock)
    assert (await keys.key("k1", "RS256")).key_id == "k1"
    with pytest.raises(InvalidTokenError, match="unknown key"):
        await keys.key(str(entry.get("kid", "nokid")), "RS256")
