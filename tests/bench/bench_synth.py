"""How `daca synth` scales with the planet's regions: 1, 3 and 10 regions.

    uv run python -m tests.bench.bench_synth [--regions 1,3,10] [--repeat 3]

Regions cycle through the cluster kinds of the shipped Pulumi.planet.yaml (AKS, AKS,
OCI), so every count has the same mix. After one warm-up run (imports, SDK loading),
prints for each count the resources, the median seconds of `--repeat` runs, and the
seconds per added region against the first count. Other work on the machine moves the
figures: compare within one run.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from infra.synth import synthesize

ROOT = Path(__file__).parents[2]


def planet_file(regions: int, directory: Path) -> Path:
    """The shipped planet config with `regions` regions (names stay unique, kinds cycle)."""
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    shipped = config["daca:planet"]["regions"]
    config["daca:planet"]["regions"] = [
        {
            **copy.deepcopy(shipped[i % len(shipped)]),
            "name": f"r{i:02d}-{shipped[i % len(shipped)]['name']}",
        }
        for i in range(regions)
    ]
    file = directory / f"Pulumi.planet-{regions}.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="1,3,10", help="comma-separated region counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per count (median taken)")
    options = parser.parse_args()
    counts = [int(n) for n in options.regions.split(",")]
    rows: list[tuple[int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        # the first synth in a process pays for imports and provider SDK loading
        synthesize("planet", config_file=planet_file(1, directory), out_dir=directory / "warm")
        for count in counts:
            timings, resources = [], 0
            for _ in range(options.repeat):
                started = time.perf_counter()
                result = synthesize(
                    "planet",
                    config_file=planet_file(count, directory),
                    out_dir=directory / str(count),
                )
                timings.append(time.perf_counter() - started)
                resources = len(result.resources)
            rows.append((count, resources, statistics.median(timings)))
    base_regions, _, base_seconds = rows[0]
    header = ("regions", "resources", "seconds", "s/added region", "resources/region")
    print(f"{header[0]:>8} {header[1]:>10} {header[2]:>8} {header[3]:>15} {header[4]:>17}")
    for regions, resources, seconds in rows:
        added = regions - base_regions
        per_region = f"{(seconds - base_seconds) / added:.2f}" if added else "-"
        density = resources / regions
        print(f"{regions:>8} {resources:>10} {seconds:>8.2f} {per_region:>15} {density:>17.1f}")


if __name__ == "__main__":
    main()
