"""Prometheus metrics (one registry per app instance) and the ASGI middleware that feeds the
request metrics and enforces the body-size limit."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """The service's metrics; a registry per instance keeps tests and apps independent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "daca_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "daca_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["method", "route"],
            registry=self.registry,
        )
        self.agent_runs = Histogram(
            "daca_agent_run_duration_seconds",
            "Agent runs (model calls and tools) by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.model_tokens = Counter(
            "daca_model_tokens",
            "Model tokens reported by the provider, by direction.",
            ["direction"],
            registry=self.registry,
        )
        self.state_conflicts = Counter(
            "daca_state_conflicts_retried",
            "State-store writes retried after an ETag conflict.",
            registry=self.registry,
        )
        self.events = Counter(
            "daca_events_published",
            "CloudEvents published, by type and outcome.",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.reviews = Counter(
            "daca_reviews",
            "Review lifecycle transitions (requested, approved, rejected).",
            ["transition"],
            registry=self.registry,
        )
        self.model_up = Gauge(
            "daca_model_up",
            "1 when the model endpoint answered its last check, 0 when it did not.",
            registry=self.registry,
        )
        # Read from the shared state store by every replica's sweep, so each replica
        # reports the same total: aggregate with max(), never sum().
        self.reviews_pending = Gauge(
            "daca_reviews_pending",
            "Reviews waiting for a decision, across all replicas (from the state store).",
            registry=self.registry,
        )


def _route_template(scope: Scope) -> str:
    # The router records the matched route in the (shared) scope; unknown paths have none.
    route: Any = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class RequestMetricsMiddleware:
    """Counts and times every request under its route template (bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


class BodyTooLargeError(StarletteHTTPException):
    """Raised inside receive() when a streamed body passes the limit; an HTTPException so
    FastAPI's body parsing re-raises it and the app's error handler renders the 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, by Content-Length or while streaming (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body exceeds {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._reject(send)
