"""The ``Workflows`` port's contract: each workflow pattern, run the same way against every
adapter. Time is a manual clock: deadlines pass without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from app.config import load_settings
from app.documents import DocumentStore
from app.store import EmbeddedStateStore
from app.workflows.clock import ManualClock
from app.workflows.dapr_engine import DaprWorkflows
from app.workflows.port import (
    InstanceState,
    InstanceStatus,
    RetryPolicy,
    WorkflowAlreadyExistsError,
    WorkflowContext,
    WorkflowRegistry,
    Workflows,
)
from app.workflows.state_machine import StateMachineWorkflows
from tests.fakes.dapr_sidecar import FakeDaprSidecar
from tests.fakes.workflow_sidecar import FakeTaskHub

pytestmark = pytest.mark.anyio


# -- workflows under test, one pattern each ------------------------------------------------


@dataclass
class Activities:
    """Activities that count their calls; ``gate`` holds ``blocking`` until released."""

    calls: dict[str, int] = field(default_factory=dict)
    fail_first: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def _count(self, name: str) -> int:
        self.calls[name] = self.calls.get(name, 0) + 1
        return self.calls[name]

    async def double(self, value: Any) -> int:
        self._count("double")
        return int(value) * 2

    async def shout(self, value: Any) -> str:
        self._count("shout")
        return str(value).upper() + "!"

    async def flaky(self, value: Any) -> Any:
        if self._count("flaky") <= self.fail_first:
            raise RuntimeError("model unavailable")
        return value

    async def blocking(self, value: Any) -> Any:
        self._count("blocking")
        await self.gate.wait()
        return value


def chain(ctx: WorkflowContext, input: Any) -> Any:
    doubled = yield ctx.call_activity("double", input=input)
    shouted = yield ctx.call_activity("shout", input=doubled)
    return shouted


def fan_out_fan_in(ctx: WorkflowContext, input: Any) -> Any:
    results = yield ctx.when_all([ctx.call_activity("double", input=n) for n in input])
    return sum(results)


def retried(ctx: WorkflowContext, input: Any) -> Any:
    policy = RetryPolicy(first_interval_seconds=1.0, max_attempts=input["attempts"])
    try:
        value = yield ctx.call_activity("flaky", input="ok", retry_policy=policy)
    except Exception:
        return "gave up"
    return value


def waits_for_human(ctx: WorkflowContext, input: Any) -> Any:
    decision = ctx.wait_for_external_event("decided")
    deadline = ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=input))
    winner = yield ctx.when_any([decision, deadline])
    if winner is decision:
        return {"decision": decision.get_result()}
    return {"decision": "timed out"}


def counts_rounds(ctx: WorkflowContext, input: Any) -> Any:
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=10))
    if input < 3:
        ctx.continue_as_new(input + 1)
        return None
    return input


def crashes(ctx: WorkflowContext, input: Any) -> Any:
    yield ctx.call_activity("double", input=1)
    raise ValueError("bug in the workflow")


def survives_restart(ctx: WorkflowContext, input: Any) -> Any:
    first = yield ctx.call_activity("double", input=input)
    second = yield ctx.call_activity("blocking", input=first)
    return second


WORKFLOWS = {
    "chain": chain,
    "fan_out_fan_in": fan_out_fan_in,
    "retried": retried,
    "waits_for_human": waits_for_human,
    "counts_rounds": counts_rounds,
    "crashes": crashes,
    "survives_restart": survives_restart,
}


def registry_for(activities: Activities) -> WorkflowRegistry:
    registry = WorkflowRegistry()
    for name, workflow in WORKFLOWS.items():
        registry.workflow(name, workflow)
    for name in ("double", "shout", "flaky", "blocking"):
        registry.activity(name, getattr(activities, name))
    return registry


# -- the harness each adapter provides ------------------------------------------------------


@dataclass
class Harness:
    """An engine, its clock, and how to let it run and to restart it."""

    engine: Workflows
    clock: ManualClock
    activities: Activities
    settle: Callable[[], Awaitable[None]]
    restart: Callable[[], Awaitable[Workflows]]
    fire_timers: Callable[[], Awaitable[None]]

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: due timers fire, then everything runs that can."""
        self.clock.advance(seconds)
        await self.fire_timers()
        await self.settle()

    async def state(self, instance_id: str) -> InstanceState:
        await self.settle()
        state = await self.engine.get(instance_id)
        assert state is not None
        return state


@pytest.fixture(params=["state-machine", "dapr"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "dapr":
        async with dapr_harness() as harness:
            yield harness
        return
    activities = Activities()
    clock = ManualClock()
    store = EmbeddedStateStore()  # what survives a restart

    def build() -> StateMachineWorkflows:
        return StateMachineWorkflows(
            DocumentStore(store), registry_for(activities), clock, tick_seconds=0
        )

    current = build()
    await current.start()

    async def settle() -> None:
        await current.drain()

    async def restart() -> Workflows:
        nonlocal current
        await current.close()  # cancels runs in flight, as a dying process would
        current = build()
        harness.engine = current
        await current.start()
        return current

    async def fire_timers() -> None:
        await current.run_due()

    harness = Harness(current, clock, activities, settle, restart, fire_timers)
    yield harness
    await current.close()


@asynccontextmanager
async def dapr_harness() -> AsyncIterator[Harness]:
    """The Dapr adapter: the SDK's unmodified worker and client against a fake daprd whose
    workflow engine keeps the history (it survives the worker's restart)."""
    activities = Activities()
    clock = ManualClock()
    hub = FakeTaskHub(clock)
    sidecar = FakeDaprSidecar(workflows=hub)
    grpc_port, http_port = sidecar.start()
    settings = load_settings(dapr_grpc_port=grpc_port, dapr_http_port=http_port)

    def build() -> DaprWorkflows:
        return DaprWorkflows(settings, registry_for(activities))

    current = build()
    await current.start()

    async def settle() -> None:
        quiet = 0
        for _ in range(1000):  # the worker runs in threads: wait until the hub stays idle
            quiet = quiet + 1 if hub.idle() else 0
            if quiet >= 3:
                return
            await asyncio.sleep(0.01)

    async def restart() -> Workflows:
        nonlocal current
        await current.close()
        current = build()
        harness.engine = current
        await current.start()
        return current

    async def fire_timers() -> None:
        hub.fire_due_timers()

    harness = Harness(current, clock, activities, settle, restart, fire_timers)
    try:
        yield harness
    finally:
        await current.close()
        sidecar.stop()


# -- the contract -----------------------------------------------------------------------------


async def test_chained_activities_pass_results_along(harness: Harness) -> None:
    await harness.engine.schedule("chain", "c1", 21)
    state = await harness.state("c1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, "42!")


async def test_fan_out_runs_every_activity_and_fans_in_in_order(harness: Harness) -> None:
    await harness.engine.schedule("fan_out_fan_in", "f1", [1, 2, 3, 4])
    state = await harness.state("f1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, 20)
    assert harness.activities.calls["double"] == 4


async def test_a_failing_activity_is_retried_with_backoff(harness: Harness) -> None:
    harness.activities.fail_first = 2
    await harness.engine.schedule("retried", "r1", {"attempts": 3})
    state = await harness.state("r1")
    for _ in range(5):  # an engine that waits on durable retry timers needs time to pass
        if state.status is InstanceStatus.COMPLETED:
            break
        await harness.advance(10)
        state = await harness.state("r1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, "ok")
    assert harness.activities.calls["flaky"] == 3


async def test_an_activity_failing_every_attempt_raises_into_the_workflow(
    harness: Harness,
) -> None:
    harness.activities.fail_first = 99
    await harness.engine.schedule("retried", "r2", {"attempts": 2})
    state = await harness.state("r2")
    for _ in range(5):
        if state.status is InstanceStatus.COMPLETED:
            break
        await harness.advance(10)
        state = await harness.state("r2")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, "gave up")
    assert harness.activities.calls["flaky"] == 2


async def test_an_external_event_wakes_the_workflow(harness: Harness) -> None:
    await harness.engine.schedule("waits_for_human", "h1", 60)
    assert (await harness.state("h1")).status is InstanceStatus.RUNNING
    await harness.engine.raise_event("h1", "decided", "approved")
    state = await harness.state("h1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, {"decision": "approved"})


async def test_the_deadline_wins_when_nobody_answers(harness: Harness) -> None:
    await harness.engine.schedule("waits_for_human", "h2", 60)
    await harness.advance(59)
    assert (await harness.state("h2")).status is InstanceStatus.RUNNING
    await harness.advance(2)
    state = await harness.state("h2")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, {"decision": "timed out"})
    # too late: nobody waits any more, and nothing breaks
    await harness.engine.raise_event("h2", "decided", "approved")
    assert (await harness.state("h2")).output == {"decision": "timed out"}


async def test_continue_as_new_loops_on_a_timer(harness: Harness) -> None:
    await harness.engine.schedule("counts_rounds", "m1", 0)
    for _ in range(3):
        assert (await harness.state("m1")).status is InstanceStatus.RUNNING
        await harness.advance(10)
    await harness.advance(10)
    state = await harness.state("m1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, 3)


async def test_a_workflow_that_raises_fails(harness: Harness) -> None:
    await harness.engine.schedule("crashes", "x1", None)
    state = await harness.state("x1")
    assert state.status is InstanceStatus.FAILED
    assert "bug in the workflow" in (state.failure or "")


async def test_a_running_instance_id_cannot_be_scheduled_twice(harness: Harness) -> None:
    await harness.engine.schedule("waits_for_human", "d1", 60)
    await harness.settle()
    with pytest.raises(WorkflowAlreadyExistsError):
        await harness.engine.schedule("waits_for_human", "d1", 60)


async def test_unknown_instances_are_none(harness: Harness) -> None:
    assert await harness.engine.get("nope") is None


async def test_a_restart_mid_workflow_resumes_without_redoing_finished_steps(
    harness: Harness,
) -> None:
    await harness.engine.schedule("survives_restart", "s1", 5)
    for _ in range(200):  # the instance is inside the blocking activity
        if harness.activities.calls.get("blocking"):
            break
        await asyncio.sleep(0.01)
    assert harness.activities.calls == {"double": 1, "blocking": 1}

    await harness.restart()
    harness.activities.gate.set()
    await harness.advance(120)  # past the dead runner's lease, where an engine has one
    state = await harness.state("s1")
    assert (state.status, state.output) == (InstanceStatus.COMPLETED, 10)
    # the finished step was replayed from history; the interrupted one ran again
    assert harness.activities.calls == {"double": 1, "blocking": 2}
