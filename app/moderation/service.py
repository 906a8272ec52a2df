"""What the moderation routes do: start a moderation's workflow, report where it is, and
turn a reviewer's decision into the workflow's external event."""

from __future__ import annotations

import logging

from app.agents.assistant import input_problem
from app.agents.moderators import SPECIALISTS
from app.auth.principal import Principal
from app.config import Settings, TimeoutAction
from app.documents import DELETE, DocumentStore
from app.errors import InputRejectedError, NotFoundError
from app.keys import moderation_key
from app.moderation.workflows import (
    EVENT_REVIEW_DECIDED,
    MODERATION_WORKFLOW,
    MONITOR_INSTANCE_ID,
    MONITOR_WORKFLOW,
    ModerationPlan,
)
from app.schemas import Moderation, ModerationStatus, Review
from app.store import BackendUnavailableError
from app.workflows.port import InstanceStatus, WorkflowAlreadyExistsError, Workflows

logger = logging.getLogger(__name__)


class ModerationService:
    """Moderations as the API sees them; the workflow does the work."""

    def __init__(self, settings: Settings, docs: DocumentStore, workflows: Workflows) -> None:
        self._settings = settings
        self._docs = docs
        self._workflows = workflows

    def plan(self, moderation_id: str, content: str) -> ModerationPlan:
        """The workflow's input: the settings are frozen in it, so a replay after a
        configuration change still takes the same path."""
        settings = self._settings
        return ModerationPlan(
            moderation_id=moderation_id,
            content=content,
            specialists=list(SPECIALISTS),
            threshold=settings.moderation_review_threshold,
            deadline_seconds=settings.moderation_review_deadline_seconds,
            escalate_on_timeout=settings.moderation_on_timeout is TimeoutAction.ESCALATE,
            escalation_seconds=settings.moderation_escalation_seconds,
            retry_attempts=settings.moderation_retry_attempts,
            retry_first_seconds=settings.moderation_retry_first_seconds,
        )

    async def submit(self, moderation_id: str, content: str, principal: Principal) -> Moderation:
        """Store the moderation (owned by ``principal``) and start its workflow."""
        problem = input_problem(content, self._settings.max_input_chars)
        if problem is not None:
            raise InputRejectedError(problem)
        moderation = Moderation(moderation_id=moderation_id, owner=principal.id, content=content)
        key = moderation_key(moderation_id)
        await self._docs.insert(key, moderation.model_dump(mode="json"))
        try:
            await self._workflows.schedule(
                MODERATION_WORKFLOW,
                moderation_id,
                self.plan(moderation_id, content).model_dump(mode="json"),
            )
        except BackendUnavailableError:
            # no workflow will ever move it on: take the record back, the caller retries
            await self._docs.mutate(key, lambda _: DELETE)
            raise
        return moderation

    async def get(self, moderation_id: str, principal: Principal) -> Moderation:
        """The moderation, for its owner and reviewers; 404 for anyone else."""
        stored = await self._docs.get(moderation_key(moderation_id))
        moderation = None if stored is None else Moderation.model_validate(stored)
        if moderation is None or not (principal.reviewer or moderation.owner == principal.id):
            raise NotFoundError(f"moderation {moderation_id!r} not found")
        if not moderation.status.final:
            # a workflow that failed before it could record so (e.g. a bug) still shows
            state = await self._workflows.get(moderation_id)
            if state is not None and state.status in (
                InstanceStatus.FAILED,
                InstanceStatus.TERMINATED,
            ):
                moderation = moderation.model_copy(
                    update={"status": ModerationStatus.FAILED, "failure": state.failure}
                )
        return moderation

    async def on_review_decision(self, review: Review, approved: bool, note: str | None) -> str:
        """A reviewer decided the moderation's review: wake its workflow."""
        if review.moderation_id is None:
            raise NotFoundError(f"review {review.review_id!r} has no moderation")
        await self._workflows.raise_event(
            review.moderation_id,
            EVENT_REVIEW_DECIDED,
            {"approved": approved, "note": note, "decided_by": review.decided_by},
        )
        return "Content approved by a reviewer." if approved else "Content rejected by a reviewer."

    async def start_monitor(self) -> None:
        """Start the one monitor instance, unless a replica already has."""
        try:
            await self._workflows.schedule(
                MONITOR_WORKFLOW,
                MONITOR_INSTANCE_ID,
                {"interval_seconds": self._settings.monitor_interval_seconds, "last": None},
            )
        except WorkflowAlreadyExistsError:
            logger.debug("monitor workflow already running")
