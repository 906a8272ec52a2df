"""The planet stage's policies as a user reads them: Front Door and AKS (azure_global.py),
and the Karmada placement count (karmada.py).

test_validators.py checks pass/fail/not-applicable on one case each; these check the
message text, the config knobs, the Azure defaults the validators judge when a property
is left out, and Karmada's placement rules (upstream `ClusterMatches`, `matchZones` and
the spread constraint's `maxGroups`), written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from daca_policies import SPECS
from daca_policies.spec import NotApplicable, Resource

from .cases import (
    UNKNOWN,
    aks_cluster,
    d,
    fd_origin_group,
    fd_route,
    karmada_cluster,
    members,
    propagation,
    resource,
)

BY_NAME = {spec.name: spec for spec in SPECS}
ROUTE = "azure-frontdoor-route-https-only"
PROBE = "azure-frontdoor-origin-group-health-probe"
AKS = "azure-aks-rbac-no-local-accounts"
REGIONS = "karmada-propagation-min-regions"
_DROP: Any = object()  # a property left out


def messages(policy: str, r: Resource, **config: Any) -> list[str]:
    spec = BY_NAME[policy]
    assert spec.validate_resource is not None
    assert spec.applies_to(r.type)
    return spec.validate_resource(r, {**spec.defaults(), **config})


def not_applicable(policy: str, r: Resource) -> str:
    with pytest.raises(NotApplicable) as caught:
        messages(policy, r)
    return caught.value.reason


# -- azure-frontdoor-route-https-only ------------------------------------------------------

PLAIN_TO_ORIGIN = "traffic to the origins may travel as plain HTTP"
NO_REDIRECT = "clients are served over plain HTTP instead of being sent to HTTPS"


@pytest.mark.parametrize(
    ("forwarding", "shown"),
    [("MatchRequest", "MatchRequest"), ("HttpOnly", "HttpOnly"), (_DROP, "not set (MatchRequest)")],
)
def test_a_route_not_forwarding_over_https_names_the_protocol(forwarding: Any, shown: str) -> None:
    route = (
        fd_route(forwardingProtocol=forwarding)
        if forwarding is not _DROP
        else _without(fd_route(), "forwardingProtocol")
    )
    assert messages(ROUTE, route) == [f"forwardingProtocol is {shown}: {PLAIN_TO_ORIGIN}"]


@pytest.mark.parametrize(
    ("redirect", "shown"), [("Disabled", "Disabled"), (_DROP, "not set (Disabled)")]
)
def test_a_route_accepting_http_without_redirect_names_the_setting(
    redirect: Any, shown: str
) -> None:
    route = (
        fd_route(httpsRedirect=redirect)
        if redirect is not _DROP
        else _without(fd_route(), "httpsRedirect")
    )
    assert messages(ROUTE, route) == [
        f"the route accepts HTTP but httpsRedirect is {shown}: {NO_REDIRECT}"
    ]


def test_a_route_that_leaves_out_its_protocols_accepts_http_by_default() -> None:
    # supportedProtocols defaults to [Http, Https] on Azure: the redirect is still needed
    route = _without(fd_route(httpsRedirect="Disabled"), "supportedProtocols")
    assert messages(ROUTE, route) == [
        f"the route accepts HTTP but httpsRedirect is Disabled: {NO_REDIRECT}"
    ]
    assert messages(ROUTE, _without(fd_route(), "supportedProtocols")) == []


def test_an_https_only_route_needs_no_redirect_and_all_findings_are_listed() -> None:
    assert messages(ROUTE, fd_route(supportedProtocols=["Https"], httpsRedirect="Disabled")) == []
    both = _without(_without(fd_route(), "forwardingProtocol"), "httpsRedirect")
    assert messages(ROUTE, both) == [
        f"forwardingProtocol is not set (MatchRequest): {PLAIN_TO_ORIGIN}",
        f"the route accepts HTTP but httpsRedirect is not set (Disabled): {NO_REDIRECT}",
    ]


@pytest.mark.parametrize("field", ["forwardingProtocol", "supportedProtocols", "httpsRedirect"])
def test_a_route_setting_unknown_at_preview_is_not_judged(field: str) -> None:
    assert not_applicable(ROUTE, fd_route(**{field: UNKNOWN})) == f"{field} is unknown at preview"


# -- azure-frontdoor-origin-group-health-probe ---------------------------------------------


def test_an_origin_group_without_a_probe_says_so() -> None:
    group = resource("azure-native:cdn:AFDOriginGroup", {"sessionAffinityState": "Disabled"})
    assert messages(PROBE, group) == [
        "the origin group has no healthProbeSettings: an unhealthy region keeps traffic"
    ]


def test_probe_settings_that_are_not_an_object_are_not_judged() -> None:
    group = resource("azure-native:cdn:AFDOriginGroup", {"healthProbeSettings": ["/healthz"]})
    assert not_applicable(PROBE, group) == "healthProbeSettings is not an object"


@pytest.mark.parametrize(("path", "shown"), [(_DROP, "None"), ("healthz", "'healthz'"), ("", "''")])
def test_a_probe_path_must_be_an_absolute_path(path: Any, shown: str) -> None:
    group = fd_origin_group(probePath=path) if path is not _DROP else _probe_without("probePath")
    assert messages(PROBE, group) == [
        f"healthProbeSettings.probePath is {shown}: set the app's health path"
    ]


def test_the_probe_protocol_is_checked_against_the_allowed_list() -> None:
    assert messages(PROBE, fd_origin_group(probeProtocol="Http")) == [
        "healthProbeSettings.probeProtocol is 'Http', not one of Https"
    ]
    assert messages(
        PROBE, fd_origin_group(probeProtocol="NotSet"), allowedProbeProtocols=["Https", "Http"]
    ) == ["healthProbeSettings.probeProtocol is 'NotSet', not one of Https, Http"]
    assert messages(PROBE, _probe_without("probeProtocol")) == [
        "healthProbeSettings.probeProtocol is None, not one of Https"
    ]
    allowing_http = {"allowedProbeProtocols": ["Http", "Https"]}
    assert messages(PROBE, fd_origin_group(probeProtocol="Http"), **allowing_http) == []


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_probe_may_use_get_or_head(method: str) -> None:
    assert messages(PROBE, fd_origin_group(probeRequestType=method)) == []


@pytest.mark.parametrize(("method", "shown"), [("NotSet", "'NotSet'"), (_DROP, "None")])
def test_another_probe_method_is_named(method: Any, shown: str) -> None:
    group = (
        fd_origin_group(probeRequestType=method)
        if method is not _DROP
        else _probe_without("probeRequestType")
    )
    assert messages(PROBE, group) == [
        f"healthProbeSettings.probeRequestType is {shown}, not GET or HEAD"
    ]


def test_a_probe_without_an_interval_says_so_and_every_finding_is_listed() -> None:
    assert messages(PROBE, _probe_without("probeIntervalInSeconds")) == [
        "healthProbeSettings.probeIntervalInSeconds is not set"
    ]
    group = resource("azure-native:cdn:AFDOriginGroup", {"healthProbeSettings": {}})
    assert messages(PROBE, group) == [
        "healthProbeSettings.probePath is None: set the app's health path",
        "healthProbeSettings.probeProtocol is None, not one of Https",
        "healthProbeSettings.probeRequestType is None, not GET or HEAD",
        "healthProbeSettings.probeIntervalInSeconds is not set",
    ]


@pytest.mark.parametrize(
    "field", ["probePath", "probeProtocol", "probeRequestType", "probeIntervalInSeconds"]
)
def test_a_probe_setting_unknown_at_preview_is_not_judged(field: str) -> None:
    reason = not_applicable(PROBE, fd_origin_group(**{field: UNKNOWN}))
    assert reason == f"healthProbeSettings.{field} is unknown at preview"
    group = resource("azure-native:cdn:AFDOriginGroup", {"healthProbeSettings": UNKNOWN})
    assert not_applicable(PROBE, group) == "healthProbeSettings is unknown at preview"


# -- azure-aks-rbac-no-local-accounts ------------------------------------------------------

RBAC_OFF = "enableRBAC is not true: Kubernetes RBAC is off"
LOCAL = "disableLocalAccounts is not true: a static admin certificate bypasses Entra ID"
NOT_MANAGED = "aadProfile.managed is not true: sign-in does not go through Entra ID"
NO_AZURE_RBAC = (
    "aadProfile.enableAzureRBAC is not true: Kubernetes authorization is not managed "
    "through Azure role assignments"
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"enableRBAC": False}, [RBAC_OFF]),
        ({"disableLocalAccounts": False}, [LOCAL]),
        ({"aadProfile": {"managed": False, "enableAzureRBAC": True}}, [NOT_MANAGED]),
        ({"aadProfile": {"managed": True, "enableAzureRBAC": False}}, [NO_AZURE_RBAC]),
    ],
)
def test_each_aks_setting_is_named_when_off(change: dict[str, Any], expected: list[str]) -> None:
    assert messages(AKS, aks_cluster(**change)) == expected


def test_an_aks_cluster_leaving_everything_out_keeps_azures_insecure_defaults() -> None:
    bare = resource("azure-native:containerservice:ManagedCluster", {"resourceName": "daca-eu"})
    assert messages(AKS, bare) == [RBAC_OFF, LOCAL, NOT_MANAGED, NO_AZURE_RBAC]


def test_azure_rbac_is_required_only_when_configured() -> None:
    kubernetes_rbac_only = aks_cluster(aadProfile={"managed": True})
    assert messages(AKS, kubernetes_rbac_only) == [NO_AZURE_RBAC]
    assert messages(AKS, kubernetes_rbac_only, requireAzureRbac=False) == []
    # the knob waives Azure RBAC only: Entra ID sign-in is still required
    unmanaged = aks_cluster(aadProfile={"managed": False})
    assert messages(AKS, unmanaged, requireAzureRbac=False) == [NOT_MANAGED]


def test_an_aad_profile_that_is_not_an_object_is_not_judged() -> None:
    assert not_applicable(AKS, aks_cluster(aadProfile="managed")) == "aadProfile is not an object"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enableRBAC": UNKNOWN}, "enableRBAC"),
        ({"disableLocalAccounts": UNKNOWN}, "disableLocalAccounts"),
        ({"aadProfile": UNKNOWN}, "aadProfile"),
        ({"aadProfile": {"managed": UNKNOWN, "enableAzureRBAC": True}}, "aadProfile.managed"),
        (
            {"aadProfile": {"managed": True, "enableAzureRBAC": UNKNOWN}},
            "aadProfile.enableAzureRBAC",
        ),
    ],
)
def test_an_aks_setting_unknown_at_preview_is_not_judged(
    change: dict[str, Any], field: str
) -> None:
    assert not_applicable(AKS, aks_cluster(**change)) == f"{field} is unknown at preview"


# -- karmada-propagation-min-regions -------------------------------------------------------


def placed(*resources: Resource, **config: Any) -> list[str]:
    """The policy's messages for a stack of these resources."""
    spec = BY_NAME[REGIONS]
    assert spec.validate_stack is not None
    findings = spec.validate_stack(list(resources), {**spec.defaults(), **config})
    assert all(
        r is not None and r.type.startswith("kubernetes:policy.karmada.io/") for r, _ in findings
    )
    return [m for _, m in findings]


def undecided(*resources: Resource) -> str:
    with pytest.raises(NotApplicable) as caught:
        placed(*resources)
    return caught.value.reason


def affinity(**fields: Any) -> dict[str, Any]:
    return {"clusterAffinity": fields}


def too_few(count: int, where: str, minimum: int = 2, name: str = "agent-propagation") -> str:
    return (
        f"PropagationPolicy {name} places on {count} cluster(s) ({where}), "
        f"fewer than this stack's minRegions of {minimum}"
    )


def test_too_few_clusters_names_the_policy_the_clusters_and_the_minimum() -> None:
    assert placed(*members("eu", "us"), propagation(affinity(clusterNames=["us"]))) == [
        too_few(1, "us")
    ]
    excluded = affinity(clusterNames=["eu", "us"], exclude=["eu", "us"])
    assert placed(*members("eu", "us"), propagation(excluded)) == [too_few(0, "none")]


@pytest.mark.parametrize(("minimum", "passes"), [(2, True), (3, True), (4, False)])
def test_min_regions_is_a_floor_the_count_may_reach(minimum: int, passes: bool) -> None:
    stack = (*members("eu", "us", "ap"), propagation(None))
    expected = [] if passes else [too_few(3, "ap, eu, us", minimum)]
    assert placed(*stack, minRegions=minimum) == expected


def test_one_region_is_enough_when_configured() -> None:
    stack = (*members("eu", "us"), propagation(affinity(clusterNames=["eu"])))
    assert placed(*stack, minRegions=1) == []


def test_unregistered_names_are_listed_when_the_stack_registers_clusters() -> None:
    names = affinity(clusterNames=["eu", "usa", "apac"])
    assert placed(*members("eu", "us"), propagation(names)) == [
        too_few(1, "eu") + "; not registered in this stack: usa, apac"
    ]


def test_a_name_listed_twice_counts_once() -> None:
    twice = affinity(clusterNames=["eu", "eu"])
    assert placed(*members("eu", "us"), propagation(twice)) == [too_few(1, "eu")]
    assert placed(propagation(twice)) == [too_few(1, "eu")]


def test_names_registered_elsewhere_are_trusted_but_exclusions_still_apply() -> None:
    outside = affinity(clusterNames=["eu", "us", "ap"], exclude=["ap", "us"])
    assert placed(propagation(outside)) == [too_few(1, "eu")]


def test_an_empty_cluster_names_list_restricts_nothing() -> None:
    # Karmada's ClusterNamesMatches: no names listed, every cluster matches
    assert placed(*members("eu", "us"), propagation(affinity(clusterNames=[]))) == []
    assert placed(*members("eu"), propagation(affinity(clusterNames=[]))) == [too_few(1, "eu")]


def test_a_cluster_propagation_policy_is_counted_too_and_other_objects_are_not() -> None:
    cluster_wide = propagation(affinity(clusterNames=["eu"]), name="global-propagation")
    cluster_wide = Resource(
        "kubernetes:policy.karmada.io/v1alpha1:ClusterPropagationPolicy",
        cluster_wide.name,
        cluster_wide.props,
        cluster_wide.urn,
    )
    assert placed(*members("eu", "us"), d(), cluster_wide, propagation()) == [
        too_few(1, "eu", name="global-propagation")
    ]


def test_every_policy_too_narrow_is_reported() -> None:
    one = propagation(affinity(clusterNames=["eu"]), name="one")
    other = propagation(affinity(clusterNames=["us"]), name="other")
    assert placed(*members("eu", "us"), one, propagation(), other) == [
        too_few(1, "eu", name="one"),
        too_few(1, "us", name="other"),
    ]


# label selectors: Kubernetes' semantics (an absent label satisfies NotIn and DoesNotExist)

TIERED = (
    karmada_cluster("eu", labels={"tier": "prod", "gpu": "a100"}),
    karmada_cluster("us", labels={"tier": "prod"}),
    karmada_cluster("lab", labels={"tier": "test"}),
)


def _expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


@pytest.mark.parametrize(
    ("selector", "where"),
    [
        ({"matchLabels": {"tier": "prod"}}, "eu, us"),
        ({"matchLabels": {"tier": "prod", "gpu": "a100"}}, "eu"),
        ({"matchLabels": {"tier": "staging"}}, ""),
        ({"matchExpressions": [_expression("tier", "In", "prod", "test")]}, "eu, lab, us"),
        ({"matchExpressions": [_expression("tier", "In", "test")]}, "lab"),
        ({"matchExpressions": [_expression("gpu", "In", "a100", "h100")]}, "eu"),
        ({"matchExpressions": [_expression("tier", "NotIn", "prod")]}, "lab"),
        ({"matchExpressions": [_expression("gpu", "NotIn", "a100")]}, "lab, us"),
        ({"matchExpressions": [_expression("gpu", "Exists")]}, "eu"),
        ({"matchExpressions": [_expression("gpu", "DoesNotExist")]}, "lab, us"),
        (
            {
                "matchLabels": {"tier": "prod"},
                "matchExpressions": [_expression("gpu", "DoesNotExist")],
            },
            "us",
        ),
        (
            {
                "matchExpressions": [
                    _expression("tier", "In", "prod", "test"),
                    _expression("gpu", "DoesNotExist"),
                ]
            },
            "lab, us",
        ),
    ],
)
def test_a_label_selector_places_on_the_clusters_it_matches(
    selector: dict[str, Any], where: str
) -> None:
    found = placed(*TIERED, propagation(affinity(labelSelector=selector)), minRegions=3)
    count = len(where.split(", ")) if where else 0
    assert found == ([] if count >= 3 else [too_few(count, where or "none", 3)])


def test_a_label_selector_and_names_are_anded() -> None:
    both = affinity(clusterNames=["eu", "lab"], labelSelector={"matchLabels": {"tier": "prod"}})
    assert placed(*TIERED, propagation(both)) == [too_few(1, "eu")]


# field selectors: provider and region as labels; zones as Karmada's matchZones

ZONED = (
    resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        {
            "metadata": {"name": "eu"},
            "spec": {"provider": "azure", "region": "westeurope", "zones": ["1", "2"]},
        },
    ),
    resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        {
            "metadata": {"name": "us"},
            "spec": {"provider": "azure", "region": "eastus", "zones": ["1"]},
        },
    ),
    resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        # the deprecated `zone`, which Karmada never reads, and no region
        {"metadata": {"name": "oci"}, "spec": {"provider": "oci", "region": "", "zone": "1"}},
    ),
)


@pytest.mark.parametrize(
    ("expressions", "where"),
    [
        ([_expression("provider", "In", "azure")], "eu, us"),
        ([_expression("provider", "NotIn", "azure")], "oci"),
        ([_expression("region", "In", "westeurope", "eastus")], "eu, us"),
        ([_expression("region", "In", "")], ""),  # an empty region is not set
        ([_expression("region", "NotIn", "eastus")], "eu, oci"),
        # In: every zone of the cluster listed; a cluster without zones never matches
        ([_expression("zone", "In", "1")], "us"),
        ([_expression("zone", "In", "1", "2")], "eu, us"),
        ([_expression("zone", "NotIn", "2")], "oci, us"),
        ([_expression("zone", "NotIn", "3")], "eu, oci, us"),
        ([_expression("zone", "Exists")], ""),  # the webhook allows In and NotIn only
        ([_expression("provider", "In", "azure"), _expression("zone", "NotIn", "2")], "us"),
        ([_expression("zone", "NotIn", "2"), _expression("provider", "In", "azure")], "us"),
    ],
)
def test_a_field_selector_places_on_the_clusters_it_matches(
    expressions: list[dict[str, Any]], where: str
) -> None:
    selector = affinity(fieldSelector={"matchExpressions": expressions})
    found = placed(*ZONED, propagation(selector), minRegions=3)
    count = len(where.split(", ")) if where else 0
    assert found == ([] if count >= 3 else [too_few(count, where or "none", 3)])


# clusterAffinities: the scheduler tries the first term first


def test_the_first_affinity_term_is_counted_and_an_empty_list_falls_back() -> None:
    terms = {
        "clusterAffinities": [
            {"affinityName": "primary", "clusterNames": ["eu", "us"]},
            {"affinityName": "backup", "clusterNames": ["eu"]},
        ]
    }
    assert placed(*members("eu", "us"), propagation(terms)) == []
    fallback = {"clusterAffinities": [], "clusterAffinity": {"clusterNames": ["us"]}}
    assert placed(*members("eu", "us"), propagation(fallback)) == [too_few(1, "us")]


# spread constraints by cluster cap the count at maxGroups

CAPPED = " (a cluster spread constraint caps it at maxGroups {})"


def spread(*constraints: dict[str, Any], names: tuple[str, ...] = ("eu", "us", "ap")) -> Resource:
    return propagation(
        {"clusterAffinity": {"clusterNames": list(names)}, "spreadConstraints": list(constraints)}
    )


def test_max_groups_below_the_placement_caps_the_count() -> None:
    capped = spread({"spreadByField": "cluster", "maxGroups": 2.0})
    assert placed(*members("eu", "us", "ap"), capped) == []
    assert placed(*members("eu", "us", "ap"), capped, minRegions=3) == [
        too_few(2, "eu, us, ap", 3) + CAPPED.format(2)
    ]


def test_max_groups_at_or_above_the_placement_is_not_mentioned() -> None:
    for most in (1.0, 3.0):
        narrow = spread({"spreadByField": "cluster", "maxGroups": most}, names=("eu",))
        assert placed(*members("eu", "us"), narrow) == [too_few(1, "eu")]


def test_only_a_cluster_spread_constraint_with_max_groups_caps() -> None:
    others = spread(
        {"spreadByField": "region", "maxGroups": 1.0},
        {"spreadByLabel": "tier", "maxGroups": 1.0},
        {"spreadByField": "cluster", "minGroups": 1.0},
        {"spreadByField": "cluster", "maxGroups": 0.0},
        {"spreadByField": "cluster", "maxGroups": 1.0},
    )
    assert placed(*members("eu", "us", "ap"), others) == [
        too_few(1, "eu, us, ap") + CAPPED.format(1)
    ]


# what cannot be decided at preview


def test_an_unknown_placement_is_not_judged_and_says_what_is_unknown() -> None:
    cases = {
        "spec of agent-propagation is unknown at preview": _with_spec(UNKNOWN),
        "placement of agent-propagation is unknown at preview": propagation(UNKNOWN),
        "clusterAffinities is unknown at preview": propagation({"clusterAffinities": UNKNOWN}),
        "clusterAffinity is unknown at preview": propagation({"clusterAffinity": UNKNOWN}),
        "clusterNames is unknown at preview": propagation(affinity(clusterNames=["eu", UNKNOWN])),
        "exclude is unknown at preview": propagation(affinity(exclude=UNKNOWN)),
        "labelSelector is unknown at preview": propagation(affinity(labelSelector=UNKNOWN)),
        "fieldSelector is unknown at preview": propagation(affinity(fieldSelector=UNKNOWN)),
        "matchLabels is unknown at preview": propagation(
            affinity(labelSelector={"matchLabels": UNKNOWN})
        ),
        "matchExpressions values is unknown at preview": propagation(
            affinity(labelSelector={"matchExpressions": [_expression("tier", "In", UNKNOWN)]})
        ),
        "fieldSelector values is unknown at preview": propagation(
            affinity(fieldSelector={"matchExpressions": [_expression("region", "In", UNKNOWN)]})
        ),
        "spreadConstraints is unknown at preview": propagation(
            {"clusterAffinity": {"clusterNames": ["eu", "us"]}, "spreadConstraints": UNKNOWN}
        ),
        "maxGroups is unknown at preview": spread(
            {"spreadByField": "cluster", "maxGroups": UNKNOWN}
        ),
    }
    for reason, policy in cases.items():
        assert undecided(*members("eu", "us"), policy) == reason


def test_an_unknown_item_is_not_dropped_from_a_list() -> None:
    # a dropped item could be the one that narrows the placement: the verdict waits
    first_term_unknown = propagation(
        {"clusterAffinities": [UNKNOWN, {"clusterNames": ["eu", "us"]}]}
    )
    assert undecided(*members("eu", "us"), first_term_unknown) == (
        "clusterAffinities is unknown at preview"
    )
    label_requirement = affinity(labelSelector={"matchExpressions": [UNKNOWN]})
    assert undecided(*members("eu", "us"), propagation(label_requirement)) == (
        "matchExpressions is unknown at preview"
    )
    field_requirement = affinity(fieldSelector={"matchExpressions": [UNKNOWN]})
    assert undecided(*members("eu", "us"), propagation(field_requirement)) == (
        "fieldSelector is unknown at preview"
    )
    assert undecided(*members("eu", "us"), spread(UNKNOWN)) == (  # type: ignore[arg-type]
        "spreadConstraints is unknown at preview"
    )


def test_an_unknown_cluster_property_is_not_judged() -> None:
    region = affinity(fieldSelector={"matchExpressions": [_expression("region", "In", "x")]})
    unknown_region = resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        {"metadata": {"name": "eu"}, "spec": {"region": UNKNOWN}},
    )
    assert undecided(unknown_region, propagation(region)) == "region is unknown at preview"
    zone = affinity(fieldSelector={"matchExpressions": [_expression("zone", "In", "1")]})
    unknown_zones = resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        {"metadata": {"name": "eu"}, "spec": {"zones": UNKNOWN}},
    )
    assert undecided(unknown_zones, propagation(zone)) == "zones is unknown at preview"
    unknown_spec = resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster",
        {"metadata": {"name": "eu"}, "spec": UNKNOWN},
    )
    assert undecided(unknown_spec, propagation(region)) == (
        "spec of Cluster eu is unknown at preview"
    )
    # only a field selector reads the spec: names, labels or no affinity still count the cluster
    us = karmada_cluster("us")
    for policy in (propagation(None), propagation(), propagation(affinity(labelSelector={}))):
        assert placed(unknown_spec, us, policy) == []


def test_a_cluster_whose_name_is_unknown_leaves_the_stack_undecided() -> None:
    nameless = resource(
        "kubernetes:cluster.karmada.io/v1alpha1:Cluster", {"metadata": {"name": UNKNOWN}}, "x"
    )
    assert undecided(nameless, propagation()) == "the name of Cluster x is unknown at preview"
    no_metadata = resource("kubernetes:cluster.karmada.io/v1alpha1:Cluster", {"metadata": UNKNOWN})
    assert undecided(no_metadata, propagation()) == "a Cluster's metadata is unknown at preview"


def test_a_cluster_without_a_usable_name_is_not_registered() -> None:
    for name in ("", 3.0, None):
        nameless = resource(
            "kubernetes:cluster.karmada.io/v1alpha1:Cluster", {"metadata": {"name": name}}
        )
        # not registered: "eu" and "us" are trusted as registered elsewhere
        assert placed(nameless, propagation()) == []
        assert undecided(nameless, propagation(None)) == (
            "agent-propagation places on every cluster, and this stack registers none"
        )


def test_without_registered_clusters_a_selector_cannot_be_counted() -> None:
    by_label = affinity(labelSelector={"matchLabels": {"tier": "prod"}})
    reason = "agent-propagation selects clusters by label or field, and this stack registers none"
    assert undecided(propagation(by_label)) == reason
    by_field = affinity(
        clusterNames=["eu", "us"],
        fieldSelector={"matchExpressions": [_expression("region", "In", "x")]},
    )
    assert undecided(propagation(by_field)) == reason


def test_an_affinity_without_names_or_selectors_places_on_every_cluster() -> None:
    only_exclusions = propagation(affinity(exclude=["lab"]))
    reason = "agent-propagation places on every cluster, and this stack registers none"
    assert undecided(propagation(affinity())) == reason
    assert undecided(only_exclusions) == reason
    assert placed(*members("eu", "lab", "us"), only_exclusions) == []
    assert placed(*members("eu", "lab"), only_exclusions) == [too_few(1, "eu")]


def test_the_order_of_the_stacks_resources_does_not_matter() -> None:
    # the policy comes first, a Deployment sits between the clusters
    stack = (propagation(None), karmada_cluster("eu"), d(), karmada_cluster("us"))
    assert placed(*stack) == []
    assert placed(*stack, minRegions=3) == [too_few(2, "eu, us", 3)]


def test_an_excluded_cluster_does_not_end_the_count() -> None:
    first_excluded = affinity(clusterNames=["eu", "us", "ap"], exclude=["eu"])
    assert placed(*members("eu", "us", "ap"), propagation(first_excluded)) == []
    assert placed(propagation(first_excluded)) == []  # names registered elsewhere alike


def test_undecided_policies_are_all_named_unless_another_fails() -> None:
    first = propagation(UNKNOWN, name="first")
    second = propagation({"clusterAffinity": UNKNOWN}, name="second")
    assert undecided(first, second) == (
        "placement of first is unknown at preview; clusterAffinity is unknown at preview"
    )
    narrow = propagation(affinity(clusterNames=["eu"]), name="narrow")
    assert placed(*members("eu", "us"), first, narrow) == [too_few(1, "eu", name="narrow")]
    assert undecided(*members("eu", "us"), first, propagation()) == (
        "placement of first is unknown at preview"
    )
    # a policy that cannot be counted (no cluster registered here) does not hide the next
    everywhere = propagation(None, name="everywhere")
    assert placed(everywhere, narrow) == [too_few(1, "eu", name="narrow")]


# -- helpers -------------------------------------------------------------------------------


def _without(r: Resource, key: str) -> Resource:
    return Resource(r.type, r.name, {k: v for k, v in r.props.items() if k != key}, r.urn)


def _probe_without(key: str) -> Resource:
    group = fd_origin_group()
    settings = {k: v for k, v in group.props["healthProbeSettings"].items() if k != key}
    return Resource(group.type, group.name, {**group.props, "healthProbeSettings": settings})


def _with_spec(spec: Any) -> Resource:
    p = propagation()
    return Resource(p.type, p.name, {**p.props, "spec": spec}, p.urn)
