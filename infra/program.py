"""The Pulumi program: read the typed config, build the stage, export its outputs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.config import NAMESPACE, ConfigError, StackConfig, decode_pulumi_values, load_config
from infra.stacks import aca, oci, planet, prototype

STAGES: dict[str, Callable[[Any], dict[str, pulumi.Input[object]]]] = {
    "prototype": prototype.build,
    "aca": aca.build,
    "oci": oci.build,
    "planet": planet.build,
}


def read_config() -> StackConfig:
    """The stack's `daca:` config, validated; raises ConfigError."""
    raw: dict[str, str] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = decode_pulumi_values(raw, pulumi.get_project())
    secret_keys = frozenset(
        key for key in values if runtime_config.is_config_secret(f"{NAMESPACE}:{key}")
    )
    return load_config(values, secret_keys)


def build(config: StackConfig) -> dict[str, pulumi.Input[object]]:
    """Register the stage's resources and export its outputs; return them too."""
    outputs = STAGES[config.stage](config)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs


def main() -> None:
    """Entry point under `pulumi up`: a bad config ends the run with one line, no traceback."""
    try:
        config = read_config()
    except ConfigError as exc:
        pulumi.log.error(f"invalid stack config: {exc}")
        sys.exit(2)
    build(config)
