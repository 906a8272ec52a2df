"""/readyz and `daca_model_up` against a real HTTP server standing in for the model server.

The stand-in speaks the OpenAI `GET /v1/models` shape, and, like llama.cpp's server while it
loads its model, can answer 503 instead.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.agents.providers import ModelReachability, build_model_probe
from app.config import Settings
from app.metrics import Metrics
from app.routes.health import readiness
from app.store import EmbeddedBackend
from tests.app.conftest import AppFactory

pytestmark = pytest.mark.anyio

MODELS = {
    "object": "list",
    "data": [{"id": "qwen2.5-1.5b-instruct", "object": "model", "created": 0, "owned_by": "me"}],
}


class FakeModelServer:
    """An OpenAI-compatible model list on a free loopback port; `loading` answers 503."""

    def __init__(self) -> None:
        self.loading = False
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                if self.path != "/v1/models":
                    self._answer(404, {"error": {"code": 404, "message": "File Not Found"}})
                elif owner.loading:
                    error = {"code": 503, "message": "Loading model", "type": "unavailable_error"}
                    self._answer(503, {"error": error})
                else:
                    self._answer(200, MODELS)

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.running = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> None:
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def model_server() -> Iterator[FakeModelServer]:
    server = FakeModelServer()
    server.start()
    yield server
    server.stop()


def _gauge(metrics_text: str) -> float | None:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "daca_model_up":
            return family.samples[0].value if family.samples else None
    return None


def _compatible(base_url: str, **extra: object) -> dict[str, object]:
    return {
        "model_provider": "openai-compatible",
        "model_base_url": base_url,
        "model_name": "qwen2.5-1.5b-instruct",
        "monitor_interval_seconds": 0,  # the monitor workflow probes too: count only ours
        **extra,
    }


async def test_a_reachable_model_is_reported_ready_and_up(
    app_factory: AppFactory, model_server: FakeModelServer
) -> None:
    async with app_factory(**_compatible(model_server.base_url)) as (_, client):
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["model"] == "reachable"
    assert "/v1/models" in model_server.requests
    assert _gauge(metrics.text) == 1.0


async def test_a_loading_model_is_reported_unreachable_without_failing_readiness(
    app_factory: AppFactory, model_server: FakeModelServer
) -> None:
    model_server.loading = True
    async with app_factory(**_compatible(model_server.base_url)) as (_, client):
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200  # the app still serves sessions and reviews
    assert ready.json() == {"status": "ready", "backend": "embedded", "model": "unreachable"}
    assert _gauge(metrics.text) == 0.0


async def test_a_model_server_that_is_not_there_is_unreachable(
    app_factory: AppFactory, model_server: FakeModelServer
) -> None:
    gone = model_server.base_url
    model_server.stop()
    async with app_factory(**_compatible(gone)) as (_, client):
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert ready.json()["model"] == "unreachable"
    assert _gauge(metrics.text) == 0.0


async def test_answers_are_cached_then_refreshed(
    app_factory: AppFactory, model_server: FakeModelServer
) -> None:
    settings = _compatible(model_server.base_url, model_check_ttl_seconds=3600)
    async with app_factory(**settings) as (_, client):
        for _ in range(3):
            assert (await client.get("/readyz")).json()["model"] == "reachable"
        model_server.loading = True  # within the TTL: the cached answer stands
        assert (await client.get("/readyz")).json()["model"] == "reachable"
    assert model_server.requests.count("/v1/models") == 1


async def test_an_answer_older_than_the_ttl_is_checked_again() -> None:
    answers = [False, True]
    now = [0.0]
    gauge = Metrics().model_up
    model = ModelReachability(_scripted(answers), gauge, ttl_seconds=5, clock=lambda: now[0])
    assert await model.status(wait_seconds=1) is False  # loading
    now[0] = 4.9
    assert await model.status(wait_seconds=1) is False  # cached
    now[0] = 5.0
    assert await model.status(wait_seconds=1) is True  # the model finished loading
    assert answers == []


async def test_a_slow_check_never_holds_readiness() -> None:
    """The kubelet gives /readyz 2 s: a model endpoint that hangs must not make every
    replica's probe time out. The check goes on; /readyz says 'checking' meanwhile."""
    release = asyncio.Event()
    calls = []

    async def hanging() -> bool:
        calls.append(1)
        await release.wait()
        return True

    metrics = Metrics()
    model = ModelReachability(hanging, metrics.model_up, ttl_seconds=60)
    assert await model.status(wait_seconds=0.01) is None
    assert await model.status(wait_seconds=0.01) is None
    assert len(calls) == 1  # one check goes on; the second probe did not start another
    # /readyz itself, as the route answers it: ready, the model still being checked, and
    # within the kubelet's 2 s
    answer = await asyncio.wait_for(readiness(EmbeddedBackend(), Settings(), model), timeout=2)
    assert answer.status_code == 200
    assert json.loads(answer.body) == {
        "status": "ready",
        "backend": "embedded",
        "model": "checking",
    }
    release.set()
    assert await model.status(wait_seconds=1) is True
    assert metrics.registry.get_sample_value("daca_model_up") == 1


async def test_a_key_the_http_client_refuses_is_unreachable_not_a_crash() -> None:
    settings = Settings(model_provider="openai-compatible", model_base_url="http://127.0.0.1:9/v1")
    probe = build_model_probe(settings, "ключ", timeout=1)  # not ASCII: no header can hold it
    assert await probe() is False


def _scripted(answers: list[bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return answers.pop(0)

    return probe


async def test_the_offline_model_is_not_probed_and_counts_as_up(app_factory: AppFactory) -> None:
    async with app_factory() as (_, client):
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert ready.json() == {"status": "ready", "backend": "embedded"}
    assert _gauge(metrics.text) == 1.0
