"""The app tests' event loop: anyio's one loop per test, safe from grpc's late callbacks.

grpc.aio hands every completion to one process-wide poller, which dispatches it to the loop
that started the call with ``call_soon_threadsafe`` (grpc/grpc#25364, #23377). A call whose
completion lands after its test's loop has closed is dispatched from the *next* test's
loop, and the closed loop's ``RuntimeError: Event loop is closed`` then fails that next,
unrelated test. A process that serves the app has one loop for its whole life, so only
tests meet this. Here a closed loop drops grpc's callbacks: they would only complete
futures nobody can await any more. Every other late callback still raises.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

from grpc._cython import cygrpc

# the callback grpc's poller schedules on a call's loop (grpc/_cython/_cygrpc/aio)
_GRPC_COMPLETION: object = getattr(cygrpc, "_handle_callback_wrapper", None)


class GrpcSafeEventLoop(asyncio.SelectorEventLoop):
    """A selector loop that, once closed, drops grpc completions instead of raising."""

    def call_soon_threadsafe(
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        if self.is_closed() and callback is _GRPC_COMPLETION:
            dropped = asyncio.Handle(callback, args, self, context)
            dropped.cancel()
            return dropped
        return super().call_soon_threadsafe(callback, *args, context=context)
