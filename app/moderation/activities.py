"""The moderation and monitor activities: the only places the workflows touch the model,
the store and pub/sub. Each may run more than once (a retry, a replica taking over), so
each is idempotent: reviews get ids derived from the moderation, writes are ETag-guarded
mutations to a target state, events carry deterministic ids (consumers drop repeats)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agents import AgentsException, RunConfig, Runner
from openai import OpenAIError

from app.agents.moderators import SpecialistVerdict, build_specialist
from app.config import Settings
from app.documents import Document, DocumentStore
from app.keys import moderation_key, review_key
from app.metrics import Metrics
from app.moderation.workflows import (
    ACT_CHECK_HEALTH,
    ACT_CLOSE_REVIEW,
    ACT_OPEN_REVIEW,
    ACT_PUBLISH_DECIDED,
    ACT_PUBLISH_HEALTH,
    ACT_RECORD,
    ACT_SPECIALIST,
    DEADLINE_DECIDER,
    MODERATION_WORKFLOW,
    MONITOR_WORKFLOW,
    moderation_workflow,
    monitor_workflow,
)
from app.schemas import (
    Moderation,
    ModerationStatus,
    Review,
    ReviewKind,
    ReviewStatus,
    cloud_event,
    utcnow,
)
from app.store import Backend, BackendUnavailableError
from app.sweep import mark_review_closed, mark_review_pending
from app.workflows.port import WorkflowRegistry

logger = logging.getLogger(__name__)

EVENT_MODERATION_DECIDED = "moderation.decided"
EVENT_MODERATION_ESCALATED = "moderation.escalated"
EVENT_REVIEW_REQUESTED = "review.requested"
EVENT_HEALTH_CHANGED = "health.changed"
EXPIRED_TEXT = "No reviewer decided before the deadline."

#: answers whether the model can be reached (True: up)
ModelProbe = Callable[[], Awaitable[bool]]


def moderation_review_id(moderation_id: str) -> str:
    """The review of a moderation, the same on every attempt."""
    return hashlib.sha256(f"{moderation_id}:review".encode()).hexdigest()[:32]


class ModerationActivities:
    """The activities, bound to the app's store, event publisher and model."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        docs: DocumentStore,
        metrics: Metrics,
        run_config: RunConfig,
        model_name: str,
        model_probe: ModelProbe,
    ) -> None:
        self._settings = settings
        self._backend = backend
        self._docs = docs
        self._metrics = metrics
        self._run_config = run_config
        self._model_name = model_name
        self._model_probe = model_probe

    def register(self, registry: WorkflowRegistry) -> None:
        """Add the workflows and their activities to an engine's registry."""
        registry.workflow(MODERATION_WORKFLOW, moderation_workflow)
        registry.workflow(MONITOR_WORKFLOW, monitor_workflow)
        registry.activity(ACT_SPECIALIST, self.specialist)
        registry.activity(ACT_OPEN_REVIEW, self.open_review)
        registry.activity(ACT_CLOSE_REVIEW, self.close_review)
        registry.activity(ACT_RECORD, self.record)
        registry.activity(ACT_PUBLISH_DECIDED, self.publish_decided)
        registry.activity(ACT_CHECK_HEALTH, self.check_health)
        registry.activity(ACT_PUBLISH_HEALTH, self.publish_health)

    # -- helpers -------------------------------------------------------------------------

    async def _publish(self, event_id: str, event_type: str, subject: str, data: Any) -> None:
        event = cloud_event(event_id, self._settings.event_source, event_type, subject, data)
        try:
            await self._backend.events.publish(event)
        except Exception:
            self._metrics.events.labels(event_type, "failed").inc()
            raise  # the activity is retried by its workflow
        self._metrics.events.labels(event_type, "published").inc()

    async def _update_moderation(self, moderation_id: str, **fields: Any) -> Moderation | None:
        def change(current: Document | None) -> Document | None:
            if current is None:
                return None
            moderation = Moderation.model_validate(current)
            if moderation.status.final:
                return None  # decided already: a repeated step changes nothing
            # validated, so the verdicts and the aggregate are checked as they go in
            updated = Moderation.model_validate(
                {**moderation.model_dump(), **fields, "updated_at": utcnow()}
            )
            return updated.model_dump(mode="json")

        stored = await self._docs.mutate(moderation_key(moderation_id), change)
        return None if stored is None else Moderation.model_validate(stored)

    # -- moderation ----------------------------------------------------------------------

    async def specialist(self, input: Any) -> dict[str, Any]:
        """Fan-out: one specialist agent judges the content (typed output)."""
        name = str(input["specialist"])
        start = time.perf_counter()
        outcome = "error"
        try:
            result = await Runner.run(
                build_specialist(name, self._model_name),
                str(input["content"]),
                max_turns=self._settings.agent_max_turns,
                run_config=self._run_config,
            )
            verdict = result.final_output_as(SpecialistVerdict)
            outcome = "completed"
        except (AgentsException, OpenAIError) as exc:
            logger.warning("specialist %s failed: %s: %s", name, type(exc).__name__, exc)
            raise
        finally:
            self._metrics.agent_runs.labels(outcome).observe(time.perf_counter() - start)
        return {"specialist": name, **verdict.model_dump()}

    async def open_review(self, input: Any) -> str:
        """High risk: open the review a human decides, and show it on the moderation."""
        moderation_id = str(input["moderation_id"])
        review_id = moderation_review_id(moderation_id)
        moderation = Moderation.model_validate(
            await self._docs.get(moderation_key(moderation_id)) or {}
        )
        flagged = ", ".join(input["aggregate"]["flagged_by"]) or "the aggregate risk"
        reasons = "; ".join(
            f"{v['specialist']}: {v['reason']}" for v in input["verdicts"] if v["flagged"]
        )
        review = Review(
            review_id=review_id,
            moderation_id=moderation_id,
            kind=ReviewKind.MODERATION,
            reason=f"content flagged by {flagged} (risk {input['aggregate']['risk']:.2f})"
            + (f": {reasons}" if reasons else ""),
            owner=moderation.owner,
            deadline=str(input["deadline"]),
        )
        if await self._docs.insert(review_key(review_id), review.model_dump(mode="json")):
            self._metrics.reviews.labels("requested").inc()
        await mark_review_pending(self._docs, review_id)
        await self._update_moderation(
            moderation_id,
            status=ModerationStatus.AWAITING_REVIEW,
            verdicts=input["verdicts"],
            aggregate=input["aggregate"],
            review_id=review_id,
            review_deadline=str(input["deadline"]),
        )
        await self._publish(
            f"{EVENT_REVIEW_REQUESTED}-{review_id}",
            EVENT_REVIEW_REQUESTED,
            moderation_id,
            {
                "review_id": review_id,
                "moderation_id": moderation_id,
                "kind": ReviewKind.MODERATION.value,
                "reason": review.reason,
                "deadline": review.deadline,
            },
        )
        return review_id

    async def close_review(self, input: Any) -> dict[str, Any]:
        """The deadline passed: escalate the review once (by config) or expire it; a
        decision stored first wins."""
        review_id = str(input["review_id"])
        escalate = bool(input["escalate"])
        next_deadline = str(input["next_deadline"])

        def close(current: Document | None) -> Document | None:
            if current is None:
                return None
            review = Review.model_validate(current)
            if review.status is not ReviewStatus.PENDING:
                return None
            if escalate and not review.escalated:
                update: dict[str, Any] = {"escalated": True, "deadline": next_deadline}
            else:
                update = {
                    "status": ReviewStatus.EXPIRED,
                    "decided_at": utcnow(),
                    "decided_by": DEADLINE_DECIDER,
                    "final_reply": EXPIRED_TEXT,
                }
            return review.model_copy(update=update).model_dump(mode="json")

        stored = await self._docs.mutate(review_key(review_id), close)
        if stored is None:
            return {"status": "timed_out", "decided_by": DEADLINE_DECIDER, "note": None}
        review = Review.model_validate(stored)
        if review.status is ReviewStatus.PENDING:
            await self._update_moderation(
                str(input["moderation_id"]), escalated=True, review_deadline=review.deadline
            )
            await self._publish(
                f"{EVENT_MODERATION_ESCALATED}-{review_id}",
                EVENT_MODERATION_ESCALATED,
                str(input["moderation_id"]),
                {
                    "moderation_id": input["moderation_id"],
                    "review_id": review_id,
                    "deadline": review.deadline,
                },
            )
            return {"status": "escalated"}
        if review.status is ReviewStatus.EXPIRED:
            await mark_review_closed(self._docs, review_id)
            self._metrics.reviews.labels(ReviewStatus.EXPIRED.value).inc()
            return {"status": "timed_out", "decided_by": DEADLINE_DECIDER, "note": None}
        return {
            "status": review.status.value,
            "decided_by": review.decided_by,
            "note": review.note,
        }

    async def record(self, input: Any) -> None:
        """Chained step 1: the outcome on the moderation's record."""
        fields: dict[str, Any] = {
            "status": ModerationStatus(input["status"]),
            "decided_by": input.get("decided_by"),
            "note": input.get("note"),
            "failure": input.get("failure"),
            "decided_at": utcnow(),
        }
        if "verdicts" in input:
            fields["verdicts"] = input["verdicts"]
            fields["aggregate"] = input["aggregate"]
        await self._update_moderation(str(input["moderation_id"]), **fields)

    async def publish_decided(self, input: Any) -> None:
        """Chained step 2: ``moderation.decided`` on the pub/sub."""
        moderation_id = str(input["moderation_id"])
        aggregate = input.get("aggregate") or {}
        await self._publish(
            f"{EVENT_MODERATION_DECIDED}-{moderation_id}",
            EVENT_MODERATION_DECIDED,
            moderation_id,
            {
                "moderation_id": moderation_id,
                "status": input["status"],
                "risk": aggregate.get("risk"),
                "flagged_by": aggregate.get("flagged_by", []),
                "decided_by": input.get("decided_by"),
            },
        )

    # -- monitor -------------------------------------------------------------------------

    async def check_health(self, input: Any = None) -> dict[str, str]:
        """Is the model reachable; does the sidecar (and its store) answer."""
        try:
            model_up = await self._model_probe()
        except Exception:
            model_up = False
        try:
            await self._backend.check_ready()
            sidecar_up = True
        except BackendUnavailableError:
            sidecar_up = False
        return {"model": "up" if model_up else "down", "sidecar": "up" if sidecar_up else "down"}

    async def publish_health(self, input: Any) -> None:
        """``health.changed`` with what changed."""
        at = str(input["at"])
        stamp = hashlib.sha256(at.encode()).hexdigest()[:16]
        await self._publish(
            f"{EVENT_HEALTH_CHANGED}-{stamp}",
            EVENT_HEALTH_CHANGED,
            "daca-monitor",
            {"previous": input["previous"], "current": input["current"], "at": at},
        )


async def always_up() -> bool:
    """The offline model is in-process: always reachable."""
    return True
