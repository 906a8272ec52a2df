"""Who gets in when nothing is configured, and what stays open."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI

from tests.app.conftest import REMOTE, USER_KEY, http_client, running_app
from tests.fakes.dapr_sidecar import FakeDaprSidecar

pytestmark = pytest.mark.anyio


def messages(caplog: pytest.LogCaptureFixture, level: int) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno == level)


async def test_laptop_run_answers_loopback_without_credentials_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        running_app(credentials=False) as (app, _),
        http_client(app, None) as local,
        http_client(app, USER_KEY, client=REMOTE) as remote,
    ):
        held = await local.post("/v1/sessions/s/messages", json={"content": "review my text"})
        assert held.status_code == 200
        # the person at the keyboard is also the reviewer
        decided = await local.post(
            f"/v1/reviews/{held.json()['review_id']}/decision", json={"approved": True}
        )
        assert decided.status_code == 200

        refused = await remote.get("/v1/sessions/s")
        assert refused.status_code == 401
        assert "DACA_API_KEYS" in refused.json()["error"]["message"]
        assert refused.headers["www-authenticate"] == 'Bearer realm="daca-agent"'
        assert (await remote.get("/healthz")).status_code == 200
    warning = messages(caplog, logging.WARNING)
    assert "NO AUTHENTICATION" in warning
    assert "loopback" in warning


async def test_a_sidecar_without_credentials_fails_closed_and_says_what_to_set(
    sidecar: FakeDaprSidecar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_app(credentials=False) as (app, _):
        for key in (None, USER_KEY):
            async with http_client(app, key) as local:  # even from loopback
                response = await local.post("/v1/sessions/s/messages", json={"content": "hi"})
                assert response.status_code == 401
                assert response.json()["error"]["code"] == "unauthorized"
                assert "DACA_API_KEYS" in response.json()["error"]["message"]
                assert ('error="invalid_token"' in response.headers["www-authenticate"]) == bool(
                    key
                )
        async with http_client(app, None) as local:
            assert (await local.get("/healthz")).status_code == 200
            assert (await local.get("/readyz")).status_code == 200
    assert sidecar.value("session-s") is None
    error = messages(caplog, logging.ERROR)
    assert "DACA_API_KEYS" in error
    assert "DACA_OIDC_ISSUER" in error
    assert "APP_API_TOKEN is not set" in messages(caplog, logging.WARNING)


async def test_probes_metrics_and_docs_stay_open(embedded_app: FastAPI) -> None:
    async with http_client(embedded_app, None, client=REMOTE) as anonymous:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            assert (await anonymous.get(path)).status_code == 200, path
        # everything else is closed, including paths no route serves
        assert (await anonymous.get("/v2/anything")).status_code == 401
