"""JSON schemas for the non-Dapr custom resources this project writes, for offline checks.

Written from the projects' CRDs at the pinned chart versions, for the fields we use, and
strict where a typo would silently change behaviour (unknown keys rejected). Dapr's own
kinds are in `infra.dapr.schemas`.
"""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _NAME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _strict(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


# cert-manager v1.19 `ClusterIssuer` (cluster-scoped: no namespace), ACME with HTTP-01
_HTTP01_INGRESS = _strict(
    {
        "ingressClassName": {"type": "string", "minLength": 1},
        "class": {"type": "string"},
        "serviceType": {"enum": ["ClusterIP", "NodePort"]},
    },
    [],
)
_SOLVER = _strict({"http01": _strict({"ingress": _HTTP01_INGRESS}, ["ingress"])}, ["http01"])
_ACME = _strict(
    {
        "server": {"type": "string", "pattern": r"^https://"},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
        "privateKeySecretRef": _strict({"name": _NAME, "key": {"type": "string"}}, ["name"]),
        "solvers": {"type": "array", "minItems": 1, "items": _SOLVER},
    },
    ["server", "privateKeySecretRef"],
)
CLUSTER_ISSUER = _strict(
    {
        "apiVersion": {"const": "cert-manager.io/v1"},
        "kind": {"const": "ClusterIssuer"},
        "metadata": {**_METADATA, "not": {"required": ["namespace"]}},
        "spec": _strict({"acme": _ACME}, ["acme"]),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "ClusterIssuer"): CLUSTER_ISSUER,
}
