"""Every policy's validator on a compliant, a violating and a missing-property case."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daca_policies import SPECS
from daca_policies.images import parse_dockerfile, split_image
from daca_policies.spec import NotApplicable, PolicySpec, Resource

from .cases import CASES, Case, docker_image

BY_NAME = {spec.name: spec for spec in SPECS}


def outcome(spec: PolicySpec, resources: tuple[Resource, ...], config: dict) -> tuple[str, list]:
    merged = {**spec.defaults(), **config}
    try:
        if spec.validate_stack is not None:
            messages = [m for _, m in spec.validate_stack(list(resources), merged)]
        else:
            assert spec.validate_resource is not None
            (res,) = resources
            if not spec.applies_to(res.type):
                return "pass", []  # as the pack does: a policy ignores other types
            messages = spec.validate_resource(res, merged)
    except NotApplicable as e:
        return "na", [e.reason]
    return ("fail" if messages else "pass"), messages


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_policy_case(case: Case) -> None:
    result, messages = outcome(BY_NAME[case.policy], case.resources, case.config)
    assert result == case.expect, messages
    assert all(isinstance(m, str) and m for m in messages)  # violations and N/A say why


#: the other policies a case's resources trip by design, and why
_UNDEPLOYED_SCOPE = "a component alone: no workload in the case runs the app-id it is scoped to"
_NODE_PORT = "a NodePort Service: the default allowedTypes is ClusterIP (prototype allows it)"
ALSO_TRIPPED = {
    "dapr-component-secret-refs:compliant": {"dapr-component-scopes-deployed": _UNDEPLOYED_SCOPE},
    "dapr-component-secret-refs:violating": {"dapr-component-scopes-deployed": _UNDEPLOYED_SCOPE},
    "dapr-component-scoped:compliant": {"dapr-component-scopes-deployed": _UNDEPLOYED_SCOPE},
    "k8s-app-published-without-auth:compliant": {"k8s-service-type-allowed": _NODE_PORT},
    "k8s-app-published-without-auth:violating": {"k8s-service-type-allowed": _NODE_PORT},
}


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.kind in {"compliant", "violating"}], ids=lambda c: c.id
)
def test_a_case_trips_exactly_the_policy_it_names(case: Case) -> None:
    """A violating fixture that broke some other rule too would pass its test even with the
    policy it names removed from the pack; a compliant one must satisfy every policy."""
    tripped = {
        spec.name
        for spec in SPECS
        # as the pack runs them: a stack policy once, a resource policy on each resource
        for part in ((case.resources,) if spec.validate_stack else ((r,) for r in case.resources))
        if outcome(spec, part, case.config)[0] == "fail"
    }
    named = {case.policy} if case.kind == "violating" else set()
    assert tripped == named | set(ALSO_TRIPPED.get(case.id, {}))


def test_every_policy_has_compliant_violating_and_missing_cases() -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    for case in CASES:
        kinds[case.policy].add(case.kind)
    kinds.update({n: {"compliant", "violating", "missing"} for n in DOCKERFILE_POLICIES})
    lacking = {
        spec.name: sorted({"compliant", "violating", "missing"} - kinds[spec.name])
        for spec in SPECS
        if not {"compliant", "violating", "missing"} <= kinds[spec.name]
    }
    assert not lacking


# --- Dockerfile policies read files, so their cases live in a temporary repo -------------

DOCKERFILE_POLICIES = ("images-dockerfile-nonroot-user", "images-dockerfile-base-pinned")

GOOD = """\
# syntax=docker/dockerfile:1
ARG PY=3.12.8
FROM python:${PY}-slim-bookworm AS build
RUN pip install uv
USER root
FROM --platform=linux/amd64 python:${PY}-slim-bookworm@sha256:%s AS runtime
COPY --from=build /app /app
USER 10001:10001
CMD ["python", "-m", "app"]
""" % ("b" * 64)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(GOOD)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Dockerfile").write_text("FROM python\nRUN echo hi\nUSER root\n")
    (tmp_path / "nouser").mkdir()
    (tmp_path / "nouser" / "Dockerfile").write_text("FROM python:latest \\\n  AS x\n")
    return tmp_path


@pytest.mark.parametrize(
    ("policy", "dockerfile", "context", "expect"),
    [
        ("images-dockerfile-nonroot-user", "app/Dockerfile", None, "pass"),
        ("images-dockerfile-nonroot-user", "bad/Dockerfile", None, "fail"),
        ("images-dockerfile-nonroot-user", None, "nouser", "fail"),
        ("images-dockerfile-nonroot-user", "missing/Dockerfile", None, "na"),
        ("images-dockerfile-nonroot-user", None, None, "na"),
        ("images-dockerfile-base-pinned", "app/Dockerfile", None, "pass"),
        ("images-dockerfile-base-pinned", "bad/Dockerfile", None, "fail"),
        ("images-dockerfile-base-pinned", "Dockerfile", "nouser", "fail"),
        ("images-dockerfile-base-pinned", None, None, "na"),
    ],
)
def test_dockerfile_policy(
    repo: Path, policy: str, dockerfile: str | None, context: str | None, expect: str
) -> None:
    result, messages = outcome(
        BY_NAME[policy], (docker_image(dockerfile, context),), {"repoRoot": str(repo)}
    )
    assert result == expect, messages


def test_dockerfile_parser_resolves_args_stages_and_users() -> None:
    bases, users = parse_dockerfile(GOOD)
    assert bases == [
        "python:3.12.8-slim-bookworm",
        f"python:3.12.8-slim-bookworm@sha256:{'b' * 64}",
    ]
    assert users == ["root", "10001:10001"]
    assert parse_dockerfile("FROM a:1 AS base\nFROM base\nUSER app\n") == (
        ["a:1", ""],
        [None, "app"],
    )


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("redis", ("redis", None, None)),
        ("redis:7.4", ("redis", "7.4", None)),
        ("localhost:5001/daca-agent", ("localhost:5001/daca-agent", None, None)),
        ("localhost:5001/daca-agent:v1", ("localhost:5001/daca-agent", "v1", None)),
        ("r.io/a@sha256:abc", ("r.io/a", None, "sha256:abc")),
    ],
)
def test_split_image(ref: str, expected: tuple) -> None:
    assert split_image(ref) == expected


def _every_string(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every string in a resource's props (names, hosts, images, list items...)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str):
                yield (*path, key)
            yield from _every_string(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, str):
                yield (*path, index)
            yield from _every_string(child, (*path, index))


def _with_list_at(props: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(props)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = [target[path[-1]]]
    return changed


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_list_where_a_string_belongs_never_crashes_a_policy(case: Case) -> None:
    """A malformed program (a list where a name, host or image belongs) gets a verdict, not
    a crash: a crashing policy would fail the whole pack run."""
    spec = BY_NAME[case.policy]
    for index, res in enumerate(case.resources):
        for path in _every_string(dict(res.props)):
            mutated = Resource(res.type, res.name, _with_list_at(dict(res.props), path), res.urn)
            resources = (*case.resources[:index], mutated, *case.resources[index + 1 :])
            verdict, _ = outcome(spec, resources, case.config)
            assert verdict in {"pass", "fail", "na"}, (path, verdict)
