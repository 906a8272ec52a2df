"""A pytest plugin for `make mutate` (tests/mutate.py): mutmut's map of which tests run
which function, made right for shared fixtures, and a warm fork server.

**Shared fixtures.** mutmut maps each test to the functions called between its start and
its teardown, and runs a mutant against the tests mapped to the mutated function only. A
module- or session-scoped fixture (a synthesized stack, shared by a file's tests) runs
in the first test that asks for it; the tests after it reuse the result, and mutmut never
mapped them to the functions that made it. A mutant in the program was then tried against
the first test of each file alone, and survived the assertions of all the others. Here,
the functions a shared fixture calls while it is set up are kept, and added to the map of
every test that uses that fixture (with the same parameter).

**Warm fork server.** A Pulumi provider SDK loads a submodule on first use
(`azure_native.cdn`, `oci.core`, …): run cold, the planet stack spends 8 of its 10 seconds
importing. mutmut's fork server imports the test modules before it forks a worker per
mutant, but not these, and every worker paid for them again. tests/mutate.py lists them
(by synthesizing every stack once, in a process of its own) in $DACA_MUTATE_PRELOAD; they
are imported here. Only modules are imported: no program runs, so nothing a mutant changes
is computed before the mutant is switched on.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

PRELOAD = "DACA_MUTATE_PRELOAD"
_evaluate: Any = None

#: (fixture, where it is defined, parameter index) -> the functions its setup called
_made_by: dict[tuple[str, str, int], set[str]] = {}


def _mutmut_state() -> Any | None:
    """mutmut's state while it maps tests to functions (its "stats" run), else None."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    from mutmut.state import state

    return state()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, None, None]:
    mutmut = _mutmut_state()
    if mutmut is None or fixturedef.scope == "function":
        yield
        return
    outer, mutmut._stats = mutmut._stats, set()
    try:
        yield
    finally:
        made = mutmut._stats
        mutmut._stats = outer | made
        key = (fixturedef.argname, fixturedef.baseid, getattr(request, "param_index", 0))
        _made_by[key] = made


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut's own teardown hook reads the functions this test called."""
    mutmut = _mutmut_state()
    if mutmut is None or not _made_by:
        return
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    callspec = getattr(item, "callspec", None)
    for name in getattr(item, "fixturenames", ()):
        if not definitions.get(name):
            continue
        fixturedef = definitions[name][-1]
        index = callspec.indices.get(name, 0) if callspec is not None else 0
        mutmut._stats |= _made_by.get((name, fixturedef.baseid, index), set())


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MUTANT_UNDER_TEST", "") not in ("", "stats", "fail"):
        _evaluate_each_stack_once()
    listing = os.environ.get(PRELOAD)
    if not listing:
        return
    for name in Path(listing).read_text().split():
        package = sys.modules.get(name.rpartition(".")[0])
        try:
            if package is not None:
                # a package the SDK imports lazily runs its __init__ now, as the program's
                # first use of it would: imported first, a submodule would take the place
                # of the class of the same name its package exports (CustomResource)
                # (any attribute but the introspection ones pulumi._utils._LazyModule
                # answers without loading)
                hasattr(package, "__all__")
            importlib.import_module(name)
        except Exception:  # one that imports only in its program's context is left to it
            continue


def _evaluate_each_stack_once() -> None:
    """In a mutant's run, a stack with the same config is evaluated once, not once per
    test module that synthesizes it (planet: a dozen times, 2-3 s each, in every mutant).

    The mutant is fixed for the whole run and the program is deterministic (`daca synth`
    writes the same bytes every time), so the same inputs give the same records; each
    caller gets its own copy. Never while mutmut maps tests to functions: a fixture served
    from here would call nothing, and its tests would be mapped to nothing."""
    global _evaluate
    try:
        from infra import synth
    except ImportError:  # a group without the infra package
        return
    if _evaluate is not None:
        return
    _evaluate = original = synth.evaluate
    done: dict[str, Any] = {}

    def evaluate(stack: str, values: Any, secrets: Any, config: Any) -> Any:
        key = json.dumps([stack, values, sorted(secrets), repr(config)], default=str)
        if key not in done:
            done[key] = original(stack, values, secrets, config)
        return copy.deepcopy(done[key])

    synth.evaluate = evaluate  # type: ignore[assignment]
