"""The ASGI app (``app.main:app``): wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agents import ModelProvider, RunConfig
from fastapi import Depends, FastAPI
from prometheus_client import start_http_server

from app.agents.assistant import build_assistant
from app.agents.providers import (
    build_model_probe,
    build_model_provider,
    build_model_reachability,
)
from app.auth.gate import (
    CREDENTIAL_SETTINGS,
    AccessGateMiddleware,
    Authenticator,
    AuthMode,
    SidecarGate,
)
from app.auth.oidc import OidcVerifier
from app.auth.rate_limit import RateLimiter
from app.config import (
    ModelProviderName,
    Settings,
    SettingsError,
    WorkflowEngineName,
    load_settings,
)
from app.dapr_backend import DaprBackend
from app.deps import get_principal, require_sidecar
from app.documents import DocumentStore
from app.errors import install_error_handlers
from app.metrics import BodySizeLimitMiddleware, Metrics, RequestMetricsMiddleware
from app.moderation.activities import ModelProbe, ModerationActivities
from app.moderation.service import ModerationService
from app.routes import dapr_bindings, dapr_subscriptions, health, moderations, reviews, sessions
from app.schemas import ErrorResponse, ReviewKind
from app.service import ConversationService
from app.store import Backend, BackendUnavailableError, EmbeddedBackend
from app.sweep import Sweeper
from app.workflows.clock import Clock, SystemClock
from app.workflows.port import WorkflowRegistry, Workflows
from app.workflows.state_machine import StateMachineWorkflows

logger = logging.getLogger("app")

#: answers every /v1 route may give before it runs (the access gate's)
V1_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No credentials, or refused ones (see the WWW-Authenticate header).",
    },
    429: {
        "model": ErrorResponse,
        "description": "Over the caller's rate limit; retry after Retry-After seconds.",
    },
    503: {
        "model": ErrorResponse,
        "description": "The sidecar, the store or the identity provider is unavailable; "
        "see Retry-After.",
    },
}
SIDECAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "The caller is not the Dapr sidecar."}
}


def build_backend(settings: Settings) -> Backend:
    """Dapr when the injector announced a sidecar, the embedded store otherwise."""
    if settings.sidecar_enabled:
        return DaprBackend(settings)
    return EmbeddedBackend()


async def _resolve_api_key(settings: Settings, backend: Backend) -> str | None:
    if settings.has_api_key:
        assert settings.openai_api_key is not None
        return settings.openai_api_key.get_secret_value()
    if (
        settings.effective_provider is ModelProviderName.OFFLINE
        or not settings.openai_key_secret
        or not isinstance(backend, DaprBackend)
    ):
        return None
    field = settings.openai_key_secret_field or settings.openai_key_secret
    try:
        key = await backend.get_secret(settings.openai_key_secret, field)
    except BackendUnavailableError as exc:
        # the key is a startup dependency: fail with the variable named (the platform
        # restarts the process) rather than serve a model that cannot authenticate
        raise SettingsError(
            f"DACA_OPENAI_KEY_SECRET={settings.openai_key_secret!r}: the model key cannot be "
            f"read from the Dapr secret store {settings.secretstore!r} ({exc})"
        ) from None
    if not key:
        raise SettingsError(
            f"DACA_OPENAI_KEY_SECRET={settings.openai_key_secret!r}: the secret store "
            f"{settings.secretstore!r} has no field {field!r}"
        )
    return key


def build_workflows(
    settings: Settings,
    backend: Backend,
    docs: DocumentStore,
    registry: WorkflowRegistry,
    clock: Clock,
) -> Workflows:
    """Dapr Workflows when configured (daprd >= 1.18), else the app's own state machine."""
    if settings.workflow_engine is WorkflowEngineName.DAPR:
        # imported here: the SDK's workflow runtime is not loaded where it is not used
        from app.workflows.dapr_engine import DaprWorkflows

        return DaprWorkflows(settings, registry)
    return StateMachineWorkflows(
        docs,
        registry,
        clock,
        tick_seconds=settings.workflow_tick_seconds,
        lease_seconds=settings.workflow_lease_seconds,
    )


def build_oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The JWT verifier, when DACA_OIDC_ISSUER and DACA_OIDC_AUDIENCE are set."""
    if settings.oidc_issuer is None or settings.oidc_audience is None:
        return None
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        reviewer_claim=settings.oidc_reviewer_claim,
        reviewer_value=settings.oidc_reviewer_value,
        jwks_ttl=settings.oidc_jwks_ttl_seconds,
    )


def log_access_setup(settings: Settings, authenticator: Authenticator) -> None:
    """Say at startup who may call the app; loudly when that is nobody or everybody local."""
    if authenticator.mode is AuthMode.LOOPBACK_ONLY:
        logger.warning(
            "NO AUTHENTICATION: no credentials are configured (%s) and there is no Dapr "
            "sidecar, so /v1 answers loopback clients only, without credentials. Fine on a "
            "laptop; set credentials before exposing this port.",
            CREDENTIAL_SETTINGS,
        )
    elif authenticator.mode is AuthMode.CLOSED:
        logger.error(
            "no credentials are configured but a Dapr sidecar is: every /v1 request is "
            "refused with 401 until %s is set",
            CREDENTIAL_SETTINGS,
        )
    else:
        logger.info(
            "authentication: %d API key(s), %d of them reviewers; OIDC issuer %s; "
            "rate limit %s per principal per minute (per replica)",
            len(authenticator.keys),
            len(settings.reviewer_keys),
            settings.oidc_issuer or "none",
            settings.rate_limit_per_minute or "off",
        )
    if settings.sidecar_enabled and settings.app_api_token is None:
        logger.warning(
            "APP_API_TOKEN is not set: /dapr routes trust any loopback caller; give the "
            "sidecar an app token (annotation dapr.io/app-token-secret)"
        )


def create_app(
    settings: Settings | None = None,
    backend: Backend | None = None,
    *,
    clock: Clock | None = None,
    model_provider: ModelProvider | None = None,
    model_probe: ModelProbe | None = None,
) -> FastAPI:
    """Build the app; I/O (sidecar wait, secret lookup) happens in the lifespan. ``clock``,
    ``model_provider`` and ``model_probe`` replace the real ones (tests)."""
    settings = settings or load_settings()
    metrics = Metrics()
    authenticator = Authenticator(settings, build_oidc_verifier(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        # Per-request client logs (sidecar probes) would drown the app's own at INFO.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        log_access_setup(settings, authenticator)
        metrics_server = None
        if settings.metrics_port is not None:
            # a listener of its own, so the metrics never share the public port
            metrics_server, _ = start_http_server(
                settings.metrics_port, addr=settings.host, registry=metrics.registry
            )
            logger.info("metrics on %s:%d/metrics", settings.host, settings.metrics_port)
        active = backend or build_backend(settings)
        await active.start()
        api_key = await _resolve_api_key(settings, active)
        provider = model_provider or build_model_provider(settings, api_key)
        app.state.model_reachability = build_model_reachability(settings, api_key, metrics.model_up)
        run_config = RunConfig(
            model_provider=provider,
            tracing_disabled=not (
                settings.tracing and settings.effective_provider is ModelProviderName.OPENAI
            ),
            workflow_name="daca-assistant",
        )
        model_name = (
            "offline"
            if settings.effective_provider is ModelProviderName.OFFLINE
            else settings.model_name
        )
        app.state.backend = active
        engine_clock = clock or SystemClock()
        conversations = ConversationService(
            settings, active, metrics, build_assistant(model_name), run_config, clock=engine_clock
        )
        app.state.service = conversations
        docs = DocumentStore(
            active.state,
            max_retries=settings.state_max_retries,
            base_ms=settings.state_retry_base_ms,
            max_ms=settings.state_retry_max_ms,
            on_conflict=metrics.state_conflicts.inc,
        )
        registry = WorkflowRegistry()
        ModerationActivities(
            settings,
            active,
            docs,
            metrics,
            run_config,
            model_name,
            model_probe or build_model_probe(settings, api_key),
        ).register(registry)
        workflows = build_workflows(settings, active, docs, registry, engine_clock)
        moderation = ModerationService(settings, docs, workflows)
        conversations.add_decision_hook(ReviewKind.MODERATION, moderation.on_review_decision)
        app.state.workflows = workflows
        app.state.moderation = moderation
        app.state.sweeper = Sweeper(
            docs,
            conversations,
            workflows,
            engine_clock,
            interval_seconds=settings.sweep_interval_seconds,
            session_retention_seconds=settings.session_retention_seconds,
            on_pending_reviews=metrics.reviews_pending.set,
        )
        await workflows.start()
        if settings.monitor_interval_seconds > 0:
            try:
                await moderation.start_monitor()
            except BackendUnavailableError as exc:
                logger.warning("monitor workflow not started: %s", exc)
        logger.info(
            "serving with %s backend, %s workflows and %s model %s",
            active.kind,
            workflows.kind,
            settings.effective_provider.value,
            model_name,
        )
        try:
            yield
        finally:
            await workflows.close()
            await provider.aclose()
            await active.close()
            if authenticator.oidc is not None:
                await authenticator.oidc.aclose()
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    app = FastAPI(
        title="DACA agent service",
        version="0.1.0",
        description="An OpenAI Agents SDK assistant whose state and events go through Dapr.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.model_reachability = None
    app.state.authenticator = authenticator
    install_error_handlers(app, settings.retry_after_seconds)
    for router in (sessions.router, reviews.router, moderations.router):
        app.include_router(router, dependencies=[Depends(get_principal)], responses=V1_RESPONSES)
    app.include_router(health.router)
    if settings.metrics_port is None:
        app.include_router(health.metrics_router)
    for router in (dapr_subscriptions.router, dapr_bindings.router):
        app.include_router(
            router, dependencies=[Depends(require_sidecar)], responses=SIDECAR_RESPONSES
        )
    # Outermost last: metrics see every answer, including the 413s of the size limit and
    # the gate's 401/403/429s; the gate runs before any body is read.
    app.add_middleware(
        AccessGateMiddleware,
        authenticator=authenticator,
        sidecar_gate=SidecarGate(
            settings.app_api_token.get_secret_value() if settings.app_api_token else None
        ),
        rate_limiter=(
            RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None
        ),
        router=app.router,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return app


app = create_app()
