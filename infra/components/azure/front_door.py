"""Azure Front Door Standard, the planet's one global entry: HTTPS only, one origin per
active region, health-probed on the app's /healthz."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.cdn as cdn

from infra.components.options import child_options

# origin, origin group, endpoint and route names: letters, digits and hyphens,
# alphanumeric at both ends
_AZURE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class FrontDoorOrigin:
    """One active region as seen from Front Door."""

    #: the region's name: the origin's Azure name, and its logical name
    #: (`<component>-origin-<name>`), so adding or removing a region renames no other
    name: str
    #: the region's public host (its ingress answers HTTPS for it with a trusted
    #: certificate): Front Door connects to it and sends it as the Host header
    host: pulumi.Input[str]
    #: share of traffic among origins of the same priority, 1-1000
    weight: int
    #: 1-5; a higher number gets traffic only while every lower one is unhealthy
    priority: int


@dataclass(frozen=True)
class FrontDoorArgs:
    #: the resource group that holds the profile
    resource_group_name: pulumi.Input[str]
    #: the profile's Azure name (unique in the resource group)
    profile_name: str
    #: the endpoint's Azure name: the public host is `<endpoint_name>-<hash>.z01.azurefd.net`
    endpoint_name: str
    #: the active regions; a drained region is left out (its cluster stays)
    origins: Sequence[FrontDoorOrigin]
    #: the path Front Door probes on every origin (the app's liveness endpoint)
    probe_path: str = "/healthz"
    #: seconds between probes from each Front Door edge, 1-255. Every edge probes on its
    #: own, so a short interval multiplies into a steady load on small regions
    probe_interval_seconds: int = 100
    #: GET or HEAD. GET, because FastAPI answers HEAD on a GET route with 405
    probe_request_type: str = "GET"
    #: keep a client on the origin that served it first (a cookie Front Door sets); off,
    #: because the app keeps no state in its processes (Dapr holds the conversations)
    session_affinity: bool = False
    #: how long Front Door waits for an origin's answer, 16-240 seconds; an agent's reply
    #: waits on a model, so more than Azure's 60
    origin_response_timeout_seconds: int = 120
    #: the latest probe results considered per origin
    sample_size: int = 4
    #: of those, how many must have succeeded for the origin to be healthy
    successful_samples_required: int = 3
    #: origins this many milliseconds slower than the fastest still share its traffic
    additional_latency_ms: int = 50


def check_args(args: FrontDoorArgs) -> None:
    """Raise ValueError naming the field, its value and what is allowed."""
    if not args.origins:
        raise ValueError(
            "origins is empty: Front Door refuses a route whose origin group has no enabled "
            "origin; keep at least one region active"
        )
    names = [origin.name for origin in args.origins]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"origins: region names repeat: {', '.join(duplicates)}")
    for label, value in (
        ("profile_name", args.profile_name),
        ("endpoint_name", args.endpoint_name),
        *((f"origins[{i}].name", n) for i, n in enumerate(names)),
    ):
        if not _AZURE_NAME.match(value):
            raise ValueError(
                f"{label} {value!r}: 1-50 letters, digits and hyphens, starting and ending "
                "with a letter or digit"
            )
    for origin in args.origins:
        if not 1 <= origin.weight <= 1000:
            raise ValueError(f"origin {origin.name}: weight {origin.weight} is not in 1-1000")
        if not 1 <= origin.priority <= 5:
            raise ValueError(f"origin {origin.name}: priority {origin.priority} is not in 1-5")
    if not args.probe_path.startswith("/"):
        raise ValueError(f"probe_path {args.probe_path!r}: must start with '/'")
    if not 1 <= args.probe_interval_seconds <= 255:
        raise ValueError(f"probe_interval_seconds {args.probe_interval_seconds}: 1-255")
    if args.probe_request_type not in ("GET", "HEAD"):
        raise ValueError(f"probe_request_type {args.probe_request_type!r}: GET or HEAD")
    if not 16 <= args.origin_response_timeout_seconds <= 240:
        raise ValueError(
            f"origin_response_timeout_seconds {args.origin_response_timeout_seconds}: 16-240"
        )
    if not 1 <= args.successful_samples_required <= args.sample_size:
        raise ValueError(
            f"successful_samples_required {args.successful_samples_required}: "
            f"1 to sample_size ({args.sample_size})"
        )
    if args.additional_latency_ms < 0:
        raise ValueError(f"additional_latency_ms {args.additional_latency_ms}: 0 or more")


class FrontDoor(pulumi.ComponentResource):
    """Profile (Standard) -> endpoint -> origin group -> one origin per active region -> route.

    The route takes HTTPS and redirects HTTP to it, forwards over HTTPS only (each origin's
    certificate must match its host), matches every path, and caches nothing (no cache
    configuration: API answers are per caller). It waits for every origin: Azure refuses
    a route whose origin group has no enabled origin.
    """

    #: the `*.azurefd.net` host clients use
    endpoint_host: pulumi.Output[str]
    url: pulumi.Output[str]
    #: the profile's id as Front Door sends it to origins (the `X-Azure-FDID` header), so
    #: an origin can refuse traffic that did not come through this profile
    front_door_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(args)
        super().__init__("daca:azure:FrontDoor", name, None, opts)
        child = child_options(self, opts)
        profile = cdn.Profile(
            f"{name}-profile",
            resource_group_name=args.resource_group_name,
            profile_name=args.profile_name,
            location="Global",
            sku={"name": "Standard_AzureFrontDoor"},
            origin_response_timeout_seconds=args.origin_response_timeout_seconds,
            opts=child,
        )
        endpoint = cdn.AFDEndpoint(
            f"{name}-endpoint",
            resource_group_name=args.resource_group_name,
            profile_name=profile.name,
            endpoint_name=args.endpoint_name,
            location="Global",
            enabled_state="Enabled",
            # the same host name comes back if the endpoint is recreated in this tenant
            auto_generated_domain_name_label_scope="TenantReuse",
            opts=child,
        )
        group = cdn.AFDOriginGroup(
            f"{name}-origins",
            resource_group_name=args.resource_group_name,
            profile_name=profile.name,
            origin_group_name=f"{args.endpoint_name}-origins",
            health_probe_settings={
                "probe_path": args.probe_path,
                "probe_protocol": cdn.ProbeProtocol.HTTPS,
                "probe_request_type": cdn.HealthProbeRequestType(args.probe_request_type),
                "probe_interval_in_seconds": args.probe_interval_seconds,
            },
            load_balancing_settings={
                "sample_size": args.sample_size,
                "successful_samples_required": args.successful_samples_required,
                "additional_latency_in_milliseconds": args.additional_latency_ms,
            },
            session_affinity_state="Enabled" if args.session_affinity else "Disabled",
            opts=child,
        )
        origins = [
            cdn.AFDOrigin(
                f"{name}-origin-{origin.name}",
                resource_group_name=args.resource_group_name,
                profile_name=profile.name,
                origin_group_name=group.name,
                origin_name=origin.name,
                host_name=origin.host,
                origin_host_header=origin.host,
                https_port=443,
                http_port=80,
                weight=origin.weight,
                priority=origin.priority,
                enabled_state="Enabled",
                enforce_certificate_name_check=True,
                opts=child,
            )
            for origin in args.origins
        ]
        cdn.Route(
            f"{name}-route",
            resource_group_name=args.resource_group_name,
            profile_name=profile.name,
            endpoint_name=endpoint.name,
            route_name=f"{args.endpoint_name}-route",
            origin_group={"id": group.id},
            supported_protocols=["Https", "Http"],
            https_redirect="Enabled",
            forwarding_protocol="HttpsOnly",
            patterns_to_match=["/*"],
            link_to_default_domain="Enabled",
            enabled_state="Enabled",
            opts=child_options(self, opts, depends_on=list(origins)),
        )
        self.endpoint_host = endpoint.host_name
        self.url = pulumi.Output.concat("https://", endpoint.host_name)
        self.front_door_id = profile.front_door_id
        self.register_outputs(
            {"endpointHost": self.endpoint_host, "url": self.url, "frontDoorId": self.front_door_id}
        )
