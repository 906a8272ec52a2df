"""The ``Workflows`` port on the app's own state machine: durable, replayed workflow
instances kept as ETag-guarded documents in the state store.

Used where Dapr Workflows are not available (Azure Container Apps' managed Dapr, and a laptop
run on the embedded store). It runs the same generator workflows as Dapr's engine, with the
same replay rule: every completed step (activity result or failure, fired timer, consumed
event, ``when_any`` winner) is appended to the instance's history before the workflow sees
it, and each run replays the generator from the start against that history, so a process
that dies mid-run loses at most the activities it was executing (run again: at least once,
as on Dapr).

Documents: ``workflow-{id}`` (input, history, inbox of raised events, status, lease) and
``workflow-index-{n}`` (running instances and when each is due, in a few shards). One
replica runs an instance at a time: it takes a lease with an ETag write and renews it at
every checkpoint; another replica takes over once the lease has expired. Timers are fired by
``run_due``, which a ticker calls every ``tick_seconds`` (and the cron sweep, and tests with a
manual clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Coroutine, Generator
from datetime import datetime, timedelta
from typing import Any

from app.documents import DELETE, Document, DocumentStore
from app.workflows.clock import Clock
from app.workflows.port import (
    ActivityFailedError,
    InstanceState,
    InstanceStatus,
    RetryPolicy,
    WorkflowAlreadyExistsError,
    WorkflowRegistry,
    WorkflowTask,
)

logger = logging.getLogger(__name__)

INDEX_SHARDS = 8
#: how many times one call re-runs an instance that keeps becoming runnable (events
#: arriving during a run, continue_as_new)
MAX_PASSES = 50


def instance_key(instance_id: str) -> str:
    return f"workflow-{instance_id}"


def index_key(instance_id: str) -> str:
    shard = int(hashlib.sha256(instance_id.encode()).hexdigest(), 16) % INDEX_SHARDS
    return f"workflow-index-{shard}"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _json_roundtrip(value: Any) -> Any:
    # what a replay would read back from the store, so live and replayed runs see the same
    return json.loads(json.dumps(value))


class _Task:
    """A step of a workflow; complete once its history entry exists."""

    def __init__(self) -> None:
        self.done = False
        self.result: Any = None
        self.error: str | None = None
        self.at: datetime | None = None

    @property
    def is_complete(self) -> bool:
        return self.done

    def get_result(self) -> Any:
        if self.error is not None:
            raise ActivityFailedError(self.error)
        return self.result

    def complete(self, result: Any, at: datetime | None, error: str | None = None) -> None:
        self.done, self.result, self.error, self.at = True, result, error, at


class _Leaf(_Task):
    def __init__(self, seq: int, kind: str) -> None:
        super().__init__()
        self.seq = seq
        self.kind = kind


class _ActivityTask(_Leaf):
    def __init__(self, seq: int, name: str, input: Any, retry: RetryPolicy | None) -> None:
        super().__init__(seq, "activity")
        self.name, self.input, self.retry = name, input, retry


class _TimerTask(_Leaf):
    def __init__(self, seq: int, fire_at: datetime) -> None:
        super().__init__(seq, "timer")
        self.fire_at = fire_at


class _EventTask(_Leaf):
    def __init__(self, seq: int, name: str) -> None:
        super().__init__(seq, "event")
        self.name = name


class _Composite(_Task):
    def __init__(self, seq: int, children: list[_Task], any_of: bool) -> None:
        super().__init__()
        self.seq, self.children, self.any_of = seq, children, any_of


def _leaves(task: _Task) -> list[_Leaf]:
    if isinstance(task, _Leaf):
        return [task]
    assert isinstance(task, _Composite)
    return [leaf for child in task.children for leaf in _leaves(child)]


class _ReplayContext:
    """The ``WorkflowContext`` of one run: steps found in the history complete at once."""

    def __init__(self, instance_id: str, started: datetime, history: dict[int, Document]):
        self._instance_id = instance_id
        self._history = history
        self._seq = 0
        self.now = started
        self.activities: list[_ActivityTask] = []
        self.new_input: Any = None
        self.continued = False

    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def current_utc_datetime(self) -> datetime:
        return self.now

    def _next(self) -> tuple[int, Document | None]:
        self._seq += 1
        return self._seq, self._history.get(self._seq)

    def call_activity(
        self, name: str, *, input: Any = None, retry_policy: RetryPolicy | None = None
    ) -> WorkflowTask:
        seq, entry = self._next()
        task = _ActivityTask(seq, name, input, retry_policy)
        if entry is not None:
            task.complete(
                entry.get("result"), datetime.fromisoformat(entry["at"]), entry.get("error")
            )
        self.activities.append(task)
        return task

    def create_timer(self, fire_at: datetime) -> WorkflowTask:
        seq, entry = self._next()
        task = _TimerTask(seq, fire_at)
        if entry is not None:
            task.complete(None, datetime.fromisoformat(entry["at"]))
        return task

    def wait_for_external_event(self, name: str) -> WorkflowTask:
        seq, entry = self._next()
        task = _EventTask(seq, name)
        if entry is not None:
            task.complete(entry.get("data"), datetime.fromisoformat(entry["at"]))
        return task

    def _composite(self, tasks: list[WorkflowTask], any_of: bool) -> _Composite:
        seq, entry = self._next()
        children = [task for task in tasks if isinstance(task, _Task)]
        composite = _Composite(seq, children, any_of)
        if any_of and entry is not None:
            winner = children[entry["winner"]]
            composite.complete(winner, datetime.fromisoformat(entry["at"]))
        return composite

    def when_all(self, tasks: list[WorkflowTask]) -> WorkflowTask:
        return self._composite(tasks, any_of=False)

    def when_any(self, tasks: list[WorkflowTask]) -> WorkflowTask:
        return self._composite(tasks, any_of=True)

    def continue_as_new(self, new_input: Any) -> None:
        self.continued, self.new_input = True, new_input


def _settle(task: _Task) -> None:
    """Complete a composite from its children (all: every child, or the first failure)."""
    if task.done or not isinstance(task, _Composite):
        return
    for child in task.children:
        _settle(child)
    if task.any_of:
        return  # decided by the engine, which records the winner
    failed = next((c for c in task.children if c.done and c.error is not None), None)
    if failed is not None:
        task.complete(None, failed.at, failed.error)
    elif all(child.done for child in task.children):
        moments = [child.at for child in task.children if child.at is not None]
        task.complete([child.result for child in task.children], max(moments, default=None))


class StateMachineWorkflows:
    """Runs registered workflows durably on a state store (see the module docstring)."""

    def __init__(
        self,
        documents: DocumentStore,
        registry: WorkflowRegistry,
        clock: Clock,
        *,
        tick_seconds: float = 1.0,
        lease_seconds: float = 60.0,
    ) -> None:
        self._docs = documents
        self._registry = registry
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._lease_span = timedelta(seconds=lease_seconds)
        self._owner = uuid.uuid4().hex
        self._running: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        #: activity executions, by name (tests prove what a restart does not run again)
        self.executions: dict[str, int] = {}

    @property
    def kind(self) -> str:
        return "state-machine"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._spawn(self.run_due())
        if self._tick_seconds > 0:
            self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                await self.run_due()
            except Exception:
                logger.exception("workflow tick failed")

    async def close(self) -> None:
        """Stop at once, like a process dying: unfinished runs resume in the next one."""
        tasks = [*self._background, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()
        self._ticker = None

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # the instance stays in the index: the ticker runs it again
            logger.error("workflow run failed: %r", task.exception())

    async def drain(self) -> None:
        """Wait until no run started by this engine is in progress (tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- the port ------------------------------------------------------------------------

    async def schedule(self, name: str, instance_id: str, input: Any) -> None:
        if name not in self._registry.workflows:
            raise KeyError(f"no workflow named {name!r}")
        now = self._clock.now()
        document: Document = {
            "instance_id": instance_id,
            "name": name,
            "input": _json_roundtrip(input),
            "status": InstanceStatus.RUNNING.value,
            "history": [],
            "inbox": [],
            "started_at": _iso(now),
            "created_at": _iso(now),
            "updated_at": _iso(now),
        }
        if not await self._docs.insert(instance_key(instance_id), document):
            existing = await self._docs.get(instance_key(instance_id))
            if existing is not None and existing["status"] == InstanceStatus.RUNNING.value:
                raise WorkflowAlreadyExistsError(instance_id)

            def restart(current: Document | None) -> Document:
                return document

            await self._docs.mutate(instance_key(instance_id), restart)
        await self._index(instance_id, now)
        self._spawn(self.advance(instance_id))

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        event = {"id": uuid.uuid4().hex, "name": name, "data": _json_roundtrip(data)}
        found = False

        def deliver(current: Document | None) -> Document | None:
            nonlocal found
            found = current is not None and current["status"] == InstanceStatus.RUNNING.value
            if current is None or not found:
                return None  # nobody is waiting any more: dropped, as Dapr does
            current["inbox"] = [*current["inbox"], event]
            return current

        await self._docs.mutate(instance_key(instance_id), deliver)
        if found:
            await self._index(instance_id, self._clock.now())
            self._spawn(self.advance(instance_id))

    async def get(self, instance_id: str) -> InstanceState | None:
        document = await self._docs.get(instance_key(instance_id))
        if document is None:
            return None
        return InstanceState(
            instance_id=instance_id,
            name=document["name"],
            status=InstanceStatus(document["status"]),
            output=document.get("output"),
            failure=document.get("failure"),
        )

    async def run_due(self) -> int:
        now = self._clock.now()
        due: list[str] = []
        for shard in range(INDEX_SHARDS):
            index = await self._docs.get(f"workflow-index-{shard}") or {}
            for instance_id, wake_at in (index.get("instances") or {}).items():
                if wake_at is not None and datetime.fromisoformat(wake_at) <= now:
                    due.append(instance_id)
        ran = 0
        for instance_id in due:
            if instance_id not in self._running:
                ran += 1
                await self.advance(instance_id)
        return ran

    # -- the index -----------------------------------------------------------------------

    async def _index(
        self, instance_id: str, wake_at: datetime | None, *, remove: bool = False
    ) -> None:
        def change(current: Document | None) -> Document | None:
            instances = dict((current or {}).get("instances") or {})
            if remove:
                if instance_id not in instances:
                    return None
                instances.pop(instance_id)
            else:
                value = None if wake_at is None else _iso(wake_at)
                if instance_id in instances and instances[instance_id] == value:
                    return None
                instances[instance_id] = value
            return {"instances": instances}

        await self._docs.mutate(index_key(instance_id), change)

    # -- running an instance -------------------------------------------------------------

    async def advance(self, instance_id: str) -> None:
        """Run ``instance_id`` as far as it can go now, unless someone else holds it."""
        if instance_id in self._running:
            return
        self._running.add(instance_id)
        try:
            for _ in range(MAX_PASSES):
                if not await self._pass(instance_id):
                    return
        finally:
            self._running.discard(instance_id)

    async def _lease(self, instance_id: str) -> Document | None:
        now = self._clock.now()
        taken = False

        def take(current: Document | None) -> Document | None:
            nonlocal taken
            taken = False
            if current is None or current["status"] != InstanceStatus.RUNNING.value:
                return None
            until = current.get("lease_until")
            if (
                until is not None
                and current.get("lease_owner") != self._owner
                and datetime.fromisoformat(until) > now
            ):
                return None  # another replica is running it
            taken = True
            current["lease_owner"] = self._owner
            current["lease_until"] = _iso(now + self._lease_span)
            return current

        document = await self._docs.mutate(instance_key(instance_id), take)
        return document if taken else None

    async def _checkpoint(
        self,
        instance_id: str,
        entries: list[Document],
        consumed: set[str],
        **fields: Any,
    ) -> Document | None:
        """Append ``entries`` to the history, drop consumed events, set ``fields``; only
        while this engine holds the lease. Returns the stored document."""
        now = self._clock.now()
        lost = False

        def change(current: Document | None) -> Document | None:
            nonlocal lost
            lost = current is None or current.get("lease_owner") != self._owner
            if lost:
                return None
            assert current is not None
            known = {entry["seq"] for entry in current["history"]}
            current["history"] = [
                *current["history"],
                *(entry for entry in entries if entry["seq"] not in known),
            ]
            current["inbox"] = [e for e in current["inbox"] if e["id"] not in consumed]
            current.update(fields)
            current["updated_at"] = _iso(now)
            if current["status"] == InstanceStatus.RUNNING.value and "lease_until" not in fields:
                current["lease_until"] = _iso(now + self._lease_span)
            return current

        stored = await self._docs.mutate(instance_key(instance_id), change)
        if lost:
            raise _LeaseLostError(instance_id)
        return stored

    async def _run_activity(self, task: _ActivityTask) -> Document:
        activity = self._registry.activities.get(task.name)
        attempt = 0
        while True:
            attempt += 1
            self.executions[task.name] = self.executions.get(task.name, 0) + 1
            try:
                if activity is None:
                    raise LookupError(f"no activity named {task.name!r}")
                result = _json_roundtrip(await activity(task.input))
                return {"seq": task.seq, "result": result, "at": _iso(self._clock.now())}
            except Exception as exc:
                if task.retry is None or attempt >= task.retry.max_attempts:
                    logger.warning("activity %s failed for good: %s", task.name, exc)
                    error = f"{type(exc).__name__}: {exc}"
                    return {"seq": task.seq, "error": error, "at": _iso(self._clock.now())}
                delay = task.retry.delay(attempt)
                logger.info("activity %s failed (%s); retry in %.1fs", task.name, exc, delay)
                await self._clock.sleep(delay)

    async def _pass(self, instance_id: str) -> bool:
        """One replay of the instance; True when it should run again at once."""
        document = await self._lease(instance_id)
        if document is None:
            state = await self._docs.get(instance_key(instance_id))
            if state is None or state["status"] != InstanceStatus.RUNNING.value:
                await self._index(instance_id, None, remove=True)
            return False
        try:
            return await self._replay(instance_id, document)
        except _LeaseLostError:
            logger.warning("workflow %s: lease lost to another replica", instance_id)
            return False

    async def _replay(self, instance_id: str, document: Document) -> bool:
        workflow = self._registry.workflows[document["name"]]
        history = {entry["seq"]: entry for entry in document["history"]}
        inbox: list[Document] = list(document["inbox"])
        seen_events = {event["id"] for event in inbox}
        ctx = _ReplayContext(instance_id, datetime.fromisoformat(document["started_at"]), history)
        generator: Generator[WorkflowTask, Any, Any] = workflow(ctx, document["input"])
        consumed: set[str] = set()
        send: Any = None
        throw: BaseException | None = None
        while True:
            try:
                yielded = generator.throw(throw) if throw is not None else generator.send(send)
            except StopIteration as stop:
                return await self._finish(instance_id, ctx, stop.value, consumed)
            except Exception as exc:
                logger.warning("workflow %s failed: %s", instance_id, exc)
                await self._checkpoint(
                    instance_id,
                    [],
                    consumed,
                    status=InstanceStatus.FAILED.value,
                    failure=f"{type(exc).__name__}: {exc}",
                    lease_until=None,
                )
                await self._index(instance_id, None, remove=True)
                return False
            finally:
                send, throw = None, None
            if not isinstance(yielded, _Task):
                throw = TypeError(f"a workflow yielded {type(yielded).__name__}, not a task")
                continue
            task = yielded
            while True:
                _settle(task)
                if task.done:
                    break
                pending = [a for a in ctx.activities if not a.done]
                if pending:
                    entries = list(await asyncio.gather(*(self._run_activity(a) for a in pending)))
                    for activity, entry in zip(pending, entries, strict=True):
                        activity.complete(
                            entry.get("result"),
                            datetime.fromisoformat(entry["at"]),
                            entry.get("error"),
                        )
                    await self._checkpoint(instance_id, entries, consumed)
                    continue
                entries = self._resolve_waits(task, inbox, consumed)
                if entries:
                    await self._checkpoint(instance_id, entries, consumed)
                    continue
                return await self._suspend(instance_id, task, consumed, seen_events)
            if task.at is not None:
                ctx.now = max(ctx.now, task.at)
            if task.error is not None:
                throw = ActivityFailedError(task.error)
            else:
                send = task.result

    def _resolve_waits(
        self, task: _Task, inbox: list[Document], consumed: set[str]
    ) -> list[Document]:
        """Fire due timers and hand over waiting events within ``task``; record the winner
        of a ``when_any`` that now has one."""
        now = self._clock.now()
        entries: list[Document] = []
        for leaf in _leaves(task):
            if leaf.done:
                continue
            if isinstance(leaf, _TimerTask) and leaf.fire_at <= now:
                leaf.complete(None, now)
                entries.append({"seq": leaf.seq, "at": _iso(now)})
            elif isinstance(leaf, _EventTask):
                event = next(
                    (e for e in inbox if e["name"] == leaf.name and e["id"] not in consumed),
                    None,
                )
                if event is not None:
                    consumed.add(event["id"])
                    leaf.complete(event["data"], now)
                    entries.append({"seq": leaf.seq, "data": event["data"], "at": _iso(now)})
        entries.extend(self._decide_any(task, now))
        return entries

    def _decide_any(self, task: _Task, now: datetime) -> list[Document]:
        if not isinstance(task, _Composite) or task.done:
            return []
        entries = [entry for child in task.children for entry in self._decide_any(child, now)]
        _settle(task)
        if task.any_of:
            for position, child in enumerate(task.children):
                _settle(child)
                if child.done:
                    task.complete(child, now)
                    entries.append({"seq": task.seq, "winner": position, "at": _iso(now)})
                    break
        return entries

    async def _suspend(
        self, instance_id: str, task: _Task, consumed: set[str], seen_events: set[str]
    ) -> bool:
        timers = [
            leaf.fire_at for leaf in _leaves(task) if isinstance(leaf, _TimerTask) and not leaf.done
        ]
        wake_at = min(timers, default=None)
        stored = await self._checkpoint(
            instance_id,
            [],
            consumed,
            wake_at=None if wake_at is None else _iso(wake_at),
            lease_until=None,
            lease_owner=None,
        )
        await self._index(instance_id, wake_at)
        # an event raised while this run was going: run again rather than wait for it
        arrived = {e["id"] for e in (stored or {}).get("inbox", [])} - seen_events
        return bool(arrived)

    async def _finish(
        self, instance_id: str, ctx: _ReplayContext, output: Any, consumed: set[str]
    ) -> bool:
        if ctx.continued:
            now = self._clock.now()
            await self._checkpoint(
                instance_id,
                [],
                consumed,
                input=_json_roundtrip(ctx.new_input),
                history=[],
                started_at=_iso(max(now, ctx.now)),
            )
            return True
        await self._checkpoint(
            instance_id,
            [],
            consumed,
            status=InstanceStatus.COMPLETED.value,
            output=_json_roundtrip(output),
            lease_until=None,
            lease_owner=None,
            wake_at=None,
        )
        await self._index(instance_id, None, remove=True)
        return False

    async def purge(self, instance_id: str) -> None:
        """Forget a finished instance."""

        def drop(current: Document | None) -> Document | None:
            if current is None or current["status"] == InstanceStatus.RUNNING.value:
                return None
            return DELETE

        await self._docs.mutate(instance_key(instance_id), drop)


class _LeaseLostError(Exception):
    """Another replica took the instance over (our lease expired): stop running it."""
