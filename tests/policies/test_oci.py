"""OCI policies beyond pass/fail: each case trips only its own policy, messages name the
offending resources, and both port-range shapes (security list, NSG rule) read right."""

from __future__ import annotations

from typing import Any

import pytest
from daca_policies import SPECS
from daca_policies.oci import (
    FREE_TIER_DEFAULTS,
    _port_range,
    validate_free_tier_caps,
    validate_nlb_listener_ports,
)
from daca_policies.spec import NotApplicable, PolicySpec, Resource, as_number

from .cases import (
    CASES,
    UNKNOWN,
    Case,
    instance,
    listener,
    load_balancer,
    nat_gateway,
    nlb,
    oci_stack,
    volume,
)

OCI_SPECS = [spec for spec in SPECS if spec.domain == "oci"]
BY_NAME = {spec.name: spec for spec in OCI_SPECS}
CAPS = BY_NAME["oci-stack-free-tier-caps"].defaults()


def failing(spec: PolicySpec, resources: tuple[Resource, ...], config: dict[str, Any]) -> bool:
    merged = {**spec.defaults(), **config}
    try:
        if spec.validate_stack is not None:
            return bool(spec.validate_stack(list(resources), merged))
        assert spec.validate_resource is not None
        return any(spec.validate_resource(r, merged) for r in resources if spec.applies_to(r.type))
    except NotApplicable:
        return False


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.policy.startswith("oci-") and c.expect in ("pass", "fail")],
    ids=lambda c: c.id,
)
def test_oci_case_trips_only_the_policy_it_names(case: Case) -> None:
    tripped = {
        spec.name
        for spec in OCI_SPECS
        if failing(spec, case.resources, case.config if spec.name == case.policy else {})
    }
    assert tripped == ({case.policy} if case.expect == "fail" else set())


def test_free_tier_defaults_follow_the_june_2026_cut() -> None:
    assert CAPS["maxA1Ocpus"] == 2
    assert CAPS["maxA1MemoryGbs"] == 12
    assert CAPS["maxBlockVolumeGbs"] == 200
    assert CAPS["minBootVolumeGbs"] == CAPS["defaultBootVolumeGbs"] == 50
    assert CAPS["maxNetworkLoadBalancers"] == CAPS["maxLoadBalancers"] == 1
    assert CAPS["maxLoadBalancerBandwidthMbps"] == 10
    assert CAPS["maxNatGateways"] == 0
    assert CAPS == FREE_TIER_DEFAULTS


def messages(resources: tuple[Resource, ...], **config: Any) -> list[tuple[str | None, str]]:
    findings = validate_free_tier_caps(list(resources), {**CAPS, **config})
    return [(r.name if r else None, m) for r, m in findings]


def test_cap_message_names_every_resource_counted() -> None:
    stack = oci_stack(server=instance(ocpus=2, memory=12, name="k3s-server"))
    assert messages(stack) == [
        (
            None,
            "total Ampere A1 OCPUs is 3 (k3s-server 2, k3s-agent-1 1), above the Always Free "
            "cap of 2 (maxA1Ocpus)",
        ),
        (
            None,
            "total Ampere A1 memory (GB) is 18 (k3s-server 12, k3s-agent-1 6), above the "
            "Always Free cap of 12 (maxA1MemoryGbs)",
        ),
    ]


def test_storage_counts_string_sizes_and_says_which_were_assumed() -> None:
    stack = (
        instance(ocpus=1, memory=6, name="k3s-server", boot=None),
        instance(ocpus=1, memory=6, name="k3s-agent-1", boot="100"),
    )
    assert messages((*stack, volume("51"))) == [
        (
            None,
            "total boot + block volume (GB) is 201 (k3s-server boot 50 by default, "
            "k3s-agent-1 boot 100, data 51), above the Always Free cap of 200 "
            "(maxBlockVolumeGbs)",
        )
    ]
    (finding,) = messages((instance(boot=None, ocpus=1, memory=6), volume(None)))
    assert "data 1024 by default" in finding[1]


def test_per_resource_findings_point_at_the_resource() -> None:
    assert messages((instance(name="k3s-server", boot="47"),)) == [
        (
            "k3s-server",
            "boot volume of k3s-server is 47 GB, below OCI's minimum of 50 GB (minBootVolumeGbs)",
        )
    ]
    ((name, message),) = messages((load_balancer(maximum=100),))
    assert name == "lb"
    assert "may use 100 Mbps" in message
    assert "cap of 10 Mbps" in message
    ((name, message),) = messages((nat_gateway("egress"),))
    assert name is None
    assert "NAT gateways is 1 (egress)" in message
    assert "not Always Free" in message
    ((name, message),) = messages((instance(ocpus="two", name="a"),))
    assert (name, message) == ("a", "shapeConfig.ocpus of a is not a number: 'two'")


def test_listener_findings_name_listener_and_load_balancer() -> None:
    findings = validate_nlb_listener_ports(
        [nlb(nsgs=None, name="edge"), listener(6443, nlb_id="edge-id"), listener(8080)],
        BY_NAME["oci-nlb-listener-ports"].defaults(),
    )
    assert [(r.name if r else None, m) for r, m in findings] == [
        (
            "nlb-listener-6443",
            "listener nlb-listener-6443 exposes admin port 6443 on network load balancer "
            "edge, which attaches no network security group (networkSecurityGroupIds) to "
            "restrict who may connect",
        ),
        (
            "nlb-listener-8080",
            "listener nlb-listener-8080 listens on port 8080, which is not an allowed "
            "listener port (80, 443, 6443)",
        ),
    ]


def test_unknown_reference_says_why() -> None:
    with pytest.raises(NotApplicable, match="networkLoadBalancerId of l is unknown"):
        validate_nlb_listener_ports([nlb(), listener(6443, nlb_id=UNKNOWN, name="l")], {})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # security list: min/max directly in tcpOptions
        ({"min": 22, "max": 22}, (22, 22)),
        ({"min": "6443", "max": "6443"}, (6443, 6443)),
        ({"min": 1000}, (1000, 65535)),
        ({"min": 443, "max": 443, "sourcePortRange": {"min": 22, "max": 22}}, (443, 443)),
        # NSG rule: min/max nested in destinationPortRange
        ({"destinationPortRange": {"min": 6443, "max": 6443}}, (6443, 6443)),
        (
            {"destinationPortRange": {"min": 80, "max": 443}, "sourcePortRange": {"min": 22}},
            (80, 443),
        ),
        # no destination range: every port
        ({"sourcePortRange": {"min": 443, "max": 443}}, None),
        ({}, None),
        (None, None),
    ],
)
def test_port_range_reads_both_shapes(options: Any, expected: tuple[int, int] | None) -> None:
    assert _port_range(options) == expected


def test_port_range_unknown_is_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        _port_range({"destinationPortRange": {"min": UNKNOWN, "max": UNKNOWN}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (" 50 ", 50.0),
        ("12.5", 12.5),
        (50, 50.0),
        (50.0, 50.0),
        ("50GB", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        (float("inf"), None),
        (True, None),
        (None, None),
        (UNKNOWN, None),
        ([50], None),
    ],
)
def test_as_number_reads_pulumi_oci_string_sizes(value: Any, expected: float | None) -> None:
    assert as_number(value) == expected
