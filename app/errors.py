"""API errors and the handlers that render every error as ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.route_match import routes_at_path
from app.store import BackendUnavailableError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with a status, a stable code and a message safe to show to clients."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class NotFoundError(ApiError):
    status_code = 404
    code = "not_found"


class ConflictError(ApiError):
    status_code = 409
    code = "conflict"


class InputRejectedError(ApiError):
    status_code = 422
    code = "input_rejected"


class ServiceUnavailableError(ApiError):
    status_code = 503
    code = "unavailable"


#: the realm of every bearer challenge
REALM = "daca-agent"


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    """A ``WWW-Authenticate`` value (RFC 6750): no error code when no token was sent,
    ``invalid_token`` when one was refused, ``insufficient_scope`` for a missing role."""
    parts = [f'Bearer realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        # quoted-string: no quotes or backslashes inside
        cleaned = description.replace("\\", "").replace('"', "'")
        parts.append(f'error_description="{cleaned}"')
    return ", ".join(parts)


class UnauthorizedError(ApiError):
    """No credentials, or credentials refused (401 with a bearer challenge)."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, *, token_refused: bool = False) -> None:
        challenge = bearer_challenge("invalid_token", message) if token_refused else None
        super().__init__(message, headers={"WWW-Authenticate": challenge or bearer_challenge()})


class ForbiddenError(ApiError):
    """Authenticated, but not allowed (403)."""

    status_code = 403
    code = "forbidden"


class RateLimitedError(ApiError):
    """Over the principal's request budget (429 with Retry-After)."""

    status_code = 429
    code = "rate_limited"


def error_response(
    status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The one error shape."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


#: FastAPI's detail when parsing the body raised something other than a JSON error
_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, sorted."""
    methods: set[str] = set()
    for route in routes_at_path(request.app.router.routes, request.scope):
        methods |= route.methods or set()
    return sorted(methods)


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    """Register handlers so no error leaves as HTML, a default FastAPI body or a trace."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    async def on_backend_unavailable(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("backend unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "unavailable",
            "the state store or the Dapr sidecar is unavailable; retry later",
            {"Retry-After": str(retry_after_seconds)},
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_PARSE_ERROR:
            # a body json.loads gave up on (e.g. nested too deep): malformed all the same
            return error_response(422, "malformed_json", "request body is not valid JSON")
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route for {request.method} {request.url.path}"
        if exc.status_code == 405:
            # Starlette names only the first route of the path; a path served by several
            # routes (GET and DELETE /v1/sessions/{id}) must list every method
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        return error_response(exc.status_code, code, message, headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":
                return error_response(422, "malformed_json", "request body is not valid JSON")
            where = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return error_response(422, "validation_error", "; ".join(problems) or "invalid request")

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(BackendUnavailableError, on_backend_unavailable)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
