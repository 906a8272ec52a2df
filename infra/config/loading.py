"""Reading the stack config: the engine's strings to typed, validated stage models."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from infra.config.aca import AcaConfig
from infra.config.base import (
    KNOWN_COMPONENT_TYPES,
    NAMESPACE,
    SECRET_KEYS,
    ConfigError,
    StackConfig,
)
from infra.config.kubernetes import KubernetesStackConfig
from infra.config.oci import OciStackConfig
from infra.config.planet import PlanetStackConfig
from infra.config.prototype import PrototypeConfig

STAGES_PLANNED: tuple[str, ...] = ()

STAGE_MODELS: dict[str, type[StackConfig]] = {
    "prototype": PrototypeConfig,
    "aca": AcaConfig,
    "oci": OciStackConfig,
    "planet": PlanetStackConfig,
}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _key(loc: tuple[int | str, ...]) -> str:
    head, *rest = [str(part) for part in loc] or ["?"]
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _union_member(candidates: list[type[BaseModel]], tag: int | str) -> type[BaseModel] | None:
    """The member of a tagged union (`kind: Literal[...]`) whose tag is `tag`."""
    for candidate in candidates:
        kind = candidate.model_fields.get("kind")
        if kind is not None and tag in getattr(kind.annotation, "__args__", ()):
            return candidate
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: itself, a list's items, a union's members."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The camelCase keys allowed at `loc` (the parent of an unknown key); `loc` is
    pydantic's, with a tagged union's tag where it picked a member."""
    candidates: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):  # an item of a list of models
            continue
        if len(candidates) > 1 and (member := _union_member(candidates, part)) is not None:
            candidates = [member]
            continue
        current = candidates[-1] if candidates else None
        if current is None:
            return []
        field = next(
            (f for f in current.model_fields.values() if f.alias == part),
            None,
        )
        candidates = _models_in(field.annotation if field else None)
    current = candidates[-1] if candidates else None
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _without_union_tags(data: Any, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """`loc` without the tags pydantic adds for a tagged union's member (`cluster.aks.x`
    is `cluster.x` in the config the user wrote)."""
    kept: list[int | str] = []
    for index, part in enumerate(loc):
        if isinstance(data, Mapping) and part not in data and index + 1 < len(loc):
            tag = data.get("kind")
            if part == tag:
                continue
        kept.append(part)
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(kept)


def _describe(model: type[StackConfig], data: Mapping[str, Any], err: Any) -> str:
    raw_loc: tuple[int | str, ...] = tuple(err["loc"])
    loc = _without_union_tags(data, raw_loc)
    kind: str = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, raw_loc[:-1])
        return f"unknown key {_key(loc)}; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key {_key(loc)}"
    message = str(err["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    message = re.sub(
        r"a valid dictionary or instance of \w+", "an object (a YAML mapping)", message
    )
    if err.get("ctx", {}).get("error") is not None and kind == "value_error":
        message = str(err["ctx"]["error"])
    if kind == "value_error" and loc and isinstance(_lookup(data, loc), Mapping):
        # an object-level check (e.g. replica bounds): its message names the keys
        return f"{_key(loc)}: {message}"
    return f"{_key(loc)}: {_show(_lookup(data, loc))} is not allowed: {message}"


def _check_component_types(model: type[StackConfig], dapr: Any) -> None:
    if not isinstance(dapr, Mapping):
        return
    for block, allowed in model.component_types.items():
        value = dapr.get(block)
        if not isinstance(value, str):
            continue  # missing or wrong type: the model reports it
        if value in allowed:
            continue
        key = f"{NAMESPACE}:dapr.{block}"
        known = KNOWN_COMPONENT_TYPES.get(block, frozenset())
        if value in known:
            raise ConfigError(
                f"{key}: {value!r} is a Dapr component type this stage cannot back; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        raise ConfigError(
            f"{key}: {value!r} is not a known Dapr {block} component type; "
            f"allowed on this stage: {', '.join(sorted(allowed))}"
        )


def decode_pulumi_values(raw: Mapping[str, str], project: str | None = None) -> dict[str, Any]:
    """Turn the engine's `daca:key -> string` config map into typed values.

    Pulumi hands a program every config value as a string; structured values (objects,
    lists) and scalars written as YAML numbers or booleans arrive as JSON text. A key
    written without a namespace lands in the project's (`<project>:key`), which this
    program never reads: that is a mistake, reported like any other bad key.
    """
    decoded: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, text in raw.items():
        if project and full_key.startswith(f"{project}:"):
            bare = full_key.removeprefix(f"{project}:")
            raise ConfigError(
                f"config key {full_key} is not read (a key without a namespace belongs to "
                f"the project); write it as {NAMESPACE}:{bare}"
            )
        if not full_key.startswith(prefix):
            continue
        try:
            value: Any = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            value = text
        decoded[full_key.removeprefix(prefix)] = value
    return decoded


def load_config(
    values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> StackConfig:
    """Validate the `daca:` config values (keys without the namespace prefix).

    `secret_keys` names the keys that were given as secrets (`pulumi config set --secret`).
    Raises :class:`ConfigError` with a one-line message on the first problem found.
    """
    stage = values.get("stage")
    if stage is None:
        raise ConfigError(
            f"missing required key {NAMESPACE}:stage; allowed: {', '.join(STAGE_MODELS)}"
        )
    if stage not in STAGE_MODELS:
        planned = f" ({', '.join(STAGES_PLANNED)} are planned)" if STAGES_PLANNED else ""
        raise ConfigError(
            f"{NAMESPACE}:stage: {_show(stage)} is not a stage this program builds; "
            f"allowed: {', '.join(STAGE_MODELS)}{planned}"
        )
    model = STAGE_MODELS[stage]
    for key in sorted(SECRET_KEYS & values.keys()):
        if key not in secret_keys:
            raise ConfigError(
                f"{NAMESPACE}:{key} holds a credential and must be secret config: "
                f"run `pulumi config set --secret {NAMESPACE}:{key} <value>`"
            )
    _check_component_types(model, values.get("dapr"))
    try:
        config = model.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ConfigError(_describe(model, values, first)) from None
    config.check_workflows()
    if isinstance(config, KubernetesStackConfig):
        config.check_services()
    config.check_stage()
    return config
