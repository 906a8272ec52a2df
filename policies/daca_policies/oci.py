"""OCI policies: Always Free shapes and caps, admin ports closed to the internet, IMDSv2,
network load balancer listeners.

Type tokens and property names are pulumi-oci 5.5.0's, as the engine sends them (camelCase).
pulumi-oci types sizes as strings (``bootVolumeSizeInGbs: "50"``); ``as_number`` reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .spec import (
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_number,
    fmt_num,
    get,
    is_unknown,
    known,
    truthy,
)

INSTANCE = "oci:Core/instance:Instance"
VOLUME = "oci:Core/volume:Volume"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
NAT_GATEWAY = "oci:Core/natGateway:NatGateway"
PUBLIC_IP = "oci:Core/publicIp:PublicIp"
NLB = "oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer"
NLB_LISTENER = "oci:NetworkLoadBalancer/listener:Listener"
LOAD_BALANCER = "oci:LoadBalancer/loadBalancer:LoadBalancer"
A1_SHAPE = "VM.Standard.A1.Flex"
MICRO_SHAPE = "VM.Standard.E2.1.Micro"
PUBLIC_SOURCES = {"0.0.0.0/0", "::/0"}
TCP, UDP, ALL = "6", "17", "all"
ADMIN_PORTS = [22, 6443, 3389]
ALLOWED_LISTENER_PORTS = [80, 443, 6443]

# Always Free since 15 June 2026 (policies/README.md gives the sources). Oracle changes
# these, so they are config; these are only the defaults.
FREE_TIER_DEFAULTS: dict[str, float] = {
    "maxA1Ocpus": 2,  # 1,500 OCPU-hours a month
    "maxA1MemoryGbs": 12,  # 9,000 GB-hours a month
    "maxMicroInstances": 2,
    "maxBlockVolumeGbs": 200,  # boot and block volumes together
    "minBootVolumeGbs": 50,
    "defaultBootVolumeGbs": 50,
    "defaultVolumeGbs": 1024,  # OCI's default when a volume gives no size
    "maxNetworkLoadBalancers": 1,
    "maxLoadBalancers": 1,
    "maxLoadBalancerBandwidthMbps": 10,
    "maxNatGateways": 0,  # not Always Free
    "maxReservedPublicIps": 1,
}


def _setting(config: Config, key: str) -> float:
    return float(config.get(key, FREE_TIER_DEFAULTS[key]))


def _value(resource: Resource, *path: str) -> Any:
    """The input at ``path`` (None when missing); NotApplicable when it is unknown."""
    cur: Any = resource.props
    for key in path:
        if is_unknown(cur) or not isinstance(cur, Mapping):
            break
        cur = cur.get(key)
    return known(cur, f"{'.'.join(path)} of {resource.name}")


def validate_shape(resource: Resource, config: Config) -> list[str]:
    shape = resource.props.get("shape")
    if is_unknown(shape):
        raise NotApplicable("shape is unknown at preview")
    allowed = list(config.get("allowedShapes", [A1_SHAPE, MICRO_SHAPE]))
    if not isinstance(shape, str) or not shape:
        return ["instance has no shape"]
    if shape not in allowed:
        return [f"shape {shape} is not Always Free (allowed: {', '.join(allowed)})"]
    return []


def validate_legacy_imds(resource: Resource, config: Config) -> list[str]:
    disabled = truthy(get(resource.props, "instanceOptions", "areLegacyImdsEndpointsDisabled"))
    if disabled is not True:
        return [
            "legacy IMDSv1 endpoints are enabled; set "
            "instanceOptions.areLegacyImdsEndpointsDisabled: true"
        ]
    return []


# --- security lists and NSG rules ------------------------------------------------------


def _port_range(options: Any) -> tuple[float, float] | None:
    """(min, max) destination ports of a rule's tcpOptions/udpOptions; None means every port.

    Security lists put ``min``/``max`` directly in tcpOptions; NSG rules nest them in
    ``destinationPortRange``. ``sourcePortRange`` (both shapes) is the client's port, so
    it never narrows what is reachable.
    """
    options = known(options, "a rule's port options")
    if not isinstance(options, Mapping):
        return None
    nested = known(options.get("destinationPortRange"), "destinationPortRange")
    ports = nested if isinstance(nested, Mapping) else options
    low = as_number(known(ports.get("min"), "a rule's min port"))
    high = as_number(known(ports.get("max"), "a rule's max port"))
    if low is None and high is None:
        return None
    return (low if low is not None else 1, high if high is not None else 65535)


def _exposed_admin_ports(rule: Any, admin_ports: list[int]) -> list[int]:
    rule = known(rule, "an ingress rule")
    if not isinstance(rule, Mapping):
        return []
    source = known(rule.get("source"), "a rule's source")
    if not isinstance(source, str) or source not in PUBLIC_SOURCES:
        return []
    protocol = str(known(rule.get("protocol"), "a rule's protocol") or "").lower()
    if protocol == ALL:
        return admin_ports
    if protocol not in (TCP, UDP):
        return []
    rng = _port_range(rule.get("tcpOptions" if protocol == TCP else "udpOptions"))
    if rng is None:
        return admin_ports
    return [p for p in admin_ports if rng[0] <= p <= rng[1]]


def validate_admin_ports(resource: Resource, config: Config) -> list[str]:
    admin_ports = [int(p) for p in config.get("adminPorts", ADMIN_PORTS)]
    if resource.type == NSG_RULE:
        direction = known(resource.props.get("direction"), "direction")
        if str(direction or "").upper() != "INGRESS":
            return []
        rules: list[Any] = [resource.props]
    else:
        given = known(resource.props.get("ingressSecurityRules"), "ingressSecurityRules")
        rules = list(given) if isinstance(given, Sequence) and not isinstance(given, str) else []
    out = []
    for rule in rules:
        ports = _exposed_admin_ports(rule, admin_ports)
        if ports:
            out.append(
                f"ingress from {get(rule, 'source')} reaches admin port(s) "
                f"{', '.join(map(str, ports))}"
            )
    return out


# --- Always Free caps -------------------------------------------------------------------


@dataclass
class _Tally:
    """A stack-wide total and the resources it is made of, for a message that names them."""

    label: str
    cap_key: str
    counts: bool = False  # True: one per resource, so parts list names only
    note: str = ""
    parts: list[tuple[str, float, bool]] = field(default_factory=list)

    def add(self, what: str, amount: float = 1, assumed: bool = False) -> None:
        self.parts.append((what, amount, assumed))

    def finding(self, config: Config) -> str | None:
        used = sum(amount for _, amount, _ in self.parts)
        cap = _setting(config, self.cap_key)
        if used <= cap:
            return None
        parts = ", ".join(
            what if self.counts else f"{what} {fmt_num(amount)}{' by default' if assumed else ''}"
            for what, amount, assumed in self.parts
        )
        return (
            f"total {self.label} is {fmt_num(used)} ({parts}), above the Always Free cap of "
            f"{fmt_num(cap)} ({self.cap_key}){self.note}"
        )


def _number(
    resource: Resource,
    path: tuple[str, ...],
    default: float,
    findings: list[tuple[Resource | None, str]],
) -> tuple[float, bool]:
    """(value, assumed): the number at ``path`` or ``default`` when it is missing.

    A value that is not a number is reported (OCI would reject it) and counted as the
    default, so the totals still say something.
    """
    raw = _value(resource, *path)
    if raw is None:
        return default, True
    number = as_number(raw)
    if number is None:
        findings.append((resource, f"{'.'.join(path)} of {resource.name} is not a number: {raw!r}"))
        return default, True
    return number, False


def _check_load_balancer(
    lb: Resource, config: Config, findings: list[tuple[Resource | None, str]]
) -> None:
    shape = _value(lb, "shape")
    if not isinstance(shape, str) or shape.lower() != "flexible":
        findings.append(
            (
                lb,
                f"load balancer {lb.name} has shape {shape!r}; only the 'flexible' shape "
                "is Always Free",
            )
        )
        return
    cap = _setting(config, "maxLoadBalancerBandwidthMbps")
    raw = _value(lb, "shapeDetails", "maximumBandwidthInMbps")
    maximum = as_number(raw)
    if raw is None:
        message = (
            f"load balancer {lb.name} sets no shapeDetails.maximumBandwidthInMbps; the "
            f"Always Free cap is {fmt_num(cap)} Mbps"
        )
    elif maximum is None:
        message = f"shapeDetails.maximumBandwidthInMbps of {lb.name} is not a number: {raw!r}"
    elif maximum > cap:
        message = (
            f"load balancer {lb.name} may use {fmt_num(maximum)} Mbps "
            "(shapeDetails.maximumBandwidthInMbps), above the Always Free cap of "
            f"{fmt_num(cap)} Mbps (maxLoadBalancerBandwidthMbps)"
        )
    else:
        return
    findings.append((lb, message))


def validate_free_tier_caps(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    findings: list[tuple[Resource | None, str]] = []
    ocpus = _Tally("Ampere A1 OCPUs", "maxA1Ocpus")
    memory = _Tally("Ampere A1 memory (GB)", "maxA1MemoryGbs")
    micro = _Tally("VM.Standard.E2.1.Micro instances", "maxMicroInstances", counts=True)
    block = _Tally("boot + block volume (GB)", "maxBlockVolumeGbs")
    nlbs = _Tally("network load balancers", "maxNetworkLoadBalancers", counts=True)
    lbs = _Tally("flexible load balancers", "maxLoadBalancers", counts=True)
    nats = _Tally(
        "NAT gateways",
        "maxNatGateways",
        counts=True,
        note="; NAT gateways are not Always Free",
    )
    reserved = _Tally("reserved public IPs", "maxReservedPublicIps", counts=True)
    for r in resources:
        if r.type == INSTANCE:
            shape = _value(r, "shape")
            _value(r, "shapeConfig")  # unknown as a whole: the totals cannot be known either
            if shape == A1_SHAPE:
                # A1 without shapeConfig is rejected by OCI; count it as 1 OCPU / 6 GB.
                ocpus.add(r.name, *_number(r, ("shapeConfig", "ocpus"), 1, findings))
                memory.add(r.name, *_number(r, ("shapeConfig", "memoryInGbs"), 6, findings))
            elif shape == MICRO_SHAPE:
                micro.add(r.name)
            boot, assumed = _number(
                r,
                ("sourceDetails", "bootVolumeSizeInGbs"),
                _setting(config, "defaultBootVolumeGbs"),
                findings,
            )
            block.add(f"{r.name} boot", boot, assumed)
            smallest = _setting(config, "minBootVolumeGbs")
            if not assumed and boot < smallest:
                findings.append(
                    (
                        r,
                        f"boot volume of {r.name} is {fmt_num(boot)} GB, below OCI's minimum "
                        f"of {fmt_num(smallest)} GB (minBootVolumeGbs)",
                    )
                )
        elif r.type == VOLUME:
            size = _number(r, ("sizeInGbs",), _setting(config, "defaultVolumeGbs"), findings)
            block.add(r.name, *size)
        elif r.type == NLB:
            nlbs.add(r.name)
        elif r.type == LOAD_BALANCER:
            lbs.add(r.name)
            _check_load_balancer(r, config, findings)
        elif r.type == NAT_GATEWAY:
            nats.add(r.name)
        elif r.type == PUBLIC_IP and str(_value(r, "lifetime") or "").upper() == "RESERVED":
            reserved.add(r.name)
    totals = [
        (None, message)
        for tally in (ocpus, memory, micro, block, nlbs, lbs, nats, reserved)
        if (message := tally.finding(config)) is not None
    ]
    return [*totals, *findings]


# --- network load balancer listeners ----------------------------------------------------


def _referenced(resource: Resource, prop: str, candidates: Sequence[Resource]) -> Resource | str:
    """The candidate that ``resource.props[prop]`` points at, or why none can be named.

    The engine's property dependencies answer even while ids are unknown at preview;
    otherwise the id is matched: a deployed resource's ``id`` output or, under
    `daca synth` (Pulumi mocks), the mock id ``<name>-id``.
    """
    urns = set(resource.dependencies.get(prop, ()))
    for candidate in candidates:
        if candidate.urn and candidate.urn in urns:
            return candidate
    ref = resource.props.get(prop)
    if is_unknown(ref):
        return f"{prop} of {resource.name} is unknown at preview"
    if not isinstance(ref, str) or not ref:
        return f"{resource.name} has no {prop}"
    for candidate in candidates:
        if ref in (candidate.props.get("id"), f"{candidate.name}-id", candidate.urn):
            return candidate
    return f"{prop} of {resource.name} ({ref}) names nothing in this stack"


def _has_nsgs(nlb: Resource) -> bool | str:
    """Whether the NLB attaches network security groups, or why that is not known yet."""
    ids = nlb.props.get("networkSecurityGroupIds")
    if is_unknown(ids):
        return f"networkSecurityGroupIds of {nlb.name} is unknown at preview"
    # An unknown element is an NSG created in this program: it is attached all the same.
    return isinstance(ids, Sequence) and not isinstance(ids, str) and any(ids)


def validate_nlb_listener_ports(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    allowed = sorted({float(p) for p in config.get("allowedListenerPorts", ALLOWED_LISTENER_PORTS)})
    admin = {float(p) for p in config.get("adminPorts", ADMIN_PORTS)}
    nlbs = [r for r in resources if r.type == NLB]
    findings: list[tuple[Resource | None, str]] = []
    undecided: list[str] = []
    for listener in (r for r in resources if r.type == NLB_LISTENER):
        raw = listener.props.get("port")
        if is_unknown(raw):
            undecided.append(f"port of {listener.name} is unknown at preview")
            continue
        port = as_number(raw)
        allowed_text = ", ".join(fmt_num(p) for p in allowed)
        if port is None or port == 0:
            what = "has no port" if port is None else "listens on every port (port 0)"
            findings.append((listener, f"listener {listener.name} {what}; allowed: {allowed_text}"))
            continue
        if port not in allowed:
            findings.append(
                (
                    listener,
                    f"listener {listener.name} listens on port {fmt_num(port)}, which is not "
                    f"an allowed listener port ({allowed_text})",
                )
            )
            continue
        if port not in admin:
            continue
        nlb = _referenced(listener, "networkLoadBalancerId", nlbs)
        if isinstance(nlb, str):
            undecided.append(nlb)
            continue
        attached = _has_nsgs(nlb)
        if isinstance(attached, str):
            undecided.append(attached)
        elif not attached:
            findings.append(
                (
                    listener,
                    f"listener {listener.name} exposes admin port {fmt_num(port)} on network "
                    f"load balancer {nlb.name}, which attaches no network security group "
                    "(networkSecurityGroupIds) to restrict who may connect",
                )
            )
    if undecided and not findings:
        raise NotApplicable("; ".join(undecided))
    return findings


def _ports_schema(default: list[int], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 65535},
        "default": default,
        "description": description,
    }


def _cap_schema(key: str, description: str, kind: str = "integer") -> dict[str, Any]:
    default = FREE_TIER_DEFAULTS[key]
    return {
        "type": kind,
        "minimum": 0,
        "default": int(default) if kind == "integer" else default,
        "description": description,
    }


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="oci-instance-free-shape",
        description="OCI instances must use an Always Free shape.",
        severity="high",
        enforcement="mandatory",
        remediation="Use VM.Standard.A1.Flex (Ampere) or VM.Standard.E2.1.Micro, or list the "
        "shape in the stack's allowedShapes if paying is intended.",
        config_schema={
            "allowedShapes": {
                "type": "array",
                "items": {"type": "string"},
                "default": [A1_SHAPE, MICRO_SHAPE],
                "description": "Instance shapes this stack may launch.",
            }
        },
        resource_types=(INSTANCE,),
        validate_resource=validate_shape,
    ),
    PolicySpec(
        name="oci-instance-legacy-imds-disabled",
        description="OCI instances must disable the legacy (v1) instance metadata endpoints.",
        severity="high",
        enforcement="mandatory",
        remediation="Set instanceOptions.areLegacyImdsEndpointsDisabled: true.",
        resource_types=(INSTANCE,),
        validate_resource=validate_legacy_imds,
    ),
    PolicySpec(
        name="oci-network-no-public-admin-ports",
        description="Security rules must not open SSH, the Kubernetes API or RDP to 0.0.0.0/0.",
        severity="critical",
        enforcement="mandatory",
        remediation="Restrict the rule's source to your own CIDR (or use OCI Bastion) for "
        "ports 22, 6443 and 3389.",
        config_schema={
            "adminPorts": _ports_schema(
                ADMIN_PORTS, "Ports that must never be reachable from the internet."
            )
        },
        resource_types=(SECURITY_LIST, NSG_RULE),
        validate_resource=validate_admin_ports,
    ),
    PolicySpec(
        name="oci-stack-free-tier-caps",
        description="The stack must stay within the Always Free caps in config: Ampere A1 "
        "OCPUs and memory, E2 micro count, boot + block storage, one network load balancer, "
        "one 10 Mbps flexible load balancer, reserved public IPs, no NAT gateway.",
        severity="high",
        enforcement="mandatory",
        remediation="Shrink shapeConfig or volumes, drop the extra load balancer, NAT gateway "
        "or reserved IP, or update the caps in policies/config/<stack>.json if Oracle changed "
        "them (or paying is intended).",
        config_schema={
            "maxA1Ocpus": _cap_schema("maxA1Ocpus", "Total Ampere A1 OCPUs.", "number"),
            "maxA1MemoryGbs": _cap_schema(
                "maxA1MemoryGbs", "Total Ampere A1 memory in GB.", "number"
            ),
            "maxBlockVolumeGbs": _cap_schema(
                "maxBlockVolumeGbs", "Total boot + block volume in GB.", "number"
            ),
            "minBootVolumeGbs": _cap_schema(
                "minBootVolumeGbs", "Smallest boot volume OCI accepts, in GB.", "number"
            ),
            "maxMicroInstances": _cap_schema(
                "maxMicroInstances", "VM.Standard.E2.1.Micro instances."
            ),
            "maxNetworkLoadBalancers": _cap_schema(
                "maxNetworkLoadBalancers", "Network load balancers."
            ),
            "maxLoadBalancers": _cap_schema(
                "maxLoadBalancers", "Flexible (layer 7) load balancers."
            ),
            "maxLoadBalancerBandwidthMbps": _cap_schema(
                "maxLoadBalancerBandwidthMbps",
                "Largest shapeDetails.maximumBandwidthInMbps of a flexible load balancer.",
                "number",
            ),
            "maxNatGateways": _cap_schema(
                "maxNatGateways", "NAT gateways (not Always Free, so 0 by default)."
            ),
            "maxReservedPublicIps": _cap_schema(
                "maxReservedPublicIps", "Public IPs with lifetime RESERVED."
            ),
            "defaultBootVolumeGbs": _cap_schema(
                "defaultBootVolumeGbs",
                "Boot volume size counted when an instance gives none.",
                "number",
            ),
            "defaultVolumeGbs": _cap_schema(
                "defaultVolumeGbs",
                "Block volume size counted when a volume gives none (OCI creates 1 TB).",
                "number",
            ),
        },
        validate_stack=validate_free_tier_caps,
    ),
    PolicySpec(
        name="oci-nlb-listener-ports",
        description="Network load balancer listeners must use allowed ports, and one on an "
        "admin port needs its load balancer to attach network security groups.",
        severity="high",
        enforcement="mandatory",
        remediation="Listen only on the allowed ports (80/443 to the ingress, 6443 for the "
        "Kubernetes API), and attach the NSG that admits only the operator's CIDR to the "
        "network load balancer (networkSecurityGroupIds).",
        config_schema={
            "allowedListenerPorts": _ports_schema(
                ALLOWED_LISTENER_PORTS, "Ports a network load balancer may listen on."
            ),
            "adminPorts": _ports_schema(
                ADMIN_PORTS,
                "Listener ports that need network security groups on the load balancer.",
            ),
        },
        validate_stack=validate_nlb_listener_ports,
    ),
]
