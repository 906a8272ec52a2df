"""Human-in-the-loop routes."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import PrincipalDep, ReviewerDep, ReviewIdPath, ServiceDep
from app.schemas import ErrorResponse, ReviewDecisionRequest, ReviewResponse
from app.service import review_response

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


@router.get(
    "/{review_id}", response_model=ReviewResponse, responses={404: {"model": ErrorResponse}}
)
async def get_review(
    review_id: ReviewIdPath, service: ServiceDep, principal: PrincipalDep
) -> ReviewResponse:
    """A review and, once decided, its outcome: for reviewers and the session's owner."""
    return review_response(await service.get_review(review_id, principal))


@router.post(
    "/{review_id}/decision",
    response_model=ReviewResponse,
    responses={
        403: {"model": ErrorResponse, "description": "The caller is not a reviewer."},
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse, "description": "Already decided the other way."},
        503: {"model": ErrorResponse},
    },
)
async def decide(
    review_id: ReviewIdPath,
    body: ReviewDecisionRequest,
    service: ServiceDep,
    reviewer: ReviewerDep,
) -> ReviewResponse:
    """Approve or reject a held reply (reviewers only). Repeating a decision returns the
    same result."""
    return await service.decide(review_id, body.approved, body.note, reviewer.id)
