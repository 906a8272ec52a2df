"""`python -m app.healthcheck`: the image's HEALTHCHECK (slim images have no curl)."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check(port: int, timeout: float = 2.0) -> bool:
    """True when GET /healthz on the local port answers 2xx."""
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    """Exit 0 when healthy, 1 otherwise (Docker's HEALTHCHECK convention)."""
    return 0 if check(int(os.environ.get("DACA_PORT", "8000"))) else 1


if __name__ == "__main__":
    sys.exit(main())
