"""Evaluates the pack on a `resources.json` the way `pulumi preview --policy-pack` does.

The Pulumi CLI starts the pack, sends ``Configure`` with the reconciled policy-pack config
(schema defaults + the `--policy-pack-config` file, validated against each policy's
schema), then one ``Analyze`` per resource and one ``AnalyzeStack``. This runner drives
pulumi_policy's own analyzer servicer with the same requests, so the pack's code path is
the real one: same ``ResourceValidationArgs``/``StackValidationArgs``, unknown proxies,
enforcement levels and not-applicable handling.

    python -m daca_policies.runner --resources build/synth/prototype/resources.json \
        --config config/prototype.json [--stack prototype] [--format json|text]

Exit codes: 0 evaluated (violations are in the output), 2 bad input or config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy.policy import (
    EnforcementLevel,
    Policy,
    _PolicyAnalyzerServicer,
)

from . import PACK_NAME, POLICIES
from .pack import PACK_KWARGS
from .spec import UNKNOWN_SENTINELS

PACK_VERSION = "0.1.0"
UNKNOWN_MARKER = "[unknown]"
_STRING_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
assert _STRING_UNKNOWN in UNKNOWN_SENTINELS

_LEVEL_TO_PROTO = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
    EnforcementLevel.DISABLED: proto.DISABLED,
}
_PROTO_TO_LEVEL = {v: k.value for k, v in _LEVEL_TO_PROTO.items()}
_SEVERITY = {
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}


class UsageError(Exception):
    """Bad resources file or policy config: reported in one line, exit code 2."""


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    properties: dict[str, Any]


def reconcile_config(
    policies: Sequence[Policy], default_level: EnforcementLevel, given: Mapping[str, Any]
) -> dict[str, PolicySettings]:
    """What the CLI sends in Configure: per policy, level and schema-defaulted properties."""
    by_name = {p.name: p for p in policies}
    unknown = sorted(set(given) - set(by_name) - {"all"})
    if unknown:
        raise UsageError(f"policy config names unknown policies: {', '.join(unknown)}")
    all_entry = given.get("all")
    if isinstance(all_entry, Mapping):  # the CLI also takes {"all": {"enforcementLevel": ...}}
        all_entry = all_entry.get("enforcementLevel")
    all_level = _level(all_entry, "all") if "all" in given else None
    out: dict[str, PolicySettings] = {}
    for name, policy in by_name.items():
        level = all_level or policy.enforcement_level or default_level
        props: dict[str, Any] = {}
        schema = policy.config_schema
        if schema is not None:
            props = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
        entry = given.get(name)
        if isinstance(entry, str):
            level = _level(entry, name)
        elif isinstance(entry, Mapping):
            for key, value in entry.items():
                if key == "enforcementLevel":
                    level = _level(value, name)
                else:
                    props[key] = value
        elif entry is not None:
            raise UsageError(f"policy config for {name} must be a level or an object")
        if schema is not None:
            validator = jsonschema.Draft7Validator(
                {
                    "type": "object",
                    "properties": schema.properties,
                    "required": schema.required or [],
                }
            )
            errors = sorted(validator.iter_errors(props), key=lambda e: list(e.path))
            if errors:
                where = ".".join(str(p) for p in errors[0].path) or "(root)"
                raise UsageError(f"policy config for {name}: {where}: {errors[0].message}")
        elif any(k for k in props):
            raise UsageError(f"policy {name} takes no configuration")
        out[name] = PolicySettings(level, props)
    return out


def _level(value: Any, name: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        allowed = ", ".join(level.value for level in EnforcementLevel)
        raise UsageError(
            f"policy config for {name}: enforcement level {value!r} is not one of {allowed}"
        ) from None


def _struct(inputs: Mapping[str, Any]) -> struct_pb2.Struct:
    def mark_unknowns(value: Any) -> Any:
        if value == UNKNOWN_MARKER:
            return _STRING_UNKNOWN
        if isinstance(value, Mapping):
            return {k: mark_unknowns(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark_unknowns(v) for v in value]
        return value

    struct = struct_pb2.Struct()
    json_format.ParseDict(mark_unknowns(dict(inputs)), struct)
    return struct


def _provider(resource: Mapping[str, Any], providers: Mapping[str, Mapping[str, Any]]) -> Any:
    """The provider a resource is created with (its `provider`: the provider's name), as the
    engine hands it to a stack policy; None when it names none known."""
    given = providers.get(str(resource.get("provider") or ""))
    if given is None:
        return None
    return proto.AnalyzerProviderResource(
        type=given["type"], urn=given["urn"], name=given["name"], properties=_struct({})
    )


def _property_dependencies(
    resource: Mapping[str, Any], urn_by_name: Mapping[str, str]
) -> dict[str, Any]:
    """The engine's per-property dependencies, from an optional
    ``"propertyDependencies": {"prop": ["resource name", ...]}`` in the resources file."""
    given = resource.get("propertyDependencies")
    if not isinstance(given, Mapping):
        return {}
    return {
        prop: proto.AnalyzerPropertyDependencies(
            urns=[urn_by_name[n] for n in names if isinstance(n, str) and n in urn_by_name]
        )
        for prop, names in given.items()
        if isinstance(names, list)
    }


def load_resources(path: Path, stack: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"resources file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, list):
        raise UsageError(f"{path} must hold a JSON array of resources")
    resources = []
    for i, item in enumerate(data):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("type"), str)
            or not isinstance(item.get("name"), str)
        ):
            raise UsageError(f"{path}: resource #{i} needs a string 'type' and 'name'")
        inputs = item.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise UsageError(f"{path}: resource {item['name']} has non-object inputs")
        urn = item.get("urn") or f"urn:pulumi:{stack}::daca-ascent::{item['type']}::{item['name']}"
        resources.append({**item, "inputs": inputs, "urn": urn})
    return resources


def evaluate(
    resources: Sequence[Mapping[str, Any]], given_config: Mapping[str, Any]
) -> dict[str, Any]:
    default_level = PACK_KWARGS.get("enforcement_level", EnforcementLevel.ADVISORY)
    settings = reconcile_config(POLICIES, default_level, given_config)
    servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, POLICIES, default_level)
    request = proto.ConfigureAnalyzerRequest()
    for name, s in settings.items():
        cfg = request.policyConfig[name]
        cfg.enforcementLevel = _LEVEL_TO_PROTO[s.level]
        json_format.ParseDict(s.properties, cfg.properties)
    servicer.Configure(request, None)

    urn_by_name: dict[str, str] = {}
    for r in resources:
        urn_by_name.setdefault(r["name"], r["urn"])
    by_urn = {r["urn"]: r for r in resources}
    providers = {
        r["name"]: r for r in resources if str(r.get("type", "")).startswith("pulumi:providers:")
    }
    descriptions = {p.name: p.description for p in POLICIES}
    violations: list[dict[str, Any]] = []
    not_applicable: list[dict[str, Any]] = []

    def collect(response: Any, subject: Mapping[str, Any] | None) -> None:
        for d in response.diagnostics:
            target = by_urn.get(d.urn) if d.urn else subject
            message = d.message
            prefix = descriptions.get(d.policyName, "") + "\n"
            if message.startswith(prefix):
                message = message[len(prefix) :]
            violations.append(
                {
                    "policy": d.policyName,
                    "resource": target["name"] if target else "(stack)",
                    "type": target["type"] if target else "",
                    "urn": target["urn"] if target else "",
                    "message": message,
                    "level": _PROTO_TO_LEVEL.get(d.enforcementLevel, "advisory"),
                    "severity": _SEVERITY.get(d.severity, ""),
                }
            )
        for na in response.not_applicable:
            not_applicable.append(
                {
                    "policy": na.policy_name,
                    "resource": subject["name"] if subject else "(stack)",
                    "reason": na.reason,
                }
            )

    stack_request = proto.AnalyzeStackRequest()
    for r in resources:
        parent_urn = urn_by_name.get(r.get("parent") or "", "")
        options = proto.AnalyzerResourceOptions(parent=parent_urn)
        props = _struct(r["inputs"])
        analyze = proto.AnalyzeRequest(
            type=r["type"], properties=props, urn=r["urn"], name=r["name"], options=options
        )
        collect(servicer.Analyze(analyze, None), r)
        stack_request.resources.append(
            proto.AnalyzerResource(
                type=r["type"],
                properties=props,
                urn=r["urn"],
                name=r["name"],
                options=options,
                parent=parent_urn,
                propertyDependencies=_property_dependencies(r, urn_by_name),
                provider=_provider(r, providers),
            )
        )
    collect(servicer.AnalyzeStack(stack_request, None), None)

    return {
        "pack": PACK_NAME,
        "policies": len(POLICIES),
        "resources": len(resources),
        "violations": violations,
        "notApplicable": not_applicable,
    }


def format_text(result: Mapping[str, Any]) -> str:
    lines = [
        f"{v['level'].upper():<9} {v['policy']}  {v['resource']} ({v['type']}): {v['message']}"
        for v in result["violations"]
    ]
    mandatory = sum(v["level"] == "mandatory" for v in result["violations"])
    lines.append(
        f"{result['policies']} policies on {result['resources']} resources: "
        f"{mandatory} mandatory, {len(result['violations']) - mandatory} advisory "
        f"violation(s)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m daca_policies.runner", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--resources", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="a --policy-pack-config JSON file")
    parser.add_argument("--stack", default="stack")
    parser.add_argument("--format", choices=["json", "text"], default="json")
    args = parser.parse_args(argv)
    try:
        resources = load_resources(args.resources, args.stack)
        config: Any = {}
        if args.config is not None:
            try:
                config = json.loads(args.config.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise UsageError(f"cannot read policy config {args.config}: {e}") from None
            if not isinstance(config, dict):
                raise UsageError(f"policy config {args.config} must be a JSON object")
        result = evaluate(resources, config)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.format == "json" else format_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
