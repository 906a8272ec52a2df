"""Kafka policies: a Strimzi listener reachable from outside the cluster is encrypted and
authenticated.

Type tokens are pulumi-kubernetes' for Strimzi's `Kafka` kind (`kafka.strimzi.io/v1`;
`v1beta2` too, for clusters still on Strimzi 0.x). A listener is external when its `type`
exposes it beyond the cluster network: `loadbalancer`, `nodeport`, `ingress`, `route`,
`tlsroute`, and `cluster-ip` (a per-broker ClusterIP Service that exists to be exposed by
another controller). Only `internal` listeners are exempt.
"""

from __future__ import annotations

from typing import Any

from .spec import (
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_dict,
    as_list,
    is_unknown,
    named_in,
    truthy,
)

KAFKA_TYPES = ("kubernetes:kafka.strimzi.io/*:Kafka",)
EXTERNAL_TYPES = ["loadbalancer", "nodeport", "ingress", "route", "tlsroute", "cluster-ip"]


def _listeners(resource: Resource) -> list[Any]:
    spec = resource.props.get("spec")
    if is_unknown(spec):
        raise NotApplicable("spec is unknown at preview")
    kafka = as_dict(as_dict(spec).get("kafka"))
    listeners = kafka.get("listeners")
    if is_unknown(listeners):
        raise NotApplicable("spec.kafka.listeners is unknown at preview")
    if listeners is None:
        raise NotApplicable("the Kafka resource has no spec.kafka.listeners")
    return as_list(listeners)


def validate_external_listener_security(resource: Resource, config: Config) -> list[str]:
    external = set(config.get("externalTypes", EXTERNAL_TYPES))
    out: list[str] = []
    for index, raw in enumerate(_listeners(resource)):
        listener = as_dict(raw)
        kind = listener.get("type")
        if not named_in(kind, external):  # unknown at preview, internal, or malformed
            continue
        label = f"listener {listener.get('name', index)!s} (type {kind})"
        tls = listener.get("tls")
        if not is_unknown(tls) and truthy(tls) is not True:
            out.append(f"{label} does not set tls: true: clients would talk in plaintext")
        auth = listener.get("authentication")
        if not is_unknown(auth) and not as_dict(auth).get("type"):
            out.append(f"{label} has no authentication: anyone who reaches it could read and write")
    return out


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="kafka-listener-external-tls-auth",
        description="A Strimzi Kafka listener exposed outside the cluster (loadbalancer, "
        "nodeport, ingress, route, tlsroute, cluster-ip) must use TLS and authentication.",
        severity="high",
        enforcement="mandatory",
        remediation="Set tls: true and authentication (type scram-sha-512 or tls) on every "
        "listener that is not of type internal, and restrict its sources "
        "(configuration.loadBalancerSourceRanges, networkPolicyPeers).",
        config_schema={
            "externalTypes": {
                "type": "array",
                "items": {"type": "string"},
                "default": EXTERNAL_TYPES,
                "description": "Listener types that are reachable from outside the cluster.",
            }
        },
        resource_types=KAFKA_TYPES,
        validate_resource=validate_external_listener_security,
    ),
]
