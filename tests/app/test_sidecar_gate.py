"""/dapr/* answers the sidecar only: a loopback peer, with the app token when one is set.
Forwarded headers never make an ingress request look local."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.__main__ import uvicorn_options
from app.config import load_settings
from tests.app.conftest import REMOTE, REVIEWER_KEY, USER_KEY, http_client, running_app

pytestmark = pytest.mark.anyio

EVENTS = "/dapr/events/review-decisions"


async def held_review(app: FastAPI) -> str:
    async with http_client(app) as user:
        response = await user.post(
            "/v1/sessions/h/messages", json={"content": "Please refund order B-42 for 30"}
        )
    review_id: str = response.json()["review_id"]
    return review_id


async def review_status(app: FastAPI, review_id: str) -> str:
    async with http_client(app, REVIEWER_KEY) as reviewer:
        status: str = (await reviewer.get(f"/v1/reviews/{review_id}")).json()["status"]
    return status


def decision(review_id: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "forged-1",
        "source": "attacker",
        "type": "review.decision",
        "data": {"review_id": review_id, "approved": True},
    }


@pytest.mark.parametrize("key", [None, USER_KEY, REVIEWER_KEY])
async def test_a_forged_cloudevent_from_outside_is_refused_and_decides_nothing(
    embedded_app: FastAPI, key: str | None
) -> None:
    review_id = await held_review(embedded_app)
    async with http_client(embedded_app, key, client=REMOTE) as outsider:
        response = await outsider.post(
            EVENTS,
            json=decision(review_id),
            headers={"content-type": "application/cloudevents+json"},
        )
        subscribe = await outsider.get("/dapr/subscribe")
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "forbidden", "message": "only the Dapr sidecar may call /dapr routes"}
    }
    assert subscribe.status_code == 403
    assert await review_status(embedded_app, review_id) == "pending"
    types = [event["type"] for event in embedded_app.state.backend.events.events]
    assert types == ["review.requested"]


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.10.0.3", "::1", "::ffff:127.0.0.1"])
async def test_loopback_peers_reach_the_subscription(embedded_app: FastAPI, peer: str) -> None:
    async with http_client(embedded_app, None, client=(peer, 4000)) as sidecar:
        assert (await sidecar.get("/dapr/subscribe")).status_code == 200


@pytest.mark.parametrize("peer", ["10.0.0.5", "::ffff:10.0.0.5", "fe80::1", "192.168.1.1"])
async def test_other_peers_do_not(embedded_app: FastAPI, peer: str) -> None:
    async with http_client(embedded_app, None, client=(peer, 4000)) as outsider:
        assert (await outsider.get("/dapr/subscribe")).status_code == 403


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"dapr-api-token": "wrong"}, 403),
        ({"dapr-api-token": "sidecar-secret-token "}, 403),
        ({"authorization": "Bearer sidecar-secret-token"}, 403),
        ({"dapr-api-token": "sidecar-secret-token"}, 200),
    ],
    ids=["missing", "wrong", "almost", "as-bearer", "right"],
)
async def test_with_an_app_token_the_sidecar_must_present_it(
    headers: dict[str, str], status: int
) -> None:
    async with running_app(app_api_token="sidecar-secret-token") as (app, _):
        review_id = await held_review(app)
        async with http_client(app, None) as local:
            response = await local.post(EVENTS, json=decision(review_id), headers=headers)
        assert response.status_code == status, response.text
        assert await review_status(app, review_id) == ("approved" if status == 200 else "pending")


async def test_the_app_token_comes_from_daprs_own_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_API_TOKEN", "from-the-injector")
    async with running_app() as (app, _), http_client(app, None) as local:
        assert (await local.get("/dapr/subscribe")).status_code == 403
        ok = await local.get("/dapr/subscribe", headers={"dapr-api-token": "from-the-injector"})
        assert ok.status_code == 200


# -- X-Forwarded-For through the server the image runs -----------------------------------


def served_like_the_image(app: FastAPI) -> httpx.AsyncClient:
    """``app`` wrapped the way `python -m app` serves it (uvicorn's own middleware
    included), reached from an ingress address."""
    options = uvicorn_options(load_settings())
    config = uvicorn.Config(app, **{k: v for k, v in options.items() if k not in ("host", "port")})
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=REMOTE)
    return httpx.AsyncClient(transport=transport, base_url="http://app")


SPOOFED = {"x-forwarded-for": "127.0.0.1", "forwarded": "for=127.0.0.1"}


async def test_a_forwarded_header_does_not_make_an_ingress_request_local(
    embedded_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even with a platform that sets FORWARDED_ALLOW_IPS=* for its proxies
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    review_id = await held_review(embedded_app)
    async with served_like_the_image(embedded_app) as outsider:
        response = await outsider.post(EVENTS, json=decision(review_id), headers=SPOOFED)
    assert response.status_code == 403
    assert await review_status(embedded_app, review_id) == "pending"


async def test_nor_opens_a_laptop_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    async with (
        running_app(credentials=False) as (app, _),
        served_like_the_image(app) as outsider,
    ):
        response = await outsider.get("/v1/sessions/s1", headers=SPOOFED)
    assert response.status_code == 401
