"""A policy's verdict on resources, as the pack runs it, for the per-module rule tests."""

from __future__ import annotations

from typing import Any

from daca_policies import SPECS
from daca_policies.spec import NotApplicable, Resource

BY_NAME = {spec.name: spec for spec in SPECS}


def outcome(policy: str, *resources: Resource, **config: Any) -> tuple[str, list[str]]:
    """("pass" | "fail", messages) or ("na", [reason]): a stack policy over all the
    resources, a resource policy on each (which it must apply to), with the schema's
    defaults merged under ``config`` as the pack does."""
    spec = BY_NAME[policy]
    merged = {**spec.defaults(), **config}
    try:
        if spec.validate_stack is not None:
            found = [m for _, m in spec.validate_stack(list(resources), merged)]
        else:
            assert spec.validate_resource is not None
            assert all(spec.applies_to(r.type) for r in resources)
            found = [m for r in resources for m in spec.validate_resource(r, merged)]
    except NotApplicable as e:
        return "na", [e.reason]
    return ("fail" if found else "pass"), found
