"""The authenticated caller, as the routes and the service see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``id`` owns the sessions the caller creates and keys the rate limit: ``key:<first 12 hex
    of the key's SHA-256>`` for API keys, ``oidc:<iss>|<sub>`` for OIDC tokens, ``local``
    for a loopback client of a laptop run without credentials. ``reviewer`` may decide reviews.
    """

    id: str
    reviewer: bool = False


#: the caller of a laptop run without credentials (loopback clients only)
LOCAL_PRINCIPAL = Principal("local", reviewer=True)
