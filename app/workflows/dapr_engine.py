"""The ``Workflows`` port on Dapr Workflows: the Dapr Python SDK's workflow extension
(``dapr[workflow]``, pinned) runs the same generator workflows, with daprd (>= 1.18, an actor
state store configured) keeping their history.

The SDK's worker runs in a thread with an event loop of its own; the activities belong to the
app's loop (its store and publisher clients live there), so each activity is handed to the
app's loop and awaited from the worker's."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from dapr.ext.workflow import (
    DaprWorkflowContext,
    WorkflowActivityContext,
    WorkflowRuntime,
    WorkflowStatus,
    when_all,
    when_any,
)
from dapr.ext.workflow import RetryPolicy as DaprRetryPolicy
from dapr.ext.workflow.aio import DaprWorkflowClient

from app.config import Settings
from app.store import BackendUnavailableError
from app.workflows.port import (
    ActivityFunction,
    InstanceState,
    InstanceStatus,
    RetryPolicy,
    WorkflowAlreadyExistsError,
    WorkflowFunction,
    WorkflowRegistry,
    WorkflowTask,
)

logger = logging.getLogger(__name__)

_STATUS = {
    WorkflowStatus.RUNNING: InstanceStatus.RUNNING,
    WorkflowStatus.PENDING: InstanceStatus.RUNNING,
    WorkflowStatus.SUSPENDED: InstanceStatus.RUNNING,
    WorkflowStatus.STALLED: InstanceStatus.RUNNING,
    WorkflowStatus.COMPLETED: InstanceStatus.COMPLETED,
    WorkflowStatus.FAILED: InstanceStatus.FAILED,
    WorkflowStatus.TERMINATED: InstanceStatus.TERMINATED,
}


class _DaprContext:
    """``WorkflowContext`` over the SDK's ``DaprWorkflowContext``."""

    def __init__(self, ctx: DaprWorkflowContext) -> None:
        self._ctx = ctx

    @property
    def instance_id(self) -> str:
        return str(self._ctx.instance_id)

    @property
    def current_utc_datetime(self) -> datetime:
        moment: datetime = self._ctx.current_utc_datetime
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def call_activity(
        self, name: str, *, input: Any = None, retry_policy: RetryPolicy | None = None
    ) -> WorkflowTask:
        policy = None
        if retry_policy is not None:
            policy = DaprRetryPolicy(
                first_retry_interval=timedelta(seconds=retry_policy.first_interval_seconds),
                max_number_of_attempts=retry_policy.max_attempts,
                backoff_coefficient=retry_policy.backoff,
                max_retry_interval=timedelta(seconds=retry_policy.max_interval_seconds),
            )
        task: WorkflowTask = self._ctx.call_activity(name, input=input, retry_policy=policy)
        return task

    def create_timer(self, fire_at: datetime) -> WorkflowTask:
        task: WorkflowTask = self._ctx.create_timer(fire_at)
        return task

    def wait_for_external_event(self, name: str) -> WorkflowTask:
        task: WorkflowTask = self._ctx.wait_for_external_event(name)
        return task

    def when_all(self, tasks: list[WorkflowTask]) -> WorkflowTask:
        task: WorkflowTask = when_all(tasks)  # type: ignore[arg-type]  # the SDK's own tasks
        return task

    def when_any(self, tasks: list[WorkflowTask]) -> WorkflowTask:
        task: WorkflowTask = when_any(tasks)  # type: ignore[arg-type]  # the SDK's own tasks
        return task

    def continue_as_new(self, new_input: Any) -> None:
        self._ctx.continue_as_new(new_input)


def _unavailable(doing: str, exc: grpc.RpcError) -> BackendUnavailableError:
    """The sidecar's workflow API failed: the app's 503, not a 500."""
    return BackendUnavailableError(f"{doing} a workflow failed at the Dapr sidecar: {exc.code()}")


class DaprWorkflows:
    """Runs the registry's workflows on the sidecar's workflow engine."""

    def __init__(self, settings: Settings, registry: WorkflowRegistry) -> None:
        self._host = settings.dapr_host
        self._port = str(settings.dapr_grpc_port or 50001)
        self._registry = registry
        self._runtime: WorkflowRuntime | None = None
        self._client: DaprWorkflowClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: set[concurrent.futures.Future[Any]] = set()

    @property
    def kind(self) -> str:
        return "dapr"

    def _workflow(self, fn: WorkflowFunction) -> Any:
        def workflow(ctx: DaprWorkflowContext, input: Any = None) -> Generator[Any, Any, Any]:
            return (yield from fn(_DaprContext(ctx), input))

        return workflow

    def _activity(self, fn: ActivityFunction) -> Any:
        async def activity(ctx: WorkflowActivityContext, input: Any = None) -> Any:
            assert self._loop is not None
            future = asyncio.run_coroutine_threadsafe(fn(input), self._loop)
            self._inflight.add(future)
            try:
                return await asyncio.wrap_future(future)
            finally:
                self._inflight.discard(future)

        return activity

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        runtime = WorkflowRuntime(host=self._host, port=self._port)
        for name, workflow in self._registry.workflows.items():
            runtime.register_workflow(self._workflow(workflow), name=name)
        for name, activity in self._registry.activities.items():
            runtime.register_activity(self._activity(activity), name=name)
        await asyncio.to_thread(runtime.start)  # returns once the work-item stream is open
        self._runtime = runtime
        self._client = DaprWorkflowClient(host=self._host, port=self._port)

    async def close(self) -> None:
        for future in list(self._inflight):
            future.cancel()  # as if the process died: the engine dispatches them again
        if self._runtime is not None:
            await asyncio.to_thread(self._runtime.shutdown)
            self._runtime = None
        client, self._client = self._client, None
        inner = getattr(client, "_DaprWorkflowClient__obj", None)  # the SDK has no close
        if inner is not None:
            await inner.aclose()

    def _connected(self) -> DaprWorkflowClient:
        if self._client is None:
            raise RuntimeError("the Dapr workflow engine is not started")
        return self._client

    async def schedule(self, name: str, instance_id: str, input: Any) -> None:
        try:
            await self._connected().schedule_new_workflow(
                name, input=input, instance_id=instance_id
            )
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.ALREADY_EXISTS:
                raise WorkflowAlreadyExistsError(instance_id) from exc
            raise _unavailable("scheduling", exc) from exc

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        try:
            await self._connected().raise_workflow_event(instance_id, name, data=data)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise _unavailable("raising an event on", exc) from exc

    async def get(self, instance_id: str) -> InstanceState | None:
        try:
            state = await self._connected().get_workflow_state(instance_id, fetch_payloads=True)
        except grpc.RpcError as exc:
            raise _unavailable("reading", exc) from exc
        if state is None:
            return None
        output = state.serialized_output
        failure = state.failure_details
        return InstanceState(
            instance_id=instance_id,
            name=str(state.name),
            status=_STATUS.get(state.runtime_status, InstanceStatus.RUNNING),
            output=None if output is None else json.loads(output),
            failure=None if failure is None else str(failure.message),
        )

    async def run_due(self) -> int:
        return 0  # daprd fires the timers
