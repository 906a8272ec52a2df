"""The planet stack config: regions, overrides, federation, the front door's ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, PlanetStackConfig
from infra.synth import load_stack_config

ROOT = Path(__file__).parents[2]


def _shipped() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    return config


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    file = tmp_path / "Pulumi.test.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return file


def _load(tmp_path: Path, config: dict[str, Any]) -> PlanetStackConfig:
    loaded, _, _ = load_stack_config(_write(tmp_path, config))
    assert isinstance(loaded, PlanetStackConfig)
    return loaded


def test_shipped_file_has_three_regions_on_two_cluster_kinds(tmp_path: Path) -> None:
    config = _load(tmp_path, _shipped())
    assert len(config.planet.regions) >= 3
    assert len({region.cluster.kind for region in config.planet.regions}) >= 2


def test_overrides_merge_over_defaults_over_app(tmp_path: Path) -> None:
    raw = _shipped()
    raw["daca:app"]["targetCpuUtilization"] = 65
    raw["daca:planet"]["defaults"] = {"maxReplicas": 5, "resources": {"cpuRequest": "200m"}}
    raw["daca:planet"]["regions"][1]["overrides"] = {"maxReplicas": 9}
    config = _load(tmp_path, raw)
    first, second = config.planet.regions[0], config.planet.regions[1]
    assert config.region_app(first).max_replicas == 5  # defaults over app
    assert config.region_app(second).max_replicas == 9  # the region over defaults
    assert config.region_app(second).target_cpu_utilization == 65  # app where unset
    resources = config.region_app(first).resources
    assert resources.cpu_request == "200m"
    assert resources.memory_limit == "512Mi"  # a typed section, not a dict


def _regions_edit(raw: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    raw["daca:planet"]["regions"][index].update(changes)
    return raw


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda raw: _regions_edit(raw, 1, name="eu-west"),
            "region names must be unique; repeated: eu-west",
        ),
        (
            lambda raw: _regions_edit(raw, 0, name="EU_West"),
            "daca:planet.regions[0].name: 'EU_West' is not allowed",
        ),
        (
            lambda raw: [r.update(drain=True) for r in raw["daca:planet"]["regions"]] and raw,
            "every region is drained",
        ),
        (
            lambda raw: _regions_edit(raw, 0, weight=0),
            "daca:planet.regions[0].weight: 0 is not allowed",
        ),
        (
            lambda raw: _regions_edit(raw, 0, weight=1001),
            "daca:planet.regions[0].weight: 1001 is not allowed",
        ),
        (
            lambda raw: _regions_edit(raw, 2, priority=6),
            "daca:planet.regions[2].priority: 6 is not allowed",
        ),
        (
            lambda raw: raw["daca:planet"].update(federation="karmada") or raw,
            "federation 'karmada' needs hub",
        ),
        (
            lambda raw: raw["daca:planet"].update(federation="karmada", hub="mars") or raw,
            "hub 'mars' is not a region",
        ),
        (
            lambda raw: (
                raw["daca:planet"].update(
                    federation="karmada", hub="eu-west", karmada={"apiSources": ["203.0.113.0/24"]}
                )
                or raw
            ),
            "karmada.hubEgressCidrs",
        ),
        (
            lambda raw: _regions_edit(raw, 0, replicas=3),
            "unknown key daca:planet.regions[0].replicas",
        ),
        (
            lambda raw: _regions_edit(raw, 0, overrides={"image": "x:1"}),
            "unknown key daca:planet.regions[0].overrides.image",
        ),
        (
            lambda raw: _regions_edit(raw, 0, cluster={"kind": "gke", "location": "x"}),
            "daca:planet.regions[0].cluster",
        ),
        (
            lambda raw: _regions_edit(raw, 2, overrides={"minReplicas": 3, "maxReplicas": 2}),
            "minReplicas (3) is above maxReplicas (2)",
        ),
        (
            lambda raw: _regions_edit(
                raw, 0, cluster={"kind": "kubeconfig", "host": "agent.example.com"}
            ),
            "daca:regionKubeconfigs.eu-west",
        ),
        (
            lambda raw: raw["daca:app"].pop("image") and raw,
            "daca:app.image is required on planet",
        ),
        (
            lambda raw: (
                raw["daca:planet"]["regions"][2]["cluster"].update(server={"ocpus": 2}) or raw
            ),
            "above the Always Free cap of 2",
        ),
    ],
)
def test_bad_planet_config_is_refused_in_one_line(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(_write(tmp_path, edit(_shipped())))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_drained_region_is_not_active(tmp_path: Path) -> None:
    config = _load(tmp_path, _regions_edit(_shipped(), 1, drain=True))
    assert [r.name for r in config.active_regions] == ["eu-west", "eu-oci"]


def test_an_unknown_key_in_a_region_lists_what_its_cluster_kind_allows(tmp_path: Path) -> None:
    """Pydantic reports a tagged union's member by its tag (`cluster.oci.x`); the message
    uses the path the user wrote and that member's keys."""
    root = Path(__file__).parents[2]
    config = yaml.safe_load((root / "Pulumi.planet.yaml").read_text())["config"]
    oci = next(r for r in config["daca:planet"]["regions"] if r["cluster"]["kind"] == "oci")
    oci["cluster"]["nodeCnt"] = 3
    file = tmp_path / "Pulumi.bad.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(ConfigError) as caught:
        load_stack_config(file)
    index = config["daca:planet"]["regions"].index(oci)
    message = str(caught.value)
    assert f"daca:planet.regions[{index}].cluster.nodeCnt;" in message
    assert "compartmentId" in message
    assert "operatorCidr" in message
