"""The ``Workflows`` port: what workflow code may do (``WorkflowContext``) and what the app
asks of an engine (``Workflows``). Both adapters implement it; the contract tests
(tests/app/test_workflow_contract.py) run the same cases against each.

Workflow code is a generator in Dapr's style: it yields tasks (activities, timers, external
events, ``when_all``/``when_any`` of them) and receives their results. It must be
deterministic: time comes from ``ctx.current_utc_datetime``, anything else from activities.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class WorkflowTask(Protocol):
    """A yielded unit of work; after it completes, ``get_result`` gives its value."""

    @property
    def is_complete(self) -> bool: ...

    def get_result(self) -> Any: ...


class WorkflowContext(Protocol):
    """The calls a workflow makes; the subset of Dapr's ``DaprWorkflowContext`` both
    adapters serve (``when_all``/``when_any`` are methods here, module functions in Dapr)."""

    @property
    def instance_id(self) -> str: ...

    @property
    def current_utc_datetime(self) -> datetime: ...

    def call_activity(
        self, name: str, *, input: Any = None, retry_policy: RetryPolicy | None = None
    ) -> WorkflowTask: ...

    def create_timer(self, fire_at: datetime) -> WorkflowTask: ...

    def wait_for_external_event(self, name: str) -> WorkflowTask: ...

    def when_all(self, tasks: list[WorkflowTask]) -> WorkflowTask: ...

    def when_any(self, tasks: list[WorkflowTask]) -> WorkflowTask: ...

    def continue_as_new(self, new_input: Any) -> None: ...


#: a workflow: ``def wf(ctx, input) -> Generator[task, result, output]``
WorkflowFunction = Callable[[WorkflowContext, Any], Generator[WorkflowTask, Any, Any]]
#: an activity: an async function of its JSON input, returning JSON
ActivityFunction = Callable[[Any], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an activity is retried when it raises."""

    first_interval_seconds: float
    max_attempts: int
    backoff: float = 2.0
    max_interval_seconds: float = 60.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` failures (1-based)."""
        return min(
            self.first_interval_seconds * self.backoff ** (failed_attempts - 1),
            self.max_interval_seconds,
        )


class ActivityFailedError(Exception):
    """An activity kept failing after its retries (raised into the workflow)."""


@dataclass
class WorkflowRegistry:
    """The workflows and activities an engine runs, by name."""

    workflows: dict[str, WorkflowFunction] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)

    def workflow(self, name: str, fn: WorkflowFunction) -> None:
        self.workflows[name] = fn

    def activity(self, name: str, fn: ActivityFunction) -> None:
        self.activities[name] = fn


class InstanceStatus(StrEnum):
    """Where a workflow instance is."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class InstanceState:
    """An instance as the engine reports it."""

    instance_id: str
    name: str
    status: InstanceStatus
    output: Any = None
    failure: str | None = None


class WorkflowAlreadyExistsError(Exception):
    """``schedule`` with an instance id that is already running."""


class Workflows(Protocol):
    """The port: start, signal and inspect durable workflow instances."""

    @property
    def kind(self) -> str: ...

    async def start(self) -> None:
        """Begin executing (resume instances a previous process left running)."""

    async def close(self) -> None: ...

    async def schedule(self, name: str, instance_id: str, input: Any) -> None:
        """Start ``name`` as ``instance_id``; WorkflowAlreadyExistsError if it is running."""

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        """Deliver an external event (kept until the workflow waits for it)."""

    async def get(self, instance_id: str) -> InstanceState | None: ...

    async def run_due(self) -> int:
        """Fire due timers and resume stalled instances; returns how many ran. (Dapr's
        runtime does this itself: 0 there.)"""
