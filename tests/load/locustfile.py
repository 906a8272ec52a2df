"""Load test of a deployed stage, checked against the deployment guide's thresholds and the
plan's per-replica throughput.

    make load URL=https://<stage> USERS=100 DURATION=120 API_KEY=<key> [RATE=1] [REPLICAS=1]

or with Locust itself (its web UI without --headless):

    DACA_LOAD_API_KEY=<key> DACA_LOAD_USERS=100 DACA_LOAD_DURATION=120 \\
        uv run locust -f tests/load/locustfile.py --headless --host https://<stage>

Each simulated user owns a session: it posts a message (`POST /v1/sessions/{id}/messages`,
which runs the agent), reads the conversation back (`GET /v1/sessions/{id}`), and starts a
new session every ten messages, pacing itself to RATE messages a minute, as `daca plan`'s
users do. Users ramp up over the first third of DURATION, then hold. At the end the run
passes when p95 < 2 s and errors < 10% (the exit code says so), and the summary compares
the message rate with what the plan expects of REPLICAS replicas.

The key goes in `Authorization: Bearer <key>`; the app only knows its SHA-256 digest
(DACA_API_KEYS). The app rate-limits each key (DACA_RATE_LIMIT_PER_MINUTE, default 120 a
minute per replica): give the load test a limit that fits, or several keys, comma-separated
(users take them in turn).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from locust import FastHttpUser, LoadTestShape, constant_pacing, events, task
from locust.env import Environment

#: the deployment guide's latency threshold; DACA_LOAD_P95_MS overrides it (the CI smoke
#: checks the scenario and the error rate, not this machine's speed)
P95_LIMIT_MS = float(os.environ.get("DACA_LOAD_P95_MS", "2000"))
ERROR_RATIO_LIMIT = 0.10
MESSAGES_PER_SESSION = 10
POST_NAME = "/v1/sessions/[id]/messages"
GET_NAME = "/v1/sessions/[id]"


@dataclass(frozen=True)
class LoadSettings:
    """The run's knobs, from DACA_LOAD_* (what `make load` sets)."""

    users: int
    duration_seconds: float
    messages_per_minute: float
    replicas: int
    api_keys: tuple[str, ...]

    @classmethod
    def from_environment(cls) -> LoadSettings:
        keys = os.environ.get("DACA_LOAD_API_KEY", "")
        return cls(
            users=int(os.environ.get("DACA_LOAD_USERS", "10")),
            duration_seconds=float(os.environ.get("DACA_LOAD_DURATION", "60")),
            messages_per_minute=float(os.environ.get("DACA_LOAD_RATE", "1")),
            replicas=int(os.environ.get("DACA_LOAD_REPLICAS", "1")),
            api_keys=tuple(key.strip() for key in keys.split(",") if key.strip()),
        )


SETTINGS = LoadSettings.from_environment()
_user_count = 0


class AgentUser(FastHttpUser):
    """One person chatting with the agent."""

    wait_time = constant_pacing(60.0 / SETTINGS.messages_per_minute)

    def on_start(self) -> None:
        global _user_count
        headers = {"content-type": "application/json"}
        if SETTINGS.api_keys:
            key = SETTINGS.api_keys[_user_count % len(SETTINGS.api_keys)]
            headers["authorization"] = f"Bearer {key}"
        _user_count += 1
        self.headers = headers
        self.sent = 0
        self.session_id = uuid.uuid4().hex

    @task
    def converse(self) -> None:
        if self.sent and self.sent % MESSAGES_PER_SESSION == 0:
            self.session_id = uuid.uuid4().hex  # a new conversation, as people start them
        path = f"/v1/sessions/{self.session_id}"
        body = {"content": f"Hello agent, this is message {self.sent} of a load test."}
        with self.client.post(
            f"{path}/messages", json=body, headers=self.headers, name=POST_NAME, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"POST {response.status_code}: {(response.text or '')[:120]}")
                return
            if response.json().get("session_id") != self.session_id:
                response.failure("POST answered for another session")
                return
        self.sent += 1
        with self.client.get(
            path, headers=self.headers, name=GET_NAME, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"GET {response.status_code}: {(response.text or '')[:120]}")
            elif not response.json().get("messages"):
                response.failure("GET returned a session without the message just posted")


class RampThenHold(LoadTestShape):
    """Users ramp up linearly over the first third of the run, then hold until its end."""

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed >= SETTINGS.duration_seconds:
            return None
        ramp = max(SETTINGS.duration_seconds / 3, 1.0)
        users = max(1, min(SETTINGS.users, round(SETTINGS.users * elapsed / ramp) + 1))
        return users, max(SETTINGS.users / ramp, 1.0)


def plan_per_replica() -> float:
    """Messages/s one replica carries according to `daca plan` (infra/plan/inputs.yaml)."""
    from infra.plan.inputs import load_inputs
    from infra.plan.model import per_replica_messages

    inputs = load_inputs()
    return per_replica_messages(inputs, inputs.app.replica_vcpu.value)


def verdict(environment: Environment) -> tuple[bool, list[str]]:
    """Pass/fail against the thresholds, and what the run says about the plan."""
    total = environment.stats.total
    posts = environment.stats.get(POST_NAME, "POST")
    p95 = total.get_response_time_percentile(0.95) or 0.0
    errors = total.fail_ratio
    p95_ok, errors_ok = p95 < P95_LIMIT_MS, errors < ERROR_RATIO_LIMIT
    per_replica = plan_per_replica()
    capacity = SETTINGS.replicas * per_replica
    offered = SETTINGS.users * SETTINGS.messages_per_minute / 60
    achieved = posts.total_rps
    lines = [
        f"requests {total.num_requests}, failures {total.num_failures} ({errors:.1%}), "
        f"p95 {p95:.0f} ms, messages {achieved:.2f}/s "
        f"({achieved / SETTINGS.replicas:.2f}/s per replica over the whole run)",
        f"threshold p95 < {P95_LIMIT_MS:.0f} ms: {'PASS' if p95_ok else 'FAIL'}",
        f"threshold errors < {ERROR_RATIO_LIMIT:.0%}: {'PASS' if errors_ok else 'FAIL'}",
        f"plan: {SETTINGS.replicas} replica(s) x {per_replica:.1f} messages/s = "
        f"{capacity:.1f} messages/s; offered at peak {offered:.2f} messages/s "
        f"({offered / capacity:.0%} of it)",
    ]
    ok = p95_ok and errors_ok
    if offered <= capacity:
        lines.append(
            "plan check: PASS (within the plan's capacity, and the thresholds hold)"
            if ok
            else "plan check: FAIL (the thresholds break below the plan's capacity: the plan "
            "over-estimates this stage, or it runs fewer replicas than REPLICAS)"
        )
    else:
        lines.append(
            "plan check: above the plan's capacity; "
            + (
                "the stage carried it anyway (more replicas than REPLICAS, or a conservative plan)"
                if ok
                else "failing thresholds here are what the plan predicts"
            )
        )
    lines.append(f"result: {'PASS' if ok else 'FAIL'}")
    return ok, lines


@events.quitting.add_listener
def _summary(environment: Environment, **_: object) -> None:
    ok, lines = verdict(environment)
    print("\n".join(["", "== daca load test", *lines]), flush=True)
    environment.process_exit_code = 0 if ok else 1
