"""Time as the workflow engine sees it: the system clock, or a manual one for tests, so a
deadline can pass without anyone sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Now, and a way to wait (retry back-off)."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock UTC time and real sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told: ``advance`` jumps ahead, ``sleep`` advances by the
    time asked and returns at once (retry back-offs cost no wall-clock time)."""

    def __init__(self, start: datetime | None = None) -> None:
        # starts at the real now: documents stamped with wall-clock time stay comparable
        self._now = start or datetime.now(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward; returns the new now."""
        self._now += timedelta(seconds=seconds)
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += timedelta(seconds=seconds)
        await asyncio.sleep(0)
