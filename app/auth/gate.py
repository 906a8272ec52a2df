"""The access gate: one ASGI middleware that decides, before routing and before any body is
read, who a request comes from and whether it may go on.

* ``/healthz``, ``/readyz``, ``/metrics`` and the OpenAPI pages are open;
* ``/dapr/*`` answers only the sidecar: a loopback peer, with ``dapr-api-token`` equal to
  ``APP_API_TOKEN`` when that is set (403 otherwise);
* every other path (``/v1/*`` and anything added later) needs an authenticated principal
  (401), within its rate limit (429).

The routes' dependencies (``app/deps.py``) then read the verdict from the request scope and
fail closed when it is missing.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from enum import StrEnum

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.api_keys import ApiKeyVerifier
from app.auth.oidc import IdentityProviderUnavailableError, InvalidTokenError, OidcVerifier
from app.auth.principal import LOCAL_PRINCIPAL, Principal
from app.auth.rate_limit import RateLimiter
from app.config import Settings
from app.errors import (
    ApiError,
    ForbiddenError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    error_response,
)
from app.route_match import routes_at_path

logger = logging.getLogger(__name__)

#: scope keys holding the gate's verdict for the routes' dependencies
PRINCIPAL_SCOPE_KEY = "daca.principal"
SIDECAR_SCOPE_KEY = "daca.sidecar"

OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
SIDECAR_PREFIX = "/dapr"
CREDENTIAL_SETTINGS = "DACA_API_KEYS, DACA_REVIEWER_KEYS or DACA_OIDC_ISSUER + DACA_OIDC_AUDIENCE"
MAX_BEARER_BYTES = 16 * 1024


class AuthMode(StrEnum):
    """How /v1 authenticates, decided once from the settings."""

    #: API keys and/or OIDC tokens: a bearer credential is required
    CREDENTIALS = "credentials"
    #: laptop run (no credentials, no sidecar): loopback clients only, no credential needed
    LOOPBACK_ONLY = "loopback-only"
    #: a sidecar but no credentials: a deployment missing its settings; refuse everything
    CLOSED = "closed"


def auth_mode(settings: Settings) -> AuthMode:
    """The mode the settings call for."""
    if settings.credentials_configured:
        return AuthMode.CREDENTIALS
    if settings.sidecar_enabled:
        return AuthMode.CLOSED
    return AuthMode.LOOPBACK_ONLY


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for names and None."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _client_host(scope: Scope) -> str | None:
    # the TCP peer as the server saw it: `python -m app` runs uvicorn without proxy headers,
    # so no X-Forwarded-For can rewrite it
    client = scope.get("client")
    return str(client[0]) if client else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _bearer_token(authorization: bytes | None) -> bytes | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        return None
    return token


class Authenticator:
    """Turns a request's bearer credential (and, on a laptop, its peer) into a Principal."""

    def __init__(self, settings: Settings, oidc: OidcVerifier | None = None) -> None:
        self.mode = auth_mode(settings)
        self._retry_after = str(settings.retry_after_seconds)
        self.keys = ApiKeyVerifier(settings.api_keys, settings.reviewer_keys)
        self.oidc = oidc

    async def authenticate(self, authorization: bytes | None, client_host: str | None) -> Principal:
        """The caller, or UnauthorizedError / ServiceUnavailableError (issuer unreachable)."""
        if self.mode is AuthMode.LOOPBACK_ONLY:
            if is_loopback(client_host):
                return LOCAL_PRINCIPAL
            raise UnauthorizedError(
                "this server has no credentials configured and answers /v1 only to loopback "
                f"clients; its operator must set {CREDENTIAL_SETTINGS}"
            )
        token = _bearer_token(authorization)
        if self.mode is AuthMode.CLOSED:
            raise UnauthorizedError(
                f"authentication is not configured on this server (set {CREDENTIAL_SETTINGS})",
                token_refused=token is not None,
            )
        if token is None:
            raise UnauthorizedError("missing credentials: send Authorization: Bearer <token>")
        if len(token) > MAX_BEARER_BYTES:
            raise UnauthorizedError("token too large", token_refused=True)
        principal = self.keys.verify(token)
        if principal is not None:
            return principal
        if self.oidc is not None and token.count(b".") == 2:
            try:
                return await self.oidc.verify(token.decode("ascii"))
            except UnicodeDecodeError:
                raise UnauthorizedError("malformed token", token_refused=True) from None
            except InvalidTokenError as exc:
                raise UnauthorizedError(str(exc), token_refused=True) from None
            except IdentityProviderUnavailableError as exc:
                logger.warning("cannot verify a token: %s", exc)
                raise ServiceUnavailableError(
                    "the identity provider cannot be reached to verify the token; retry later",
                    headers={"Retry-After": self._retry_after},
                ) from None
        raise UnauthorizedError("invalid credentials", token_refused=True)


class SidecarGate:
    """/dapr/* is for the Dapr sidecar only: it calls the app over loopback, and sends the
    app token (Dapr's APP_API_TOKEN) in ``dapr-api-token`` when one is configured."""

    def __init__(self, app_token: str | None) -> None:
        self._token = app_token.encode() if app_token else None

    def check(self, client_host: str | None, presented: bytes | None) -> None:
        """Return when the caller is the sidecar; ForbiddenError otherwise."""
        if not is_loopback(client_host):
            raise ForbiddenError("only the Dapr sidecar may call /dapr routes")
        if self._token is not None and not hmac.compare_digest(presented or b"", self._token):
            raise ForbiddenError("only the Dapr sidecar may call /dapr routes")


def route_path(scope: Scope) -> str:
    """The path the router matches (the request path without the root path)."""
    path = str(scope["path"])
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path


class AccessGateMiddleware:
    """Authenticates, rate-limits and gates every HTTP request before it is routed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        sidecar_gate: SidecarGate,
        rate_limiter: RateLimiter | None,
        router: Router,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.sidecar_gate = sidecar_gate
        self.rate_limiter = rate_limiter
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        try:
            if path in OPEN_PATHS:
                pass
            elif path == SIDECAR_PREFIX or path.startswith(SIDECAR_PREFIX + "/"):
                self.sidecar_gate.check(_client_host(scope), _header(scope, b"dapr-api-token"))
                scope[SIDECAR_SCOPE_KEY] = True
            else:
                principal = await self.authenticator.authenticate(
                    _header(scope, b"authorization"), _client_host(scope)
                )
                self._spend(principal)
                scope[PRINCIPAL_SCOPE_KEY] = principal
        except ApiError as exc:
            self._label_route(scope)
            response = error_response(exc.status_code, exc.code, exc.message, exc.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _spend(self, principal: Principal) -> None:
        if self.rate_limiter is None:
            return
        retry_after = self.rate_limiter.acquire(principal.id)
        if retry_after is not None:
            raise RateLimitedError(
                f"too many requests; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    def _label_route(self, scope: Scope) -> None:
        # a refused request never reaches the router; name its route for the metrics anyway
        for route in routes_at_path(self.router.routes, scope):
            scope["route"] = route.original_route
            return
