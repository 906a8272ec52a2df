"""Where the service keeps state and sends events: the interfaces, and the embedded
in-process implementations used when no Dapr sidecar is configured."""

from __future__ import annotations

import asyncio
import collections
import json
from dataclasses import dataclass
from typing import Any, Protocol


class BackendUnavailableError(Exception):
    """The sidecar or the store behind it cannot serve the call right now (503)."""


class ETagMismatchError(Exception):
    """An optimistic-concurrency write lost the race: re-read and retry."""


@dataclass(frozen=True)
class Versioned:
    """A stored JSON document and the ETag it was read with (None: key absent)."""

    value: dict[str, Any] | None
    etag: str | None


class StateStore(Protocol):
    """Key/value store with Dapr's ETag semantics.

    ``save`` with an ETag succeeds only if the stored ETag still matches; ``save`` without an
    ETag succeeds only if the key does not exist (Dapr's first-write concurrency). ``delete``
    with an ETag likewise removes only the version that was read.
    """

    async def get(self, key: str) -> Versioned: ...

    async def save(self, key: str, value: dict[str, Any], etag: str | None) -> None: ...

    async def delete(self, key: str, etag: str | None = None) -> None: ...


class EventPublisher(Protocol):
    """Publishes CloudEvents on the configured topic."""

    async def publish(self, event: dict[str, Any]) -> None: ...


class Backend(Protocol):
    """Everything the service needs from its runtime: state, events and a readiness check."""

    @property
    def kind(self) -> str: ...

    @property
    def state(self) -> StateStore: ...

    @property
    def events(self) -> EventPublisher: ...

    async def start(self) -> None: ...

    async def check_ready(self) -> None:
        """Return if the sidecar and the store answer; raise BackendUnavailableError if not."""
        ...

    async def close(self) -> None: ...


class EmbeddedStateStore:
    """In-process store mirroring Dapr's ETag rules, for laptops and tests (not shared
    between replicas: use a sidecar for that)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, int]] = {}
        self._lock = asyncio.Lock()

    async def get(self, key: str) -> Versioned:
        entry = self._data.get(key)
        if entry is None:
            return Versioned(None, None)
        raw, version = entry
        return Versioned(json.loads(raw), str(version))

    async def save(self, key: str, value: dict[str, Any], etag: str | None) -> None:
        raw = json.dumps(value, separators=(",", ":"))
        async with self._lock:
            current = self._data.get(key)
            if etag is None:
                if current is not None:
                    raise ETagMismatchError(f"key {key!r} already exists")
                self._data[key] = (raw, 1)
                return
            if current is None or str(current[1]) != etag:
                raise ETagMismatchError(f"possible etag mismatch for key {key!r}")
            self._data[key] = (raw, current[1] + 1)

    async def delete(self, key: str, etag: str | None = None) -> None:
        async with self._lock:
            current = self._data.get(key)
            if etag is not None and (current is None or str(current[1]) != etag):
                raise ETagMismatchError(f"possible etag mismatch for key {key!r}")
            self._data.pop(key, None)


class EmbeddedEventLog:
    """Keeps the most recent published events in memory (what Dapr pub/sub would carry)."""

    def __init__(self, capacity: int = 1000) -> None:
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)

    async def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class EmbeddedBackend:
    """The backend used when no sidecar is configured: always ready."""

    def __init__(self) -> None:
        self._state = EmbeddedStateStore()
        self._events = EmbeddedEventLog()

    @property
    def kind(self) -> str:
        return "embedded"

    @property
    def state(self) -> EmbeddedStateStore:
        return self._state

    @property
    def events(self) -> EmbeddedEventLog:
        return self._events

    async def start(self) -> None:
        return None

    async def check_ready(self) -> None:
        return None

    async def close(self) -> None:
        return None
