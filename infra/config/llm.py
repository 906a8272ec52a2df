"""A self-hosted, OpenAI-compatible LLM server in the cluster (`daca:llm`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from infra.config.base import _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig


class LlmConfig(_Section):
    """A self-hosted, OpenAI-compatible LLM server; off unless the stack turns it on."""

    engine: Literal["none"] = "none"

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across sections (the stage, the Dapr component types); raises ConfigError."""
