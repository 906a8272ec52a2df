"""`python -m app`: serve ``app.main:app`` on DACA_HOST:DACA_PORT (the image's CMD)."""

from __future__ import annotations

import sys

import uvicorn

from app.config import SettingsError, load_settings


def main() -> int:
    """Run uvicorn with the settings' host, port and log level."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"daca-agent: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.value,
        proxy_headers=True,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
