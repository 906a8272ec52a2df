"""The offline model drives the real Agents SDK runner loop: tool call, tool output, answer."""

from __future__ import annotations

import pytest
from agents import (
    InputGuardrailTripwireTriggered,
    MessageOutputItem,
    RunConfig,
    Runner,
    RunState,
    ToolCallItem,
    ToolCallOutputItem,
)

from app.agents.assistant import AgentReply, AssistantContext, build_assistant, input_problem
from app.agents.offline_model import OfflineModelProvider
from tests.app.conftest import running_app

pytestmark = pytest.mark.anyio

CONFIG = RunConfig(model_provider=OfflineModelProvider(), tracing_disabled=True)
CONTEXT = AssistantContext(max_input_chars=200)


async def test_runner_calls_the_tool_then_answers() -> None:
    agent = build_assistant("offline")
    result = await Runner.run(agent, "three little words", context=CONTEXT, run_config=CONFIG)
    kinds = [type(item) for item in result.new_items]
    assert kinds == [ToolCallItem, ToolCallOutputItem, MessageOutputItem]
    assert result.new_items[1].output == "3 words, 18 characters"
    output = result.final_output_as(AgentReply)
    assert output.reply == 'You said: "three little words". That is 3 words, 18 characters.'
    assert output.needs_review is False
    assert result.context_wrapper.usage.requests == 2
    assert result.context_wrapper.usage.output_tokens > 0


async def test_same_input_same_output() -> None:
    agent = build_assistant("offline")
    first = await Runner.run(agent, "repeat", context=CONTEXT, run_config=CONFIG)
    second = await Runner.run(agent, "repeat", context=CONTEXT, run_config=CONFIG)
    assert first.final_output == second.final_output


async def test_streaming_interface_works_too() -> None:
    agent = build_assistant("offline")
    result = Runner.run_streamed(agent, "stream me", context=CONTEXT, run_config=CONFIG)
    events = [event.type async for event in result.stream_events()]
    assert "run_item_stream_event" in events
    assert result.final_output_as(AgentReply).reply.startswith('You said: "stream me"')


async def test_low_confidence_when_asked_for_review() -> None:
    agent = build_assistant("offline")
    result = await Runner.run(agent, "please review this", context=CONTEXT, run_config=CONFIG)
    output = result.final_output_as(AgentReply)
    assert output.needs_review is True
    assert output.confidence < 0.5


async def test_refund_pauses_for_approval_and_resumes_from_serialized_state() -> None:
    agent = build_assistant("offline")
    result = await Runner.run(
        agent, "Refund order A-17 for 12.50 please", context=CONTEXT, run_config=CONFIG
    )
    assert [item.tool_name for item in result.interruptions] == ["issue_refund"]
    saved = result.to_state().to_string()

    approved = await RunState.from_string(agent, saved, context_override={"max_input_chars": 200})
    for item in approved.get_interruptions():
        approved.approve(item)
    done = await Runner.run(agent, approved, run_config=CONFIG)
    assert done.final_output_as(AgentReply).reply.startswith(
        "Done. Refund of 12.50 for order A-17 issued"
    )

    rejected = await RunState.from_string(agent, saved, context_override={"max_input_chars": 200})
    for item in rejected.get_interruptions():
        rejected.reject(item, rejection_message="not today")
    refused = await Runner.run(agent, rejected, run_config=CONFIG)
    assert refused.final_output_as(AgentReply).reply == "I did not issue the refund: not today"


async def test_refund_without_details_asks_for_them() -> None:
    agent = build_assistant("offline")
    result = await Runner.run(agent, "I want a refund", context=CONTEXT, run_config=CONFIG)
    assert not result.interruptions
    assert "order id and an amount" in result.final_output_as(AgentReply).reply


async def test_guardrail_trips_before_the_model_runs() -> None:
    agent = build_assistant("offline")
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        await Runner.run(agent, "esc\x1b[2J", context=CONTEXT, run_config=CONFIG)
    assert "control character (U+001B)" in str(caught.value.guardrail_result.output.output_info)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fine", None),
        ("t\tb\nc\r", None),
        ("", "message is empty"),
        ("zero\u200bwidth", "message contains a control character (U+200B)"),
        ("y" * 11, "message is longer than 10 characters"),
    ],
)
def test_input_problem(text: str, problem: str | None) -> None:
    assert input_problem(text, 10) == problem


@pytest.mark.parametrize(("max_turns", "outcome"), [(1, "error"), (2, "completed")])
async def test_agent_max_turns_bounds_the_model_calls_per_message(
    max_turns: int, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The offline model answers an ordinary message in two calls (a tool, then the reply);
    operators see a run cut short as an error on the run-duration metric."""
    async with running_app(agent_max_turns=max_turns) as (_, client):
        response = await client.post("/v1/sessions/t/messages", json={"content": "count these"})
        text = (await client.get("/metrics")).text
    assert response.status_code == (502 if outcome == "error" else 200)
    if outcome == "error":
        # the client is told to come back; the operator's log says what the SDK raised
        assert "retry" in response.json()["error"]["message"]
        logged = [r.getMessage() for r in caplog.records if r.name == "app.service"]
        assert logged == ["agent run failed: MaxTurnsExceeded: Max turns (1) exceeded"]
    assert f'daca_agent_run_duration_seconds_count{{outcome="{outcome}"}} 1.0' in text


async def test_a_run_paused_for_approval_is_timed_as_interrupted() -> None:
    async with running_app() as (_, client):
        await client.post(
            "/v1/sessions/t/messages", json={"content": "Please refund order B-42 for 30"}
        )
        text = (await client.get("/metrics")).text
    assert 'daca_agent_run_duration_seconds_count{outcome="interrupted"} 1.0' in text
