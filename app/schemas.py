"""Request/response models of the HTTP API and the documents kept in the state store."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

SessionId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ReviewId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-f0-9]+$")]
ModerationId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-f0-9]+$")
]


def utcnow() -> str:
    """Timestamps are ISO 8601 UTC strings, so documents stay plain JSON."""
    return datetime.now(UTC).isoformat()


def cloud_event(
    event_id: str, source: str, event_type: str, subject: str, data: Any
) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope (JSON data), as the app publishes every event."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": utcnow(),
        "datacontenttype": "application/json",
        "data": data,
    }


class MessageStatus(StrEnum):
    """Lifecycle of a message in a session's history."""

    COMPLETED = "completed"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewStatus(StrEnum):
    """Lifecycle of a review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    #: nobody decided before the deadline; a late decision is 409
    EXPIRED = "expired"


class ReviewKind(StrEnum):
    """Why something waits for a human: a tool call needing approval, the agent's own low
    confidence, or content the moderation specialists found risky."""

    TOOL_APPROVAL = "tool_approval"
    OUTPUT_REVIEW = "output_review"
    MODERATION = "moderation"


class StoredModel(BaseModel):
    """Documents in the store ignore unknown fields, so newer writers don't break readers."""

    model_config = ConfigDict(extra="ignore")


class Message(StoredModel):
    """One entry of a session's history."""

    message_id: str
    role: Literal["user", "assistant"]
    content: str | None = Field(description="None while the reply waits for review.")
    status: MessageStatus = MessageStatus.COMPLETED
    review_id: str | None = None
    created_at: str = Field(default_factory=utcnow)


class Session(StoredModel):
    """A conversation, oldest message first."""

    session_id: str
    owner: str | None = Field(
        default=None,
        description="Principal id of the creator; None for sessions stored before ownership "
        "existed, which no principal can reach.",
    )
    messages: list[Message] = Field(default_factory=list)
    created_at: str = Field(default_factory=utcnow)
    updated_at: str = Field(default_factory=utcnow)


class Review(StoredModel):
    """A held reply waiting for (or decided by) a human."""

    review_id: str
    session_id: str | None = Field(default=None, description="None for a moderation review.")
    message_id: str | None = None
    moderation_id: str | None = Field(default=None, description="Set for a moderation review.")
    deadline: str | None = Field(
        default=None, description="When an undecided review is closed (ISO 8601 UTC)."
    )
    kind: ReviewKind
    reason: str
    escalated: bool = Field(default=False, description="Its deadline passed once already.")
    owner: str | None = Field(
        default=None, description="Principal id of the session's owner (may read the review)."
    )
    status: ReviewStatus = ReviewStatus.PENDING
    draft: str | None = None
    run_state: str | None = Field(default=None, description="Serialized SDK RunState.")
    note: str | None = None
    final_reply: str | None = None
    created_at: str = Field(default_factory=utcnow)
    decided_at: str | None = None
    decided_by: str | None = Field(
        default=None, description="Principal id of the reviewer, or `dapr:pubsub`."
    )
    resolving_until: str | None = Field(
        default=None,
        description="Lease of the replica resuming the paused run after a decision; "
        "another replica takes over only once it has expired.",
    )


class PostMessageRequest(BaseModel):
    """A user message. Content rules are the agent's input guardrail's."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="The user's message.")


class PostMessageResponse(BaseModel):
    """The agent's answer, or the notice that it is held for review."""

    session_id: str
    message_id: str = Field(description="Id of the assistant's reply in the history.")
    reply: str | None = Field(description="None while the reply waits for review.")
    status: MessageStatus
    review_id: str | None = None


class SessionResponse(BaseModel):
    """A stored conversation."""

    session_id: str
    messages: list[Message]
    created_at: str
    updated_at: str


class ReviewDecisionRequest(BaseModel):
    """A reviewer's verdict."""

    model_config = ConfigDict(extra="forbid")

    # strictly true or false: "yes", 1 or "false" must not approve (or reject) a refund
    approved: StrictBool
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ReviewResponse(BaseModel):
    """A review and, once decided, its outcome."""

    review_id: str
    session_id: str | None
    message_id: str | None
    moderation_id: str | None = None
    kind: ReviewKind
    reason: str
    status: ReviewStatus
    note: str | None
    final_reply: str | None
    decided_at: str | None
    deadline: str | None = None
    escalated: bool = False


class ErrorBody(BaseModel):
    """The payload of every error."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error is ``{"error": {"code", "message"}}``."""

    error: ErrorBody


class SubscriptionResult(BaseModel):
    """What Dapr expects back from a subscription handler."""

    status: Literal["SUCCESS", "RETRY", "DROP"]


# -- moderation ------------------------------------------------------------------------------


class ModerationStatus(StrEnum):
    """Where a moderation is: still running, waiting for a human, or decided."""

    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self not in (ModerationStatus.RUNNING, ModerationStatus.AWAITING_REVIEW)


class Verdict(BaseModel):
    """One specialist's verdict."""

    specialist: str
    risk: float = Field(ge=0.0, le=1.0)
    flagged: bool
    reason: str


class Aggregate(BaseModel):
    """The specialists' verdicts combined (fan-in)."""

    risk: float = Field(ge=0.0, le=1.0, description="The highest specialist risk.")
    flagged_by: list[str] = Field(description="Specialists that flagged the content.")
    needs_review: bool = Field(description="Risk at or above DACA_MODERATION_REVIEW_THRESHOLD.")


class Moderation(StoredModel):
    """A moderation as stored (``moderation-{id}``); its workflow writes it step by step."""

    moderation_id: str
    owner: str
    content: str
    status: ModerationStatus = ModerationStatus.RUNNING
    verdicts: list[Verdict] = Field(default_factory=list)
    aggregate: Aggregate | None = None
    review_id: str | None = None
    review_deadline: str | None = None
    escalated: bool = False
    decided_by: str | None = None
    note: str | None = None
    failure: str | None = None
    created_at: str = Field(default_factory=utcnow)
    updated_at: str = Field(default_factory=utcnow)
    decided_at: str | None = None


class ModerationRequest(BaseModel):
    """Content to moderate. Content rules are the assistant's input guardrail's."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="The text to moderate.")


class ModerationAccepted(BaseModel):
    """The moderation was started; poll ``status_url`` (also in ``Location``)."""

    moderation_id: str
    status: ModerationStatus
    status_url: str


class ModerationResponse(BaseModel):
    """A moderation and, once decided, its outcome."""

    moderation_id: str
    status: ModerationStatus
    content: str
    verdicts: list[Verdict] = Field(description="One per specialist, once all have answered.")
    aggregate: Aggregate | None
    review_id: str | None = Field(description="The review deciding it, when one was opened.")
    review_deadline: str | None = Field(description="When an undecided review times out.")
    escalated: bool
    decided_by: str | None = Field(
        description="`auto` (low risk), a reviewer's principal id, or `deadline`."
    )
    note: str | None
    failure: str | None
    created_at: str
    updated_at: str
    decided_at: str | None
