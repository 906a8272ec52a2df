"""Probes and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import BackendDep, MetricsDep, SettingsDep
from app.errors import error_response
from app.schemas import ErrorResponse
from app.store import BackendUnavailableError

router = APIRouter(tags=["operations"])
#: mounted on the main port only when no DACA_METRICS_PORT listener serves the metrics
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={503: {"model": ErrorResponse, "description": "Not ready; see Retry-After."}},
)
async def readyz(backend: BackendDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: the Dapr sidecar and the state store answer (always, when embedded)."""
    try:
        await backend.check_ready()
    except BackendUnavailableError as exc:
        return error_response(
            503, "not_ready", str(exc), {"Retry-After": str(settings.retry_after_seconds)}
        )
    return JSONResponse({"status": "ready", "backend": backend.kind})


@metrics_router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus exposition of the app's metrics."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
