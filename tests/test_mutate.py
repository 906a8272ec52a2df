"""`make mutate`'s own parts that decide what a score means: the sample it draws, the
interval it reports, and the fork server's warm-up, which must leave the SDKs as the
programs find them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import mutate
from tests.mutate import sample, sample_undecided, undecided, wilson

NAMES = {
    "infra/a.py": [f"a.f__mutmut_{i}" for i in range(1, 301)],
    "infra/b.py": [f"b.g__mutmut_{i}" for i in range(1, 101)],
    "infra/c.py": ["c.h__mutmut_1"],
}


def test_a_sample_is_the_same_for_a_seed_and_differs_for_another() -> None:
    first = sample(NAMES, 40, seed=0)
    assert first == sample(NAMES, 40, seed=0)
    assert set(first) != set(sample(NAMES, 40, seed=1))


def test_a_sample_takes_each_file_in_proportion_and_never_twice() -> None:
    picked = sample(NAMES, 40, seed=3)
    assert len(picked) == len(set(picked))
    by_file = {source: len(set(names) & set(picked)) for source, names in NAMES.items()}
    # 300 : 100 : 1 of 401 mutants; a file with any mutant gets at least one
    assert by_file == {"infra/a.py": 30, "infra/b.py": 10, "infra/c.py": 1}


def test_a_sample_larger_than_a_file_takes_all_of_it() -> None:
    assert sorted(sample({"x.py": ["x_1", "x_2"]}, 10, seed=0)) == ["x_1", "x_2"]


def test_the_undecided_are_the_mutants_without_a_result_and_a_seed_draws_them_alike(
    tmp_path: Path,
) -> None:
    meta = tmp_path / "mutants" / "app" / "service.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"s__mutmut_{i}": (None if i % 3 else 1) for i in range(1, 31)}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    left = undecided(tmp_path)
    assert left == {name for name, code in codes.items() if code is None}
    drawn = sample_undecided(left, 5, seed=7)
    assert len(set(drawn)) == 5
    assert set(drawn) <= left
    assert drawn == sample_undecided(set(left), 5, seed=7)
    assert drawn != sample_undecided(left, 5, seed=8)
    assert sorted(sample_undecided(left, 99, seed=7)) == sorted(left)


def test_undecided_without_a_sample_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert mutate.main(["app", "--undecided"]) == 2
    assert "give --sample N too" in capsys.readouterr().out


def test_nothing_undecided_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mutmut given no mutant names runs every one: an empty draw must not reach it."""
    meta = tmp_path / "mutants" / "app" / "service.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"s__mutmut_1": 1}}))
    monkeypatch.setattr(mutate, "prepare", lambda name, group: tmp_path)
    monkeypatch.setattr(mutate, "mutant_names", lambda where: {"app/service.py": ["s__mutmut_1"]})

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(mutate.subprocess, "run", no_run)
    assert mutate.main(["app", "--sample", "5", "--undecided"]) == 0
    assert "none left to sample" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("killed", "n", "low", "high"),
    [
        # Wilson score intervals at 95% (z = 1.96), as published tables give them
        (90, 100, 0.8256, 0.9448),
        (50, 100, 0.4038, 0.5962),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_the_interval_is_wilsons(killed: int, n: int, low: float, high: float) -> None:
    got = wilson(killed, n)
    assert got == pytest.approx((low, high), abs=5e-4)


def test_no_decided_mutant_says_nothing_is_known() -> None:
    assert wilson(0, 0) == (0.0, 1.0)


def test_warm_up_leaves_a_class_its_package_exports_in_place(tmp_path: Path) -> None:
    """pulumi_kubernetes loads `apiextensions` lazily; importing its submodule
    `CustomResource` before the package ran put the module where the class belongs, and
    every CustomResource in a mutant's run failed with "'module' object is not callable".
    A fresh interpreter: the package must not have been loaded yet."""
    listing = tmp_path / "modules.txt"
    listing.write_text("pulumi_kubernetes.apiextensions.CustomResource\n")
    script = textwrap.dedent(
        """
        import os, sys
        import pulumi_kubernetes as k8s
        from tests import mutate_plugin
        os.environ[mutate_plugin.PRELOAD] = sys.argv[1]
        mutate_plugin.pytest_configure(None)
        print(isinstance(k8s.apiextensions.CustomResource, type))
        """
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", script, str(listing)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == ["True"]


class _Recorder:
    """What mutmut's stats run does at each test's teardown: map the test to the functions
    recorded since the last one (mutmut.runners.harness.PytestRunner.run_stats)."""

    def __init__(self) -> None:
        self.functions: dict[str, set[str]] = {}

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        from mutmut.state import state

        self.functions[item.name] = set(state()._stats)
        state()._stats.clear()


def _stats_run(tmp_path: Path, *plugins: str) -> dict[str, set[str]]:
    tmp_path.mkdir()
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_shared.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from mutmut.state import state

            @pytest.fixture(scope="module", params=["a", "b"])
            def stack(request):
                state()._stats.add(f"infra.x_build_{request.param}")  # a trampoline's hit
                return request.param

            def test_first(stack):
                pass

            def test_second(stack):
                pass

            def test_alone():
                pass
            """
        )
    )
    recorder = _Recorder()
    args = [str(tmp_path), "-c", str(tmp_path / "pytest.ini"), "-q", "-p", "no:randomly"]
    args += ["-p", "no:xdist", "-p", "no:cacheprovider", "--import-mode=importlib"]
    for plugin in plugins:
        args += ["-p", plugin]
    assert pytest.main(args, plugins=[recorder]) == 0
    return recorder.functions


def test_a_shared_fixture_maps_every_test_that_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    plain = _stats_run(tmp_path / "plain")
    # mutmut alone: only the test that set the fixture up runs the function
    assert plain["test_second[a]"] == set()
    mapped = _stats_run(tmp_path / "mapped", "tests.mutate_plugin")
    assert mapped["test_first[a]"] == mapped["test_second[a]"] == {"infra.x_build_a"}
    assert mapped["test_second[b]"] == {"infra.x_build_b"}
    assert mapped["test_alone"] == set()


def test_a_mutants_run_evaluates_each_stack_once_and_hands_out_copies() -> None:
    """In a fresh interpreter: the memo is only for a mutant's run, never the mapping run
    (whose fixtures must call the program to be mapped to it)."""
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["MUTANT_UNDER_TEST"] = sys.argv[1]
        from infra import synth
        from tests import mutate_plugin
        calls = []
        original = synth.evaluate
        def counted(*args):
            calls.append(args[0])
            return original(*args)
        synth.evaluate = counted
        mutate_plugin.pytest_configure(None)
        config, values, secrets = synth.load_stack_config(synth.stack_file("prototype"))
        first = synth.evaluate("prototype", values, secrets, config)
        first[0].clear()
        second = synth.evaluate("prototype", values, secrets, config)
        print(len(calls), bool(second[0]))
        """
    )
    root = Path(__file__).resolve().parents[1]

    def run(mutant: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script, mutant],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.split()

    assert run("infra.components.kubernetes.helm.x_pinned_release__mutmut_3") == ["1", "True"]
    assert run("stats") == ["2", "True"]
