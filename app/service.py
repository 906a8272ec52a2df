"""The conversation service: runs the agent, keeps sessions and reviews in the state store
with optimistic concurrency, and publishes what happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from agents import (
    Agent,
    AgentsException,
    InputGuardrailTripwireTriggered,
    RunConfig,
    RunContextWrapper,
    Runner,
    RunResult,
    RunState,
    TResponseInputItem,
)
from openai import OpenAIError
from pydantic import BaseModel

from app.agents.assistant import AgentReply, AssistantContext
from app.auth.principal import Principal
from app.config import Settings
from app.documents import DocumentStore, KeyedLocks
from app.errors import (
    ApiError,
    ConflictError,
    InputRejectedError,
    NotFoundError,
    ServiceUnavailableError,
)
from app.keys import review_key, session_key
from app.metrics import Metrics
from app.schemas import (
    Message,
    MessageStatus,
    PostMessageResponse,
    Review,
    ReviewKind,
    ReviewResponse,
    ReviewStatus,
    Session,
    cloud_event,
    utcnow,
)
from app.store import Backend, ETagMismatchError
from app.sweep import (
    mark_review_closed,
    mark_review_pending,
    track_review_deadline,
    track_session,
)
from app.workflows.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

EVENT_MESSAGE_COMPLETED = "message.completed"
EVENT_REVIEW_REQUESTED = "review.requested"
EVENT_REVIEW_DECIDED = "review.decided"

#: who decided a review that arrived as a CloudEvent from the sidecar
PUBSUB_DECIDER = "dapr:pubsub"
#: who closed a review nobody decided before its deadline
DEADLINE_DECIDER = "deadline"
EXPIRED_REPLY = "No reviewer decided before the deadline; the reply was withheld."

#: what a review of another kind does once decided (e.g. a moderation's: raise its
#: workflow's event); returns the text kept as the review's final reply
DecisionHook = Callable[[Review, bool, str | None], Awaitable[str]]


class ModelUnavailableError(ApiError):
    """The model provider failed (network, quota, auth, malformed output)."""

    status_code = 502
    code = "model_unavailable"


#: how long a replica may take to resume a decided review before another takes over
RESOLVE_LEASE = timedelta(minutes=5)


def _lease_alive(until: str | None) -> bool:
    return until is not None and datetime.fromisoformat(until) > datetime.now(UTC)


def _release_lease(lease: str | None) -> Callable[[Review | None], Review | None]:
    """Give up `lease`, and only it: a claimant that outlived its lease must not clear the
    one another replica took over with (both would resume the run)."""

    def release(current: Review | None) -> Review | None:
        if current is None or current.final_reply is not None:
            return None
        if current.resolving_until != lease:
            return None
        return current.model_copy(update={"resolving_until": None})

    return release


def _owned(session_id: str, session: Session | None, principal: Principal) -> Session:
    """The session if ``principal`` created it. Anything else, including a session stored
    before sessions had owners, answers exactly like a session that does not exist."""
    if session is None or session.owner != principal.id:
        raise NotFoundError(f"session {session_id!r} not found")
    return session


def new_id() -> str:
    """Random hex id for messages and reviews."""
    return uuid.uuid4().hex


class ConversationService:
    """Everything the routes do, independent of HTTP."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        metrics: Metrics,
        agent: Agent[AssistantContext],
        run_config: RunConfig,
        decision_hooks: Mapping[ReviewKind, DecisionHook] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._backend = backend
        self._metrics = metrics
        self._agent = agent
        self._run_config = run_config
        self._decision_hooks = dict(decision_hooks or {})
        self._clock = clock or SystemClock()
        self._locks = KeyedLocks()
        self._decisions = KeyedLocks()
        self._docs = DocumentStore(
            backend.state,
            max_retries=settings.state_max_retries,
            base_ms=settings.state_retry_base_ms,
            max_ms=settings.state_retry_max_ms,
            on_conflict=metrics.state_conflicts.inc,
        )

    def _stamp(self) -> str:
        """Now, as stored: the sweep's retention compares it with the same clock."""
        return self._clock.now().isoformat()

    def add_decision_hook(self, kind: ReviewKind, hook: DecisionHook) -> None:
        """Let another feature decide reviews of its own kind."""
        self._decision_hooks[kind] = hook

    # -- state helpers -------------------------------------------------------------------

    def _backoff_seconds(self, attempt: int) -> float:
        cap = min(
            self._settings.state_retry_max_ms, self._settings.state_retry_base_ms * 2**attempt
        )
        return random.uniform(0, cap) / 1000  # noqa: S311 - jitter, not cryptography

    async def _load(self, key: str, model: type[M]) -> M | None:
        current = await self._backend.state.get(key)
        return None if current.value is None else model.model_validate(current.value)

    async def _mutate(
        self, key: str, model: type[M], mutate: Callable[[M | None], M | None]
    ) -> M | None:
        """Read-modify-write ``key`` with its ETag; retry conflicts with jittered back-off.

        ``mutate`` gets the current document (None if absent) and returns the new one, or
        None to leave the key as it is. It must be idempotent: it may run once per attempt.
        """
        async with self._locks.hold(key):
            for attempt in range(self._settings.state_max_retries + 1):
                current = await self._backend.state.get(key)
                document = None if current.value is None else model.model_validate(current.value)
                updated = mutate(document)
                if updated is None:
                    return document
                try:
                    await self._backend.state.save(
                        key, updated.model_dump(mode="json"), current.etag
                    )
                    return updated
                except ETagMismatchError:
                    self._metrics.state_conflicts.inc()
                    if attempt < self._settings.state_max_retries:
                        await asyncio.sleep(self._backoff_seconds(attempt))
        raise ServiceUnavailableError(
            "too many concurrent writers to this session; retry",
            headers={"Retry-After": str(self._settings.retry_after_seconds)},
        )

    async def _publish(self, event_type: str, subject: str, data: dict[str, Any]) -> None:
        """Publish a CloudEvent; the state is the source of truth, so a failed publish is
        counted and logged rather than failing a request whose state is already saved."""
        event = cloud_event(new_id(), self._settings.event_source, event_type, subject, data)
        try:
            await self._backend.events.publish(event)
        except Exception as exc:
            self._metrics.events.labels(event_type, "failed").inc()
            logger.warning("publishing %s for %s failed: %s", event_type, subject, exc)
            return
        self._metrics.events.labels(event_type, "published").inc()

    # -- agent ---------------------------------------------------------------------------

    def _context(self) -> AssistantContext:
        return AssistantContext(max_input_chars=self._settings.max_input_chars)

    async def _run(self, run_input: list[TResponseInputItem] | RunState[Any]) -> RunResult:
        start = time.perf_counter()
        outcome = "error"
        try:
            result = await Runner.run(
                self._agent,
                run_input,
                context=self._context(),
                max_turns=self._settings.agent_max_turns,
                run_config=self._run_config,
            )
            outcome = "interrupted" if result.interruptions else "completed"
            usage = result.context_wrapper.usage
            self._metrics.model_tokens.labels("input").inc(usage.input_tokens)
            self._metrics.model_tokens.labels("output").inc(usage.output_tokens)
            return result
        except InputGuardrailTripwireTriggered as exc:
            outcome = "rejected"
            reason = exc.guardrail_result.output.output_info
            raise InputRejectedError(str(reason or "message rejected")) from None
        except (AgentsException, OpenAIError) as exc:
            logger.warning("agent run failed: %s: %s", type(exc).__name__, exc)
            raise ModelUnavailableError(
                "the model could not answer; retry later",
                headers={"Retry-After": str(self._settings.retry_after_seconds)},
            ) from exc
        finally:
            self._metrics.agent_runs.labels(outcome).observe(time.perf_counter() - start)

    def _history(self, session: Session | None) -> list[TResponseInputItem]:
        if session is None or self._settings.history_window == 0:
            return []
        items: list[TResponseInputItem] = []
        for message in session.messages[-self._settings.history_window :]:
            if message.content is None or message.status is MessageStatus.REJECTED:
                continue
            items.append({"role": message.role, "content": message.content})
        return items

    # -- sessions ------------------------------------------------------------------------

    async def post_message(
        self, session_id: str, content: str, principal: Principal
    ) -> PostMessageResponse:
        """Run the agent on a user message; store both sides; publish the outcome. A new
        session belongs to ``principal``; someone else's is 404 (and costs no model call)."""
        session = await self._load(session_key(session_id), Session)
        if session is not None:
            _owned(session_id, session, principal)
        run_input = [*self._history(session), {"role": "user", "content": content}]
        result = await self._run(run_input)  # type: ignore[arg-type]  # dicts are input items

        user_message = Message(message_id=new_id(), role="user", content=content)
        reply_id = new_id()
        review: Review | None = None
        reply_text: str | None = None
        if result.interruptions:
            tools = ", ".join(sorted({item.tool_name or "tool" for item in result.interruptions}))
            review = Review(
                review_id=new_id(),
                session_id=session_id,
                message_id=reply_id,
                deadline=self._review_deadline(),
                kind=ReviewKind.TOOL_APPROVAL,
                reason=f"the agent wants to call {tools}, which needs a human's approval",
                owner=principal.id,
                run_state=result.to_state().to_string(),
            )
        else:
            output = result.final_output_as(AgentReply)
            if (
                output.needs_review
                or output.confidence < self._settings.review_confidence_threshold
            ):
                review = Review(
                    review_id=new_id(),
                    session_id=session_id,
                    message_id=reply_id,
                    deadline=self._review_deadline(),
                    kind=ReviewKind.OUTPUT_REVIEW,
                    reason=f"the agent asked for review (confidence {output.confidence:.2f})",
                    owner=principal.id,
                    draft=output.reply,
                )
            else:
                reply_text = output.reply

        reply = Message(
            message_id=reply_id,
            role="assistant",
            content=reply_text,
            status=MessageStatus.COMPLETED if review is None else MessageStatus.PENDING_REVIEW,
            review_id=None if review is None else review.review_id,
        )
        if review is not None:
            # The review exists before the pending message does, so a reviewer can always act.
            await self._backend.state.save(
                review_key(review.review_id), review.model_dump(mode="json"), None
            )
            if review.deadline is not None:
                await track_review_deadline(self._docs, review.review_id, review.deadline)
        created = False

        def append(current: Session | None) -> Session:
            nonlocal created
            created = current is None
            # re-checked on every attempt: another principal may have created the id since
            target = (
                Session(session_id=session_id, owner=principal.id)
                if current is None
                else _owned(session_id, current, principal)
            )
            known = {message.message_id for message in target.messages}
            target.messages.extend(m for m in (user_message, reply) if m.message_id not in known)
            target.updated_at = self._stamp()
            return target

        await self._mutate(session_key(session_id), Session, append)
        if created and self._settings.session_retention_seconds > 0:
            await track_session(self._docs, session_id, self._clock.now())

        if review is not None:
            await mark_review_pending(self._docs, review.review_id)
            self._metrics.reviews.labels("requested").inc()
            await self._publish(
                EVENT_REVIEW_REQUESTED,
                session_id,
                {
                    "session_id": session_id,
                    "message_id": reply_id,
                    "review_id": review.review_id,
                    "kind": review.kind.value,
                    "reason": review.reason,
                },
            )
        else:
            await self._publish(
                EVENT_MESSAGE_COMPLETED,
                session_id,
                {"session_id": session_id, "message_id": reply_id, "reply": reply_text},
            )
        return PostMessageResponse(
            session_id=session_id,
            message_id=reply_id,
            reply=reply_text,
            status=reply.status,
            review_id=reply.review_id,
        )

    async def get_session(self, session_id: str, principal: Principal) -> Session:
        """The principal's stored conversation, or 404."""
        return _owned(session_id, await self._load(session_key(session_id), Session), principal)

    async def delete_session(self, session_id: str, principal: Principal) -> None:
        """Remove the principal's session; a missing one is not an error, someone else's is
        404. The delete carries the ETag read, so it removes only the session checked."""
        key = session_key(session_id)
        async with self._locks.hold(key):
            for attempt in range(self._settings.state_max_retries + 1):
                current = await self._backend.state.get(key)
                if current.value is None:
                    return
                _owned(session_id, Session.model_validate(current.value), principal)
                try:
                    await self._backend.state.delete(key, current.etag)
                    return
                except ETagMismatchError:
                    self._metrics.state_conflicts.inc()
                    if attempt < self._settings.state_max_retries:
                        await asyncio.sleep(self._backoff_seconds(attempt))
        raise ServiceUnavailableError(
            "too many concurrent writers to this session; retry",
            headers={"Retry-After": str(self._settings.retry_after_seconds)},
        )

    # -- reviews -------------------------------------------------------------------------

    async def get_review(self, review_id: str, principal: Principal) -> Review:
        """A review for a reviewer or the owner of its session; 404 for anyone else."""
        review = await self._load(review_key(review_id), Review)
        if review is None or not (principal.reviewer or review.owner == principal.id):
            raise NotFoundError(f"review {review_id!r} not found")
        return review

    async def decide(
        self, review_id: str, approved: bool, note: str | None, decided_by: str
    ) -> ReviewResponse:
        """Apply a reviewer's decision. Repeating it is harmless; contradicting it is 409.

        The paused run is resumed (and an approved tool run) exactly once: in this process
        one decision per review at a time, across replicas only by whoever holds the
        resolution lease written with the claim (ETag-checked). A lease whose holder died
        is taken over once it expires.
        """
        async with self._decisions.hold(review_id):
            return await self._decide(review_id, approved, note, decided_by)

    async def _decide(
        self, review_id: str, approved: bool, note: str | None, decided_by: str
    ) -> ReviewResponse:
        wanted = ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED
        key = review_key(review_id)
        claimed = False

        def claim(current: Review | None) -> Review | None:
            nonlocal claimed
            claimed = False  # runs once per attempt
            if current is None:
                raise NotFoundError(f"review {review_id!r} not found")
            lease = (datetime.now(UTC) + RESOLVE_LEASE).isoformat()
            if current.status is ReviewStatus.PENDING:
                claimed = True
                return current.model_copy(
                    update={
                        "status": wanted,
                        "note": note,
                        "decided_at": utcnow(),
                        "decided_by": decided_by,
                        "resolving_until": lease,
                    }
                )
            if current.status is not wanted:
                raise ConflictError(f"review {review_id!r} was already {current.status.value}")
            if current.final_reply is None and not _lease_alive(current.resolving_until):
                claimed = True  # its resolver is gone: take over
                return current.model_copy(update={"resolving_until": lease})
            return None  # done, or being resolved by its claimant: nothing to write

        review = await self._mutate(key, Review, claim)
        assert review is not None  # claim() raised for a missing review
        if not claimed:
            return review_response(review)
        try:
            final_reply = await self._resolve(review, approved, review.note)
        except Exception:
            # Give up the lease, so the caller's retry (pub/sub RETRY, a repeated POST)
            # resumes the run now instead of finding it 'being resolved' for minutes.
            with contextlib.suppress(Exception):  # a store outage: the lease expires anyway
                await self._mutate(key, Review, _release_lease(review.resolving_until))
            raise

        def finish(current: Review | None) -> Review | None:
            if current is None or current.final_reply is not None:
                return None
            return current.model_copy(update={"final_reply": final_reply})

        finished = await self._mutate(key, Review, finish) or review

        def release(current: Session | None) -> Session | None:
            if current is None:
                return None  # the session was deleted meanwhile
            for message in current.messages:
                if message.message_id == review.message_id:
                    message.content = finished.final_reply
                    message.status = MessageStatus(wanted.value)
                    current.updated_at = self._stamp()
                    return current
            return None

        if review.session_id is not None:
            await self._mutate(session_key(review.session_id), Session, release)
        self._metrics.reviews.labels(wanted.value).inc()
        await self._publish(
            EVENT_REVIEW_DECIDED,
            review.session_id or review.moderation_id or review_id,
            {
                "review_id": review_id,
                "session_id": review.session_id,
                "message_id": review.message_id,
                "moderation_id": review.moderation_id,
                "approved": approved,
                "decided_by": review.decided_by,
            },
        )
        if approved and review.session_id is not None:
            await self._publish(
                EVENT_MESSAGE_COMPLETED,
                review.session_id,
                {
                    "session_id": review.session_id,
                    "message_id": review.message_id,
                    "reply": finished.final_reply,
                },
            )
        await mark_review_closed(self._docs, review_id)
        return review_response(finished)

    def _review_deadline(self) -> str | None:
        seconds = self._settings.review_deadline_seconds
        if seconds <= 0:
            return None
        return (self._clock.now() + timedelta(seconds=seconds)).isoformat()

    async def expire_review(self, review_id: str, now: datetime) -> bool:
        """Close a conversation review still pending past its deadline: the held reply is
        withheld (the message becomes ``rejected``); a later decision gets 409. True when
        this call closed it. Moderation reviews are left to their workflow."""
        async with self._decisions.hold(review_id):
            expired = False

            def close(current: Review | None) -> Review | None:
                nonlocal expired
                expired = (
                    current is not None
                    and current.status is ReviewStatus.PENDING
                    and current.kind is not ReviewKind.MODERATION
                    and current.deadline is not None
                    and datetime.fromisoformat(current.deadline) <= now
                )
                if not expired or current is None:
                    return None
                return current.model_copy(
                    update={
                        "status": ReviewStatus.EXPIRED,
                        "decided_at": utcnow(),
                        "decided_by": DEADLINE_DECIDER,
                        "final_reply": EXPIRED_REPLY,
                    }
                )

            review = await self._mutate(review_key(review_id), Review, close)
        if not expired or review is None:
            return False

        def withhold(current: Session | None) -> Session | None:
            if current is None:
                return None
            for message in current.messages:
                if message.message_id == review.message_id:
                    message.content = EXPIRED_REPLY
                    message.status = MessageStatus.REJECTED
                    current.updated_at = self._stamp()
                    return current
            return None

        if review.session_id is not None:
            await self._mutate(session_key(review.session_id), Session, withhold)
        self._metrics.reviews.labels(ReviewStatus.EXPIRED.value).inc()
        await self._publish(
            EVENT_REVIEW_DECIDED,
            review.session_id or review_id,
            {
                "review_id": review_id,
                "session_id": review.session_id,
                "message_id": review.message_id,
                "approved": False,
                "decided_by": DEADLINE_DECIDER,
            },
        )
        return True

    async def _resolve(self, review: Review, approved: bool, note: str | None) -> str:
        hook = self._decision_hooks.get(review.kind)
        if hook is not None:
            return await hook(review, approved, note)
        if review.kind is ReviewKind.OUTPUT_REVIEW:
            if approved:
                return review.draft or ""
            return "A reviewer withheld this reply." + (f" Note: {note}" if note else "")
        if review.run_state is None:
            raise ConflictError(f"review {review.review_id!r} has no paused run to resume")
        state = await RunState.from_string(
            self._agent, review.run_state, context_override=RunContextWrapper(self._context())
        )
        for item in state.get_interruptions():
            if approved:
                state.approve(item)
            else:
                state.reject(item, rejection_message=note or "A reviewer rejected this action.")
        result = await self._run(state)
        if result.interruptions:
            return "The agent asked for another approval; send the request again."
        return result.final_output_as(AgentReply).reply


def review_response(review: Review) -> ReviewResponse:
    """The API view of a stored review (no draft, no run state)."""
    return ReviewResponse(
        review_id=review.review_id,
        session_id=review.session_id,
        message_id=review.message_id,
        moderation_id=review.moderation_id,
        deadline=review.deadline,
        escalated=review.escalated,
        kind=review.kind,
        reason=review.reason,
        status=review.status,
        note=review.note,
        final_reply=review.final_reply,
        decided_at=review.decided_at,
    )
