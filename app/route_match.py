"""Which routes serve a request's path, across FastAPI's included routers."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def routes_at_path(routes: Sequence[BaseRoute], scope: Scope) -> list[RouteContext]:
    """Every route whose path matches the scope's, whatever its methods (full or partial)."""
    found = []
    for context in iter_route_contexts(routes):
        match, _ = context.matches(scope)
        if match is not Match.NONE:
            found.append(context)
    return found
