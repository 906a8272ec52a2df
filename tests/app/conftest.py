"""Fixtures: the app on the embedded backend, the app through a fake Dapr sidecar."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import load_settings
from app.main import create_app
from tests.fakes.dapr_sidecar import FakeDaprSidecar

_OWNED_ENV = (
    "DAPR_GRPC_PORT",
    "DAPR_HTTP_PORT",
    "DAPR_GRPC_ENDPOINT",
    "DAPR_HTTP_ENDPOINT",
    "DAPR_API_TOKEN",
    "OPENAI_API_KEY",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from no sidecar, no key and default settings, whatever the shell has."""
    for name in list(os.environ):
        if name.startswith("DACA_") or name in _OWNED_ENV:
            monkeypatch.delenv(name, raising=False)


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@asynccontextmanager
async def running_app(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """create_app with settings from the environment (+ overrides), lifespan run, and an
    httpx client bound to it in-process."""
    app = create_app(load_settings(**overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield app, client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The app on its embedded store and event log."""
    async with running_app() as (_, http):
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
    """The app going through the fake sidecar."""
    async with running_app(sidecar_wait_seconds=5) as (_, http):
        yield http


@pytest.fixture
def app_factory() -> AppFactory:
    """For tests that need several app instances or custom settings."""
    return running_app
