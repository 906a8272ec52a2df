"""Azure policies for the planet stage: Front Door (HTTPS only, probed origins) and AKS
(Entra ID and RBAC, no local accounts).

Type tokens and property names are pulumi-azure-native 3.x's, as the engine sends them
(camelCase, with Azure's own capitals: `enableRBAC`, `aadProfile.enableAzureRBAC`). Where a
property is left out, Azure's default applies, and the validators judge that default: a
Route forwards with `MatchRequest` and does not redirect, and a ManagedCluster keeps its
local accounts.
"""

from __future__ import annotations

from collections.abc import Mapping

from .spec import (
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_list,
    known,
    truthy,
)

ROUTE = "azure-native:cdn:Route"
ORIGIN_GROUP = "azure-native:cdn:AFDOriginGroup"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
#: the Route's documented default when supportedProtocols is left out
DEFAULT_ROUTE_PROTOCOLS = ["Http", "Https"]


def _known(resource: Resource, key: str) -> object:
    """The property's value, None when left out; NotApplicable while it is unknown."""
    return known(resource.props.get(key), key)


def _field(obj: object, key: str, label: str) -> object:
    """A nested property, None when left out; NotApplicable while it is unknown."""
    return known(obj.get(key) if isinstance(obj, Mapping) else None, f"{label}.{key}")


def validate_route_https_only(resource: Resource, config: Config) -> list[str]:
    out = []
    forwarding = _known(resource, "forwardingProtocol")
    if forwarding != "HttpsOnly":
        shown = forwarding if forwarding is not None else "not set (MatchRequest)"
        out.append(
            f"forwardingProtocol is {shown}: traffic to the origins may travel as plain HTTP"
        )
    protocols = _known(resource, "supportedProtocols")
    accepted = DEFAULT_ROUTE_PROTOCOLS if protocols is None else as_list(protocols)
    if "Http" in accepted:
        redirect = _known(resource, "httpsRedirect")
        if redirect != "Enabled":
            shown = redirect if redirect is not None else "not set (Disabled)"
            out.append(
                f"the route accepts HTTP but httpsRedirect is {shown}: clients are served "
                "over plain HTTP instead of being sent to HTTPS"
            )
    return out


def validate_origin_group_probe(resource: Resource, config: Config) -> list[str]:
    probe = _known(resource, "healthProbeSettings")
    if probe is None:
        return ["the origin group has no healthProbeSettings: an unhealthy region keeps traffic"]
    if not isinstance(probe, Mapping):
        raise NotApplicable("healthProbeSettings is not an object")
    out = []
    path = _field(probe, "probePath", "healthProbeSettings")
    if not isinstance(path, str) or not path.startswith("/"):
        out.append(f"healthProbeSettings.probePath is {path!r}: set the app's health path")
    allowed = [str(p) for p in config.get("allowedProbeProtocols", ["Https"])]
    protocol = _field(probe, "probeProtocol", "healthProbeSettings")
    if protocol not in allowed:
        out.append(
            f"healthProbeSettings.probeProtocol is {protocol!r}, not one of {', '.join(allowed)}"
        )
    request_type = _field(probe, "probeRequestType", "healthProbeSettings")
    if request_type not in ("GET", "HEAD"):
        out.append(f"healthProbeSettings.probeRequestType is {request_type!r}, not GET or HEAD")
    if _field(probe, "probeIntervalInSeconds", "healthProbeSettings") is None:
        out.append("healthProbeSettings.probeIntervalInSeconds is not set")
    return out


def validate_aks_rbac(resource: Resource, config: Config) -> list[str]:
    out = []
    if truthy(_known(resource, "enableRBAC")) is not True:
        out.append("enableRBAC is not true: Kubernetes RBAC is off")
    if truthy(_known(resource, "disableLocalAccounts")) is not True:
        out.append("disableLocalAccounts is not true: a static admin certificate bypasses Entra ID")
    aad = _known(resource, "aadProfile")
    if aad is not None and not isinstance(aad, Mapping):
        raise NotApplicable("aadProfile is not an object")
    if truthy(_field(aad, "managed", "aadProfile")) is not True:
        out.append("aadProfile.managed is not true: sign-in does not go through Entra ID")
    azure_rbac = truthy(_field(aad, "enableAzureRBAC", "aadProfile"))
    if config.get("requireAzureRbac", True) and azure_rbac is not True:
        out.append(
            "aadProfile.enableAzureRBAC is not true: Kubernetes authorization is not "
            "managed through Azure role assignments"
        )
    return out


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="azure-frontdoor-route-https-only",
        description="Front Door routes must forward to origins over HTTPS only and redirect "
        "HTTP clients to HTTPS.",
        severity="high",
        enforcement="mandatory",
        remediation="Set forwardingProtocol: HttpsOnly, and httpsRedirect: Enabled whenever "
        "supportedProtocols includes Http (it does by default).",
        resource_types=(ROUTE,),
        validate_resource=validate_route_https_only,
    ),
    PolicySpec(
        name="azure-frontdoor-origin-group-health-probe",
        description="Front Door origin groups must probe their origins' health over HTTPS.",
        severity="high",
        enforcement="mandatory",
        remediation="Set healthProbeSettings with probePath (the app's /healthz), "
        "probeProtocol: Https, probeRequestType: GET or HEAD and probeIntervalInSeconds.",
        config_schema={
            "allowedProbeProtocols": {
                "type": "array",
                "items": {"type": "string", "enum": ["Http", "Https"]},
                "default": ["Https"],
                "description": "Protocols a health probe may use.",
            },
        },
        resource_types=(ORIGIN_GROUP,),
        validate_resource=validate_origin_group_probe,
    ),
    PolicySpec(
        name="azure-aks-rbac-no-local-accounts",
        description="AKS clusters must use Entra ID with Kubernetes RBAC and Azure RBAC, and "
        "disable local accounts.",
        severity="critical",
        enforcement="mandatory",
        remediation="Set enableRBAC: true, disableLocalAccounts: true and aadProfile "
        "{managed: true, enableAzureRBAC: true}; grant people 'Azure Kubernetes Service RBAC' "
        "roles on the cluster.",
        config_schema={
            "requireAzureRbac": {
                "type": "boolean",
                "default": True,
                "description": "Also require Azure RBAC for Kubernetes authorization "
                "(aadProfile.enableAzureRBAC).",
            },
        },
        resource_types=(MANAGED_CLUSTER,),
        validate_resource=validate_aks_rbac,
    ),
]
