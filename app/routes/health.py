"""Probes and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.agents.providers import ModelReachability
from app.config import Settings
from app.deps import BackendDep, MetricsDep, ModelReachabilityDep, SettingsDep
from app.errors import error_response
from app.schemas import ErrorResponse
from app.store import Backend, BackendUnavailableError

router = APIRouter(tags=["operations"])
#: mounted on the main port only when no DACA_METRICS_PORT listener serves the metrics
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


#: how long /readyz waits for a model check; the kubelet's probe gives the whole answer 2 s
MODEL_WAIT_SECONDS = 1.0


async def readiness(
    backend: Backend, settings: Settings, model: ModelReachability | None
) -> JSONResponse:
    """/readyz's answer: 503 unless the backend answers; the model's status when it has one."""
    try:
        await backend.check_ready()
    except BackendUnavailableError as exc:
        return error_response(
            503, "not_ready", str(exc), {"Retry-After": str(settings.retry_after_seconds)}
        )
    body = {"status": "ready", "backend": backend.kind}
    if model is not None:
        up = await model.status(wait_seconds=MODEL_WAIT_SECONDS)
        body["model"] = "checking" if up is None else "reachable" if up else "unreachable"
    return JSONResponse(body)


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {
            "description": "Ready. `model` (`reachable`, `unreachable`, or `checking` while a slow "
            "first check runs on) is present when the "
            "model is an endpoint (openai-compatible, e.g. the cluster's own LLM server, or "
            "openai); the offline model has none.",
            "content": {
                "application/json": {
                    "example": {"status": "ready", "backend": "dapr", "model": "unreachable"}
                }
            },
        },
        503: {"model": ErrorResponse, "description": "Not ready; see Retry-After."},
    },
)
async def readyz(
    backend: BackendDep, settings: SettingsDep, model: ModelReachabilityDep
) -> JSONResponse:
    """Readiness: the Dapr sidecar and the state store answer (always, when embedded).

    An unreachable model is reported (`"model": "unreachable"`, and the `daca_model_up`
    gauge at 0) but does not make this 503: the model server is shared by every replica,
    so failing readiness would take them all out of the Service at once, and sessions,
    reviews and moderation decisions still work without it. The answer is cached for
    DACA_MODEL_CHECK_TTL_SECONDS; a check that takes longer than a second goes on in the
    background and this answers with the last one (`"model": "checking"` before any)."""
    return await readiness(backend, settings, model)


@metrics_router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus exposition of the app's metrics."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
