"""Authentication and roles on every /v1 route: API keys, the answers a client gets when
refused, and what OpenAPI says about it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.auth.api_keys import key_digest
from app.main import app as module_app
from tests.app.conftest import (
    OTHER_USER_KEY,
    REMOTE,
    REVIEWER_KEY,
    USER_KEY,
    http_client,
    running_app,
)

pytestmark = pytest.mark.anyio

REALM = 'Bearer realm="daca-agent"'


def v1_operations() -> list[tuple[str, str]]:
    """Every (method, path template) the app serves under /v1, read off its routes, so a
    route added later is in the matrix without anyone remembering to add it."""
    operations = set()
    for route in iter_route_contexts(module_app.router.routes):
        if route.path and route.path.startswith("/v1"):
            operations |= {(method, route.path) for method in route.methods or ()}
    return sorted(operations)


OPERATIONS = v1_operations()
REVIEWER_ONLY = {("POST", "/v1/reviews/{review_id}/decision")}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/sessions/{session_id}/messages"): {"content": "hello"},
    ("POST", "/v1/reviews/{review_id}/decision"): {"approved": True},
}


def concrete(template: str) -> str:
    path = template.replace("{session_id}", "matrix").replace("{review_id}", "abc123")
    return re.sub(r"\{[^}]+\}", "x1", path)


def bearer(case: str) -> str | None:
    """The credential a matrix case presents."""
    tokens: dict[str, Callable[[], str | None]] = {
        "no credentials": lambda: None,
        "bad key": lambda: "not-a-configured-key",
        "user key": lambda: USER_KEY,
        "reviewer key": lambda: REVIEWER_KEY,
    }
    return tokens[case]()


REFUSED = {
    "no credentials": None,
    "bad key": "invalid credentials",
}
USERS = ["user key"]
REVIEWERS = ["reviewer key"]


def test_the_matrix_covers_the_known_routes() -> None:
    assert {
        ("POST", "/v1/sessions/{session_id}/messages"),
        ("GET", "/v1/sessions/{session_id}"),
        ("DELETE", "/v1/sessions/{session_id}"),
        ("GET", "/v1/reviews/{review_id}"),
        ("POST", "/v1/reviews/{review_id}/decision"),
    } <= set(OPERATIONS)


@pytest.mark.parametrize("case", [*REFUSED, *USERS, *REVIEWERS])
@pytest.mark.parametrize(("method", "template"), OPERATIONS)
async def test_auth_matrix(embedded_app: FastAPI, method: str, template: str, case: str) -> None:
    # from an ingress address: being on the same network grants nothing
    async with http_client(embedded_app, bearer(case), client=REMOTE) as client:
        response = await client.request(
            method, concrete(template), json=BODIES.get((method, template))
        )
    if case in REFUSED:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
        challenge = response.headers["www-authenticate"]
        if REFUSED[case] is None:
            assert challenge == REALM  # no token: no error code (RFC 6750 3.1)
        else:
            assert challenge.startswith(f'{REALM}, error="invalid_token"')
            assert REFUSED[case] in challenge
            assert response.json()["error"]["message"] == REFUSED[case]
    elif case in USERS and (method, template) in REVIEWER_ONLY:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    else:
        assert response.status_code not in (401, 403), response.text
        assert "www-authenticate" not in response.headers


# -- API keys ------------------------------------------------------------------------------


async def test_a_key_principal_is_named_by_its_digest_and_owns_its_session(
    embedded_app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.post("/v1/sessions/mine/messages", json={"content": "hi"})).is_success
    stored = await embedded_app.state.backend.state.get("session-mine")
    assert stored.value["owner"] == f"key:{key_digest(USER_KEY)[:12]}"


@pytest.mark.parametrize(
    "authorization",
    [f"Basic {USER_KEY}", "Bearer", "Bearer ", USER_KEY, f"Token {USER_KEY}"],
)
async def test_anything_but_a_bearer_credential_is_no_credential(
    embedded_app: FastAPI, authorization: str
) -> None:
    async with http_client(embedded_app, None) as client:
        response = await client.get("/v1/sessions/s1", headers={"authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM


async def test_the_bearer_scheme_is_case_insensitive(embedded_app: FastAPI) -> None:
    async with http_client(embedded_app, None) as client:
        response = await client.get(
            "/v1/sessions/s1", headers={"authorization": f"bearer {USER_KEY}"}
        )
    assert response.status_code == 404  # authenticated; the session just does not exist


async def test_keys_are_configured_by_digest_in_any_case_with_spaces() -> None:
    digests = f" {key_digest(USER_KEY).upper()} ,, {key_digest(OTHER_USER_KEY)} "
    async with running_app(credentials=False, api_keys=digests) as (app, _):
        for key in (USER_KEY, OTHER_USER_KEY):
            async with http_client(app, key) as client:
                assert (await client.get("/v1/sessions/x")).status_code == 404
        async with http_client(app, key_digest(USER_KEY)) as client:
            # the digest itself is not a key
            assert (await client.get("/v1/sessions/x")).status_code == 401


# -- what OpenAPI says ----------------------------------------------------------------------


async def test_openapi_declares_the_bearer_scheme_and_the_auth_answers(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    for method, template in OPERATIONS:
        operation = spec["paths"][template][method.lower()]
        assert operation["security"] == [{"bearer": []}], (method, template)
        assert {"401", "429"} <= set(operation["responses"]), (method, template)
        assert ("403" in operation["responses"]) == ((method, template) in REVIEWER_ONLY)
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert "security" not in spec["paths"][open_path]["get"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
