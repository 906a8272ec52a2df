"""Chooses the model provider the runner uses, from the settings."""

from __future__ import annotations

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
