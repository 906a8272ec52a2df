"""Fixtures: the app on the embedded backend, the app through a fake Dapr sidecar."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from agents import ModelProvider
from fastapi import FastAPI

from app.auth.api_keys import key_digest, key_principal_id
from app.config import load_settings
from app.main import create_app
from app.moderation.activities import ModelProbe
from app.store import Backend
from app.workflows.clock import Clock
from tests.app.event_loop import GrpcSafeEventLoop
from tests.fakes.dapr_sidecar import FakeDaprSidecar

_OWNED_ENV = (
    "DAPR_GRPC_PORT",
    "DAPR_HTTP_PORT",
    "DAPR_GRPC_ENDPOINT",
    "DAPR_HTTP_ENDPOINT",
    "DAPR_API_TOKEN",
    "APP_API_TOKEN",
    "FORWARDED_ALLOW_IPS",
    "OPENAI_API_KEY",
)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """asyncio, a new loop per test, one that outlives grpc calls finishing late."""
    return "asyncio", {"loop_factory": GrpcSafeEventLoop}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from no sidecar, no key and default settings, whatever the shell has."""
    for name in list(os.environ):
        if name.startswith("DACA_") or name in _OWNED_ENV:
            monkeypatch.delenv(name, raising=False)


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]

# The keys the tests present; the app is configured with their digests, as in production.
USER_KEY = "test-user-key-0f5b2c"
OTHER_USER_KEY = "test-other-user-key-7a1e9d"
REVIEWER_KEY = "test-reviewer-key-3c8d41"
CREDENTIALS = {
    "api_keys": f"{key_digest(USER_KEY)},{key_digest(OTHER_USER_KEY)}",
    "reviewer_keys": key_digest(REVIEWER_KEY),
}
#: the principal id USER_KEY authenticates as
USER_PRINCIPAL = key_principal_id(key_digest(USER_KEY))
LOOPBACK = ("127.0.0.1", 50123)
#: a client reaching the app through an ingress (not the sidecar, not this machine)
REMOTE = ("10.0.0.5", 41234)


def http_client(
    app: FastAPI, key: str | None = USER_KEY, client: tuple[str, int] = LOOPBACK
) -> httpx.AsyncClient:
    """An in-process client of ``app``, from ``client``'s address, presenting ``key``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=transport, base_url="http://app", headers=headers)


@asynccontextmanager
async def running_app(
    *,
    credentials: bool = True,
    backend: Backend | None = None,
    clock: Clock | None = None,
    provider: ModelProvider | None = None,
    model_probe: ModelProbe | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """create_app with settings from the environment (+ the test keys' digests unless
    ``credentials=False``, + overrides), lifespan run, and a client presenting USER_KEY.
    ``backend``, ``clock``, ``provider`` (the model's) and ``model_probe`` replace the real
    ones."""
    settings = load_settings(**({**CREDENTIALS, **overrides} if credentials else overrides))
    app = create_app(
        settings,
        backend,
        clock=clock,
        model_provider=provider,
        model_probe=model_probe,
    )
    async with app.router.lifespan_context(app), http_client(app) as client:
        yield app, client


@pytest.fixture
async def embedded_app() -> AsyncIterator[FastAPI]:
    """The app on its embedded store and event log, with the test credentials."""
    async with running_app() as (app, _):
        yield app


@pytest.fixture
async def client(embedded_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A user of the embedded app."""
    async with http_client(embedded_app) as http:
        yield http


@pytest.fixture
async def reviewer(embedded_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A reviewer of the embedded app."""
    async with http_client(embedded_app, REVIEWER_KEY) as http:
        yield http


@pytest.fixture
def sidecar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDaprSidecar]:
    """A fake daprd on free loopback ports, announced the way the injector does it."""
    fake = FakeDaprSidecar(secrets={"openai": {"api-key": "sk-from-secret-store"}})
    grpc_port, http_port = fake.start()
    monkeypatch.setenv("DAPR_GRPC_PORT", str(grpc_port))
    monkeypatch.setenv("DAPR_HTTP_PORT", str(http_port))
    # Bounds the SDK's own (blocking) health wait in the DaprClient constructor.
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "2")
    yield fake
    fake.stop()


@pytest.fixture
async def dapr_client(sidecar: FakeDaprSidecar) -> AsyncIterator[httpx.AsyncClient]:
    """A user of the app going through the fake sidecar."""
    async with running_app(sidecar_wait_seconds=5) as (_, http):
        yield http


@pytest.fixture
def app_factory() -> AppFactory:
    """For tests that need several app instances or custom settings."""
    return running_app
