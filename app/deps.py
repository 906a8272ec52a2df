"""FastAPI dependencies, as ``Annotated`` aliases the routes use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.agents.providers import ModelReachability
from app.auth.gate import PRINCIPAL_SCOPE_KEY, SIDECAR_SCOPE_KEY
from app.auth.principal import Principal
from app.config import Settings
from app.errors import ForbiddenError, UnauthorizedError, bearer_challenge
from app.metrics import Metrics
from app.moderation.service import ModerationService
from app.schemas import ModerationId, ReviewId, SessionId
from app.service import ConversationService
from app.store import Backend
from app.sweep import Sweeper

#: declares the scheme in OpenAPI (the Authorize button of /docs); the access gate
#: (app/auth/gate.py) has already verified the credential when a route runs
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="API key or OIDC JWT",
    description="An API key (its SHA-256 digest listed in DACA_API_KEYS or "
    "DACA_REVIEWER_KEYS) or a JWT from DACA_OIDC_ISSUER for DACA_OIDC_AUDIENCE.",
    auto_error=False,
)


def get_service(request: Request) -> ConversationService:
    """The service built at startup."""
    service: ConversationService = request.app.state.service
    return service


def get_moderation(request: Request) -> ModerationService:
    """The moderation service built at startup."""
    moderation: ModerationService = request.app.state.moderation
    return moderation


def get_sweeper(request: Request) -> Sweeper:
    """The sweep the cron binding triggers."""
    sweeper: Sweeper = request.app.state.sweeper
    return sweeper


def get_backend(request: Request) -> Backend:
    """The state/event backend built at startup."""
    backend: Backend = request.app.state.backend
    return backend


def get_model_reachability(request: Request) -> ModelReachability | None:
    """The cached model check; None when the provider is not an openai-compatible endpoint."""
    reachability: ModelReachability | None = request.app.state.model_reachability
    return reachability


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The caller the access gate authenticated; 401 if the gate did not run (fail closed)."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if not isinstance(principal, Principal):
        raise UnauthorizedError("missing credentials: send Authorization: Bearer <token>")
    return principal


def get_reviewer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller, if a reviewer; 403 otherwise."""
    if not principal.reviewer:
        raise ForbiddenError(
            "only reviewers may decide reviews",
            headers={
                "WWW-Authenticate": bearer_challenge(
                    "insufficient_scope", "a reviewer credential is required"
                )
            },
        )
    return principal


def require_sidecar(request: Request) -> None:
    """403 unless the access gate recognised the Dapr sidecar (fail closed)."""
    if request.scope.get(SIDECAR_SCOPE_KEY) is not True:
        raise ForbiddenError("only the Dapr sidecar may call /dapr routes")


ServiceDep = Annotated[ConversationService, Depends(get_service)]
ModerationDep = Annotated[ModerationService, Depends(get_moderation)]
SweeperDep = Annotated[Sweeper, Depends(get_sweeper)]
BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelReachabilityDep = Annotated[ModelReachability | None, Depends(get_model_reachability)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReviewerDep = Annotated[Principal, Depends(get_reviewer)]
SessionIdPath = Annotated[SessionId, Path(description="Client-chosen session id.")]
ReviewIdPath = Annotated[ReviewId, Path(description="Id from a pending reply.")]
ModerationIdPath = Annotated[ModerationId, Path(description="Id from POST /v1/moderations.")]
