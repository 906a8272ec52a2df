"""Scheduled housekeeping, triggered by the Dapr ``bindings.cron`` input binding ``sweep``:
fire due workflow timers (state-machine engine), close conversation reviews past their
deadline, delete sessions idle longer than the retention period.

The binding fires on every replica. The work is done once per period all the same: each
run first claims the period (``slot``: seconds since the epoch // DACA_SWEEP_INTERVAL_SECONDS)
with an ETag write on ``sweep-claim``; a replica that finds the slot taken does nothing.
Every step is idempotent too, so a claimant dying half-way only delays the rest to the next
period.

The state store has no query API on every stage, so what the sweep visits is indexed when
it is created: ``reviews-open`` (review id -> deadline) and, per creation day and shard,
``session-index-{day}-{n}`` (session ids), with ``session-index-days`` listing the days.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from app.documents import DELETE, Document, DocumentStore, TooManyConflictsError
from app.keys import review_key, session_key
from app.store import BackendUnavailableError
from app.workflows.clock import Clock
from app.workflows.port import Workflows

if TYPE_CHECKING:
    from app.service import ConversationService

logger = logging.getLogger(__name__)

SWEEP_CLAIM_KEY = "sweep-claim"
REVIEWS_OPEN_KEY = "reviews-open"
REVIEWS_PENDING_KEY = "reviews-pending"
SESSION_DAYS_KEY = "session-index-days"
SESSION_SHARDS = 8


def session_bucket_key(day: str, session_id: str) -> str:
    shard = int(hashlib.sha256(session_id.encode()).hexdigest(), 16) % SESSION_SHARDS
    return f"session-index-{day}-{shard}"


async def track_review_deadline(docs: DocumentStore, review_id: str, deadline: str) -> None:
    """Remember a review's deadline so the sweep can close it."""

    def add(current: Document | None) -> Document:
        reviews = dict((current or {}).get("reviews") or {})
        reviews[review_id] = deadline
        return {"reviews": reviews}

    await docs.mutate(REVIEWS_OPEN_KEY, add)


async def mark_review_pending(docs: DocumentStore, review_id: str) -> None:
    """Count a review as waiting for a decision (idempotent: a set of ids, not a counter,
    so a retried call or a second replica never counts it twice)."""

    def add(current: Document | None) -> Document | None:
        pending = list((current or {}).get("reviews") or [])
        if review_id in pending:
            return None
        return {"reviews": [*pending, review_id]}

    await _count_backlog(docs, add, review_id)


async def mark_review_closed(docs: DocumentStore, review_id: str) -> None:
    """A review was decided or expired: it no longer waits (idempotent)."""

    def drop(current: Document | None) -> Document | None:
        pending = list((current or {}).get("reviews") or [])
        if review_id not in pending:
            return None
        return {"reviews": [r for r in pending if r != review_id]}

    await _count_backlog(docs, drop, review_id)


async def _count_backlog(
    docs: DocumentStore, change: Callable[[Document | None], Document | None], review_id: str
) -> None:
    """The backlog is a metric: failing to count must never fail (or undo) the review it
    counts; the claimant's sweep reconciles the set with the reviews themselves."""
    try:
        await docs.mutate(REVIEWS_PENDING_KEY, change)
    except (BackendUnavailableError, TooManyConflictsError) as exc:
        logger.warning(
            "review %s: backlog not updated (%s); the sweep reconciles it", review_id, exc
        )


async def pending_reviews(docs: DocumentStore) -> int:
    """How many reviews wait for a decision, across every replica."""
    return len((await docs.get(REVIEWS_PENDING_KEY) or {}).get("reviews") or [])


async def track_session(docs: DocumentStore, session_id: str, when: datetime) -> None:
    """Index a session under the day it was last active, for the retention sweep."""
    day = when.date().isoformat()

    def add(current: Document | None) -> Document | None:
        sessions = list((current or {}).get("sessions") or [])
        if session_id in sessions:
            return None
        return {"sessions": [*sessions, session_id]}

    def add_day(current: Document | None) -> Document | None:
        days = list((current or {}).get("days") or [])
        if day in days:
            return None
        return {"days": sorted([*days, day])}

    await docs.mutate(session_bucket_key(day, session_id), add)
    await docs.mutate(SESSION_DAYS_KEY, add_day)


class SweepResult(BaseModel):
    """What one sweep did (the binding's answer; Dapr only looks at the status code)."""

    status: Literal["done", "skipped"]
    slot: int
    workflows_run: int = 0
    reviews_expired: int = 0
    sessions_deleted: int = 0


class Sweeper:
    """Runs the sweep at most once per period across replicas."""

    def __init__(
        self,
        docs: DocumentStore,
        conversations: ConversationService,
        workflows: Workflows,
        clock: Clock,
        *,
        interval_seconds: float,
        session_retention_seconds: float,
        on_pending_reviews: Callable[[int], None] | None = None,
    ) -> None:
        self._docs = docs
        self._conversations = conversations
        self._workflows = workflows
        self._clock = clock
        self._interval = interval_seconds
        self._retention = session_retention_seconds
        self._owner = uuid.uuid4().hex
        self._on_pending_reviews = on_pending_reviews

    async def sweep(self) -> SweepResult:
        now = self._clock.now()
        slot = int(now.timestamp() // self._interval)
        if not await self._claim(slot, now):
            await self._report_pending()
            return SweepResult(status="skipped", slot=slot)
        result = SweepResult(
            status="done",
            slot=slot,
            workflows_run=await self._workflows.run_due(),
            reviews_expired=await self._close_reviews(now),
            sessions_deleted=await self._delete_stale_sessions(now),
        )
        await self._reconcile_backlog()
        logger.info("sweep %d: %s", slot, result.model_dump(exclude={"status", "slot"}))
        await self._report_pending()
        return result

    async def _report_pending(self) -> None:
        # every replica, claimant or not, so none keeps reporting a stale backlog
        if self._on_pending_reviews is not None:
            self._on_pending_reviews(await pending_reviews(self._docs))

    async def _reconcile_backlog(self) -> None:
        """Drop from the backlog set every review that no longer waits (decided, expired
        or gone) but was left there: a count that failed, or an activity replayed after
        its review was decided."""
        listed = (await self._docs.get(REVIEWS_PENDING_KEY) or {}).get("reviews") or []
        stale = set()
        for review_id in listed:
            review = await self._docs.get(review_key(review_id))
            if review is None or review.get("status") != "pending":
                stale.add(review_id)
        if not stale:
            return

        def drop(current: Document | None) -> Document | None:
            pending = list((current or {}).get("reviews") or [])
            return {"reviews": [r for r in pending if r not in stale]}

        await self._docs.mutate(REVIEWS_PENDING_KEY, drop)

    async def _claim(self, slot: int, now: datetime) -> bool:
        claimed = False

        def take(current: Document | None) -> Document | None:
            nonlocal claimed
            claimed = current is None or int(current.get("slot", -1)) < slot
            if not claimed:
                return None
            return {"slot": slot, "owner": self._owner, "at": now.isoformat()}

        await self._docs.mutate(SWEEP_CLAIM_KEY, take)
        return claimed

    async def _close_reviews(self, now: datetime) -> int:
        index = await self._docs.get(REVIEWS_OPEN_KEY) or {}
        due = [
            review_id
            for review_id, deadline in (index.get("reviews") or {}).items()
            if datetime.fromisoformat(deadline) <= now
        ]
        closed = 0
        for review_id in due:
            closed += await self._conversations.expire_review(review_id, now)

        def drop(current: Document | None) -> Document | None:
            reviews = dict((current or {}).get("reviews") or {})
            if not any(review_id in reviews for review_id in due):
                return None
            return {"reviews": {k: v for k, v in reviews.items() if k not in due}}

        if due:
            await self._docs.mutate(REVIEWS_OPEN_KEY, drop)
        return closed

    async def _delete_stale_sessions(self, now: datetime) -> int:
        if self._retention <= 0:
            return 0
        cutoff = now - timedelta(seconds=self._retention)
        days = (await self._docs.get(SESSION_DAYS_KEY) or {}).get("days") or []
        deleted = 0
        for day in days:
            if day >= cutoff.date().isoformat():
                continue  # the day may hold sessions active after the cutoff: not yet
            for shard in range(SESSION_SHARDS):
                key = f"session-index-{day}-{shard}"
                bucket = (await self._docs.get(key) or {}).get("sessions") or []
                for session_id in bucket:
                    deleted += await self._retire(session_id, cutoff)
                if bucket:
                    await self._docs.mutate(key, lambda _: DELETE)

            def forget(current: Document | None, day: str = day) -> Document | None:
                return {"days": [d for d in (current or {}).get("days") or [] if d != day]}

            await self._docs.mutate(SESSION_DAYS_KEY, forget)
        return deleted

    async def _retire(self, session_id: str, cutoff: datetime) -> int:
        """Delete the session if idle since before ``cutoff``, else index it under the day
        it was last active (its bucket is dropped by the caller)."""
        outcome: datetime | None = None
        deleted = False

        def check(current: Document | None) -> Document | None:
            nonlocal outcome, deleted
            outcome, deleted = None, False
            if current is None:
                return None
            active = datetime.fromisoformat(current["updated_at"])
            if active < cutoff:
                deleted = True
                return DELETE
            outcome = active
            return None

        await self._docs.mutate(session_key(session_id), check)
        if outcome is not None:
            await track_session(self._docs, session_id, outcome)
        return int(deleted)
