"""JSON documents in the state store, changed read-modify-write under their ETag: what the
workflow state machine, the moderation records and the sweep are built on."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.store import ETagMismatchError, StateStore

Document = dict[str, Any]


class KeyedLocks:
    """One asyncio lock per key, dropped when unused: serialises this replica's writers to
    a key so ETag conflicts only come from other replicas."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class TooManyConflictsError(Exception):
    """A document kept changing under every attempt (the caller answers 503)."""


#: returned by a mutation to delete the document (with the ETag it was read with)
DELETE: Document = {"__delete__": True}


class DocumentStore:
    """ETag-guarded read-modify-write of JSON documents, retried with jittered back-off."""

    def __init__(
        self,
        state: StateStore,
        *,
        max_retries: int = 12,
        base_ms: float = 5.0,
        max_ms: float = 250.0,
        on_conflict: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self._max_retries = max_retries
        self._base_ms = base_ms
        self._max_ms = max_ms
        self._on_conflict = on_conflict
        self._locks = KeyedLocks()

    async def get(self, key: str) -> Document | None:
        return (await self.state.get(key)).value

    async def insert(self, key: str, document: Document) -> bool:
        """Create ``key`` if absent (first-write); False if it already exists."""
        try:
            await self.state.save(key, document, None)
        except ETagMismatchError:
            return False
        return True

    async def mutate(
        self, key: str, change: Callable[[Document | None], Document | None]
    ) -> Document | None:
        """Apply ``change`` to the current document (None: absent) and save the result with
        the ETag read; ``change`` returns None to write nothing, or DELETE. It may run once
        per attempt, so it must not have side effects. Returns what is stored afterwards."""
        async with self._locks.hold(key):
            for attempt in range(self._max_retries + 1):
                current = await self.state.get(key)
                updated = change(None if current.value is None else dict(current.value))
                if updated is None:
                    return current.value
                try:
                    if updated is DELETE:
                        if current.value is not None:
                            await self.state.delete(key, current.etag)
                        return None
                    await self.state.save(key, updated, current.etag)
                    return updated
                except ETagMismatchError:
                    if self._on_conflict is not None:
                        self._on_conflict()
                    if attempt < self._max_retries:
                        cap = min(self._max_ms, self._base_ms * 2**attempt)
                        await asyncio.sleep(random.uniform(0, cap) / 1000)  # noqa: S311 - jitter
        raise TooManyConflictsError(f"too many concurrent writers to {key!r}")
