"""OIDC bearer tokens: JWTs signed by the configured issuer, checked against its JWKS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from app.auth.principal import Principal
from app.config import is_loopback_url

logger = logging.getLogger(__name__)

#: the only signature algorithms accepted (asymmetric: the app never holds a signing secret)
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
#: clock skew tolerated on exp / nbf / iat, seconds
LEEWAY_SECONDS = 30
#: an unknown `kid` triggers at most one JWKS refetch per this many seconds, so tokens with
#: made-up key ids cannot turn the app into a load generator against the issuer
UNKNOWN_KID_REFETCH_SECONDS = 30.0
#: with no key cached, a failed fetch is not retried for this long (requests fail fast)
FAILED_FETCH_BACKOFF_SECONDS = 5.0
HTTP_TIMEOUT_SECONDS = 5.0
MAX_TOKEN_BYTES = 16 * 1024


class InvalidTokenError(Exception):
    """The token is refused; the message (safe to show) says why."""


class IdentityProviderUnavailableError(Exception):
    """The issuer's discovery document or JWKS could not be fetched, and no key is cached."""


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def has_role(claims: dict[str, Any], claim: str, wanted: str) -> bool:
    """True when ``claim`` (a dotted path) is ``wanted``, a list holding it, or a
    space-separated string holding it (like `scope`)."""
    value = _claim(claims, claim)
    if isinstance(value, str):
        return wanted in value.split()
    if isinstance(value, list):
        return wanted in value
    return False


class JwksCache:
    """The issuer's signing keys by `kid`: fetched through OIDC discovery, kept for ``ttl``
    seconds, refetched once (rate-limited) when a token names a key not in the cache. When a
    refresh fails the cached keys stay in use; only with none at all is the issuer
    "unavailable"."""

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._http = http
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, tuple[jwt.PyJWK, str]] | None = None
        self._expires = 0.0
        self._last_miss_refresh: float | None = None
        self._generation = 0
        self._failed_until = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str, algorithm: str) -> jwt.PyJWK:
        """The key ``kid`` for ``algorithm``, or InvalidTokenError."""
        if self._keys is None or self._clock() >= self._expires:
            await self._refresh(self._generation)
        assert self._keys is not None
        found = self._keys.get(kid)
        if found is None:
            now = self._clock()
            last = self._last_miss_refresh
            if last is None or now - last >= UNKNOWN_KID_REFETCH_SECONDS:
                self._last_miss_refresh = now
                await self._refresh(self._generation)
                found = self._keys.get(kid)
        if found is None:
            raise InvalidTokenError("token signed with an unknown key")
        key, key_algorithm = found
        if key_algorithm != algorithm:
            raise InvalidTokenError("token algorithm does not match its key")
        return key

    async def _refresh(self, seen_generation: int) -> None:
        async with self._lock:
            if self._generation != seen_generation:
                return  # another request refreshed (or tried) while this one waited
            now = self._clock()
            if self._keys is None and now < self._failed_until:
                raise IdentityProviderUnavailableError(
                    f"cannot fetch the signing keys of {self._issuer}"
                )
            self._generation += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError, LookupError, TypeError, AttributeError) as exc:
                logger.warning(
                    "fetching the signing keys of %s failed: %s", self._issuer, type(exc).__name__
                )
                if self._keys is None:
                    self._failed_until = self._clock() + FAILED_FETCH_BACKOFF_SECONDS
                    raise IdentityProviderUnavailableError(
                        f"cannot fetch the signing keys of {self._issuer}"
                    ) from exc
                # keep serving with the cached keys; try again a little later
                self._expires = self._clock() + min(self._ttl, UNKNOWN_KID_REFETCH_SECONDS)
                return
            self._keys = keys
            self._expires = self._clock() + self._ttl

    async def _fetch(self) -> dict[str, tuple[jwt.PyJWK, str]]:
        discovery_url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await self._http.get(discovery_url)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer") != self._issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = str(document["jwks_uri"])
        scheme = urlsplit(jwks_uri).scheme
        if not (scheme == "https" or (scheme == "http" and is_loopback_url(jwks_uri))):
            raise ValueError("jwks_uri is not https")
        response = await self._http.get(jwks_uri)
        response.raise_for_status()
        keys: dict[str, tuple[jwt.PyJWK, str]] = {}
        for entry in response.json()["keys"]:
            parsed = _signing_key(entry)
            if parsed is not None:
                keys[str(entry["kid"])] = parsed
        logger.info("fetched %d signing key(s) of %s", len(keys), self._issuer)
        return keys


def _signing_key(entry: Any) -> tuple[jwt.PyJWK, str] | None:
    """A JWKS entry usable for RS256/ES256 signatures, or None (other uses, types, curves)."""
    if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
        return None
    kty = entry.get("kty")
    algorithm = "RS256" if kty == "RSA" else "ES256" if kty == "EC" else None
    if algorithm is None or entry.get("alg", algorithm) != algorithm:
        return None
    if kty == "EC" and entry.get("crv") != "P-256":
        return None
    try:
        return jwt.PyJWK(entry, algorithm=algorithm), algorithm
    except jwt.PyJWTError:
        logger.warning("ignoring malformed signing key %r", entry.get("kid"))
        return None


class OidcVerifier:
    """Verifies bearer JWTs: RS256/ES256 signature by a key of the issuer's JWKS, `exp`,
    `nbf`, `iss`, `aud` (with a small leeway), and a `sub`. Reviewers carry
    ``reviewer_value`` in ``reviewer_claim``."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        reviewer_claim: str,
        reviewer_value: str,
        jwks_ttl: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._audience = audience
        self._reviewer_claim = reviewer_claim
        self._reviewer_value = reviewer_value
        self._http = httpx.AsyncClient(
            timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False, transport=transport
        )
        self.jwks = JwksCache(issuer, self._http, ttl=jwks_ttl, clock=clock)

    async def verify(self, token: str) -> Principal:
        """The token's principal (``oidc:<iss>|<sub>``), or InvalidTokenError /
        IdentityProviderUnavailableError."""
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidTokenError("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidTokenError("malformed token") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise InvalidTokenError("token algorithm not accepted (RS256 or ES256 only)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("token names no signing key (kid)")
        key = await self.jwks.key(kid, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidTokenError("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidTokenError("token from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidTokenError(f"token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidTokenError("token signature does not verify") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("malformed token") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError("token has no sub claim")
        return Principal(
            f"oidc:{self.issuer}|{subject}",
            reviewer=has_role(claims, self._reviewer_claim, self._reviewer_value),
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()
