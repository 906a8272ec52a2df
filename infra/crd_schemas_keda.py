"""JSON schemas for KEDA's `ScaledObject` and `TriggerAuthentication` (keda.sh/v1alpha1).

Written from the CRDs of kedacore/charts tag v2.20.2 (keda/templates/crds/
crd-scaledobjects.yaml, crd-triggerauthentications.yaml; KEDA 2.20.2) for the fields we
use, strict where a typo would silently change behaviour. The CRD types a trigger's
`metadata` only as a map of strings; the keys each scaler reads are in the `keda:"name=…"`
tags of kedacore/keda v2.20.2 pkg/scalers/prometheus_scaler.go, kafka_scaler.go and
cpu_memory_scaler.go, and a key the scaler does not read is rejected here.
"""

from __future__ import annotations

from typing import Any

from infra.crd_schemas import NAME, NAMESPACED_METADATA, strict

API_VERSION = "keda.sh/v1alpha1"

_INT32 = {"type": "integer", "minimum": 0, "maximum": 2147483647}
_NUMBER_TEXT = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
_INT_TEXT = {"type": "string", "pattern": r"^[0-9]+$"}
_BOOL_TEXT = {"enum": ["true", "false"]}


# --- what each scaler reads from `metadata` (triggerMetadata keys only) ---------------

_PROMETHEUS_METADATA = strict(
    {
        "serverAddress": {"type": "string", "pattern": r"^https?://\S+$"},
        "query": {"type": "string", "minLength": 1},
        "queryParameters": {"type": "string"},
        "threshold": _NUMBER_TEXT,
        "activationThreshold": _NUMBER_TEXT,
        "namespace": {"type": "string"},
        "customHeaders": {"type": "string"},
        "ignoreNullValues": _BOOL_TEXT,
        "unsafeSsl": _BOOL_TEXT,
        "awsRegion": {"type": "string"},
        "timeout": {"type": "string"},
        "identityOwner": {"type": "string"},
        "authModes": {"type": "string"},
    },
    ["serverAddress", "query", "threshold"],
)
_KAFKA_METADATA = strict(
    {
        "bootstrapServers": {"type": "string", "pattern": r"^[^\s,]+:[0-9]+(,[^\s,]+:[0-9]+)*$"},
        "consumerGroup": {"type": "string", "minLength": 1},
        "topic": {"type": "string", "minLength": 1},
        "partitionLimitation": {"type": "string"},
        "lagThreshold": {"type": "string", "pattern": r"^[1-9][0-9]*$"},
        "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
        "activationLagThreshold": _INT_TEXT,
        "offsetResetPolicy": {"enum": ["latest", "earliest"]},
        "allowIdleConsumers": _BOOL_TEXT,
        "excludePersistentLag": _BOOL_TEXT,
        "scaleToZeroOnInvalidOffset": _BOOL_TEXT,
        "limitToPartitionsWithLag": _BOOL_TEXT,
        "ensureEvenDistributionOfPartitions": _BOOL_TEXT,
        "tls": {"enum": ["enable", "disable"]},
        "unsafeSsl": _BOOL_TEXT,
        "sasl": {
            "enum": ["none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi"]
        },
        "saslTokenProvider": {"enum": ["bearer", "aws_msk_iam"]},
        "awsRegion": {"type": "string"},
    },
    ["bootstrapServers", "consumerGroup"],
)
_CPU_METADATA = strict(
    {
        "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
        "containerName": {"type": "string", "minLength": 1},
    },
    ["value"],
)
_SCALER_METADATA = {
    "prometheus": _PROMETHEUS_METADATA,
    "kafka": _KAFKA_METADATA,
    "cpu": _CPU_METADATA,
}

_TRIGGER = {
    **strict(
        {
            "type": {"enum": sorted(_SCALER_METADATA)},
            "name": {"type": "string", "minLength": 1},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "metricType": {"enum": ["Value", "AverageValue", "Utilization"]},
            "useCachedMetrics": {"type": "boolean"},
            "authenticationRef": strict(
                {
                    "name": NAME,
                    "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
                },
                ["name"],
            ),
        },
        ["type", "metadata"],
    ),
    "allOf": [
        {
            "if": {"properties": {"type": {"const": scaler}}, "required": ["type"]},
            "then": {"properties": {"metadata": schema}},
        }
        for scaler, schema in _SCALER_METADATA.items()
    ]
    # the CPU scaler needs metricType Utilization or AverageValue (cpu_memory_scaler.go)
    + [
        {
            "if": {"properties": {"type": {"const": "cpu"}}, "required": ["type"]},
            "then": {
                "required": ["metricType"],
                "properties": {"metricType": {"enum": ["Utilization", "AverageValue"]}},
            },
        }
    ],
}

SCALED_OBJECT = strict(
    {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "ScaledObject"},
        "metadata": NAMESPACED_METADATA,
        "spec": strict(
            {
                "scaleTargetRef": strict(
                    {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": NAME,
                        "envSourceContainerName": {"type": "string"},
                    },
                    ["name"],
                ),
                "minReplicaCount": _INT32,
                "maxReplicaCount": {**_INT32, "minimum": 1},
                "idleReplicaCount": _INT32,
                "pollingInterval": {**_INT32, "minimum": 1},
                "cooldownPeriod": _INT32,
                "initialCooldownPeriod": _INT32,
                "triggers": {"type": "array", "minItems": 1, "items": _TRIGGER},
            },
            ["scaleTargetRef", "triggers"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_SECRET_TARGET_REF = strict(
    {
        "parameter": {"type": "string", "minLength": 1},
        "name": NAME,
        "key": {"type": "string", "minLength": 1},
    },
    ["parameter", "name", "key"],
)
TRIGGER_AUTHENTICATION = strict(
    {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": NAMESPACED_METADATA,
        # credentials only by reference to a Secret: no `env`, no plain values
        "spec": strict(
            {"secretTargetRef": {"type": "array", "minItems": 1, "items": _SECRET_TARGET_REF}},
            ["secretTargetRef"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (API_VERSION, "ScaledObject"): SCALED_OBJECT,
    (API_VERSION, "TriggerAuthentication"): TRIGGER_AUTHENTICATION,
}
