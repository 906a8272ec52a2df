"""A fake OIDC issuer on loopback: the discovery document and the JWKS over real HTTP, keys
it can rotate, and tokens it signs. Offline; keys are generated locally.

It serves what the app reads: ``/.well-known/openid-configuration`` (``issuer``,
``jwks_uri``) and ``/jwks`` (public keys with ``kid``, ``use: sig``, ``alg``). ``fetches``
counts requests per path; ``down`` answers 503 to everything.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "daca-agent-api"


@dataclass(frozen=True)
class SigningKey:
    """A private key, its algorithm and the kid it is published under."""

    kid: str
    algorithm: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.private, rsa.RSAPrivateKey):
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


@functools.cache
def _private_key(algorithm: str, index: int) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    # generating RSA keys is slow-ish: each (algorithm, index) once per test run
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def signing_key(kid: str, algorithm: str = "RS256", index: int = 0) -> SigningKey:
    """A key pair (cached per algorithm and index) under ``kid``."""
    return SigningKey(kid, algorithm, _private_key(algorithm, index))


class FakeOidcProvider:
    """start() on a free loopback port; ``issuer`` is then its URL."""

    def __init__(self) -> None:
        self.published: list[SigningKey] = [
            signing_key("rsa-1", "RS256", 0),
            signing_key("ec-1", "ES256", 0),
        ]
        self.fetches: Counter[str] = Counter()
        self.down = False
        self.issuer = ""
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches[self.path] += 1
                if provider.down:
                    self._send(503, {"error": "down"})
                elif self.path == "/.well-known/openid-configuration":
                    self._send(
                        200,
                        {"issuer": provider.issuer, "jwks_uri": f"{provider.issuer}/jwks"},
                    )
                elif self.path == "/jwks":
                    self._send(200, {"keys": [key.public_jwk() for key in provider.published]})
                else:
                    self._send(404, {"error": "not found"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.issuer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def jwks_fetches(self) -> int:
        return self.fetches["/jwks"]

    def token(
        self,
        sub: str = "alice",
        *,
        key: SigningKey | None = None,
        audience: str = AUDIENCE,
        issuer: str | None = None,
        expires_in: float = 300,
        not_before_in: float | None = None,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A JWT signed by ``key`` (default: the first published key)."""
        key = key or self.published[0]
        now = time.time()
        payload: dict[str, Any] = {
            "iss": issuer if issuer is not None else self.issuer,
            "sub": sub,
            "aud": audience,
            "iat": int(now),
            "exp": int(now + expires_in),
        }
        if not_before_in is not None:
            payload["nbf"] = int(now + not_before_in)
        payload.update(claims or {})
        return jwt.encode(
            payload,
            key.private,
            algorithm=key.algorithm,
            headers={"kid": key.kid, **(headers or {})},
        )
