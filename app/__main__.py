"""`python -m app`: serve ``app.main:app`` on DACA_HOST:DACA_PORT (the image's CMD)."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from app.config import Settings, SettingsError, load_settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How the image serves the app. No proxy headers: the client address must be the TCP
    peer, because /dapr/* and a laptop run trust loopback peers, and an X-Forwarded-For
    must never turn an ingress request into a loopback one (whatever FORWARDED_ALLOW_IPS
    says)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.value,
        "proxy_headers": False,
        "server_header": False,
    }


def main() -> int:
    """Run uvicorn with the settings' host, port and log level."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"daca-agent: {exc}", file=sys.stderr)
        return 2
    uvicorn.run("app.main:app", **uvicorn_options(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
