"""Chooses the model provider the runner uses, from the settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from agents import ModelProvider, OpenAIProvider
from prometheus_client import Gauge

from app.agents.offline_model import OfflineModelProvider
from app.config import ModelProviderName, Settings


def build_model_provider(settings: Settings, api_key: str | None) -> ModelProvider:
    """`offline` needs nothing; `openai` uses the Responses API; `openai-compatible` speaks
    Chat Completions to DACA_MODEL_BASE_URL (Gemini, vLLM, llama.cpp ...)."""
    provider = settings.effective_provider
    if provider is ModelProviderName.OFFLINE:
        return OfflineModelProvider()
    if provider is ModelProviderName.OPENAI:
        return OpenAIProvider(api_key=api_key, use_responses=True)
    # Local servers often need no key, but the OpenAI client insists on one.
    return OpenAIProvider(
        api_key=api_key or "not-needed", base_url=settings.model_base_url, use_responses=False
    )


def build_model_probe(
    settings: Settings, api_key: str | None, timeout: float = 5.0
) -> Callable[[], Awaitable[bool]]:
    """How the monitor tells whether the model is reachable: the offline model always is;
    an endpoint is when its model list answers (costs no tokens)."""
    if settings.effective_provider is ModelProviderName.OFFLINE:

        async def offline() -> bool:
            return True

        return offline
    base = (settings.model_base_url or "https://api.openai.com/v1").rstrip("/")
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    async def endpoint() -> bool:
        try:
            async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
                response = await client.get(f"{base}/models")
        except Exception:  # refused, timed out, TLS, a header httpx will not send: not there
            return False
        return response.is_success

    return endpoint


class ModelReachability:
    """Whether the self-hosted model answers, for /readyz and the `daca_model_up` gauge.

    The check is `GET <base URL>/models` (no tokens spent; llama.cpp's server answers 503
    there while its model loads); an answer is reused for `ttl_seconds`, so frequent probes
    never hammer the model server, and concurrent probes share one check.
    """

    def __init__(
        self,
        probe: Callable[[], Awaitable[bool]],
        gauge: Gauge,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._gauge = gauge
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._up = False
        self._checked_at: float | None = None
        self._refresh: asyncio.Task[bool] | None = None

    def _fresh(self) -> bool:
        return self._checked_at is not None and self._clock() - self._checked_at < self._ttl

    async def check(self) -> bool:
        """True when the endpoint's model list answered within the last `ttl_seconds`."""
        if self._fresh():
            return self._up
        async with self._lock:
            if not self._fresh():
                self._up = await self._probe()
                self._checked_at = self._clock()
                self._gauge.set(1 if self._up else 0)
        return self._up

    async def status(self, wait_seconds: float) -> bool | None:
        """`check()`, but waiting at most `wait_seconds` for a fresh answer: a slow model
        endpoint must not hold /readyz past the kubelet's probe timeout. The check goes on
        in the background and caches its answer; meanwhile the last answer stands (None
        before the first one)."""
        if self._fresh():
            return self._up
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.ensure_future(self.check())
        try:
            return await asyncio.wait_for(asyncio.shield(self._refresh), wait_seconds)
        except TimeoutError:
            return self._up if self._checked_at is not None else None


def build_model_reachability(
    settings: Settings, api_key: str | None, gauge: Gauge
) -> ModelReachability | None:
    """A cached check of the model endpoint (a self-hosted `openai-compatible` server, or
    OpenAI's); None for the offline model, which is always there (the gauge says 1, so an
    alert on `daca_model_up == 0` never fires for it)."""
    if settings.effective_provider is ModelProviderName.OFFLINE:
        gauge.set(1)
        return None
    probe = build_model_probe(settings, api_key, timeout=settings.model_check_timeout_seconds)
    return ModelReachability(probe, gauge, settings.model_check_ttl_seconds)
