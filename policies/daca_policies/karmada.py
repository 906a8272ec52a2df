"""Karmada policies: an app federated by Karmada runs in enough regions.

Type tokens are pulumi-kubernetes' for Karmada v1.18's kinds (`policy.karmada.io/v1alpha1`
PropagationPolicy and ClusterPropagationPolicy, `cluster.karmada.io/v1alpha1` Cluster).
Placement is read the way Karmada's scheduler reads it: `clusterNames`, `exclude`, label
and field selectors of `placement.clusterAffinity` (or the first of `clusterAffinities`),
ANDed, over the clusters registered in the same stack; no affinity (or an empty
`clusterNames`) means every cluster. Zones match as Karmada's `matchZones`: `In` wants every
zone of a cluster listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .spec import (
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_dict,
    as_number,
    fmt_num,
    is_unknown,
)

PROPAGATION_TYPES = (
    "kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy",
    "kubernetes:policy.karmada.io/v1alpha1:ClusterPropagationPolicy",
)
CLUSTER = "kubernetes:cluster.karmada.io/v1alpha1:Cluster"
DEFAULT_MIN_REGIONS = 2


class _Undecided(Exception):
    """Something the placement depends on is unknown at preview."""


def _known(value: Any, what: str) -> Any:
    if is_unknown(value):
        raise _Undecided(f"{what} is unknown at preview")
    return value


def _items(value: Any, what: str) -> list[Any]:
    """A list's items ([] when left out); undecided when it or any item is unknown: a
    dropped item could be the term, requirement or constraint that decides."""
    items = _known(value, what)
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    return [_known(item, what) for item in items]


def _strings(value: Any, what: str) -> list[str]:
    return [str(item) for item in _items(value, what)]


def _matches_labels(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    for key, value in as_dict(_known(selector.get("matchLabels"), "matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expression in _items(selector.get("matchExpressions"), "matchExpressions"):
        requirement = as_dict(expression)
        key = str(requirement.get("key"))
        operator = requirement.get("operator")
        values = _strings(requirement.get("values"), "matchExpressions values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _zones_match(operator: Any, zones: list[str], values: list[str]) -> bool:
    """Karmada's matchZones: `In` wants every zone of the cluster listed (and at least one)."""
    if operator == "In":
        return bool(zones) and all(zone in values for zone in zones)
    if operator == "NotIn":
        return not any(zone in values for zone in zones)
    return False  # the webhook allows In and NotIn only


def _matches_fields(selector: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    for expression in _items(selector.get("matchExpressions"), "fieldSelector"):
        requirement = as_dict(expression)
        key = requirement.get("key")
        operator = requirement.get("operator")
        values = _strings(requirement.get("values"), "fieldSelector values")
        if key == "zone":
            # spec.zones only: the deprecated spec.zone "was never used by Karmada"
            if not _zones_match(operator, _strings(spec.get("zones"), "zones"), values):
                return False
            continue
        value = _known(spec.get(str(key)), str(key))
        present = bool(value)  # Karmada reads an empty provider or region as not set
        if operator == "In" and not (present and str(value) in values):
            return False
        if operator == "NotIn" and present and str(value) in values:
            return False
    return True


def _registered(resources: Sequence[Resource]) -> dict[str, Resource]:
    clusters: dict[str, Resource] = {}
    for r in resources:
        if r.type != CLUSTER:
            continue
        name = _known(
            as_dict(_known(r.props.get("metadata"), "a Cluster's metadata")).get("name"),
            f"the name of Cluster {r.name}",
        )
        if isinstance(name, str) and name:
            clusters[name] = r
    return clusters


def _affinity(policy: Resource) -> Mapping[str, Any]:
    """The cluster affinity the scheduler tries first; empty (none) for every cluster."""
    spec = as_dict(_known(policy.props.get("spec"), f"spec of {policy.name}"))
    placement = as_dict(_known(spec.get("placement"), f"placement of {policy.name}"))
    terms = _items(placement.get("clusterAffinities"), "clusterAffinities")
    if terms:
        return as_dict(terms[0])
    return as_dict(_known(placement.get("clusterAffinity"), "clusterAffinity"))


def _max_clusters(policy: Resource) -> float | None:
    """`maxGroups` of a spread constraint by cluster: the most clusters Karmada picks."""
    spec = as_dict(policy.props.get("spec"))
    placement = as_dict(spec.get("placement"))
    for constraint in _items(placement.get("spreadConstraints"), "spreadConstraints"):
        c = as_dict(constraint)
        if c.get("spreadByField") == "cluster":
            most = as_number(_known(c.get("maxGroups"), "maxGroups"))
            if most:
                return most
    return None


def _placement(policy: Resource, registered: Mapping[str, Resource]) -> tuple[list[str], list[str]]:
    """(clusters the policy can place on, named clusters this stack does not register)."""
    affinity = _affinity(policy)
    # an empty list restricts nothing, as Karmada reads it (ClusterNamesMatches)
    listed = _strings(affinity.get("clusterNames"), "clusterNames") or None
    excluded = set(_strings(affinity.get("exclude"), "exclude"))
    labels = as_dict(_known(affinity.get("labelSelector"), "labelSelector"))
    fields = as_dict(_known(affinity.get("fieldSelector"), "fieldSelector"))
    if not registered and (listed is None or labels or fields):
        chooses = (
            "selects clusters by label or field" if labels or fields else "places on every cluster"
        )
        raise NotApplicable(f"{policy.name} {chooses}, and this stack registers none")
    candidates = listed if listed is not None else sorted(registered)
    placed: list[str] = []
    unknown: list[str] = []
    for name in dict.fromkeys(candidates):
        if name in excluded:
            continue
        cluster = registered.get(name)
        if cluster is None:
            if registered:
                unknown.append(name)
            else:
                placed.append(name)  # clusters registered outside this stack: trust the name
            continue
        if not _matches_labels(
            labels, as_dict(as_dict(cluster.props.get("metadata")).get("labels"))
        ):
            continue
        # the spec only matters to a field selector: an unknown one need not hold up the rest
        if fields and not _matches_fields(
            fields, as_dict(_known(cluster.props.get("spec"), f"spec of Cluster {name}"))
        ):
            continue
        placed.append(name)
    return placed, unknown


def validate_min_regions(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    minimum = int(config.get("minRegions", DEFAULT_MIN_REGIONS))
    findings: list[tuple[Resource | None, str]] = []
    undecided: list[str] = []
    try:
        registered = _registered(resources)
    except _Undecided as e:
        raise NotApplicable(str(e)) from None
    for policy in (r for r in resources if r.type in PROPAGATION_TYPES):
        try:
            placed, unknown = _placement(policy, registered)
            most = _max_clusters(policy)
        except _Undecided as e:
            undecided.append(str(e))
            continue
        except NotApplicable as e:
            undecided.append(e.reason)
            continue
        count = min(len(placed), int(most)) if most else len(placed)
        if count >= minimum:
            continue
        where = ", ".join(placed) or "none"
        message = (
            f"PropagationPolicy {policy.name} places on {count} cluster(s) ({where}), "
            f"fewer than this stack's minRegions of {minimum}"
        )
        if most and most < len(placed):
            message += f" (a cluster spread constraint caps it at maxGroups {fmt_num(most)})"
        if unknown:
            message += f"; not registered in this stack: {', '.join(unknown)}"
        findings.append((policy, message))
    if undecided and not findings:
        raise NotApplicable("; ".join(undecided))
    return findings


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="karmada-propagation-min-regions",
        description="A Karmada PropagationPolicy must place the app on at least the stack's "
        "minimum number of member clusters (regions).",
        severity="high",
        enforcement="mandatory",
        remediation="List at least minRegions registered clusters in "
        "placement.clusterAffinity.clusterNames (check for typos against the Cluster "
        "objects), widen its selectors, or raise the cluster spread constraint's maxGroups.",
        config_schema={
            "minRegions": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MIN_REGIONS,
                "description": "Fewest member clusters a PropagationPolicy may place on.",
            }
        },
        validate_stack=validate_min_regions,
    ),
]
