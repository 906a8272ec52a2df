"""A deterministic, network-free model behind the SDK's ``Model`` interface.

It drives the real runner loop: on a user message it calls a tool (``issue_refund`` for
refund requests, ``text_stats`` otherwise); once the tool output is in, it answers with the
agent's structured output. Messages mentioning "review" come back with low confidence.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelProvider,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
    Usage,
)
from agents.items import TResponseOutputItem, TResponseStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from app.agents.moderators import SPECIALIST_MARKER

MODEL_NAME = "offline"
LOW_CONFIDENCE = 0.3
HIGH_CONFIDENCE = 0.9

#: what the offline specialists look for (whole words, case-insensitive)
_TOXIC = re.compile(r"\b(idiot|stupid|moron|loser|hate you|kill you|shut up)\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE_OR_CARD = re.compile(r"(?<!\w)\+?\d[\d -]{7,}\d(?!\w)")
_SPAM = re.compile(r"\b(buy now|free money|click here|limited offer|act now|you won)\b", re.I)
_URL = re.compile(r"https?://", re.IGNORECASE)
FLAGGED_RISK = 0.9
CLEAN_RISK = 0.05


def offline_verdict(specialist: str, text: str) -> dict[str, Any]:
    """A specialist's verdict by fixed rules: the same text always gets the same verdict."""
    if specialist == "toxicity":
        hit = _TOXIC.search(text)
        found = f"insulting language ({hit.group(0).lower()!r})" if hit else None
    elif specialist == "personal_data":
        hit = _EMAIL.search(text) or _PHONE_OR_CARD.search(text)
        found = "an e-mail address or a phone/card number" if hit else None
    elif specialist == "spam":
        hit = _SPAM.search(text)
        links = len(_URL.findall(text))
        found = "advertising phrases" if hit else ("many links" if links >= 3 else None)
    else:
        found = None
    if found is None:
        return {"risk": CLEAN_RISK, "flagged": False, "reason": f"no {specialist} concern found"}
    return {"risk": FLAGGED_RISK, "flagged": True, "reason": f"contains {found}"}


_ORDER = re.compile(r"order\s*#?\s*([A-Za-z0-9][A-Za-z0-9-]*)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _count_words(items: list[Any]) -> int:
    return sum(len(json.dumps(item, default=str).split()) for item in items)


class OfflineModel(Model):
    """Scripted by rules, not by a queue: the same input always gives the same output."""

    def _respond(
        self,
        input: str | list[TResponseInputItem],
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        system_instructions: str | None = None,
    ) -> tuple[list[TResponseOutputItem], Usage]:
        items: list[Any] = [{"role": "user", "content": input}] if isinstance(input, str) else input
        if system_instructions and system_instructions.startswith(SPECIALIST_MARKER):
            return self._moderate(system_instructions, items)
        last_user = max(
            (i for i, item in enumerate(items) if _field(item, "role") == "user"), default=-1
        )
        user_text = _text_of(_field(items[last_user], "content")) if last_user >= 0 else ""
        this_turn = items[last_user + 1 :]
        outputs = [item for item in this_turn if _field(item, "type") == "function_call_output"]
        tool_names = {getattr(tool, "name", "") for tool in tools}

        output: list[TResponseOutputItem]
        if outputs:
            calls = {
                _field(item, "call_id"): _field(item, "name")
                for item in this_turn
                if _field(item, "type") == "function_call"
            }
            last = outputs[-1]
            answer = self._answer(
                user_text, calls.get(_field(last, "call_id")), _text_of(_field(last, "output"))
            )
            output = [self._message(answer, output_schema, user_text)]
        else:
            call = self._plan_tool_call(user_text, tool_names, len(items))
            if call is not None:
                output = [call]
            else:
                answer = f'You said: "{user_text}".'
                if "issue_refund" in tool_names and "refund" in user_text.lower():
                    answer = "To issue a refund I need an order id and an amount."
                output = [self._message(answer, output_schema, user_text)]

        input_tokens = _count_words(items)
        output_tokens = _count_words([item.model_dump() for item in output])
        usage = Usage(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        return output, usage

    def _moderate(
        self, system_instructions: str, items: list[Any]
    ) -> tuple[list[TResponseOutputItem], Usage]:
        specialist = system_instructions.splitlines()[0].removeprefix(SPECIALIST_MARKER).strip()
        text = " ".join(
            _text_of(_field(item, "content")) for item in items if _field(item, "role") == "user"
        )
        answer = json.dumps(offline_verdict(specialist, text))
        digest = hashlib.sha256(answer.encode()).hexdigest()[:16]
        message = ResponseOutputMessage(
            id=f"msg_{digest}",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=answer, annotations=[])],
        )
        words = _count_words(items)
        usage = Usage(requests=1, input_tokens=words, output_tokens=10, total_tokens=words + 10)
        return [message], usage

    @staticmethod
    def _plan_tool_call(
        user_text: str, tool_names: set[str], position: int
    ) -> ResponseFunctionToolCall | None:
        digest = hashlib.sha256(f"{position}:{user_text}".encode()).hexdigest()[:16]
        if "refund" in user_text.lower() and "issue_refund" in tool_names:
            order = _ORDER.search(user_text)
            if order is None:
                return None
            rest = user_text[: order.start()] + user_text[order.end() :]
            amounts = _NUMBER.findall(rest)
            if not amounts:
                return None
            arguments = {"order_id": order.group(1), "amount": float(amounts[-1])}
            name = "issue_refund"
        elif "text_stats" in tool_names:
            arguments = {"text": user_text}
            name = "text_stats"
        else:
            return None
        return ResponseFunctionToolCall(
            id=f"fc_{digest}",
            call_id=f"call_{digest}",
            type="function_call",
            name=name,
            arguments=json.dumps(arguments),
            status="completed",
        )

    @staticmethod
    def _answer(user_text: str, tool_name: str | None, tool_output: str) -> str:
        if tool_name == "issue_refund":
            if tool_output.startswith("Refund of"):
                return f"Done. {tool_output}"
            return f"I did not issue the refund: {tool_output}"
        return f'You said: "{user_text}". That is {tool_output}.'

    @staticmethod
    def _message(
        answer: str, output_schema: AgentOutputSchemaBase | None, user_text: str
    ) -> ResponseOutputMessage:
        confidence = LOW_CONFIDENCE if "review" in user_text.lower() else HIGH_CONFIDENCE
        text = answer
        if output_schema is not None and not output_schema.is_plain_text():
            text = json.dumps(
                {"reply": answer, "confidence": confidence, "needs_review": confidence < 0.5}
            )
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return ResponseOutputMessage(
            id=f"msg_{digest}",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        output, usage = self._respond(input, tools, output_schema, system_instructions)
        return ModelResponse(output=output, usage=usage, response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        output, usage = self._respond(input, tools, output_schema, system_instructions)
        response = Response(
            id=f"resp_offline_{int(time.time() * 1000)}",
            created_at=time.time(),
            model=MODEL_NAME,
            object="response",
            output=output,
            tool_choice="auto",
            tools=[],
            top_p=None,
            parallel_tool_calls=False,
            status="completed",
            usage=ResponseUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
            ),
        )
        in_progress = response.model_copy(update={"output": [], "status": "in_progress"})
        yield ResponseCreatedEvent(type="response.created", response=in_progress, sequence_number=0)
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=1
        )


class OfflineModelProvider(ModelProvider):
    """Hands out the offline model whatever name the agent asks for."""

    def __init__(self) -> None:
        self._model = OfflineModel()

    def get_model(self, model_name: str | None) -> Model:
        return self._model
