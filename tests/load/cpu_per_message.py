"""The app's CPU seconds per message (not a test): ``uv run python -m tests.load.cpu_per_message``.

The benchmark (``tests.bench.bench_app``) reports req/s, but its load generator shares the
cores with the server, so req/s says little about what one replica carries on a core of
its own. This measures what the capacity planner needs instead: the server process's own
CPU time (``utime + stime`` from ``/proc/<pid>/stat``) divided by the messages it served,
with the same servers, key and environment as the benchmark (``serve``, ``app_env``). CPU
time per message does not depend on how busy the machine is, only on the code path.

It prints one line per target and a YAML fragment for ``infra/plan/inputs.yaml``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import date
from pathlib import Path

import httpx

from tests.bench.bench_app import (
    BENCH_KEY,
    app_env,
    fake_sidecar,
    serve,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def drive(port: int, concurrency: int, seconds: float) -> int:
    """POST messages as fast as ``concurrency`` clients can for ``seconds``; count them."""
    sent = 0
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=30,
        headers={"authorization": f"Bearer {BENCH_KEY}"},
        limits=httpx.Limits(max_connections=concurrency),
    ) as client:

        async def worker(index: int, until: float) -> None:
            nonlocal sent
            mine = 0
            while time.perf_counter() < until:
                # a fresh session every 10 messages, as the benchmark does
                session = f"cpu-{index}-{mine // 10}"
                response = await client.post(
                    f"/v1/sessions/{session}/messages", json={"content": f"hello {mine}"}
                )
                response.raise_for_status()
                mine += 1
                sent += 1

        until = time.perf_counter() + seconds
        await asyncio.gather(*(worker(i, until) for i in range(concurrency)))
    return sent


def measure(name: str, env: dict[str, str], concurrency: int, seconds: float) -> float:
    with serve(name, "app.main:app", env) as server:
        asyncio.run(drive(server.port, concurrency, 1.0))  # warm-up: imports, caches
        before = cpu_seconds(server.pid)
        messages = asyncio.run(drive(server.port, concurrency, seconds))
        used = cpu_seconds(server.pid) - before
    per_message = used / messages
    print(
        f"{name:<10}{messages:>9} messages  {used:>7.2f} CPU-s  "
        f"{per_message * 1000:>7.2f} ms CPU/message  {1 / per_message:>6.0f} messages/s per core"
    )
    return per_message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the app's CPU time per message.")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    args = parser.parse_args(argv)

    results = {"embedded": measure("embedded", app_env(), args.concurrency, args.seconds)}
    with fake_sidecar() as dapr_env:
        results["dapr"] = measure("dapr", dapr_env, args.concurrency, args.seconds)

    print("\n# for infra/plan/inputs.yaml (app section)")
    for name, value in results.items():
        print(f"cpu_seconds_per_message_{name}: {value:.4f}   # measured {date.today()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
