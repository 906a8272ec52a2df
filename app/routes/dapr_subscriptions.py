"""Dapr programmatic subscription: review decisions can arrive over pub/sub. Only the
sidecar reaches these routes (the access gate and ``require_sidecar``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.deps import ServiceDep, SettingsDep
from app.errors import ApiError
from app.schemas import ReviewDecisionRequest, ReviewId, SubscriptionResult
from app.service import PUBSUB_DECIDER, ConversationService
from app.store import BackendUnavailableError

logger = logging.getLogger(__name__)

router = APIRouter(tags=["dapr"])

REVIEW_DECISIONS_ROUTE = "/dapr/events/review-decisions"


class ReviewDecisionEvent(ReviewDecisionRequest):
    """The `data` of a review-decision CloudEvent."""

    review_id: ReviewId


class Subscription(BaseModel):
    """One entry of Dapr's programmatic subscription list (v2 routes format)."""

    pubsubname: str
    topic: str
    routes: dict[str, str]


def subscriptions(settings: Settings) -> list[Subscription]:
    """The topics the sidecar is to deliver here."""
    return [
        Subscription(
            pubsubname=settings.pubsub,
            topic=settings.review_topic,
            routes={"default": REVIEW_DECISIONS_ROUTE},
        )
    ]


@router.get("/dapr/subscribe", response_model=list[Subscription])
async def subscribe(settings: SettingsDep) -> list[Subscription]:
    """Tells the sidecar which topics to deliver here."""
    return subscriptions(settings)


def _event_data(raw: bytes) -> Any:
    envelope = json.loads(raw)
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if isinstance(data, str):
        data = json.loads(data)
    return data


async def apply_review_decision(raw: bytes, service: ConversationService) -> SubscriptionResult:
    """What Dapr is told of one delivered decision: SUCCESS once it is applied, DROP for an
    event that can never apply, RETRY while it cannot be applied yet."""
    try:
        decision = ReviewDecisionEvent.model_validate(_event_data(raw))
    except (ValueError, ValidationError, RecursionError) as exc:
        # RecursionError: absurdly nested JSON; never retry what can never parse
        logger.warning("dropping malformed review-decision event: %s", type(exc).__name__)
        return SubscriptionResult(status="DROP")
    try:
        review = await service.decide(
            decision.review_id, decision.approved, decision.note, PUBSUB_DECIDER
        )
    except BackendUnavailableError:
        return SubscriptionResult(status="RETRY")
    except ApiError as exc:
        if exc.status_code >= 500:
            return SubscriptionResult(status="RETRY")
        logger.warning("dropping review decision for %s: %s", decision.review_id, exc.message)
        return SubscriptionResult(status="DROP")
    if review.final_reply is None:
        # recorded, but another attempt holds the run's lease and has not finished: acking
        # now would lose the decision if that attempt dies; redelivery finishes or takes over
        return SubscriptionResult(status="RETRY")
    return SubscriptionResult(status="SUCCESS")


@router.post(REVIEW_DECISIONS_ROUTE, response_model=SubscriptionResult)
async def on_review_decision(request: Request, service: ServiceDep) -> SubscriptionResult:
    """Apply a decision delivered by Dapr: SUCCESS once it is applied, DROP for events that
    can never apply, RETRY while it cannot be applied yet (store or model unavailable, or
    another attempt still resolving it)."""
    return await apply_review_decision(await request.body(), service)
