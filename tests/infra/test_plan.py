"""`daca plan`: from concurrent users to a plan per stage, its limits and its cost.

The hand-computed cases use `hand_inputs`: the shipped figures with two replaced by round
numbers (10 ms of CPU per message, 50% target utilization), so one replica carries exactly
50 messages/s and every expected number below is worked out in the test, in the open.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from infra.cli import main
from infra.config import PlanetStackConfig
from infra.plan.inputs import DEFAULT_INPUTS, Figure, load_inputs
from infra.plan.model import STAGES, Scenario, StagePlan
from infra.plan.stages import plan
from infra.synth import load_stack_config

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {
    "stage",
    "feasible",
    "binding_limit",
    "replicas",
    "nodes",
    "regions",
    "gpus",
    "monthly_cost_usd",
    "assumptions",
}


@pytest.fixture(scope="module")
def hand_inputs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = yaml.safe_load(DEFAULT_INPUTS.read_text())
    data["app"]["cpu_seconds_per_message"]["value"] = 0.01
    data["app"]["target_cpu_utilization"]["value"] = 0.5
    path = tmp_path_factory.mktemp("inputs") / "inputs.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def plan_one(users: int, stage: str, inputs_file: Path, llm: str = "api") -> StagePlan:
    inputs = load_inputs(inputs_file)
    (result,) = plan(Scenario(users, llm=llm), inputs, (stage,))  # type: ignore[arg-type]
    return result


# --- the figures ----------------------------------------------------------------------


def test_every_figure_in_the_inputs_has_a_source_and_a_date() -> None:
    inputs = load_inputs()

    def figures(node: Any) -> list[Figure]:
        if isinstance(node, Figure):
            return [node]
        if isinstance(node, BaseModel):
            return [f for name in type(node).model_fields for f in figures(getattr(node, name))]
        return []

    found = figures(inputs)
    assert len(found) > 60
    assert all(f.source.strip() and f.date.year >= 2025 for f in found)
    assert all(tier.source and tier.date for tier in inputs.llm.api.tiers)
    # the measured ones say how to measure them again
    assert "tests.load.cpu_per_message" in inputs.app.cpu_seconds_per_message.source
    assert "tests.bench.bench_app" in inputs.app.benchmark_requests_per_second.source


def test_every_assumption_a_stage_uses_is_listed_in_its_plan() -> None:
    for result in plan(Scenario(1000), load_inputs()):
        used = [i for i in result.inputs if i["source"].lower().startswith("assumption")]
        assert used, result.stage
        for item in used:
            assert any(a.startswith(item["name"] + " =") for a in result.assumptions)


# --- arithmetic -----------------------------------------------------------------------


def test_a_small_case_worked_out_by_hand(hand_inputs_file: Path) -> None:
    # 6,000 users x 1 message/min = 100 messages/s; a replica carries 0.5 x 1 vCPU / 0.01 s
    # = 50 messages/s, so 2 replicas
    aca = plan_one(6000, "aca", hand_inputs_file)
    assert aca.messages_per_second == pytest.approx(100)
    assert aca.replicas == 2
    # state: 2 gets + 1 save per message; pub/sub: 1 publish per message
    assert aca.state_store_ops_per_second == pytest.approx(300)
    assert aca.pubsub_ops_per_second == pytest.approx(100)
    # ACA's bill for a 730-hour month (2,628,000 s), each replica 1 vCPU / 2 GiB:
    seconds = 730 * 3600
    vcpu = (2 * 1 * seconds - 180_000) * 0.000024  # 121.824
    memory = (2 * 2 * seconds - 360_000) * 0.000003  # 30.456
    messages = 100 * seconds  # 262,800,000 a month, one HTTP request each
    requests = (messages - 2_000_000) / 1e6 * 0.40  # 104.32
    cosmos = messages * (2 * 2 + 1 * 10) / 1e6 * 0.25  # 14 RU a message: 919.8
    service_bus = 10 + (messages - 13e6) / 1e6 * 0.80  # 209.84
    # 6,000 users x 1,000 tokens a minute; 85% input at 0.15, 15% output at 0.60 per 1M
    llm = 6000 * 1000 * 60 * 730 / 1e6 * (0.85 * 0.15 + 0.15 * 0.60)  # 57,159
    assert vcpu + memory + requests + cosmos + service_bus + llm == pytest.approx(58_545.24)
    assert aca.monthly_cost_usd == pytest.approx(58_545.24, abs=0.01)
    # feasible; what binds first is Cosmos DB serverless: 5,000 RU/s / 14 RU x 60 s
    assert aca.feasible
    assert aca.binding_limit.startswith("Cosmos DB serverless")
    assert aca.binding_capacity_users == math.floor(5000 / 14 * 60)  # 21,428
    # 7,500 model requests/min (1.25 per message) and 6M tokens/min: Tier 4 (10,000 / 10M)
    assert aca.llm_api_tier == "Tier 4"

    # planet: 2 regions at least, 2 replicas each at least -> 4 replicas; one
    # Standard_D16s_v5 per region holds 2 pods (1 vCPU + 0.192 daprd) and 8 vCPU of platform
    planet = plan_one(6000, "planet", hand_inputs_file)
    assert (planet.regions, planet.replicas, planet.nodes, planet.gpus) == (2, 4, 2, 0)
    nodes = 2 * 0.768 * 730  # 1,121.28
    aks = 2 * 0.10 * 730  # 146
    front_door = 35 + messages / 1e4 * 0.009 + messages * 2 / 1024**2 * 0.083  # 313.12
    assert planet.monthly_cost_usd == pytest.approx(nodes + aks + front_door + llm, abs=0.01)


@pytest.mark.parametrize("llm", ["api", "self-hosted"])
def test_replicas_nodes_gpus_and_cost_never_fall_as_users_grow(llm: str) -> None:
    inputs = load_inputs()
    users = sorted({max(1, round(10 ** (k / 60))) for k in range(0, 60 * 8 + 1)})
    previous: dict[str, tuple[float, ...]] = {}
    for n in users:
        for result in plan(Scenario(n, llm=llm), inputs):  # type: ignore[arg-type]
            now = (
                result.replicas,
                result.nodes,
                result.regions,
                result.gpus,
                result.monthly_cost_usd,
                result.messages_per_second,
                result.state_store_ops_per_second,
            )
            before = previous.get(result.stage)
            if before is not None:
                assert all(b <= a + 1e-9 for a, b in zip(now, before, strict=True)), (
                    result.stage,
                    n,
                    before,
                    now,
                )
            previous[result.stage] = now


# --- the limit that binds, at each stage's edge ---------------------------------------


@pytest.mark.parametrize(
    ("stage", "edge", "limit"),
    [
        # laptop: 8 vCPU x 0.5 for kind - 1 vCPU platform = 3 vCPU at 50%, over
        # 10 ms app + 4 x 0.48 ms daprd per message = 125.84 messages/s = 7,550.3 users
        ("prototype", math.floor(3 * 0.5 / (0.01 + 4 * 0.00048) * 60), "laptop CPU"),
        # Cosmos DB serverless: 5,000 RU/s / 14 RU per message = 357.1/s = 21,428.6 users
        ("aca", math.floor(5000 / 14 * 60), "Cosmos DB serverless"),
        # Always Free: (2 OCPU - 0.5 platform) at 50% over 11.92 ms = 3,775.2 users
        ("oci", math.floor(1.5 * 0.5 / (0.01 + 4 * 0.00048) * 60), "Always Free A1 CPU"),
        # OpenAI Tier 5: 30,000 requests/min / 1.25 calls per message = 24,000 users
        ("planet", 24_000, "OpenAI gpt-4o-mini Tier 5: 30,000 requests/min"),
    ],
)
def test_each_stage_names_the_limit_that_stops_it_at_its_edge(
    hand_inputs_file: Path, stage: str, edge: int, limit: str
) -> None:
    at_edge = plan_one(edge, stage, hand_inputs_file)
    beyond = plan_one(edge + 1, stage, hand_inputs_file)
    assert at_edge.feasible, at_edge.binding_limit
    assert at_edge.binding_limit.startswith(limit)
    assert not beyond.feasible
    assert beyond.binding_limit.startswith(limit)
    assert beyond.binding_capacity_users == edge


def test_planet_with_gpus_needs_a_front_door_quota_first_then_hits_its_config(
    hand_inputs_file: Path,
) -> None:
    # Front Door: 100,000 requests/s per profile = 6,000,000 users: a quota, raised on request
    before = plan_one(6_000_000, "planet", hand_inputs_file, llm="self-hosted")
    assert before.feasible
    assert not before.quota_raises
    after = plan_one(6_000_001, "planet", hand_inputs_file, llm="self-hosted")
    assert after.feasible
    assert after.binding_limit.startswith("Azure Front Door")
    assert after.quota_raises == [after.binding_limit]
    # the config's 50 regions x 100 replicas x 50 messages/s = 15,000,000 users: hard
    edge = 50 * 100 * 50 * 60
    assert plan_one(edge, "planet", hand_inputs_file, llm="self-hosted").feasible
    beyond = plan_one(edge + 1, "planet", hand_inputs_file, llm="self-hosted")
    assert not beyond.feasible
    assert beyond.binding_limit.startswith("planet config: 50 regions x 100 replicas")


def test_stages_without_gpus_cannot_host_the_model(hand_inputs_file: Path) -> None:
    for stage in ("prototype", "aca", "oci"):
        result = plan_one(10, stage, hand_inputs_file, llm="self-hosted")
        assert not result.feasible
        assert result.binding_limit.startswith("GPUs for the self-hosted model")
        assert result.binding_capacity_users == 0


# --- the command ----------------------------------------------------------------------


def test_daca_plan_writes_the_table_plan_json_and_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--users", "10000000", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "No stage carries 10,000,000 users" in out
    assert "With --llm self-hosted: planet at about" in out
    assert "Assumptions" in out
    plans = json.loads((tmp_path / "plan.json").read_text())
    assert [p["stage"] for p in plans] == list(STAGES)
    for entry in plans:
        assert set(entry) >= REQUIRED_KEYS
        assert entry["monthly_cost_usd"] > 0
        assert entry["assumptions"]
    assert (tmp_path / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_stage_and_a_feasible_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--users", "2000", "--stage", "oci", "--out", str(tmp_path), "--no-chart"]
    assert main(args) == 0
    assert "Carries 2,000 users, cheapest first: oci at about" in capsys.readouterr().out
    (entry,) = json.loads((tmp_path / "plan.json").read_text())
    assert entry["stage"] == "oci"
    assert entry["feasible"]
    # Always Free: the only bill is the LLM API's
    assert entry["cost_breakdown_usd"]["Always Free A1, block storage, NLB"] == 0
    assert entry["monthly_cost_usd"] == entry["cost_breakdown_usd"]["LLM API"] > 0
    assert not (tmp_path / "plan.png").exists()


@pytest.mark.parametrize(
    ("users", "llm"), [("1000000", "api"), ("10000000", "self-hosted"), ("10", "api")]
)
def test_the_emitted_planet_block_loads_through_the_stack_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], users: str, llm: str
) -> None:
    args = ["plan", "--users", users, "--llm", llm, "--emit", "planet", "--no-chart"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    emitted = yaml.safe_load((tmp_path / "planet.yaml").read_text())
    stack = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())
    stack["config"]["daca:planet"] = emitted["daca:planet"]
    # settings keyed by region name follow the new regions (a stale name is refused)
    stack["config"]["daca:kafka"]["mirror"]["bootstrap"] = {
        region["name"]: f"kafka.{region['name']}.example.com:9094"
        for region in emitted["daca:planet"]["regions"]
    }
    merged = tmp_path / "Pulumi.planet.yaml"
    merged.write_text(yaml.safe_dump(stack))

    config, _, _ = load_stack_config(merged)

    assert isinstance(config, PlanetStackConfig)
    config.check_stage()
    (planet,) = json.loads((tmp_path / "plan.json").read_text())[-1:]
    assert len(config.planet.regions) == planet["regions"]
    apps = [config.region_app(region) for region in config.planet.regions]
    assert sum(app.min_replicas for app in apps) == planet["replicas"]
    assert all(app.resources.cpu_request == "1" for app in apps)
    weights = [region.weight for region in config.planet.regions]
    assert weights == [app.min_replicas for app in apps]


def test_emitting_a_planet_larger_than_the_config_allows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["plan", "--users", "40000000", "--emit", "planet", "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "regions" in err
    assert not (tmp_path / "planet.yaml").exists()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--users", "-5"],
        ["--users", "0"],
        ["--users", "abc"],
        ["--users", "10.5"],
        ["--users", "1e12"],
        ["--users", "nan"],
        ["--users", "100", "--requests-per-user-per-minute", "0"],
        ["--users", "100", "--requests-per-user-per-minute", "-1"],
        ["--users", "100", "--requests-per-user-per-minute", "1000"],
        ["--users", "100", "--tokens-per-request", "0"],
        ["--users", "100", "--tokens-per-request", "5000000"],
        ["--users", "100", "--stage", "gke"],
        ["--users", "100", "--llm", "local"],
        ["--users", "100", "--emit", "aca"],
        ["--users", "100", "--inputs", "/nonexistent/inputs.yaml"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["plan", *args, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("daca: error: ")
    assert captured.err.count("\n") == 1
    assert not (tmp_path / "plan.json").exists()


def test_bad_input_from_the_shell_has_no_traceback() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "--users", "-1", "--stage", "mars"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "daca: error: --users -1 is not allowed: must be a whole number from 1 to 10,000,000,000"
    ]
    assert "Traceback" not in run.stderr


def test_an_out_dir_that_cannot_be_written_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    assert main(["plan", "--users", "100", "--out", str(blocker)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"daca: error: --out {blocker}: cannot write there")
    assert captured.err.count("\n") == 1
    assert captured.out == ""  # nothing printed as if it had worked


def test_an_inputs_file_that_is_not_text_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "inputs.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code = main(["plan", "--users", "100", "--inputs", str(binary), "--out", str(tmp_path / "o")])
    assert code == 2
    assert capsys.readouterr().err == f"daca: error: {binary} is not a UTF-8 text file\n"
