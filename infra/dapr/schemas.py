"""JSON schemas for the Dapr objects this project writes, for offline validation.

Written from Dapr's documented resource specs (component, configuration and
resiliency reference pages), strict where a typo would silently change behaviour:
unknown top-level and `spec` keys are rejected, metadata items take exactly one of
`value`, `secretKeyRef` or `envRef`.
"""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"}
_METADATA = {
    "type": "object",
    "required": ["name"],
    # ObjectMeta, closed for the fields we write: the API server refuses (server-side
    # apply) or drops (client-side) a field it does not know
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "namespace": _NAME,
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}
_SCOPES = {"type": "array", "items": _NAME, "uniqueItems": True}


def _object(kind: str, spec: dict[str, Any], scoped: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "apiVersion": {"const": "dapr.io/v1alpha1"},
        "kind": {"const": kind},
        "metadata": _METADATA,
        "spec": spec,
    }
    if scoped:
        properties["scopes"] = _SCOPES
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": properties,
    }


_METADATA_ITEM = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "value": {},
        "secretKeyRef": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
        },
        "envRef": {"type": "string"},
    },
    "oneOf": [
        {"required": ["value"]},
        {"required": ["secretKeyRef"]},
        {"required": ["envRef"]},
    ],
}

COMPONENT = _object(
    "Component",
    {
        "type": "object",
        "required": ["type", "version"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "pattern": r"^[a-z0-9]+(\.[a-z0-9-]+)+$"},
            "version": {"type": "string", "pattern": r"^v[0-9]+(alpha[0-9]*|beta[0-9]*)?$"},
            "ignoreErrors": {"type": "boolean"},
            "initTimeout": _DURATION,
            "metadata": {"type": "array", "items": _METADATA_ITEM},
        },
    },
    scoped=True,
)
COMPONENT["properties"]["auth"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"secretStore": {"type": "string"}},
}

CONFIGURATION = _object(
    "Configuration",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "tracing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "samplingRate": {"type": "string", "pattern": r"^(0(\.[0-9]+)?|1(\.0+)?)$"},
                    "stdout": {"type": "boolean"},
                    # the CRD's own required fields (charts/dapr/crds/configuration.yaml)
                    "zipkin": {
                        "type": "object",
                        "required": ["endpointAddress"],
                        "properties": {"endpointAddress": {"type": "string", "minLength": 1}},
                    },
                    "otel": {
                        "type": "object",
                        "required": ["endpointAddress", "isSecure", "protocol"],
                        "properties": {
                            "endpointAddress": {"type": "string", "minLength": 1},
                            "isSecure": {"type": "boolean"},
                            "protocol": {"enum": ["grpc", "http"]},
                        },
                    },
                },
            },
            "metric": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "metrics": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "mtls": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "secrets": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "scopes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["storeName"],
                            "additionalProperties": False,
                            "properties": {
                                "storeName": {"type": "string"},
                                "defaultAccess": {"enum": ["allow", "deny"]},
                                "allowedSecrets": {"type": "array", "items": {"type": "string"}},
                                "deniedSecrets": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                },
            },
            "accessControl": {"type": "object"},
            "api": {"type": "object"},
            "appHttpPipeline": {"type": "object"},
            "httpPipeline": {"type": "object"},
            "components": {"type": "object"},
            "features": {"type": "array"},
            "logging": {"type": "object"},
            "nameResolution": {"type": "object"},
            "wasm": {"type": "object"},
            "workflow": {"type": "object"},
        },
    },
    scoped=False,
)

_TARGET = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {"type": "string"},
        "retry": {"type": "string"},
        "circuitBreaker": {"type": "string"},
    },
}

RESILIENCY = _object(
    "Resiliency",
    {
        "type": "object",
        "required": ["policies", "targets"],
        "additionalProperties": False,
        "properties": {
            "policies": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "timeouts": {"type": "object", "additionalProperties": _DURATION},
                    "retries": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["policy"],
                            "properties": {
                                "policy": {"enum": ["constant", "exponential"]},
                                "duration": _DURATION,
                                "maxInterval": _DURATION,
                                "maxRetries": {"type": "integer", "minimum": -1},
                                "matching": {"type": "object"},
                            },
                            "additionalProperties": False,
                        },
                    },
                    "circuitBreakers": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["trip"],
                            "properties": {
                                "maxRequests": {"type": "integer", "minimum": 0},
                                "interval": _DURATION,
                                "timeout": _DURATION,
                                "trip": {"type": "string"},
                            },
                            "additionalProperties": False,
                        },
                    },
                },
            },
            "targets": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "apps": {"type": "object", "additionalProperties": _TARGET},
                    "actors": {"type": "object"},
                    "components": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"outbound": _TARGET, "inbound": _TARGET},
                        },
                    },
                },
            },
        },
    },
    scoped=True,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "Component": COMPONENT,
    "Configuration": CONFIGURATION,
    "Resiliency": RESILIENCY,
}
