"""Content moderation: an asynchronous HTTP API over a durable workflow (202 + Location,
then poll)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.deps import ModerationDep, ModerationIdPath, PrincipalDep
from app.schemas import (
    ErrorResponse,
    Moderation,
    ModerationAccepted,
    ModerationRequest,
    ModerationResponse,
)
from app.service import new_id

router = APIRouter(prefix="/v1/moderations", tags=["moderations"])


def moderation_response(moderation: Moderation) -> ModerationResponse:
    """The API view of a stored moderation (no owner)."""
    return ModerationResponse.model_validate(moderation.model_dump(exclude={"owner"}))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ModerationAccepted,
    responses={
        413: {"model": ErrorResponse},
        422: {"model": ErrorResponse, "description": "Invalid input or rejected by the guardrail."},
    },
)
async def submit(
    body: ModerationRequest,
    request: Request,
    response: Response,
    moderation: ModerationDep,
    principal: PrincipalDep,
) -> ModerationAccepted:
    """Start moderating ``content``: specialists judge it in parallel; risky content waits
    for a reviewer. Poll the ``Location`` until the status is final."""
    moderation_id = new_id()
    stored = await moderation.submit(moderation_id, body.content, principal)
    location = request.app.url_path_for("get_moderation", moderation_id=moderation_id)
    response.headers["Location"] = str(location)
    return ModerationAccepted(
        moderation_id=moderation_id, status=stored.status, status_url=str(location)
    )


@router.get(
    "/{moderation_id}",
    name="get_moderation",
    response_model=ModerationResponse,
    responses={404: {"model": ErrorResponse}},
)
async def get_moderation(
    moderation_id: ModerationIdPath, moderation: ModerationDep, principal: PrincipalDep
) -> ModerationResponse:
    """Where a moderation is: each specialist's verdict, the aggregate, the pending review
    and, once final, who decided (for its submitter and reviewers)."""
    return moderation_response(await moderation.get(moderation_id, principal))
