"""FastAPI dependencies, as ``Annotated`` aliases the routes use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.config import Settings
from app.metrics import Metrics
from app.schemas import ReviewId, SessionId
from app.service import ConversationService
from app.store import Backend


def get_service(request: Request) -> ConversationService:
    """The service built at startup."""
    service: ConversationService = request.app.state.service
    return service


def get_backend(request: Request) -> Backend:
    """The state/event backend built at startup."""
    backend: Backend = request.app.state.backend
    return backend


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


ServiceDep = Annotated[ConversationService, Depends(get_service)]
BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SessionIdPath = Annotated[SessionId, Path(description="Client-chosen session id.")]
ReviewIdPath = Annotated[ReviewId, Path(description="Id from a pending reply.")]
