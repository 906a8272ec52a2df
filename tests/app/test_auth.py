"""Authentication and roles on every /v1 route: API keys and OIDC tokens, the answers a
client gets when refused, and what OpenAPI says about it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.auth.api_keys import key_digest
from app.main import app as module_app
from app.service import review_key
from tests.app.conftest import (
    OTHER_USER_KEY,
    REMOTE,
    REVIEWER_KEY,
    USER_KEY,
    http_client,
    running_app,
)
from tests.fakes.oidc_provider import AUDIENCE, FakeOidcProvider, signing_key

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
    ("POST", "/v1/moderations"): {"content": "hello"},
}


def concrete(template: str) -> str:
    path = template.replace("{session_id}", "matrix").replace("{review_id}", "abc123")
    path = path.replace("{moderation_id}", "abc123")
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture
def oidc() -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
async def oidc_app(oidc: FakeOidcProvider) -> AsyncIterator[FastAPI]:
    """The app with the test API keys and the fake issuer configured."""
    async with running_app(oidc_issuer=oidc.issuer, oidc_audience=AUDIENCE) as (app, _):
        yield app


def bearer(oidc: FakeOidcProvider, case: str) -> str | None:
    """The credential a matrix case presents."""
    rogue = signing_key("rogue", "RS256", index=9)
    tokens: dict[str, Callable[[], str | None]] = {
        "no credentials": lambda: None,
        "bad key": lambda: "not-a-configured-key",
        "user key": lambda: USER_KEY,
        "reviewer key": lambda: REVIEWER_KEY,
        "jwt user": lambda: oidc.token("ursula"),
        "jwt reviewer": lambda: oidc.token("rita", claims={"roles": ["reviewer"]}),
        "jwt expired": lambda: oidc.token(expires_in=-600),
        "jwt wrong audience": lambda: oidc.token(audience="another-api"),
        "jwt wrong issuer": lambda: oidc.token(issuer="https://evil.example"),
        "jwt unknown kid": lambda: oidc.token(key=rogue),
    }
    return tokens[case]()


REFUSED = {
    "no credentials": None,
    "bad key": "invalid credentials",
    "jwt expired": "token expired",
    "jwt wrong audience": "token is for another audience",
    "jwt wrong issuer": "token from another issuer",
    "jwt unknown kid": "token signed with an unknown key",
}
USERS = ["user key", "jwt user"]
REVIEWERS = ["reviewer key", "jwt reviewer"]


def test_the_matrix_covers_the_known_routes() -> None:
    assert {
        ("POST", "/v1/sessions/{session_id}/messages"),
        ("GET", "/v1/sessions/{session_id}"),
        ("DELETE", "/v1/sessions/{session_id}"),
        ("GET", "/v1/reviews/{review_id}"),
        ("POST", "/v1/reviews/{review_id}/decision"),
        ("POST", "/v1/moderations"),
        ("GET", "/v1/moderations/{moderation_id}"),
    } <= set(OPERATIONS)


@pytest.mark.parametrize("case", [*REFUSED, *USERS, *REVIEWERS])
@pytest.mark.parametrize(("method", "template"), OPERATIONS)
async def test_auth_matrix(
    oidc_app: FastAPI, oidc: FakeOidcProvider, method: str, template: str, case: str
) -> None:
    # from an ingress address: being on the same network grants nothing
    async with http_client(oidc_app, bearer(oidc, case), client=REMOTE) as client:
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


# -- OIDC tokens ---------------------------------------------------------------------------


async def get_status(app: FastAPI, token: str) -> httpx.Response:
    async with http_client(app, token) as client:
        return await client.get("/v1/sessions/unknown")


async def test_a_valid_es256_token_is_accepted(oidc_app: FastAPI, oidc: FakeOidcProvider) -> None:
    token = oidc.token(key=oidc.published[1])
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert (await get_status(oidc_app, token)).status_code == 404


@pytest.mark.parametrize(
    ("token_args", "accepted"),
    [
        ({"expires_in": -10}, True),  # within the 30 s leeway for clock skew
        ({"expires_in": -120}, False),
        ({"not_before_in": 10}, True),
        ({"not_before_in": 120}, False),
    ],
    ids=["expired-10s", "expired-2min", "nbf-in-10s", "nbf-in-2min"],
)
async def test_clock_checks_have_a_small_leeway(
    oidc_app: FastAPI, oidc: FakeOidcProvider, token_args: dict[str, Any], accepted: bool
) -> None:
    response = await get_status(oidc_app, oidc.token(**token_args))
    assert response.status_code == (404 if accepted else 401), response.text


async def test_symmetric_and_unsigned_tokens_are_refused(
    oidc_app: FastAPI, oidc: FakeOidcProvider
) -> None:
    # the public modulus as an HMAC secret: the classic algorithm-confusion forgery
    secret = oidc.published[0].public_jwk()["n"]
    forged = {
        "hs256": jwt.encode(
            {"iss": oidc.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": 2**31},
            secret,
            algorithm="HS256",
            headers={"kid": "rsa-1"},
        ),
        "none": jwt.encode(
            {"iss": oidc.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": 2**31},
            None,
            algorithm="none",
            headers={"kid": "rsa-1"},
        ),
    }
    for name, token in forged.items():
        response = await get_status(oidc_app, token)
        assert response.status_code == 401, name
        assert "RS256 or ES256 only" in response.json()["error"]["message"], name


@pytest.mark.parametrize("alg", [["RS256"], {"name": "RS256"}, 256, None])
async def test_a_header_whose_alg_is_not_a_string_is_a_401_not_a_crash(
    oidc_app: FastAPI, alg: object
) -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": "k"}).encode())
    body = base64.urlsafe_b64encode(b'{"sub": "mallory"}')
    token = f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}.c2ln"
    response = await get_status(oidc_app, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
    oidc_app: FastAPI, oidc: FakeOidcProvider
) -> None:
    impostor = signing_key("rsa-1", "RS256", index=7)  # the published kid, another key
    response = await get_status(oidc_app, oidc.token(key=impostor))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "token signature does not verify"


@pytest.mark.parametrize("missing", ["sub", "exp"])
async def test_a_token_without_sub_or_exp_is_refused(
    oidc_app: FastAPI, oidc: FakeOidcProvider, missing: str
) -> None:
    key = oidc.published[0]
    claims = {"iss": oidc.issuer, "aud": AUDIENCE, "sub": "a", "exp": 2**31}
    del claims[missing]
    token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
    response = await get_status(oidc_app, token)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == f"token has no {missing} claim"


async def test_signing_keys_are_cached(oidc_app: FastAPI, oidc: FakeOidcProvider) -> None:
    for subject in ("a", "b", "c", "d"):
        assert (await get_status(oidc_app, oidc.token(subject))).status_code == 404
    assert oidc.jwks_fetches == 1


async def test_a_rotated_key_is_fetched_once_and_made_up_kids_do_not_refetch(
    oidc_app: FastAPI, oidc: FakeOidcProvider
) -> None:
    assert (await get_status(oidc_app, oidc.token())).status_code == 404
    assert oidc.jwks_fetches == 1
    rotated = signing_key("rsa-2", "RS256", index=1)
    oidc.published = [rotated]
    assert (await get_status(oidc_app, oidc.token(key=rotated))).status_code == 404
    assert oidc.jwks_fetches == 2
    # within the refetch cooldown, made-up key ids cost the issuer nothing
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        token = oidc.token(key=signing_key(kid, "RS256", index=1))
        assert (await get_status(oidc_app, token)).status_code == 401
    assert oidc.jwks_fetches == 2


async def test_an_unreachable_issuer_is_503_not_401(
    oidc_app: FastAPI, oidc: FakeOidcProvider
) -> None:
    oidc.down = True
    response = await get_status(oidc_app, oidc.token())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["retry-after"] == "2"
    # API keys do not depend on the issuer
    async with http_client(oidc_app, USER_KEY) as client:
        assert (await client.get("/v1/sessions/unknown")).status_code == 404


@pytest.mark.parametrize(
    ("settings", "claims", "reviewer"),
    [
        ({}, {"roles": ["reviewer", "user"]}, True),
        ({}, {"roles": "reviewer"}, True),
        ({}, {"roles": ["user"]}, False),
        ({}, {"groups": ["reviewer"]}, False),
        ({"oidc_reviewer_claim": "groups"}, {"groups": ["reviewer"]}, True),
        (
            {"oidc_reviewer_claim": "realm_access.roles"},
            {"realm_access": {"roles": ["reviewer"]}},
            True,
        ),
        ({"oidc_reviewer_claim": "scope"}, {"scope": "openid reviewer"}, True),
        ({"oidc_reviewer_claim": "scope"}, {"scope": "openid reviewers"}, False),
        ({"oidc_reviewer_value": "approver"}, {"roles": ["approver"]}, True),
        ({"oidc_reviewer_value": "approver"}, {"roles": ["reviewer"]}, False),
    ],
)
async def test_the_reviewer_claim_is_configurable(
    oidc: FakeOidcProvider, settings: dict[str, str], claims: dict[str, Any], reviewer: bool
) -> None:
    async with (
        running_app(oidc_issuer=oidc.issuer, oidc_audience=AUDIENCE, **settings) as (app, _),
        http_client(app, oidc.token("someone", claims=claims)) as client,
    ):
        response = await client.post("/v1/reviews/abc123/decision", json={"approved": True})
    assert response.status_code == (404 if reviewer else 403), response.text


async def test_token_principals_are_issuer_and_subject(
    oidc_app: FastAPI, oidc: FakeOidcProvider
) -> None:
    async with (
        http_client(oidc_app, oidc.token("alice")) as alice,
        http_client(oidc_app, oidc.token("bob")) as bob,
        http_client(oidc_app, oidc.token("rita", claims={"roles": ["reviewer"]})) as rita,
    ):
        held = (
            await alice.post("/v1/sessions/a/messages", json={"content": "review my text"})
        ).json()
        assert (await bob.get("/v1/sessions/a")).status_code == 404
        assert (await alice.get("/v1/sessions/a")).status_code == 200
        decided = await rita.post(
            f"/v1/reviews/{held['review_id']}/decision", json={"approved": True}
        )
        assert decided.status_code == 200
    session = await oidc_app.state.backend.state.get("session-a")
    review = await oidc_app.state.backend.state.get(review_key(held["review_id"]))
    assert session.value["owner"] == f"oidc:{oidc.issuer}|alice"
    assert review.value["decided_by"] == f"oidc:{oidc.issuer}|rita"


# -- what OpenAPI says ----------------------------------------------------------------------


async def test_openapi_declares_the_bearer_scheme_and_the_auth_answers(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key or OIDC JWT",
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
