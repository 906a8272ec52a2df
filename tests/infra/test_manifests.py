"""Every synthesized manifest is valid for the stage's Kubernetes version (strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.synth import SynthResult, synthesize
from infra.validate import validate_manifests, validate_object


def test_prototype_manifests_pass_strict_validation(prototype: SynthResult) -> None:
    files = sorted(prototype.manifests_dir.glob("*.yaml"))
    kinds = {yaml.safe_load(f.read_text())["kind"] for f in files}
    assert {
        "Deployment",
        "StatefulSet",
        "Service",
        "Component",
        "Configuration",
        "Resiliency",
    } <= kinds
    assert prototype.k8s_version == "1.34.0"
    assert validate_manifests(prototype.manifests_dir, prototype.k8s_version) == []


def test_kubernetes_validate_cli_agrees_on_the_builtin_kinds(prototype: SynthResult) -> None:
    builtin = [
        str(f)
        for f in sorted(prototype.manifests_dir.glob("*.yaml"))
        if not yaml.safe_load(f.read_text())["apiVersion"].startswith("dapr.io/")
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "-k",
            "1.34.0",
            "--quiet",
            *builtin,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _deployment(prototype: SynthResult) -> dict:
    file = next(prototype.manifests_dir.glob("*-deployment-*.yaml"))
    return yaml.safe_load(file.read_text())


def test_a_misspelled_field_is_caught(prototype: SynthResult) -> None:
    deployment = _deployment(prototype)
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    problem = validate_object(deployment, "1.34.0")
    assert problem
    assert "readinesProbe" in problem


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda c: c.pop("scopes") and c.update(scope=["x"]), "scope"),
        (
            lambda c: c["spec"]["metadata"][0].update(secretKeyRef={"name": "s"}),
            "is valid under each of",
        ),
        (lambda c: c["spec"].update(type="State Redis"), "does not match"),
    ],
)
def test_dapr_component_schema_rejects_mistakes(
    prototype: SynthResult, mutate, fragment: str
) -> None:
    file = next(prototype.manifests_dir.glob("*-component-daca-statestore.yaml"))
    component = yaml.safe_load(file.read_text())
    assert validate_object(component, "1.34.0") is None
    mutate(component)
    problem = validate_object(component, "1.34.0")
    assert problem
    assert fragment in problem


def test_unknown_kind_is_invalid_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
        )
    )
    assert validate_manifests(tmp_path, "1.34.0")[0].startswith("x.yaml: Widget/w: no Kubernetes")


def test_synth_writes_the_same_bytes_every_time(tmp_path: Path) -> None:
    """A GitOps diff shows changes, never the engine's registration order."""
    from infra.synth import synthesize

    first = synthesize("prototype", out_dir=tmp_path / "a")
    synthesize("prototype", out_dir=tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a" / "manifests").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b" / "manifests").iterdir())
    assert len(names) == len(list(first.manifests_dir.glob("*.yaml"))) > 10
    for name in ("resources.json", "outputs.json", *(f"manifests/{n}" for n in names)):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    first_manifest = (tmp_path / "a" / "manifests" / names[0]).read_text()
    assert first_manifest.startswith("apiVersion: ")


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("planet"))


def test_a_misspelt_metadata_field_is_caught_on_every_kind(planet: SynthResult) -> None:
    """The API server refuses an ObjectMeta field it does not know under server-side apply
    (half-way through a deploy) and drops it under a client-side one: a PrometheusRule's
    misspelt `labels` is caught here, whatever its CRD says."""
    kinds: set[str] = set()
    version = str(planet.k8s_version)
    for file in sorted(planet.manifests_dir.glob("*.yaml")):
        obj = yaml.safe_load(file.read_text())
        assert validate_object(obj, version) is None
        obj["metadata"]["XXlabelsXX"] = {"a": "b"}
        problem = validate_object(obj, version)
        assert problem is not None, f"{obj['kind']}: a misspelt metadata field passes"
        assert "XXlabelsXX" in problem, problem
        kinds.add(obj["kind"])
    assert {"PrometheusRule", "ScaledObject", "Component", "Deployment"} <= kinds
