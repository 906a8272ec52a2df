"""Benchmark of the messages and moderations endpoints (not a test):
``uv run python -m tests.bench.bench_app``.

Serves, one after the other, with uvicorn in a subprocess on 127.0.0.1:
  * ``bare``     - a bare FastAPI endpoint with the same route and body (the ceiling),
  * ``embedded`` - the app, offline model, embedded store,
  * ``moderate`` - the app, offline model, embedded store: POST /v1/moderations instead,
  * ``dapr``     - the app, offline model, through the fake Dapr sidecar (gRPC, loopback),
then drives POST /v1/sessions/{id}/messages at a few concurrency levels and prints req/s,
p50/p99 latency and the ratio to bare FastAPI, plus start-to-ready time and idle RSS.
The app runs as deployed: an API key is required (every request presents one), and the
rate limiter is on with a budget the benchmark cannot exhaust, so its cost is measured.
The load generator shares the machine's cores with the server: compare ratios, not
absolutes. Runs in well under two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
BENCH_KEY = secrets.token_urlsafe(32)

bare_app = FastAPI()


class _Body(BaseModel):
    content: str


@bare_app.post("/v1/sessions/{session_id}/messages")
async def _bare_post(session_id: str, body: _Body) -> dict[str, str | None]:
    return {"session_id": session_id, "message_id": "0", "reply": body.content, "status": "ok"}


@bare_app.get("/readyz")
async def _bare_ready() -> dict[str, str]:
    return {"status": "ready"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    name: str
    port: int
    pid: int
    ready_seconds: float
    idle_rss_mib: float


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DACA_", "DAPR_")) and k not in ("OPENAI_API_KEY", "APP_API_TOKEN")
    }


def app_env() -> dict[str, str]:
    """The app's environment: the benchmark's key accepted, a limit it never reaches."""
    return clean_env() | {
        "DACA_API_KEYS": hashlib.sha256(BENCH_KEY.encode()).hexdigest(),
        "DACA_RATE_LIMIT_PER_MINUTE": str(10**9),
    }


@contextlib.contextmanager
def fake_sidecar() -> Iterator[dict[str, str]]:
    """The fake Dapr sidecar (tests/fakes/dapr_sidecar.py) on loopback; yields the app
    environment that points at it."""
    grpc_port, http_port = free_port(), free_port()
    command = [sys.executable, "-m", "tests.fakes.dapr_sidecar"]
    command += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    sidecar = subprocess.Popen(command, cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL)
    try:
        yield app_env() | {"DAPR_GRPC_PORT": str(grpc_port), "DAPR_HTTP_PORT": str(http_port)}
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=10)


@contextlib.contextmanager
def serve(name: str, target: str, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = start + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not become ready")
            time.sleep(0.02)
        ready = time.perf_counter() - start
        time.sleep(1.0)
        yield Server(name, port, process.pid, ready, rss_mib(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=10)


async def load(
    port: int, concurrency: int, seconds: float, route: str = "messages"
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        limits=limits,
        timeout=30,
        headers={"authorization": f"Bearer {BENCH_KEY}"},
    ) as client:

        async def worker(index: int, until: float, record: bool) -> None:
            sent = 0
            while time.perf_counter() < until:
                # A fresh session every 10 messages keeps documents at a realistic size.
                session = f"bench-{index}-{sent // 10}-{int(record)}"
                begin = time.perf_counter()
                path = (
                    "/v1/moderations"
                    if route == "moderations"
                    else (f"/v1/sessions/{session}/messages")
                )
                response = await client.post(path, json={"content": f"hello {sent}"})
                response.raise_for_status()
                if record:
                    latencies.append(time.perf_counter() - begin)
                sent += 1

        warmup = time.perf_counter() + 0.5
        await asyncio.gather(*(worker(i, warmup, False) for i in range(concurrency)))
        begin = time.perf_counter()
        until = begin + seconds
        await asyncio.gather(*(worker(i, until, True) for i in range(concurrency)))
        elapsed = time.perf_counter() - begin
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def run_targets(
    targets: list[tuple[str, str, dict[str, str]]], levels: list[int], seconds: float
) -> tuple[dict[str, dict[int, tuple[float, float, float]]], list[Server]]:
    """Serve each target in turn and load it at each concurrency level."""
    results: dict[str, dict[int, tuple[float, float, float]]] = {}
    servers: list[Server] = []
    for name, target, env in targets:
        with serve(name, target, env) as server:
            servers.append(server)
            results[name] = {}
            for level in levels:
                route = "moderations" if name == "moderate" else "messages"
                rate, latencies = asyncio.run(load(server.port, level, seconds, route))
                results[name][level] = (
                    rate,
                    percentile(latencies, 50),
                    percentile(latencies, 99),
                )
    return results, servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the messages endpoint.")
    parser.add_argument("--levels", default="1,8,32", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=2.5, help="measured seconds per level")
    parser.add_argument("--no-dapr", action="store_true", help="skip the fake-sidecar run")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]

    targets: list[tuple[str, str, dict[str, str]]] = [
        ("bare", "tests.bench.bench_app:bare_app", clean_env()),
        ("embedded", "app.main:app", app_env()),
        # POST /v1/moderations (202; the workflow's three specialists run in the background)
        ("moderate", "app.main:app", app_env()),
    ]
    with contextlib.ExitStack() as stack:
        if not args.no_dapr:
            targets.append(("dapr", "app.main:app", stack.enter_context(fake_sidecar())))
        results, servers = run_targets(targets, levels, args.seconds)

    print(
        f"\nPOST /v1/sessions/{{id}}/messages (moderate: POST /v1/moderations), "
        f"{args.seconds:.1f}s per level, loopback\n"
    )
    print(f"{'target':<10}{'conc':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs bare':>10}")
    for name, per_level in results.items():
        for level, (rate, p50, p99) in per_level.items():
            ratio = rate / results["bare"][level][0]
            print(f"{name:<10}{level:>6}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}{ratio:>9.2f}x")
    print(f"\n{'target':<10}{'start-to-ready s':>18}{'idle RSS MiB':>15}")
    for server in servers:
        print(f"{server.name:<10}{server.ready_seconds:>18.2f}{server.idle_rss_mib:>15.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
