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
    dest_ports,
    instance,
    listener,
    load_balancer,
    nat_gateway,
    nlb,
    nsg_rule,
    oci_stack,
    public_ip,
    resource,
    security_list,
    tcp_rule,
    volume,
)
from .verdicts import outcome

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
        ({"max": 22}, (1, 22)),  # the open end of a one-sided range is port 1
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


# --- what each policy says, and on which configured values ------------------------------


FREE_SHAPES = "VM.Standard.A1.Flex, VM.Standard.E2.1.Micro"
MICRO = "VM.Standard.E2.1.Micro"
PAID = "VM.Standard.E4.Flex"


@pytest.mark.parametrize(
    ("shape", "config", "expected"),
    [
        (PAID, {}, ("fail", [f"shape {PAID} is not Always Free (allowed: {FREE_SHAPES})"])),
        ("", {}, ("fail", ["instance has no shape"])),
        (UNKNOWN, {}, ("na", ["shape is unknown at preview"])),
        # allowedShapes replaces the free shapes: paying is intended
        (PAID, {"allowedShapes": [PAID]}, ("pass", [])),
        (
            "VM.Standard.A1.Flex",
            {"allowedShapes": [PAID]},
            ("fail", [f"shape VM.Standard.A1.Flex is not Always Free (allowed: {PAID})"]),
        ),
    ],
)
def test_shape_message_names_the_shape_and_the_allowed_ones(
    shape: str, config: dict[str, Any], expected: tuple[str, list[str]]
) -> None:
    assert outcome("oci-instance-free-shape", instance(shape=shape), **config) == expected


@pytest.mark.parametrize("imds", [False, None, "false"])
def test_legacy_imds_message_says_what_to_set(imds: Any) -> None:
    assert outcome("oci-instance-legacy-imds-disabled", instance(imds=imds)) == (
        "fail",
        [
            "legacy IMDSv1 endpoints are enabled; set "
            "instanceOptions.areLegacyImdsEndpointsDisabled: true"
        ],
    )


ADMIN = "oci-network-no-public-admin-ports"


def test_admin_port_message_names_the_source_and_every_port_reached() -> None:
    rules = [tcp_rule("0.0.0.0/0", 1, 7000), tcp_rule("::/0", 3000, 3389)]
    assert outcome(ADMIN, security_list(rules)) == (
        "fail",
        [
            "ingress from 0.0.0.0/0 reaches admin port(s) 22, 6443, 3389",
            "ingress from ::/0 reaches admin port(s) 3389",
        ],
    )


@pytest.mark.parametrize(
    ("rule", "expect"),
    [
        # UDP reads udpOptions: DNS on 53 reaches no admin port
        ({"protocol": "17", "source": "0.0.0.0/0", "udpOptions": {"min": 53, "max": 53}}, "pass"),
        # tcpOptions say nothing about a UDP rule's ports
        (
            {
                "protocol": "17",
                "source": "0.0.0.0/0",
                "tcpOptions": {"min": 53, "max": 53},
                "udpOptions": {"min": 22, "max": 22},
            },
            "fail",
        ),
        # ICMP (1) has no ports
        ({"protocol": "1", "source": "0.0.0.0/0"}, "pass"),
        # one-sided ranges: up to 22, from 3390
        ({"protocol": "6", "source": "0.0.0.0/0", "tcpOptions": {"max": 22}}, "fail"),
        ({"protocol": "6", "source": "0.0.0.0/0", "tcpOptions": {"min": 6444}}, "pass"),
    ],
)
def test_admin_ports_read_the_rules_protocol_options(rule: dict[str, Any], expect: str) -> None:
    assert outcome(ADMIN, security_list([rule]))[0] == expect


def test_admin_ports_come_from_config() -> None:
    config = {"adminPorts": [8080]}
    assert outcome(ADMIN, security_list([tcp_rule("0.0.0.0/0", 8080, 8080)]), **config) == (
        "fail",
        ["ingress from 0.0.0.0/0 reaches admin port(s) 8080"],
    )
    assert outcome(ADMIN, nsg_rule("0.0.0.0/0", dest_ports(22)), **config) == ("pass", [])


def _tcp(**options: Any) -> dict[str, Any]:
    return {"protocol": "6", "source": "0.0.0.0/0", "tcpOptions": options}


@pytest.mark.parametrize(
    ("rule", "unknown"),
    [
        (security_list(UNKNOWN), "ingressSecurityRules"),
        (security_list([UNKNOWN]), "an ingress rule"),
        (security_list([{"protocol": "6", "source": UNKNOWN}]), "a rule's source"),
        (security_list([{"protocol": UNKNOWN, "source": "0.0.0.0/0"}]), "a rule's protocol"),
        (security_list([{**_tcp(), "tcpOptions": UNKNOWN}]), "a rule's port options"),
        (security_list([_tcp(min=UNKNOWN, max=22)]), "a rule's min port"),
        (security_list([_tcp(min=22, max=UNKNOWN)]), "a rule's max port"),
        (nsg_rule("0.0.0.0/0", {"destinationPortRange": UNKNOWN}), "destinationPortRange"),
        (nsg_rule("0.0.0.0/0", dest_ports(22), direction=UNKNOWN), "direction"),
    ],
)
def test_admin_ports_not_applicable_names_what_is_unknown(rule: Resource, unknown: str) -> None:
    assert outcome(ADMIN, rule) == ("na", [f"{unknown} is unknown at preview"])


def _instances(shape: str, *names: str, ocpus: Any = None, memory: Any = None) -> list[Resource]:
    return [instance(shape, ocpus=ocpus, memory=memory, name=n) for n in names]


def test_a1_without_shape_config_counts_as_1_ocpu_and_6_gb() -> None:
    # two such instances sit exactly at the caps (2 OCPUs, 12 GB); a third is over both
    assert messages(tuple(_instances("VM.Standard.A1.Flex", "a", "b"))) == []
    assert messages(tuple(_instances("VM.Standard.A1.Flex", "a", "b", "c"))) == [
        (
            None,
            "total Ampere A1 OCPUs is 3 (a 1 by default, b 1 by default, c 1 by default), "
            "above the Always Free cap of 2 (maxA1Ocpus)",
        ),
        (
            None,
            "total Ampere A1 memory (GB) is 18 (a 6 by default, b 6 by default, "
            "c 6 by default), above the Always Free cap of 12 (maxA1MemoryGbs)",
        ),
    ]


def test_a_value_that_is_not_a_number_is_reported_and_counted_as_the_default() -> None:
    stack = (instance(ocpus="two", memory=6, name="a"), instance(ocpus=2, memory="six", name="b"))
    assert messages(stack) == [
        (
            None,
            "total Ampere A1 OCPUs is 3 (a 1 by default, b 2), above the Always Free cap of 2 "
            "(maxA1Ocpus)",
        ),
        ("a", "shapeConfig.ocpus of a is not a number: 'two'"),
        ("b", "shapeConfig.memoryInGbs of b is not a number: 'six'"),
    ]


def test_micro_instances_are_counted_by_shape() -> None:
    assert messages(tuple(_instances(MICRO, "a", "b"))) == []
    assert messages(tuple(_instances(MICRO, "a", "b", "c"))) == [
        (
            None,
            "total VM.Standard.E2.1.Micro instances is 3 (a, b, c), above the Always Free cap "
            "of 2 (maxMicroInstances)",
        )
    ]
    # a paid shape is the free-shape policy's business, not a micro instance
    assert messages(tuple(_instances(PAID, "a", "b", "c"))) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            nlb(name="nlb-2"),
            "total network load balancers is 2 (nlb, nlb-2), above the Always Free cap of 1 "
            "(maxNetworkLoadBalancers)",
        ),
        (
            load_balancer(name="lb-2"),
            "total flexible load balancers is 2 (lb, lb-2), above the Always Free cap of 1 "
            "(maxLoadBalancers)",
        ),
        (
            nat_gateway("egress"),
            "total NAT gateways is 1 (egress), above the Always Free cap of 0 (maxNatGateways); "
            "NAT gateways are not Always Free",
        ),
        (
            public_ip(name="spare-ip"),
            "total reserved public IPs is 2 (nlb-ip, spare-ip), above the Always Free cap of 1 "
            "(maxReservedPublicIps)",
        ),
    ],
)
def test_count_caps_name_every_resource_counted(extra: Resource, message: str) -> None:
    assert messages(oci_stack(extra)) == [(None, message)]


@pytest.mark.parametrize(
    ("lb", "message"),
    [
        (
            load_balancer(shape="100Mbps", maximum=None),
            "load balancer lb has shape '100Mbps'; only the 'flexible' shape is Always Free",
        ),
        (
            load_balancer(maximum=None),
            "load balancer lb sets no shapeDetails.maximumBandwidthInMbps; the Always Free cap "
            "is 10 Mbps",
        ),
        (
            load_balancer(maximum="ten"),
            "shapeDetails.maximumBandwidthInMbps of lb is not a number: 'ten'",
        ),
        (
            load_balancer(maximum=11),
            "load balancer lb may use 11 Mbps (shapeDetails.maximumBandwidthInMbps), above the "
            "Always Free cap of 10 Mbps (maxLoadBalancerBandwidthMbps)",
        ),
    ],
)
def test_load_balancer_messages(lb: Resource, message: str) -> None:
    assert messages((lb,)) == [("lb", message)]


def _instance_with(name: str, **props: Any) -> Resource:
    return resource("oci:Core/instance:Instance", {**instance().props, **props}, name)


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (_instance_with("a", shapeConfig=UNKNOWN), "shapeConfig of a is unknown at preview"),
        (
            _instance_with("a", sourceDetails=UNKNOWN),
            "sourceDetails.bootVolumeSizeInGbs of a is unknown at preview",
        ),
        (
            resource(
                "oci:LoadBalancer/loadBalancer:LoadBalancer",
                {"shape": "flexible", "shapeDetails": UNKNOWN},
                "lb",
            ),
            "shapeDetails.maximumBandwidthInMbps of lb is unknown at preview",
        ),
    ],
)
def test_caps_not_applicable_names_what_is_unknown(node: Resource, reason: str) -> None:
    assert outcome("oci-stack-free-tier-caps", node) == ("na", [reason])


LISTENERS = "oci-nlb-listener-ports"
ALLOWED = "allowed: 80, 443, 6443"


@pytest.mark.parametrize(
    ("listeners", "expected"),
    [
        ((listener(None, name="l"),), [f"listener l has no port; {ALLOWED}"]),
        ((listener(0, name="l"),), [f"listener l listens on every port (port 0); {ALLOWED}"]),
        (
            (listener(1),),
            [
                "listener nlb-listener-1 listens on port 1, which is not an allowed listener "
                "port (80, 443, 6443)"
            ],
        ),
    ],
)
def test_listener_without_a_usable_port(
    listeners: tuple[Resource, ...], expected: list[str]
) -> None:
    assert outcome(LISTENERS, nlb(), *listeners) == ("fail", expected)


GUARDLESS_6443 = (
    "listener nlb-listener-6443 exposes admin port 6443 on network load balancer nlb, which "
    "attaches no network security group (networkSecurityGroupIds) to restrict who may connect"
)
NOT_ALLOWED_8080 = (
    "listener nlb-listener-8080 listens on port 8080, which is not an allowed listener port "
    "(80, 443, 6443)"
)


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (listener(UNKNOWN, name="a"), [GUARDLESS_6443]),
        (listener(None, name="a"), [f"listener a has no port; {ALLOWED}", GUARDLESS_6443]),
        (listener(8080), [NOT_ALLOWED_8080, GUARDLESS_6443]),
        (listener(80), [GUARDLESS_6443]),
    ],
)
def test_every_listener_is_judged_whatever_came_before(
    first: Resource, expected: list[str]
) -> None:
    assert outcome(LISTENERS, nlb(nsgs=None), first, listener(6443)) == ("fail", expected)


def test_unknown_ports_are_each_named() -> None:
    assert outcome(LISTENERS, nlb(), listener(UNKNOWN, name="a"), listener(UNKNOWN, name="b")) == (
        "na",
        ["port of a is unknown at preview; port of b is unknown at preview"],
    )


def test_listener_with_an_empty_load_balancer_id_says_so() -> None:
    assert outcome(LISTENERS, nlb(nsgs=None), listener(6443, nlb_id="", name="l")) == (
        "na",
        ["l has no networkLoadBalancerId"],
    )


def test_listener_admin_ports_come_from_config() -> None:
    guardless = nlb(nsgs=None)
    assert outcome(LISTENERS, guardless, listener(6443), adminPorts=[]) == ("pass", [])
    assert outcome(LISTENERS, guardless, listener(80), adminPorts=[80]) == (
        "fail",
        [
            "listener nlb-listener-80 exposes admin port 80 on network load balancer nlb, "
            "which attaches no network security group (networkSecurityGroupIds) to restrict "
            "who may connect"
        ],
    )
