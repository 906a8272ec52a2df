"""House rules that keep infra/ readable (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

INFRA = Path(__file__).parents[2] / "infra"
MAX_FUNCTION_LINES = 120


def test_no_function_in_infra_is_longer_than_the_house_limit() -> None:
    """A stage or component reads as named steps: split a long function into the steps
    it already has."""
    too_long = []
    for path in sorted(INFRA.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(INFRA.parent)}:{node.lineno} {node.name}"
                    too_long.append(f"{where} ({length} lines)")
    assert not too_long, f"over {MAX_FUNCTION_LINES} lines: {', '.join(too_long)}"
