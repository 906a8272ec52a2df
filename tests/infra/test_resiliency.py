"""The app's Dapr `Resiliency`, as daprd 1.18 reads it.

daprd resolves each target's `timeout`, `retry` and `circuitBreaker` by name among the
policies (a name that is not there gives the target no such policy), compiles
a breaker's `trip` as a CEL expression over the variables `requests` and
`consecutiveFailures` (dapr/dapr pkg/resiliency/breaker), and reads durations as Go
durations. None of that fails a deploy; it leaves the sidecar without the protection the
stack meant. Checked on the prototype as rendered.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.synth import SynthResult
from tests.infra.conftest import one

RESILIENCY = "kubernetes:dapr.io/v1alpha1:Resiliency"
COMPONENT = "kubernetes:dapr.io/v1alpha1:Component"
#: what the breaker's CEL environment declares (dapr/dapr pkg/resiliency/breaker)
TRIP_VARIABLES = {"requests", "consecutiveFailures"}
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
#: the kinds a target names, and the policy map each names into
REFERENCES = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}


@pytest.fixture(scope="module")
def resiliency(prototype: SynthResult) -> dict[str, Any]:
    spec: dict[str, Any] = one(prototype.resources, RESILIENCY)["inputs"]["spec"]
    return spec


def test_every_target_names_a_policy_that_is_there(
    resiliency: dict[str, Any], prototype: SynthResult
) -> None:
    policies = resiliency["policies"]
    used: set[tuple[str, str]] = set()
    components = {
        r["inputs"]["metadata"]["name"] for r in prototype.resources if r["type"] == COMPONENT
    }
    targets = resiliency["targets"]["components"]
    assert set(targets) <= components, f"targets {sorted(targets)}, components {components}"
    assert {"statestore", "pubsub"} <= set(targets)
    for component, directions in targets.items():
        for direction, refs in directions.items():
            assert direction in ("outbound", "inbound"), f"{component}: {direction}"
            for kind, name in refs.items():
                assert name in policies[REFERENCES[kind]], (
                    f"{component} {direction} names {kind} {name!r}, which is not defined"
                )
                used.add((REFERENCES[kind], name))
    defined = {(kind, name) for kind, named in policies.items() for name in named}
    assert defined == used, f"defined and never used: {sorted(defined - used)}"


def test_breakers_trip_on_variables_dapr_declares(resiliency: dict[str, Any]) -> None:
    breakers = resiliency["policies"]["circuitBreakers"]
    assert breakers
    for name, breaker in breakers.items():
        identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", breaker["trip"]))
        assert identifiers, breaker
        assert identifiers <= TRIP_VARIABLES, (
            f"breaker {name}: {breaker['trip']!r} uses {sorted(identifiers - TRIP_VARIABLES)}"
        )
        assert breaker["maxRequests"] >= 1


def test_durations_and_retry_policies_are_what_daprd_parses(resiliency: dict[str, Any]) -> None:
    policies = resiliency["policies"]
    durations = [*policies["timeouts"].values()]
    for retry in policies["retries"].values():
        assert retry["policy"] in ("constant", "exponential"), retry
        assert retry["maxRetries"] >= -1
        durations += [v for k, v in retry.items() if k in ("duration", "maxInterval")]
    for breaker in policies["circuitBreakers"].values():
        durations += [breaker["interval"], breaker["timeout"]]
    for duration in durations:
        assert GO_DURATION.match(duration), duration
