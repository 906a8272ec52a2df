"""A per-principal token bucket, in process (each replica counts on its own)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: principals tracked at once; beyond it the least recently seen bucket is dropped
DEFAULT_MAX_PRINCIPALS = 10_000


class RateLimiter:
    """Up to ``per_minute`` requests in a burst, refilled at ``per_minute / 60`` per second.

    Memory is bounded: at most ``max_principals`` buckets, least recently used dropped first
    (a bucket untouched for a minute is full again, so dropping it changes nothing). One lock
    makes each decision atomic, whichever thread or task asks.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        max_principals: int = DEFAULT_MAX_PRINCIPALS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1 (0 means: no limiter at all)")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._max = max_principals
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, principal_id: str) -> int | None:
        """Take one request from the principal's budget: None when allowed, else the whole
        seconds until the next request would be (a ``Retry-After``)."""
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.pop(principal_id, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - updated) * self._per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[principal_id] = (tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self._per_second))
