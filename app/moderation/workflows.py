"""The moderation and monitor workflows, written once against the ``Workflows`` port.

Everything a replay must reproduce comes from the input (the settings are frozen into the
plan when the moderation starts), from ``ctx.current_utc_datetime`` or from activities.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.workflows.port import RetryPolicy, WorkflowContext, WorkflowTask

MODERATION_WORKFLOW = "moderation"
MONITOR_WORKFLOW = "monitor"
#: one monitor for the whole app, whatever the number of replicas
MONITOR_INSTANCE_ID = "daca-monitor"

#: the external event a reviewer's decision raises on the moderation's workflow
EVENT_REVIEW_DECIDED = "review_decided"

ACT_SPECIALIST = "moderation.specialist"
ACT_OPEN_REVIEW = "moderation.open_review"
ACT_CLOSE_REVIEW = "moderation.close_review"
ACT_RECORD = "moderation.record"
ACT_PUBLISH_DECIDED = "moderation.publish_decided"
ACT_CHECK_HEALTH = "monitor.check"
ACT_PUBLISH_HEALTH = "monitor.publish"

#: decided_by for content approved without a human
AUTO_DECIDER = "auto"
DEADLINE_DECIDER = "deadline"

Steps = Generator[WorkflowTask, Any, Any]


class ModerationPlan(BaseModel):
    """The moderation workflow's input: the content and the settings it runs with."""

    moderation_id: str
    content: str
    specialists: list[str]
    threshold: float
    deadline_seconds: float
    escalate_on_timeout: bool
    escalation_seconds: float
    retry_attempts: int
    retry_first_seconds: float


class MonitorInput(BaseModel):
    """The monitor's input; ``last`` is what the previous round saw."""

    interval_seconds: float
    last: dict[str, str] | None = None


def utc(moment: datetime) -> datetime:
    """Dapr's context gives naive UTC datetimes, the state machine aware ones: one form."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def aggregate(verdicts: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Fan-in: the highest risk decides; every specialist that flagged is named."""
    risk = max((float(v["risk"]) for v in verdicts), default=0.0)
    flagged_by = [str(v["specialist"]) for v in verdicts if v["flagged"]]
    return {"risk": risk, "flagged_by": flagged_by, "needs_review": risk >= threshold}


def moderation_workflow(ctx: WorkflowContext, input: Any) -> Steps:
    """Fan out to the specialists, fan in to a risk, approve or ask a human (deadline),
    then record and publish the outcome (chained)."""
    plan = ModerationPlan.model_validate(input)
    retry = RetryPolicy(
        first_interval_seconds=plan.retry_first_seconds, max_attempts=plan.retry_attempts
    )
    fan_out = [
        ctx.call_activity(
            ACT_SPECIALIST,
            input={"specialist": specialist, "content": plan.content},
            retry_policy=retry,
        )
        for specialist in plan.specialists
    ]
    try:
        verdicts: list[dict[str, Any]] = yield ctx.when_all(fan_out)
    except Exception as exc:  # an activity that kept failing, whichever engine raised it
        failed = {"moderation_id": plan.moderation_id, "status": "failed", "failure": str(exc)}
        yield ctx.call_activity(ACT_RECORD, input=failed)
        yield ctx.call_activity(ACT_PUBLISH_DECIDED, input=failed)
        return failed
    summary = aggregate(verdicts, plan.threshold)
    outcome: dict[str, Any]
    if not summary["needs_review"]:
        outcome = {"status": "approved", "decided_by": AUTO_DECIDER, "note": None}
    else:
        outcome = yield from _human_decision(ctx, plan, verdicts, summary)
    record = {
        "moderation_id": plan.moderation_id,
        "verdicts": verdicts,
        "aggregate": summary,
        **outcome,
    }
    yield ctx.call_activity(ACT_RECORD, input=record)
    yield ctx.call_activity(ACT_PUBLISH_DECIDED, input=record)
    return outcome


def _human_decision(
    ctx: WorkflowContext,
    plan: ModerationPlan,
    verdicts: list[dict[str, Any]],
    summary: dict[str, Any],
) -> Steps:
    deadline = utc(ctx.current_utc_datetime) + timedelta(seconds=plan.deadline_seconds)
    review_id = yield ctx.call_activity(
        ACT_OPEN_REVIEW,
        input={
            "moderation_id": plan.moderation_id,
            "verdicts": verdicts,
            "aggregate": summary,
            "deadline": deadline.isoformat(),
        },
    )
    # one waiter for the whole wait: a second one would leave the first to swallow the event
    decision = ctx.wait_for_external_event(EVENT_REVIEW_DECIDED)
    escalate = plan.escalate_on_timeout
    while True:
        timeout = ctx.create_timer(deadline)
        winner = yield ctx.when_any([decision, timeout])
        if winner is decision:
            data = decision.get_result() or {}
            return {
                "status": "approved" if data.get("approved") else "rejected",
                "decided_by": data.get("decided_by"),
                "note": data.get("note"),
            }
        next_deadline = deadline + timedelta(seconds=plan.escalation_seconds)
        # the review decides the race: a decision stored before the deadline still wins
        closed: dict[str, Any] = yield ctx.call_activity(
            ACT_CLOSE_REVIEW,
            input={
                "review_id": review_id,
                "moderation_id": plan.moderation_id,
                "escalate": escalate,
                "next_deadline": next_deadline.isoformat(),
            },
        )
        if closed["status"] != "escalated":
            return closed
        escalate, deadline = False, next_deadline


def monitor_workflow(ctx: WorkflowContext, input: Any) -> Steps:
    """Check the model and the sidecar; publish when either changed; sleep; start over
    (``continue_as_new`` keeps the history one round long)."""
    state = MonitorInput.model_validate(input)
    health: dict[str, str] = yield ctx.call_activity(ACT_CHECK_HEALTH)
    if state.last is not None and health != state.last:
        yield ctx.call_activity(
            ACT_PUBLISH_HEALTH,
            input={
                "previous": state.last,
                "current": health,
                "at": utc(ctx.current_utc_datetime).isoformat(),
            },
        )
    yield ctx.create_timer(
        utc(ctx.current_utc_datetime) + timedelta(seconds=state.interval_seconds)
    )
    ctx.continue_as_new({"interval_seconds": state.interval_seconds, "last": health})
