"""Chooses the model provider the runner uses, from the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from agents import ModelProvider, OpenAIProvider

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


def build_model_probe(settings: Settings, api_key: str | None) -> Callable[[], Awaitable[bool]]:
    """How the monitor tells whether the model is reachable: the offline model always is;
    an endpoint is when its model list answers (costs no tokens)."""
    if settings.effective_provider is ModelProviderName.OFFLINE:

        async def offline() -> bool:
            return True

        return offline
    base = (settings.model_base_url or "https://api.openai.com/v1").rstrip("/")
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    async def endpoint() -> bool:
        async with httpx.AsyncClient(timeout=5.0, headers=headers) as client:
            try:
                response = await client.get(f"{base}/models")
            except httpx.HTTPError:
                return False
        return response.is_success

    return endpoint
