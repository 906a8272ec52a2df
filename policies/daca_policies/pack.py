"""Turns the pure specs into CrossGuard policies (needs pulumi_policy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _DictProxy, _ListProxy

from .spec import NotApplicable, PolicySpec, Resource


def plain(value: Any) -> Any:
    """Unwraps pulumi_policy's unknown-checking proxies into plain dicts and lists.

    Unknowns stay as the engine's sentinel strings; validators skip them or call
    not_applicable instead of letting the proxy raise mid-check.
    """
    if isinstance(value, _DictProxy | _ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _config(spec: PolicySpec, given: Mapping[str, Any]) -> dict[str, Any]:
    return {**spec.defaults(), **dict(given)}


def _resource_validation(spec: PolicySpec) -> Any:
    assert spec.validate_resource is not None
    check = spec.validate_resource

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not spec.applies_to(args.resource_type):
            return
        resource = Resource(args.resource_type, args.name, plain(args.props), args.urn)
        try:
            messages = check(resource, _config(spec, args.get_config()))
        except NotApplicable as e:
            args.not_applicable(e.reason)
            return
        for message in messages:
            report_violation(message, None)

    return validate


def _stack_validation(spec: PolicySpec) -> Any:
    assert spec.validate_stack is not None
    check = spec.validate_stack

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            Resource(
                r.resource_type,
                r.name,
                plain(r.props),
                r.urn,
                {k: tuple(d.urn for d in deps) for k, deps in r.property_dependencies.items()},
                r.provider.urn if r.provider is not None else "",
            )
            for r in args.resources
        ]
        try:
            findings = check(resources, _config(spec, args.get_config()))
        except NotApplicable as e:
            args.not_applicable(e.reason)
            return
        for resource, message in findings:
            report_violation(message, resource.urn if resource and resource.urn else None)

    return validate


def to_policy(spec: PolicySpec) -> Policy:
    common: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "enforcement_level": EnforcementLevel(spec.enforcement),
        "config_schema": (
            PolicyConfigSchema(properties={k: dict(v) for k, v in spec.config_schema.items()})
            if spec.config_schema
            else None
        ),
        "severity": Severity(spec.severity),
        "tags": [spec.domain],
        "remediation_steps": spec.remediation,
    }
    if spec.is_stack:
        return StackValidationPolicy(validate=_stack_validation(spec), **common)
    return ResourceValidationPolicy(validate=_resource_validation(spec), **common)


def _build() -> list[Policy]:
    from . import SPECS

    return [to_policy(spec) for spec in SPECS]


POLICIES: list[Policy] = _build()

PACK_KWARGS: dict[str, Any] = {
    "description": "DACA Ascent guard rails: Kubernetes, Dapr, Azure Container Apps, Azure "
    "Front Door and AKS, OCI Always Free, Karmada federation and image hygiene.",
    "display_name": "DACA Ascent",
    # Each policy sets its own level; this applies only to policies that do not.
    "enforcement_level": EnforcementLevel.ADVISORY,
}
