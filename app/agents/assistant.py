"""The conversation assistant: its prompt, its typed output, its tools and its guardrail."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunContextWrapper,
    TResponseInputItem,
    function_tool,
    input_guardrail,
)
from pydantic import BaseModel, Field

NAME = "daca-assistant"

INSTRUCTIONS = """You are the DACA assistant. Answer the user's latest message briefly.
Use `text_stats` when the user asks about their text. Use `issue_refund` only when the user
asks for a refund and gives an order id and an amount; a human approves it before it runs.
Rate your confidence in the answer from 0 to 1, and set needs_review when a human should
check the reply before the user sees it."""

# Characters a chat message may legitimately contain although Unicode files them as controls.
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


class AgentReply(BaseModel):
    """What the assistant returns at the end of a run."""

    reply: str = Field(description="The answer shown to the user.")
    confidence: float = Field(ge=0.0, le=1.0, description="Self-rated confidence, 0..1.")
    needs_review: bool = Field(description="True when a human should check the reply first.")


class AssistantContext(BaseModel):
    """Per-run context: the limits the guardrail enforces."""

    max_input_chars: int


@function_tool
def text_stats(text: str) -> str:
    """Count the words and characters of a text.

    Args:
        text: The text to measure.
    """
    return f"{len(text.split())} words, {len(text)} characters"


@function_tool(needs_approval=True)
def issue_refund(order_id: str, amount: float) -> str:
    """Issue a refund for an order. A human must approve every call.

    Args:
        order_id: The order to refund.
        amount: The amount to refund, in the order's currency.
    """
    reference = hashlib.sha256(f"{order_id}:{amount:.2f}".encode()).hexdigest()[:8].upper()
    return f"Refund of {amount:.2f} for order {order_id} issued (reference R-{reference})."


def input_problem(text: str, max_chars: int) -> str | None:
    """Why a user message is unacceptable, or None when it is fine."""
    if not text.strip():
        return "message is empty"
    if len(text) > max_chars:
        return f"message is longer than {max_chars} characters"
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in {"Cc", "Cf", "Cs"}:
            return f"message contains a control character (U+{ord(char):04X})"
    return None


def _latest_user_text(items: str | list[TResponseInputItem]) -> str:
    if isinstance(items, str):
        return items
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user":
            content: Any = item.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
    return ""


@input_guardrail(name="message_hygiene", run_in_parallel=False)
def message_hygiene(
    ctx: RunContextWrapper[AssistantContext],
    agent: Agent[AssistantContext],
    items: str | list[TResponseInputItem],
) -> GuardrailFunctionOutput:
    """Reject empty, oversized or control-character input before the model sees it."""
    problem = input_problem(_latest_user_text(items), ctx.context.max_input_chars)
    return GuardrailFunctionOutput(output_info=problem, tripwire_triggered=problem is not None)


def build_assistant(model_name: str) -> Agent[AssistantContext]:
    """The assistant agent; the model behind ``model_name`` comes from the run's provider."""
    return Agent[AssistantContext](
        name=NAME,
        instructions=INSTRUCTIONS,
        model=model_name,
        tools=[text_stats, issue_refund],
        input_guardrails=[message_hygiene],
        output_type=AgentReply,
    )
