"""Policy tests run in the root env: pure validators import directly, the CrossGuard pack
runs in its own env through `infra.check` (a subprocess)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICIES_DIR = REPO_ROOT / "policies"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The pack's package is not part of the root project; its pure modules need nothing
# beyond the standard library.
if str(POLICIES_DIR) not in sys.path:
    sys.path.insert(0, str(POLICIES_DIR))
