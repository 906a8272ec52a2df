"""Conversation routes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.deps import PrincipalDep, ServiceDep, SessionIdPath
from app.schemas import ErrorResponse, PostMessageRequest, PostMessageResponse, SessionResponse

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

_ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorResponse, "description": "Invalid input or rejected by the guardrail."},
    503: {"model": ErrorResponse, "description": "Sidecar or store unavailable; see Retry-After."},
}


@router.post(
    "/{session_id}/messages",
    response_model=PostMessageResponse,
    responses={
        **_ERRORS,
        404: {"model": ErrorResponse, "description": "The session belongs to someone else."},
        413: {"model": ErrorResponse},
        502: {"model": ErrorResponse},
    },
)
async def post_message(
    session_id: SessionIdPath,
    body: PostMessageRequest,
    service: ServiceDep,
    principal: PrincipalDep,
) -> PostMessageResponse:
    """Send a user message; get the agent's reply, or a review id if the reply is held.
    A new session id creates a session owned by the caller; another caller's is 404."""
    return await service.post_message(session_id, body.content, principal)


@router.get(
    "/{session_id}",
    response_model=SessionResponse,
    responses={**_ERRORS, 404: {"model": ErrorResponse}},
)
async def get_session(
    session_id: SessionIdPath, service: ServiceDep, principal: PrincipalDep
) -> SessionResponse:
    """The caller's conversation, oldest message first (404 for anyone else's)."""
    session = await service.get_session(session_id, principal)
    return SessionResponse.model_validate(session.model_dump())


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_ERRORS,
        404: {"model": ErrorResponse, "description": "The session belongs to someone else."},
    },
)
async def delete_session(
    session_id: SessionIdPath, service: ServiceDep, principal: PrincipalDep
) -> Response:
    """Delete the caller's conversation; deleting an unknown session also answers 204."""
    await service.delete_session(session_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
