"""The pure policy model: specs, resources and the helpers validators share.

Nothing here imports ``pulumi_policy``: validators are plain functions over plain
dicts, so they are testable from any environment. ``pack.py`` turns the specs into
CrossGuard policies.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["advisory", "mandatory", "disabled"]
Config = Mapping[str, Any]

# The engine's sentinels for values not known until the update (pulumi_policy.proxy).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)
# How `daca synth` writes a secret input; a policy sees the plaintext at preview.
SECRET_PLACEHOLDER = "[secret]"  # noqa: S105 - a marker, not a credential


class NotApplicable(Exception):
    """Raised by a validator when the policy cannot judge this resource (e.g. unknowns)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it: type token, name, URN and its inputs.

    ``dependencies`` maps a property to the URNs of the resources its value came from
    (the engine's property dependencies); stack policies use it to resolve references
    such as a listener's ``networkLoadBalancerId`` even while ids are unknown at preview.
    ``provider`` tells objects of one cluster from another's (planet's regions).
    """

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the URN of the provider it is created with (which cluster, for Kubernetes objects);
    #: empty when not known
    provider: str = ""


ResourceValidator = Callable[[Resource, Config], list[str]]
# A stack validator returns (resource or None for the whole stack, message).
StackValidator = Callable[[Sequence[Resource], Config], list[tuple[Resource | None, str]]]


@dataclass(frozen=True)
class PolicySpec:
    """A policy: metadata, the resource types it applies to, its config schema and validator."""

    name: str
    description: str
    severity: Severity
    enforcement: Enforcement
    remediation: str
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resource_types: tuple[str, ...] = ()
    validate_resource: ResourceValidator | None = None
    validate_stack: StackValidator | None = None

    @property
    def domain(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def is_stack(self) -> bool:
        return self.validate_stack is not None

    def applies_to(self, resource_type: str) -> bool:
        return any(fnmatch.fnmatchcase(resource_type, pattern) for pattern in self.resource_types)

    def defaults(self) -> dict[str, Any]:
        """The config a policy gets when the stack's policy config says nothing about it."""
        return {k: v["default"] for k, v in self.config_schema.items() if "default" in v}


# --- value helpers -------------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def known(value: Any, what: str) -> Any:
    """`value` as it is (None when left out); NotApplicable while it is unknown at preview."""
    if is_unknown(value):
        raise NotApplicable(f"{what} is unknown at preview")
    return value


def get(obj: Any, *path: str | int) -> Any:
    """Walks dicts/lists; returns None for anything missing, mistyped or unknown."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, Sequence) or isinstance(cur, str) or key >= len(cur):
                return None
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(key)
        if cur is None or is_unknown(cur):
            return None
    return cur


def as_list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [v for v in value if not is_unknown(v)]
    return []


def named_in(value: Any, names: Any) -> bool:
    """`value in names`, False for a mistyped (non-string, maybe unhashable) value."""
    return isinstance(value, str) and value in set(names)


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_number(value: Any) -> float | None:
    """Numbers arrive as floats (protobuf Struct) or, for some providers, as strings.

    pulumi-oci types sizes as strings ("50"). None for anything else, including
    "nan" and "inf", which float() accepts but which would compare false to every cap.
    """
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def truthy(value: Any) -> bool | None:
    """True/False for booleans and their string forms ("true" in annotations), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not is_unknown(value):
        lowered = value.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
    return None


def fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def secret_name_matcher(config: Config) -> Callable[[str], bool]:
    pattern = re.compile(str(config.get("secretNamePattern", DEFAULT_CREDENTIAL_NAME_PATTERN)))
    allowed = {str(n).lower() for n in config.get("allowedNames", [])}

    def matches(name: str) -> bool:
        return name.lower() not in allowed and bool(pattern.search(name))

    return matches


DEFAULT_CREDENTIAL_NAME_PATTERN = (
    r"(?i)(password|passwd|pwd|secret(?![-_]?(store|name|ref))|token|api[-_]?key|access[-_]?key|master[-_]?key|"
    r"account[-_]?key|private[-_]?key|connection[-_]?string|credential|sas[-_]?key)"
)

SECRET_NAME_SCHEMA: dict[str, dict[str, Any]] = {
    "secretNamePattern": {
        "type": "string",
        "description": "Regular expression for names that hold credentials.",
        "default": DEFAULT_CREDENTIAL_NAME_PATTERN,
    },
    "allowedNames": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Names that match the pattern but are known not to hold a credential "
        "(by default the app's key digests: a digest cannot be turned back into a key).",
        "default": ["DACA_API_KEYS", "DACA_REVIEWER_KEYS"],
    },
}

#: the app's settings that let it authenticate callers: key digests or an OIDC issuer
AUTH_ENV_SCHEMA: dict[str, dict[str, Any]] = {
    "authVariables": {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "default": ["DACA_API_KEYS", "DACA_OIDC_ISSUER"],
        "description": "Environment variables of which a published app must set at least one.",
    }
}


def env_sets_any(env: Any, names: Sequence[str], ref_key: str = "valueFrom") -> bool | None:
    """Whether an env list sets one of `names` (a non-empty value, or `ref_key`: a
    reference to a secret); None when the list is not known yet (preview)."""
    if is_unknown(env):
        return None
    if not isinstance(env, Sequence) or isinstance(env, str):
        return False  # missing or mistyped: nothing is set
    unknown = False
    for entry in env:
        if is_unknown(entry) or not isinstance(entry, Mapping):
            unknown = unknown or is_unknown(entry)
            continue
        name = entry.get("name")
        if is_unknown(name):
            unknown = True
        if name not in names:
            continue
        value = entry.get("value")
        if is_unknown(value) or (isinstance(value, str) and value.strip()):
            return True  # an unknown value is one the update will set
        if entry.get(ref_key):
            return True
    return None if unknown else False


# --- Kubernetes workload helpers -----------------------------------------------------

WORKLOAD_TYPES = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
)
LONG_RUNNING_TYPES = (*WORKLOAD_TYPES[:4], "kubernetes:core/v1:Pod")


def pod_template(resource: Resource) -> Mapping[str, Any] | None:
    """The pod template (metadata + spec) of a workload, or the Pod itself."""
    props = resource.props
    if resource.type.endswith(":Pod"):
        return props
    if resource.type.endswith(":CronJob"):
        return get(props, "spec", "jobTemplate", "spec", "template")
    return get(props, "spec", "template")


def pod_spec(resource: Resource) -> Mapping[str, Any] | None:
    template = pod_template(resource)
    spec = get(template, "spec")
    return spec if isinstance(spec, Mapping) else None


def containers(
    resource: Resource, include_init: bool = True
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yields (label, container) for every container of a workload's pod spec."""
    spec = pod_spec(resource)
    if spec is None:
        return
    kinds = ("containers", "initContainers") if include_init else ("containers",)
    for kind in kinds:
        for i, c in enumerate(as_list(spec.get(kind))):
            if isinstance(c, Mapping):
                label = c.get("name") if isinstance(c.get("name"), str) else f"{kind}[{i}]"
                yield (
                    (
                        f"init container '{label}'"
                        if kind == "initContainers"
                        else f"container '{label}'"
                    ),
                    c,
                )


def require_pod_spec(resource: Resource) -> Mapping[str, Any]:
    spec = pod_spec(resource)
    if spec is None:
        raise NotApplicable("the pod template is not known (missing or unknown at preview)")
    return spec
