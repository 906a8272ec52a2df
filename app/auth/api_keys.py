"""Bearer API keys, known to the app only by their SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from app.auth.principal import Principal


def key_digest(key: str | bytes) -> str:
    """The SHA-256 hex digest of a key: what DACA_API_KEYS / DACA_REVIEWER_KEYS list."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()


def key_principal_id(digest: str) -> str:
    """``key:`` and the digest's first 12 hex characters (unique per configuration)."""
    return f"key:{digest[:12]}"


class ApiKeyVerifier:
    """Matches a presented key against the configured digests in constant time."""

    def __init__(self, user_digests: Iterable[str], reviewer_digests: Iterable[str]) -> None:
        reviewers = set(reviewer_digests)
        self._entries = [
            (bytes.fromhex(digest), Principal(key_principal_id(digest), digest in reviewers))
            for digest in dict.fromkeys([*user_digests, *reviewers])
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, key: bytes) -> Principal | None:
        """The key's principal, or None. Every digest is compared, so the time taken does
        not say which (or whether any) digest matched."""
        presented = hashlib.sha256(key).digest()
        found: Principal | None = None
        for digest, principal in self._entries:
            if hmac.compare_digest(presented, digest):
                found = principal
        return found
