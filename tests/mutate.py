"""Mutation testing with mutmut, one group of modules at a time (`make mutate`).

    python -m tests.mutate [GROUP ...]        # run groups (default: all), print scores
    python -m tests.mutate --results GROUP    # list a group's surviving mutants again
    python -m tests.mutate k8s --sample 400   # a seeded random sample, score with its 95% CI
    python -m tests.mutate app --sample 80 --undecided  # a sample of what a stopped run left

Each group mutates the modules that matter and runs only the tests that cover them, in
its own directory under build/mutate/<group>/ (mutmut keeps its `mutants/` tree and its
cache there), so one group's cache never invalidates another's and a rerun retests only
what changed. A group directory links the sources at the top, which is where mutmut
reads them and how the tests import them: `daca_policies` is a top-level package for
the policy tests, so the policies group links it there rather than as
`policies/daca_policies`.

`--sample N` is for a group too slow to run whole (`k8s`: every mutant runs whole Pulumi
programs): it draws N of the group's mutants at random, the same N for the same seed and
sources, in proportion to each file's share, runs those and reports the share killed with
its 95% confidence interval (Wilson's), per file and for the group. Rerun it after adding
tests and the same mutants are tried again.

Not run in CI: a group takes minutes. docs/testing.md has the scores and the
surviving mutants that are equivalent to the original.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.mutate_plugin import PRELOAD

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutate"


@dataclass(frozen=True)
class Group:
    """Modules to mutate and the tests that cover them."""

    links: tuple[tuple[str, str], ...]  # (name in the group dir, path in the repo)
    mutate: tuple[str, ...]  # globs, relative to the group dir
    tests: tuple[str, ...]
    skip: tuple[str, ...] = ()  # globs mutmut leaves as they are
    hide: tuple[str, ...] = ()  # repo entries the mutants' tree must not have
    # the tests run the stacks' programs: import what those load lazily before forking
    # (tests/mutate_plugin.py)
    warm: bool = False


_INFRA_LINKS = (("infra", "infra"), ("app", "app"))
_INFRA_TESTS = (
    "tests/infra/test_dapr_spec.py",
    "tests/infra/test_components.py",
    "tests/infra/test_aca_components.py",
    "tests/infra/test_karmada.py",
    "tests/infra/test_manifests.py",
    "tests/infra/test_prototype_stack.py",
    "tests/infra/test_auth.py",
    # the production services' components (issue 11)
    "tests/infra/test_kafka.py",
    "tests/infra/test_llm.py",
    "tests/infra/test_observability.py",
    "tests/infra/test_autoscaling.py",
    # the stacks that use the components, and the checks across a stack's objects
    "tests/infra/test_oci_stack.py",
    "tests/infra/test_planet_stack.py",
    "tests/infra/test_references.py",
    "tests/infra/test_helm_values.py",
    "tests/infra/test_api_rules.py",
    "tests/infra/test_component_outputs.py",
    "tests/infra/test_dashboard.py",
    "tests/infra/test_resiliency.py",
    # the metrics each alert and panel queries, against what the app exports
    "tests/app/test_metric_names.py",
)

GROUPS: dict[str, Group] = {
    "app": Group(
        links=(("app", "app"),),
        mutate=("app/service.py", "app/routes/*.py", "app/dapr_backend.py"),
        tests=("tests/app",),
    ),
    "k8s": Group(
        links=_INFRA_LINKS,
        mutate=("infra/components/kubernetes/*.py",),
        tests=_INFRA_TESTS,
        warm=True,
    ),
    "dapr": Group(
        links=_INFRA_LINKS,
        mutate=("infra/dapr/*.py",),
        # the schemas are built at import, before mutmut can switch a mutant on: none of
        # its mutants could be killed (tests/infra/test_manifests.py validates with them)
        skip=("infra/dapr/schemas.py",),
        tests=_INFRA_TESTS,
        warm=True,
    ),
    "policies": Group(
        links=(("daca_policies", "policies/daca_policies"),),
        mutate=("daca_policies/*.py",),
        # pack.py and runner.py need pulumi_policy (the pack's own env, exercised by
        # tests/policies/test_check.py through a subprocess); docs.py renders README tables
        skip=("daca_policies/pack.py", "daca_policies/runner.py", "daca_policies/docs.py"),
        tests=(
            "tests/policies/test_validators.py",
            "tests/policies/test_dapr_messages.py",
            "tests/policies/test_oci.py",
            "tests/policies/test_aca_rules.py",
            "tests/policies/test_global_rules.py",
            "tests/policies/test_llm_rules.py",
            "tests/policies/test_k8s_rules.py",
        ),
        # tests/policies/conftest.py puts <root>/policies first on sys.path: an unmutated
        # copy there would shadow the mutants
        hide=("policies",),
    ),
}


_NEVER_COPIED = {".git", ".venv", "build", "mutants", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_COPIED_ANYWAY = {"tests", "pyproject.toml", "uv.lock"}  # mutmut's own also_copy


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "".join(f"\n    {v}" for v in values)


def prepare(name: str, group: Group) -> Path:
    """The group's directory: links to the sources and the tests, and mutmut's config."""
    where = WORK / name
    where.mkdir(parents=True, exist_ok=True)
    sources = [link for link, _ in group.links]
    # what the tests read besides the sources (uv.lock, the stacks' yaml, the Dockerfile's
    # context): mutmut copies it into its tree, whose root the tests take for the repo's
    rest = sorted(
        entry.name
        for entry in REPO.iterdir()
        if entry.name not in {*_NEVER_COPIED, *sources, *group.hide}
    )
    for link, target in (*group.links, *((r, r) for r in rest)):
        path = where / link
        if not path.is_symlink():
            path.symlink_to(REPO / target)
    # setup.cfg, because the linked pyproject.toml has no [tool.mutmut] for a group
    (where / "setup.cfg").write_text(
        "[mutmut]\n"
        f"source_paths ={_list(sources)}\n"
        f"also_copy ={_list([r for r in rest if r not in _COPIED_ANYWAY])}\n"
        f"only_mutate ={_list(group.mutate)}\n"
        + (f"do_not_mutate ={_list(group.skip)}\n" if group.skip else "")
        + f"pytest_add_cli_args_test_selection ={_list(group.tests)}\n"
        # mutmut runs the tests in processes it forks; forked from a process that has run
        # a Pulumi program (threads, grpc) a test can hang: fork from a clean server instead
        "process_isolation = forkserver\n"
        "pytest_add_cli_args =\n    -p\n    no:xdist\n    -p\n    no:cacheprovider\n"
        # the map of tests to functions made right for shared fixtures; the warm fork server
         + "    -p\n    tests.mutate_plugin\n"
    )
    return where


# run in a process of its own: what synthesizing every stack imports, beyond what the
# test modules (imported by mutmut's fork server) already have
_LAZY_MODULES = """
import sys, tempfile
from pathlib import Path
from infra import synth
from infra.plan.model import STAGES
before = set(sys.modules)
with tempfile.TemporaryDirectory() as out:
    for stage in STAGES:
        synth.synthesize(stage, out_dir=Path(out) / stage)
ours = {"infra", "app", "tests"}
# in the order they were first imported: a submodule imported before its package has run
# its __init__ would take the place of a class of the same name (apiextensions.CustomResource)
print("\\n".join(m for m in sys.modules if m not in before and m.split(".")[0] not in ours))
"""


def lazy_modules(where: Path) -> Path:
    """The modules the stacks' programs import on first use, listed for tests/mutate_plugin."""
    listing = where / "lazy-modules.txt"
    found = subprocess.run(
        [sys.executable, "-c", _LAZY_MODULES], cwd=REPO, capture_output=True, text=True, check=True
    )
    listing.write_text(found.stdout)
    return listing


# mutmut's exit codes (mutmut/stats.py): a failing test run or a timeout kills; a clean
# run, or no test reaching the mutant, survives; anything else was not decided
_KILLED = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}
_SURVIVED = {0, 5, 33}


def _verdict(code: int | None) -> str:
    if code in _KILLED:
        return "killed"
    return "survived" if code in _SURVIVED else "other"


def scores(where: Path) -> dict[str, dict[str, int]]:
    """Killed and total mutants per source file, from mutmut's own result files."""
    counts: dict[str, dict[str, int]] = {}
    for meta in sorted((where / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(where / "mutants"))[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        tally = counts.setdefault(source, {"killed": 0, "survived": 0, "other": 0})
        for code in codes.values():
            tally[_verdict(code)] += 1
    return counts


# run in the group directory: mutmut's own first step, which writes the mutants and their
# names (the .meta files) without running a test; internals of the mutmut pinned in uv.lock
_GENERATE = """
import os
from mutmut.__main__ import create_mutants, set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir
set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
copy_src_dir()
copy_also_copy_files()
create_mutants(os.cpu_count() or 2)
"""


def mutant_names(where: Path) -> dict[str, list[str]]:
    """Every mutant's name, by source file (mutmut's .meta files, brought up to date)."""
    subprocess.run([sys.executable, "-c", _GENERATE], cwd=where, check=True)
    metas = sorted((where / "mutants").rglob("*.py.meta"))
    return {
        str(meta.relative_to(where / "mutants"))[: -len(".meta")]: sorted(
            json.loads(meta.read_text())["exit_code_by_key"]
        )
        for meta in metas
    }


def sample(names: dict[str, list[str]], size: int, seed: int) -> list[str]:
    """`size` mutants drawn at random, each file's share in proportion to its count."""
    total = sum(len(n) for n in names.values())
    draw = random.Random(seed)
    picked: list[str] = []
    for of_file in (names[source] for source in sorted(names)):
        share = max(1, round(size * len(of_file) / total)) if of_file else 0
        picked += draw.sample(of_file, min(share, len(of_file)))
    return picked


def undecided(where: Path) -> set[str]:
    """The mutants without a result: never run, or left by a run that was stopped."""
    return {
        key
        for meta in (where / "mutants").rglob("*.py.meta")
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items()
        if code is None
    }


def sample_undecided(names: set[str], size: int, seed: int) -> list[str]:
    """`size` of the undecided mutants, drawn at random from all of them (sorted first, so a
    seed draws the same ones): in a stopped run they are the slowest, not a file's share."""
    return random.Random(seed).sample(sorted(names), min(size, len(names)))


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% confidence interval of a killed share seen in a sample of n (Wilson score)."""
    if n == 0:
        return 0.0, 1.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def report_sample(
    name: str, where: Path, names: dict[str, list[str]], picked: list[str], seconds: float | None
) -> None:
    """Killed and decided mutants of the sample, per file, with the 95% interval."""
    verdicts: dict[str, str] = {}
    for meta in sorted((where / "mutants").rglob("*.py.meta")):
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            verdicts[key] = _verdict(code)
    by_file: dict[str, list[str]] = {}
    for source, of_file in names.items():
        by_file[source] = [verdicts[m] for m in of_file if m in set(picked)]
    took = f", {seconds:.0f}s" if seconds is not None else ""

    def line(label: str, seen: list[str]) -> str:
        killed = seen.count("killed")
        decided = killed + seen.count("survived")
        low, high = wilson(killed, decided)
        pct = 100 * killed / decided if decided else 0.0
        undecided = len(seen) - decided
        return (
            f"{label}: {killed}/{decided} killed ({pct:.1f}%, 95% CI {100 * low:.1f}-"
            f"{100 * high:.1f}%), {undecided} undecided"
        )

    print(
        "== "
        + line(f"{name}, a sample of {len(picked)}", [v for seen in by_file.values() for v in seen])
        + took
    )
    for source, seen in by_file.items():
        if seen:
            print("   " + line(source, seen))


def report(name: str, where: Path, seconds: float | None) -> None:
    counts = scores(where)
    killed = sum(c["killed"] for c in counts.values())
    total = sum(sum(c.values()) for c in counts.values())
    took = f", {seconds:.0f}s" if seconds is not None else ""
    pct = 100 * killed / total if total else 0.0
    print(f"== {name}: {killed}/{total} killed ({pct:.1f}%){took}")
    for source, c in counts.items():
        n = sum(c.values())
        survived, other = c["survived"], c["other"]
        print(f"   {source}: {c['killed']}/{n} killed, {survived} survived, {other} undecided")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"default: all of {', '.join(GROUPS)}")
    parser.add_argument("--results", action="store_true", help="list survivors, no run")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GLOB",
        help="mutant names to (re)run, e.g. 'app.routes.*' (mutmut's own names)",
    )
    parser.add_argument("--sample", type=int, metavar="N", help="run N mutants drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument(
        "--undecided",
        action="store_true",
        help="with --sample: draw from the mutants with no result yet (after a stopped run)",
    )
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        print(f"unknown group {', '.join(unknown)}: pick from {', '.join(GROUPS)}")
        return 2
    if args.undecided and not args.sample:
        print("--undecided picks the mutants a --sample N draws from: give --sample N too")
        return 2
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    for name in args.groups or list(GROUPS):
        group = GROUPS[name]
        where = prepare(name, group)
        names = mutant_names(where) if args.sample else {}
        if args.sample and args.undecided:
            picked = sample_undecided(undecided(where), args.sample, args.seed)
            if not picked:  # mutmut given no names would run the whole group
                print(f"== {name}: every mutant has a result, none left to sample")
                continue
        else:
            picked = sample(names, args.sample, args.seed) if args.sample else []
        seconds = None
        if not args.results:
            env = dict(os.environ)
            if group.warm:
                env[PRELOAD] = str(lazy_modules(where))
            started = time.monotonic()
            run = [mutmut, "run", "--max-children", str(args.max_children), *args.only, *picked]
            if subprocess.run(run, cwd=where, env=env, check=False).returncode != 0:
                print(f"mutmut failed on group {name}")
                return 1
            seconds = time.monotonic() - started
        elif not picked:
            subprocess.run([mutmut, "results"], cwd=where, check=False)
        if picked:
            report_sample(name, where, names, picked, seconds)
        else:
            report(name, where, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
