"""OCI policies: Always Free shapes and caps, admin ports closed to the internet, IMDSv2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .spec import (
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_list,
    as_number,
    fmt_num,
    get,
    is_unknown,
    truthy,
)

INSTANCE = "oci:Core/instance:Instance"
VOLUME = "oci:Core/volume:Volume"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
A1_SHAPE = "VM.Standard.A1.Flex"
PUBLIC_SOURCES = {"0.0.0.0/0", "::/0"}
TCP, UDP, ALL = "6", "17", "all"


def validate_shape(resource: Resource, config: Config) -> list[str]:
    shape = resource.props.get("shape")
    if is_unknown(shape):
        raise NotApplicable("shape is unknown at preview")
    allowed = list(config.get("allowedShapes", [A1_SHAPE, "VM.Standard.E2.1.Micro"]))
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


def _port_range(options: Any) -> tuple[float, float] | None:
    """(min, max) of a tcpOptions/udpOptions block; None means every port."""
    if options is None:
        return None
    rng = get(options, "destinationPortRange")
    source = rng if rng is not None else options
    low, high = as_number(get(source, "min")), as_number(get(source, "max"))
    if low is None and high is None:
        return None
    return (low if low is not None else 1, high if high is not None else 65535)


def _exposed_admin_ports(rule: Any, admin_ports: list[int]) -> list[int]:
    source = get(rule, "source")
    if source not in PUBLIC_SOURCES:
        return []
    protocol = str(get(rule, "protocol") or "").lower()
    if protocol == ALL:
        return admin_ports
    if protocol not in (TCP, UDP):
        return []
    rng = _port_range(get(rule, "tcpOptions" if protocol == TCP else "udpOptions"))
    if rng is None:
        return admin_ports
    return [p for p in admin_ports if rng[0] <= p <= rng[1]]


def validate_admin_ports(resource: Resource, config: Config) -> list[str]:
    admin_ports = [int(p) for p in config.get("adminPorts", [22, 6443, 3389])]
    if resource.type == NSG_RULE:
        if str(resource.props.get("direction") or "").upper() != "INGRESS":
            return []
        rules = [resource.props]
    else:
        rules = as_list(resource.props.get("ingressSecurityRules"))
    out = []
    for rule in rules:
        ports = _exposed_admin_ports(rule, admin_ports)
        if ports:
            out.append(
                f"ingress from {get(rule, 'source')} reaches admin port(s) "
                f"{', '.join(map(str, ports))}"
            )
    return out


def validate_free_tier_caps(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    ocpus = memory = block = 0.0
    micro = 0
    default_boot = float(config.get("defaultBootVolumeGbs", 47))
    for r in resources:
        if r.type == INSTANCE:
            shape = r.props.get("shape")
            if is_unknown(shape) or is_unknown(r.props.get("shapeConfig")):
                raise NotApplicable(f"shape of {r.name} is unknown at preview")
            if shape == A1_SHAPE:
                cpu = as_number(get(r.props, "shapeConfig", "ocpus"))
                mem = as_number(get(r.props, "shapeConfig", "memoryInGbs"))
                # A1 without shapeConfig is rejected by OCI; count it as 1 OCPU / 6 GB.
                ocpus += cpu if cpu is not None else 1
                memory += mem if mem is not None else 6
            elif shape == "VM.Standard.E2.1.Micro":
                micro += 1
            boot = as_number(get(r.props, "sourceDetails", "bootVolumeSizeInGbs"))
            block += boot if boot is not None else default_boot
        elif r.type == VOLUME:
            size = as_number(r.props.get("sizeInGbs"))
            block += size if size is not None else float(config.get("defaultVolumeGbs", 50))
    caps = [
        ("Ampere A1 OCPUs", ocpus, float(config.get("maxA1Ocpus", 4))),
        ("Ampere A1 memory (GB)", memory, float(config.get("maxA1MemoryGbs", 24))),
        ("block + boot volume (GB)", block, float(config.get("maxBlockVolumeGbs", 200))),
        ("E2.1.Micro instances", float(micro), float(config.get("maxMicroInstances", 2))),
    ]
    return [
        (None, f"total {label} is {fmt_num(used)}, above the Always Free cap of {fmt_num(cap)}")
        for label, used, cap in caps
        if used > cap
    ]


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
                "default": [A1_SHAPE, "VM.Standard.E2.1.Micro"],
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
            "adminPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [22, 6443, 3389],
                "description": "Ports that must never be reachable from the internet.",
            }
        },
        resource_types=(SECURITY_LIST, NSG_RULE),
        validate_resource=validate_admin_ports,
    ),
    PolicySpec(
        name="oci-stack-free-tier-caps",
        description="The stack's Ampere A1 OCPUs and memory, E2 micro count and total block "
        "storage must stay within the Always Free caps in config.",
        severity="high",
        enforcement="mandatory",
        remediation="Shrink shapeConfig or volumes, or update the caps in "
        "policies/config/<stack>.json if Oracle changed them.",
        config_schema={
            "maxA1Ocpus": {
                "type": "number",
                "minimum": 0,
                "default": 4,
                "description": "Total Ampere A1 OCPUs.",
            },
            "maxA1MemoryGbs": {
                "type": "number",
                "minimum": 0,
                "default": 24,
                "description": "Total Ampere A1 memory in GB.",
            },
            "maxBlockVolumeGbs": {
                "type": "number",
                "minimum": 0,
                "default": 200,
                "description": "Total boot + block volume in GB.",
            },
            "maxMicroInstances": {
                "type": "integer",
                "minimum": 0,
                "default": 2,
                "description": "VM.Standard.E2.1.Micro instances.",
            },
            "defaultBootVolumeGbs": {
                "type": "number",
                "minimum": 0,
                "default": 47,
                "description": "Boot volume size when none is given.",
            },
            "defaultVolumeGbs": {
                "type": "number",
                "minimum": 0,
                "default": 50,
                "description": "Block volume size when none is given.",
            },
        },
        validate_stack=validate_free_tier_caps,
    ),
]
