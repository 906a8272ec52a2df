"""Shared fixtures: the program and its components evaluated under Pulumi's mocks.

Every run is in update mode (`preview=False`), so `apply` callbacks run and what is
recorded is what the engine would receive.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.synth import SynthResult, synthesize
from infra.synth import run_under_mocks as synth_run_under_mocks

Record = dict[str, Any]


def run_under_mocks(build: Callable[[], object], stack: str = "unit") -> list[Record]:
    """Run `build` under the mocks in update mode; return every registration."""

    async def body() -> None:
        assert not pulumi.runtime.is_dry_run()
        result = build()
        if result is not None:
            await pulumi.Output.from_input(result).future()

    return synth_run_under_mocks(body, stack)


def assert_config_error(file: Path, expected: list[str]) -> str:
    """Loading the stack file fails with one line holding every expected fragment (the key,
    the bad value, what is allowed); returns the message."""
    from infra.config import ConfigError
    from infra.synth import load_stack_config

    with pytest.raises(ConfigError) as caught:
        load_stack_config(file)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def of_type(records: list[Record], type_: str) -> list[Record]:
    return [r for r in records if r["type"] == type_]


def one(records: list[Record], type_: str, name: str | None = None) -> Record:
    found = [r for r in of_type(records, type_) if name is None or r["name"] == name]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec(record: Record) -> dict[str, Any]:
    spec: dict[str, Any] = record["inputs"]["spec"]["template"]["spec"]
    return spec


def secret_output_commands(records: list[Record]) -> list[Record]:
    """Every command whose output is secret, after checking that none of them logs it."""
    commands = [
        r
        for r in records
        if r["type"] in ("command:local:Command", "command:remote:Command")
        and r["options"].get("additionalSecretOutputs")
    ]
    for command in commands:
        assert command["inputs"].get("logging") == "none", (
            f"{command['name']} has secret outputs but logs its stdout/stderr"
        )
    return commands


@pytest.fixture(scope="session")
def prototype(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthResult]:
    """The shipped prototype stack, synthesized once."""
    return synthesize("prototype", out_dir=tmp_path_factory.mktemp("synth-prototype"))


@pytest.fixture
def stack_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a Pulumi.<stack>.yaml-format file from the shipped prototype config plus changes."""
    import yaml

    shipped = yaml.safe_load((Path(__file__).parents[2] / "Pulumi.prototype.yaml").read_text())

    def write(changes: dict[str, Any]) -> Path:
        config = json.loads(json.dumps(shipped["config"]))
        for key, value in changes.items():
            if key.startswith("@"):  # written as is, without the daca: namespace
                config[key[1:]] = value
                continue
            namespace_key = f"daca:{key.split('.')[0]}"
            if "." not in key:
                if value is None:
                    config.pop(namespace_key, None)
                else:
                    config[namespace_key] = value
                continue
            target = config.setdefault(namespace_key, {})
            *path, last = key.split(".")[1:]
            for part in path:
                target = target.setdefault(part, {})
            if value is None:
                target.pop(last, None)
            else:
                target[last] = value
        file = tmp_path / "Pulumi.test.yaml"
        file.write_text(yaml.safe_dump({"config": config}))
        return file

    return write


def edited_stack_file(stack: str, tmp_path: Path, changes: dict[str, Any]) -> Path:
    """The shipped Pulumi.<stack>.yaml with `section.a.b` changes (None removes the key),
    written as a stack file in `tmp_path`."""
    import yaml

    root = Path(__file__).parents[2]
    config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key, value in changes.items():
        section, *path = key.split(".")
        if not path:
            if value is None:
                config.pop(f"daca:{section}", None)
            else:
                config[f"daca:{section}"] = value
            continue
        target = config.setdefault(f"daca:{section}", {})
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    file = tmp_path / "Pulumi.test.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return file


@contextlib.contextmanager
def scratch_stack(
    source: str, tmp_path: Path, edit: Callable[[str], str] = lambda text: text
) -> Iterator[Any]:
    """A throw-away copy of stack `source` (`<source>-it`) in a local file backend.

    Creating a stack with the passphrase provider writes an encryption salt into its
    Pulumi.<stack>.yaml: the copy takes it, so no tracked file changes. The stack file
    and the stack itself are removed afterwards.
    """
    from pulumi import automation as auto

    root = Path(__file__).parents[2]
    name = f"{source}-it"
    stack_file = root / f"Pulumi.{name}.yaml"
    stack_file.write_text(edit((root / f"Pulumi.{source}.yaml").read_text()))
    env = {
        "PULUMI_BACKEND_URL": os.environ.get("PULUMI_BACKEND_URL", f"file://{tmp_path}"),
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "integration"),
    }
    stack = auto.create_or_select_stack(
        stack_name=name, work_dir=str(root), opts=auto.LocalWorkspaceOptions(env_vars=env)
    )
    try:
        yield stack
    finally:
        stack.workspace.remove_stack(name)
        stack_file.unlink(missing_ok=True)
