"""`daca check` on what `daca synth` really writes, with violations planted in a copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.check import run_check
from infra.synth import SynthResult, synthesize

Resources = list[dict[str, Any]]


@pytest.fixture(scope="module")
def prototype(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("prototype", out_dir=tmp_path_factory.mktemp("check-synth"))


@pytest.fixture
def planted(
    prototype: SynthResult, tmp_path: Path
) -> Callable[[Callable[[Resources], None]], Path]:
    """A copy of the synthesized stack (resources and manifests) with `plant` applied."""

    def copy_with(plant: Callable[[Resources], None]) -> Path:
        shutil.copytree(prototype.out_dir, tmp_path / "synth")
        path = tmp_path / "synth" / "resources.json"
        resources: Resources = json.loads(path.read_text())
        plant(resources)
        path.write_text(json.dumps(resources))
        return path

    return copy_with


def named(resources: Resources, type_: str, name: str) -> dict[str, Any]:
    return next(r for r in resources if r["type"] == type_ and r["name"] == name)["inputs"]


def run(
    path: Path, capsys: pytest.CaptureFixture[str], stack: str | None = "prototype"
) -> tuple[int, str]:
    code = run_check(stack, path, None, None)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_synth_output_passes_through_resources_mode(
    prototype: SynthResult, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(prototype.resources_path, capsys)
    assert code == 0, out
    assert "0 mandatory" in out
    assert "0 invalid manifest" in out
    assert "not schema-checked" not in out


def test_planted_password_and_latest_image_are_caught(planted: Any, capsys: Any) -> None:
    def plant(resources: Resources) -> None:
        state = named(
            resources, "kubernetes:dapr.io/v1alpha1:Component", "dapr-components-statestore"
        )
        for item in state["spec"]["metadata"]:
            if item["name"] == "redisPassword":
                item.pop("secretKeyRef")
                item["value"] = "hunter2-plaintext"
        deployment = named(resources, "kubernetes:apps/v1:Deployment", "agent-deployment")
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "daca-agent:latest"

    code, out = run(planted(plant), capsys)
    assert code == 1
    assert any(
        line.startswith("MANDATORY")
        and "dapr-component-secret-refs" in line
        and "redisPassword" in line
        for line in out.splitlines()
    ), out
    assert any(
        "images-container-tag-pinned" in line and ":latest" in line for line in out.splitlines()
    )


@pytest.mark.parametrize(
    ("type_", "name", "field", "value"),
    [
        ("docker:index/remoteImage:RemoteImage", "registry-image", "name", "registry:latest"),
        ("docker:index/image:Image", "agent-image-image", "imageName", "localhost:5017/daca-agent"),
    ],
)
def test_latest_is_caught_where_docker_images_are_named(
    planted: Any, capsys: Any, type_: str, name: str, field: str, value: str
) -> None:
    code, out = run(planted(lambda r: named(r, type_, name).__setitem__(field, value)), capsys)
    assert code == 1
    assert "images-container-tag-pinned" in out
    assert name in out


def test_an_invalid_manifest_fails_resources_mode(
    prototype: SynthResult, planted: Any, capsys: Any
) -> None:
    path = planted(lambda r: None)
    manifest = next((path.parent / "manifests").glob("*-deployment-*.yaml"))
    manifest.write_text(manifest.read_text().replace("readinessProbe:", "readinesProbe:"))
    code, out = run(path, capsys)
    assert code == 1
    assert "INVALID" in out
    assert "readinesProbe" in out


def test_unknown_stack_is_bad_usage(prototype: SynthResult, capsys: Any) -> None:
    code, out = run(prototype.resources_path, capsys, stack="protoype")
    assert code == 2
    assert "unknown stack 'protoype'" in out


def test_mistyped_property_is_reported_not_a_traceback(planted: Any, capsys: Any) -> None:
    def plant(resources: Resources) -> None:
        deployment = named(resources, "kubernetes:apps/v1:Deployment", "agent-deployment")
        deployment["metadata"]["namespace"] = ["daca"]
        deployment["spec"]["template"]["spec"]["containers"][0]["name"] = ["agent"]
        state = named(
            resources, "kubernetes:dapr.io/v1alpha1:Component", "dapr-components-statestore"
        )
        state["metadata"]["name"] = ["statestore"]

    code, out = run(planted(plant), capsys)
    # a crashed pack also exits 1 (it checked nothing): only a finished run has a summary
    assert "could not finish" not in out
    assert "Traceback" not in out
    summary = out.splitlines()[-1]
    assert " policies on " in summary, out
    assert code == (0 if " 0 mandatory," in summary else 1)


def test_unknown_scopes_are_not_applicable(planted: Any, capsys: Any) -> None:
    def plant(resources: Resources) -> None:
        named(resources, "kubernetes:dapr.io/v1alpha1:Component", "dapr-components-pubsub")[
            "scopes"
        ] = ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"]

    code, out = run(planted(plant), capsys)
    assert code == 0, out
    assert "has no scopes" not in out


def test_all_key_takes_the_clis_object_form(planted: Any, tmp_path: Path, capsys: Any) -> None:
    path = planted(
        lambda r: named(r, "kubernetes:core/v1:Service", "agent-service")["spec"].update(
            type="LoadBalancer"
        )
    )
    config = tmp_path / "all.json"
    config.write_text(json.dumps({"all": {"enforcementLevel": "advisory"}}))
    code = run_check("prototype", path, None, config)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ADVISORY  k8s-service-type-allowed" in out
