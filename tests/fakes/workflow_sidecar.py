"""A fake of daprd's workflow engine: Dapr's ``TaskHubSidecarService`` (the durabletask
gRPC protocol, from the protos the Dapr Python SDK ships in ``dapr.ext.workflow``), so the
SDK's own, unmodified ``WorkflowRuntime`` (worker) and ``DaprWorkflowClient`` run against it.

Written for the SDK pinned in pyproject.toml (``dapr[workflow]==1.19.0``: durabletask
protos ``PROTO_SOURCE_COMMIT_HASH`` 68be09ef7e29a1e60af88cea580815df6e85b50e).

What it does, as daprd's engine does:

* ``StartInstance`` records the instance and dispatches a workflow work item whose new
  events are ``WorkflowStarted`` (its timestamp is the workflow's current time) and
  ``ExecutionStarted``; ``GetWorkItems`` streams work items to the worker.
* ``CompleteOrchestratorTask`` commits the dispatched events to the history and applies
  the actions: ``scheduleTask`` -> ``TaskScheduled`` + an activity work item;
  ``createTimer`` -> ``TimerCreated`` (fires when the clock reaches it); ``completeWorkflow``
  -> completed / failed, or a fresh execution for ``continue_as_new``.
* ``CompleteActivityTask`` -> ``TaskCompleted`` / ``TaskFailed``; ``RaiseEvent`` ->
  ``EventRaised`` (kept until the workflow waits for it: the worker buffers it). One
  workflow work item per instance is outstanding at a time; what arrives meanwhile is
  delivered with the next.
* Work items handed to a stream that closes unanswered are dispatched again (a worker that
  restarts gets them back); a late answer for a task already answered is ignored.

Time is a clock the test moves (``clock.advance`` then ``fire_due_timers``): deadlines and
retry back-offs pass without sleeping. Not covered: child workflows, suspend/resume,
purge, versioning, history streaming.
"""

from __future__ import annotations

import itertools
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc
from dapr.ext.workflow._durabletask.internal import (
    history_events_pb2 as history,
)
from dapr.ext.workflow._durabletask.internal import (
    orchestration_pb2 as orchestration,
)
from dapr.ext.workflow._durabletask.internal import (
    orchestrator_service_pb2 as service,
)
from dapr.ext.workflow._durabletask.internal import (
    orchestrator_service_pb2_grpc as service_grpc,
)
from google.protobuf import empty_pb2, timestamp_pb2, wrappers_pb2

from app.workflows.clock import ManualClock

RUNNING = orchestration.ORCHESTRATION_STATUS_RUNNING
COMPLETED = orchestration.ORCHESTRATION_STATUS_COMPLETED
CONTINUED_AS_NEW = orchestration.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
FAILED = orchestration.ORCHESTRATION_STATUS_FAILED
TERMINATED = orchestration.ORCHESTRATION_STATUS_TERMINATED
PENDING = orchestration.ORCHESTRATION_STATUS_PENDING


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@dataclass
class _Instance:
    instance_id: str
    name: str
    input: str | None
    created: datetime
    execution_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: int = PENDING
    history: list[history.HistoryEvent] = field(default_factory=list)
    inbox: list[history.HistoryEvent] = field(default_factory=list)
    #: events of the work item the worker is processing (None: nothing outstanding)
    dispatched: list[history.HistoryEvent] | None = None
    output: str | None = None
    custom_status: str | None = None
    failure: orchestration.TaskFailureDetails | None = None
    updated: datetime | None = None
    #: task ids scheduled and not answered yet
    open_tasks: set[int] = field(default_factory=set)


class FakeTaskHub(service_grpc.TaskHubSidecarServiceServicer):  # type: ignore[misc]
    """The workflow half of a fake daprd (add it to the fake sidecar's gRPC server)."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock()
        self._lock = threading.RLock()
        self._instances: dict[str, _Instance] = {}
        self._work: queue.Queue[service.WorkItem] = queue.Queue()
        self._timers: list[tuple[datetime, str, str, int]] = []  # fire_at, instance, exec, id
        self._tokens = itertools.count(1)
        #: work items handed out and not answered, by completion token
        self._outstanding: dict[str, service.WorkItem] = {}
        self.streams = 0

    # -- test controls --------------------------------------------------------------------

    def fire_due_timers(self) -> int:
        """Fire every timer whose time has come on the clock; returns how many fired."""
        now = self.clock.now()
        with self._lock:
            due = [timer for timer in self._timers if timer[0] <= now]
            self._timers = [timer for timer in self._timers if timer[0] > now]
            for fire_at, instance_id, execution_id, timer_id in due:
                instance = self._instances.get(instance_id)
                if instance is None or instance.execution_id != execution_id:
                    continue
                self._deliver(
                    instance,
                    self._event(
                        timerFired=history.TimerFiredEvent(
                            fireAt=_timestamp(fire_at), timerId=timer_id
                        )
                    ),
                )
        return len(due)

    def pending_timers(self) -> list[datetime]:
        """When each timer created and not yet fired is due. (The SDK's
        ``wait_for_external_event`` without a timeout holds one due in year 9999.)"""
        with self._lock:
            return sorted(timer[0] for timer in self._timers)

    def idle(self) -> bool:
        """Nothing queued, nothing handed out and unanswered."""
        with self._lock:
            return self._work.empty() and not self._outstanding

    def status(self, instance_id: str) -> int | None:
        with self._lock:
            instance = self._instances.get(instance_id)
            return None if instance is None else instance.status

    # -- engine ---------------------------------------------------------------------------

    def _event(self, event_id: int = -1, **kind: Any) -> history.HistoryEvent:
        return history.HistoryEvent(
            eventId=event_id, timestamp=_timestamp(self.clock.now()), **kind
        )

    def _enqueue(self, item: service.WorkItem) -> None:
        item.completionToken = str(next(self._tokens))
        self._work.put(item)

    def _dispatch(self, instance: _Instance) -> None:
        """Hand the instance's inbox to the worker, unless a work item is outstanding."""
        if instance.dispatched is not None or not instance.inbox:
            return
        if instance.status not in (RUNNING, PENDING):
            instance.inbox.clear()
            return
        events = [self._event(workflowStarted=history.WorkflowStartedEvent()), *instance.inbox]
        instance.inbox = []
        instance.dispatched = events
        self._enqueue(
            service.WorkItem(
                workflowRequest=service.WorkflowRequest(
                    instanceId=instance.instance_id,
                    executionId=wrappers_pb2.StringValue(value=instance.execution_id),
                    pastEvents=instance.history,
                    newEvents=events,
                )
            )
        )

    def _deliver(self, instance: _Instance, event: history.HistoryEvent) -> None:
        instance.inbox.append(event)
        self._dispatch(instance)

    def _started(self, instance: _Instance) -> history.HistoryEvent:
        return self._event(
            executionStarted=history.ExecutionStartedEvent(
                name=instance.name,
                input=None
                if instance.input is None
                else wrappers_pb2.StringValue(value=instance.input),
                workflowInstance=orchestration.WorkflowInstance(
                    instanceId=instance.instance_id,
                    executionId=wrappers_pb2.StringValue(value=instance.execution_id),
                ),
            )
        )

    # -- client API -----------------------------------------------------------------------

    def Hello(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def StartInstance(
        self, request: service.CreateInstanceRequest, context: grpc.ServicerContext
    ) -> service.CreateInstanceResponse:
        instance_id = request.instanceId or uuid.uuid4().hex
        with self._lock:
            existing = self._instances.get(instance_id)
            if existing is not None and existing.status in (RUNNING, PENDING):
                context.abort(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"an active workflow with ID '{instance_id}' already exists",
                )
            instance = _Instance(
                instance_id=instance_id,
                name=request.name,
                input=request.input.value if request.HasField("input") else None,
                created=self.clock.now(),
            )
            self._instances[instance_id] = instance
            self._deliver(instance, self._started(instance))
        return service.CreateInstanceResponse(instanceId=instance_id)

    def GetInstance(
        self, request: service.GetInstanceRequest, context: grpc.ServicerContext
    ) -> service.GetInstanceResponse:
        with self._lock:
            instance = self._instances.get(request.instanceId)
            if instance is None:
                return service.GetInstanceResponse(exists=False)
            state = orchestration.WorkflowState(
                instanceId=instance.instance_id,
                name=instance.name,
                workflowStatus=instance.status,
                createdTimestamp=_timestamp(instance.created),
                lastUpdatedTimestamp=_timestamp(instance.updated or instance.created),
                executionId=wrappers_pb2.StringValue(value=instance.execution_id),
            )
            if request.getInputsAndOutputs:
                if instance.input is not None:
                    state.input.value = instance.input
                if instance.output is not None:
                    state.output.value = instance.output
            if instance.custom_status is not None:
                state.customStatus.value = instance.custom_status
            if instance.failure is not None:
                state.failureDetails.CopyFrom(instance.failure)
        return service.GetInstanceResponse(exists=True, workflowState=state)

    def RaiseEvent(
        self, request: service.RaiseEventRequest, context: grpc.ServicerContext
    ) -> service.RaiseEventResponse:
        with self._lock:
            instance = self._instances.get(request.instanceId)
            if instance is None:
                context.abort(
                    grpc.StatusCode.NOT_FOUND, f"no such instance exists: {request.instanceId}"
                )
            event = history.EventRaisedEvent(name=request.name)
            if request.HasField("input"):
                event.input.value = request.input.value
            self._deliver(instance, self._event(eventRaised=event))
        return service.RaiseEventResponse()

    def TerminateInstance(
        self, request: service.TerminateRequest, context: grpc.ServicerContext
    ) -> service.TerminateResponse:
        with self._lock:
            instance = self._instances.get(request.instanceId)
            if instance is not None and instance.status in (RUNNING, PENDING):
                instance.status = TERMINATED
                instance.updated = self.clock.now()
        return service.TerminateResponse()

    # -- worker API -----------------------------------------------------------------------

    def GetWorkItems(
        self, request: service.GetWorkItemsRequest, context: grpc.ServicerContext
    ) -> Iterator[service.WorkItem]:
        with self._lock:
            self.streams += 1
            stream = self.streams
            # the newest worker gets back what a vanished one left unanswered (one app: a
            # new stream means the old worker is gone, whatever its channel still says)
            for item in self._outstanding.values():
                self._work.put(item)
            self._outstanding.clear()
        while context.is_active() and stream == self.streams:
            try:
                item = self._work.get(timeout=0.05)
            except queue.Empty:
                continue
            with self._lock:
                if stream != self.streams:
                    self._work.put(item)  # superseded while waiting: not ours to hand out
                    return
                self._outstanding[item.completionToken] = item
            yield item

    def _answered(self, token: str) -> service.WorkItem | None:
        return self._outstanding.pop(token, None)

    def CompleteActivityTask(
        self, request: service.ActivityResponse, context: grpc.ServicerContext
    ) -> service.CompleteTaskResponse:
        with self._lock:
            self._answered(request.completionToken)
            instance = self._instances.get(request.instanceId)
            if instance is None or request.taskId not in instance.open_tasks:
                return service.CompleteTaskResponse()  # late or repeated: already answered
            instance.open_tasks.discard(request.taskId)
            if request.HasField("failureDetails"):
                event = self._event(
                    taskFailed=history.TaskFailedEvent(
                        taskScheduledId=request.taskId, failureDetails=request.failureDetails
                    )
                )
            else:
                completed = history.TaskCompletedEvent(taskScheduledId=request.taskId)
                if request.HasField("result"):
                    completed.result.value = request.result.value
                event = self._event(taskCompleted=completed)
            self._deliver(instance, event)
        return service.CompleteTaskResponse()

    def CompleteOrchestratorTask(
        self, request: service.WorkflowResponse, context: grpc.ServicerContext
    ) -> service.CompleteTaskResponse:
        with self._lock:
            self._answered(request.completionToken)
            instance = self._instances.get(request.instanceId)
            if instance is None or instance.dispatched is None:
                return service.CompleteTaskResponse()
            instance.history.extend(instance.dispatched)
            instance.dispatched = None
            if instance.status == PENDING:
                instance.status = RUNNING
            instance.updated = self.clock.now()
            if request.HasField("customStatus"):
                instance.custom_status = request.customStatus.value
            for action in request.actions:
                self._apply(instance, action)
            self._dispatch(instance)
        return service.CompleteTaskResponse()

    def _apply(self, instance: _Instance, action: Any) -> None:
        kind = action.WhichOneof("workflowActionType")
        if kind == "scheduleTask":
            task = action.scheduleTask
            scheduled = history.TaskScheduledEvent(name=task.name)
            if task.HasField("input"):
                scheduled.input.value = task.input.value
            instance.history.append(self._event(action.id, taskScheduled=scheduled))
            instance.open_tasks.add(action.id)
            request = service.ActivityRequest(
                name=task.name,
                taskId=action.id,
                workflowInstance=orchestration.WorkflowInstance(
                    instanceId=instance.instance_id,
                    executionId=wrappers_pb2.StringValue(value=instance.execution_id),
                ),
                taskExecutionId=task.taskExecutionId,
            )
            if task.HasField("input"):
                request.input.value = task.input.value
            self._enqueue(service.WorkItem(activityRequest=request))
        elif kind == "createTimer":
            timer = action.createTimer
            created = history.TimerCreatedEvent(fireAt=timer.fireAt)
            instance.history.append(self._event(action.id, timerCreated=created))
            fire_at = timer.fireAt.ToDatetime(tzinfo=self.clock.now().tzinfo)
            self._timers.append((fire_at, instance.instance_id, instance.execution_id, action.id))
        elif kind == "completeWorkflow":
            self._complete(instance, action.completeWorkflow)
        else:
            raise NotImplementedError(f"the fake task hub does not do {kind} actions")

    def _complete(self, instance: _Instance, done: Any) -> None:
        if done.workflowStatus == CONTINUED_AS_NEW:
            carried = list(done.carryoverEvents)
            instance.execution_id = uuid.uuid4().hex
            instance.history = []
            instance.open_tasks.clear()
            instance.input = done.result.value if done.HasField("result") else None
            instance.status = RUNNING
            instance.inbox = [self._started(instance), *carried, *instance.inbox]
            return  # dispatched by the caller, once every action is applied
        instance.status = done.workflowStatus
        instance.output = done.result.value if done.HasField("result") else None
        if done.HasField("failureDetails"):
            instance.failure = done.failureDetails
        instance.history.append(
            self._event(
                executionCompleted=history.ExecutionCompletedEvent(
                    workflowStatus=done.workflowStatus,
                    result=done.result if done.HasField("result") else None,
                )
            )
        )
        instance.inbox.clear()
