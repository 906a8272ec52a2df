"""The Dapr path: state, pub/sub and secrets through the sidecar with the official SDK's
async client, and nothing else."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc
import httpx
from dapr.aio.clients import DaprClient
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions
from dapr.conf import settings as dapr_settings

from app.config import Settings
from app.store import BackendUnavailableError, ETagMismatchError, Versioned

logger = logging.getLogger(__name__)

T = TypeVar("T")

READINESS_PROBE_KEY = "daca-readyz-probe"

# Codes meaning "the sidecar itself is not there (yet)": rebuild the channel once it returns.
_SIDECAR_DOWN = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# Dapr answers Aborted for an ETag mismatch (FailedPrecondition is accepted for stores that
# report it that way through pluggable components).
_ETAG_MISMATCH = {grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION}


def grpc_status(exc: BaseException) -> grpc.StatusCode | None:
    """The gRPC status behind an SDK exception (the SDK wraps some in DaprInternalError)."""
    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "code", None)
        if isinstance(seen, grpc.RpcError) and callable(code):
            status = code()
            if isinstance(status, grpc.StatusCode):
                return status
        seen = seen.__cause__
    return None


def grpc_details(exc: BaseException) -> str:
    """The sidecar's error text, for logs and 503 messages."""
    seen: BaseException | None = exc
    while seen is not None:
        details = getattr(seen, "details", None)
        if isinstance(seen, grpc.RpcError) and callable(details):
            return str(details())
        seen = seen.__cause__
    return str(exc) or type(exc).__name__


#: the most the SDK client's constructor may block the event loop waiting for daprd
SDK_HEALTH_WAIT_SECONDS = 2


class DaprStateStore:
    """State store operations through the sidecar, with first-write ETag concurrency."""

    def __init__(self, backend: DaprBackend, store_name: str) -> None:
        self._backend = backend
        self._store = store_name
        self._options = StateOptions(
            concurrency=Concurrency.first_write, consistency=Consistency.strong
        )

    async def get(self, key: str) -> Versioned:
        client = await self._backend.client()
        response = await self._backend.call(client.get_state(self._store, key), "get state")
        data: bytes = response.data
        etag: str = response.etag
        if not data:
            return Versioned(None, None)
        return Versioned(json.loads(data), etag or None)

    async def save(self, key: str, value: dict[str, Any], etag: str | None) -> None:
        client = await self._backend.client()
        body = json.dumps(value, separators=(",", ":"))
        try:
            await self._backend.call(
                client.save_state(self._store, key, body, etag=etag, options=self._options),
                "save state",
                passthrough=True,
            )
        except BackendUnavailableError:
            raise
        except Exception as exc:
            status = grpc_status(exc)
            if status in _ETAG_MISMATCH:
                raise ETagMismatchError(grpc_details(exc)) from exc
            # An insert (first-write, no ETag) over an existing key: some stores (Redis)
            # report it as a plain error, not Aborted. If the key exists now, we lost a race.
            if (
                etag is None
                and status not in _SIDECAR_DOWN
                and (await self.get(key)).value is not None
            ):
                raise ETagMismatchError(grpc_details(exc)) from exc
            raise self._backend.unavailable(exc, "save state") from exc

    async def delete(self, key: str, etag: str | None = None) -> None:
        client = await self._backend.client()
        try:
            await self._backend.call(
                client.delete_state(self._store, key, etag=etag, options=self._options),
                "delete state",
                passthrough=True,
            )
        except BackendUnavailableError:
            raise
        except Exception as exc:
            if etag is not None and grpc_status(exc) in _ETAG_MISMATCH:
                raise ETagMismatchError(grpc_details(exc)) from exc
            raise self._backend.unavailable(exc, "delete state") from exc


class DaprEventPublisher:
    """Publishes our CloudEvents as-is (Dapr passes `application/cloudevents+json` through)."""

    def __init__(self, backend: DaprBackend, pubsub: str, topic: str) -> None:
        self._backend = backend
        self._pubsub = pubsub
        self._topic = topic

    async def publish(self, event: dict[str, Any]) -> None:
        client = await self._backend.client()
        await self._backend.call(
            client.publish_event(
                pubsub_name=self._pubsub,
                topic_name=self._topic,
                data=json.dumps(event, separators=(",", ":")),
                data_content_type="application/cloudevents+json",
            ),
            "publish event",
        )


class DaprBackend:
    """Owns the SDK client; waits for the sidecar at startup, and rebuilds the channel when
    the sidecar comes back after an outage or a call timed out.

    Known limit: a rebuilt channel still shares gRPC core's process-wide subchannel, so
    after an outage it fails fast (UNAVAILABLE) until that subchannel's reconnect back-off
    ends (1 s growing to at most 120 s). Escaping it needs the channel option
    ``grpc.use_local_subchannel_pool``, which the SDK's DaprClient does not let us set."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: DaprClient | None = None
        self._stale = True
        self._lock = asyncio.Lock()
        headers = {}
        if settings.dapr_api_token is not None:
            headers["dapr-api-token"] = settings.dapr_api_token.get_secret_value()
        self._http = httpx.AsyncClient(
            base_url=settings.dapr_http_base, headers=headers, timeout=1.0
        )
        self._state = DaprStateStore(self, settings.statestore)
        self._events = DaprEventPublisher(self, settings.pubsub, settings.pubsub_topic)

    @property
    def kind(self) -> str:
        return "dapr"

    @property
    def state(self) -> DaprStateStore:
        return self._state

    @property
    def events(self) -> DaprEventPublisher:
        return self._events

    async def start(self) -> None:
        """Wait (bounded by DACA_SIDECAR_WAIT_SECONDS) for the sidecar; serve either way."""
        deadline = time.monotonic() + self._settings.sidecar_wait_seconds
        while True:
            if await self._sidecar_healthy():
                await self.client()
                logger.info("dapr sidecar ready at %s", self._settings.dapr_grpc_address)
                return
            if time.monotonic() >= deadline:
                logger.warning(
                    "dapr sidecar not ready after %.1fs; serving with /readyz 503 until it is",
                    self._settings.sidecar_wait_seconds,
                )
                return
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))

    async def _sidecar_healthy(self) -> bool:
        try:
            response = await self._http.get("/v1.0/healthz/outbound")
        except httpx.HTTPError:
            return False
        return response.is_success

    async def client(self) -> DaprClient:
        """The live SDK client; probes the sidecar and rebuilds the client after an outage."""
        client = self._client
        if client is not None and not self._stale:
            return client
        async with self._lock:
            if self._client is not None and not self._stale:
                return self._client
            if not await self._sidecar_healthy():
                raise BackendUnavailableError("dapr sidecar is not reachable")
            old, self._client = self._client, None
            if old is not None:
                await old.close()  # type: ignore[no-untyped-call]  # dapr SDK: untyped
            # The constructor runs the SDK's own blocking health wait (default: up to 60 s,
            # on the event loop). The probe above just succeeded, so it returns at once;
            # should the sidecar drop in between, the cap keeps the loop (and /healthz)
            # from stalling longer than this.
            dapr_settings.DAPR_HEALTH_TIMEOUT = SDK_HEALTH_WAIT_SECONDS  # type: ignore[attr-defined]  # dynamic SDK settings
            self._client = DaprClient(address=self._settings.dapr_grpc_address)
            self._stale = False
            return self._client

    def unavailable(self, exc: BaseException, what: str) -> BackendUnavailableError:
        """Translate an SDK failure into a 503, marking the channel for rebuild if needed."""
        status = grpc_status(exc)
        if status is None or status in _SIDECAR_DOWN:
            self._stale = True
        return BackendUnavailableError(f"{what} failed: {grpc_details(exc)}")

    async def call(self, awaitable: Awaitable[T], what: str, *, passthrough: bool = False) -> T:
        """Await one sidecar call under the configured deadline.

        Unreachable sidecar -> BackendUnavailableError. Other gRPC errors are translated too,
        unless ``passthrough`` asks the caller to classify them (e.g. ETag mismatches).
        """
        try:
            return await asyncio.wait_for(awaitable, self._settings.dapr_timeout_seconds)
        except TimeoutError as exc:
            self._stale = True
            raise BackendUnavailableError(f"{what} timed out") from exc
        except Exception as exc:
            status = grpc_status(exc)
            if passthrough and status is not None and status not in _SIDECAR_DOWN:
                raise
            raise self.unavailable(exc, what) from exc

    async def check_ready(self) -> None:
        client = await self.client()
        metadata = await self.call(client.get_metadata(), "get metadata")
        loaded = {component.name for component in metadata.registered_components}
        missing = [
            name
            for name in (self._settings.statestore, self._settings.pubsub)
            if name not in loaded
        ]
        if missing:
            raise BackendUnavailableError(f"dapr components not loaded: {', '.join(missing)}")
        await self._state.get(READINESS_PROBE_KEY)

    async def get_secret(self, name: str, field: str) -> str | None:
        """One value from the Dapr secret store, or None when the secret has no such field."""
        client = await self.client()
        response = await self.call(
            client.get_secret(store_name=self._settings.secretstore, key=name), "get secret"
        )
        secret: dict[str, str] = response.secret
        return secret.get(field)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]  # dapr SDK: untyped
            self._client = None
        await self._http.aclose()
