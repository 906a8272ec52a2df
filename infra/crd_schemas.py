"""JSON schemas for the non-Dapr custom resources this project writes, for offline checks.

Written from the projects' CRDs at the pinned chart versions, for the fields we use, and
strict where a typo would silently change behaviour (unknown keys rejected). Dapr's own
kinds are in `infra.dapr.schemas`.
"""

from __future__ import annotations

from typing import Any

NAME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    "maxLength": 253,
}
#: a custom resource's ObjectMeta (the API server's, whatever the CRD), closed for the
#: fields we write: a misspelt `labels` fails a server-side apply half-way through a
#: deploy, or is dropped by a client-side one
METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": NAME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def strict(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object with these properties and no others (the CRDs close every level)."""
    return {
        "type": "object",
        "required": required or [],
        "additionalProperties": False,
        "properties": properties,
    }


# cert-manager v1.19 `ClusterIssuer` (cluster-scoped: no namespace), ACME with HTTP-01
_HTTP01_INGRESS = strict(
    {
        "ingressClassName": {"type": "string", "minLength": 1},
        "class": {"type": "string"},
        "serviceType": {"enum": ["ClusterIP", "NodePort"]},
    },
    [],
)
_SOLVER = strict({"http01": strict({"ingress": _HTTP01_INGRESS}, ["ingress"])}, ["http01"])
_ACME = strict(
    {
        "server": {"type": "string", "pattern": r"^https://"},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
        "privateKeySecretRef": strict({"name": NAME, "key": {"type": "string"}}, ["name"]),
        "solvers": {"type": "array", "minItems": 1, "items": _SOLVER},
    },
    ["server", "privateKeySecretRef"],
)
CLUSTER_ISSUER = strict(
    {
        "apiVersion": {"const": "cert-manager.io/v1"},
        "kind": {"const": "ClusterIssuer"},
        "metadata": {**METADATA, "not": {"required": ["namespace"]}},
        "spec": strict({"acme": _ACME}, ["acme"]),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

# --- Karmada v1.18.1 --------------------------------------------------------------------
# PropagationPolicy and OverridePolicy from charts/karmada/_crds/bases/policy/
# policy.karmada.io_{propagation,override}policies.yaml; Cluster (served by the aggregated
# API server, no CRD) from pkg/apis/cluster/v1alpha1/types.go. Rules Karmada's webhooks
# add on top (pkg/util/validation, pkg/apis/cluster/validation) are noted where they apply.
# Every level is closed, as the CRDs are (none preserves unknown fields except overrider
# values); fields this project does not write are typed but not detailed.

_STRINGS = {"type": "array", "items": {"type": "string"}}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_OBJECT = {"type": "object"}
_ARRAY = {"type": "array"}
NAMESPACED_METADATA = {
    **METADATA,
    "required": ["name", "namespace"],
    "properties": {**METADATA["properties"], "namespace": NAME},
}


def _requirements(key: dict[str, Any], operator: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": strict(
            {"key": key, "operator": operator, "values": _STRINGS}, ["key", "operator"]
        ),
    }


_LABEL_SELECTOR = strict(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": _requirements(
            {"type": "string"}, {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]}
        ),
    },
    [],
)
# the webhook allows only these keys and operators (ValidatePolicyFieldSelector)
_FIELD_SELECTOR = strict(
    {
        "matchExpressions": _requirements(
            {"enum": ["provider", "region", "zone"]}, {"enum": ["In", "NotIn"]}
        )
    },
    [],
)
_CLUSTER_AFFINITY = strict(
    {
        "clusterNames": {**_STRINGS, "uniqueItems": True},
        "exclude": _STRINGS,
        "labelSelector": _LABEL_SELECTOR,
        "fieldSelector": _FIELD_SELECTOR,
    },
    [],
)
_RESOURCE_SELECTOR = strict(
    {
        "apiVersion": {"type": "string", "minLength": 1},
        "kind": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labelSelector": _LABEL_SELECTOR,
    },
    ["apiVersion", "kind"],
)
_APPLICATION_FAILOVER = {
    **strict(
        {
            "decisionConditions": strict(
                {"tolerationSeconds": {"type": "integer", "minimum": 0}}, []
            ),
            # "Immediately" and "Graciously" are the deprecated spellings
            "purgeMode": {"enum": ["Directly", "Gracefully", "Never", "Immediately", "Graciously"]},
            "gracePeriodSeconds": {"type": "integer", "minimum": 1},
            "statePreservation": _OBJECT,
        },
        ["decisionConditions"],
    ),
    # the webhook: gracePeriodSeconds only takes effect when purgeMode is Gracefully
    "if": {
        "required": ["purgeMode"],
        "properties": {"purgeMode": {"enum": ["Directly", "Never", "Immediately"]}},
    },
    "then": {"not": {"required": ["gracePeriodSeconds"]}},
}
_PLACEMENT = {
    **strict(
        {
            "clusterAffinity": _CLUSTER_AFFINITY,
            "clusterAffinities": _ARRAY,
            "clusterTolerations": _ARRAY,
            "spreadConstraints": _ARRAY,
            "workloadAffinity": _OBJECT,
            "replicaScheduling": strict(
                {
                    "replicaSchedulingType": {"enum": ["Duplicated", "Divided"]},
                    "replicaDivisionPreference": {"enum": ["Aggregated", "Weighted"]},
                    "weightPreference": _OBJECT,
                },
                [],
            ),
        },
        [],
    ),
    # the webhook: clusterAffinities cannot co-exist with clusterAffinity
    "not": {"required": ["clusterAffinity", "clusterAffinities"]},
}
_PROPAGATION_SPEC = {
    **strict(
        {
            "resourceSelectors": {"type": "array", "minItems": 1, "items": _RESOURCE_SELECTOR},
            "propagateDeps": {"type": "boolean"},
            "conflictResolution": {"enum": ["Abort", "Overwrite"]},
            "placement": _PLACEMENT,
            "failover": strict({"application": _APPLICATION_FAILOVER, "cluster": _OBJECT}, []),
            "activationPreference": {"enum": ["Lazy"]},
            "association": {"type": "boolean"},
            "dependentOverrides": _STRINGS,
            "preemption": {"enum": ["Always", "Never"]},
            "preserveResourcesOnDeletion": {"type": "boolean"},
            "priority": {"type": "integer"},
            "schedulePriority": _OBJECT,
            "schedulerName": {"type": "string"},
            "suspension": _OBJECT,
        },
        ["resourceSelectors"],
    ),
    # the webhook: application failover needs propagateDeps
    "if": {
        "required": ["failover"],
        "properties": {"failover": {"required": ["application"]}},
    },
    "then": {"required": ["propagateDeps"], "properties": {"propagateDeps": {"const": True}}},
}
PROPAGATION_POLICY = strict(
    {
        "apiVersion": {"const": "policy.karmada.io/v1alpha1"},
        "kind": {"const": "PropagationPolicy"},
        "metadata": NAMESPACED_METADATA,
        "spec": _PROPAGATION_SPEC,
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_OPERATOR = {"enum": ["add", "remove", "replace"]}
_PLAINTEXT = {
    **strict(
        {"path": {"type": "string", "pattern": "^/"}, "operator": _OPERATOR, "value": {}},
        ["path", "operator"],
    ),
    # the webhook: add and replace need a value, remove takes none
    "if": {"properties": {"operator": {"const": "remove"}}},
    "then": {"not": {"required": ["value"]}},
    "else": {"required": ["value"]},
}
_LABELS_OVERRIDER = strict({"operator": _OPERATOR, "value": STRING_MAP}, ["operator", "value"])
_OVERRIDERS = strict(
    {
        "plaintext": {"type": "array", "items": _PLAINTEXT},
        "labelsOverrider": {"type": "array", "items": _LABELS_OVERRIDER},
        "annotationsOverrider": {"type": "array", "items": _LABELS_OVERRIDER},
        "imageOverrider": _ARRAY,
        "commandOverrider": _ARRAY,
        "argsOverrider": _ARRAY,
        "fieldOverrider": _ARRAY,
    },
    [],
)
_OVERRIDE_SPEC = {
    **strict(
        {
            "resourceSelectors": {"type": "array", "items": _RESOURCE_SELECTOR},
            "overrideRules": {
                "type": "array",
                "items": strict(
                    {"targetCluster": _CLUSTER_AFFINITY, "overriders": _OVERRIDERS}, ["overriders"]
                ),
            },
            # deprecated in favour of overrideRules
            "targetCluster": _CLUSTER_AFFINITY,
            "overriders": _OVERRIDERS,
        },
        [],
    ),
    # the webhook: overrideRules cannot co-exist with targetCluster or overriders
    "if": {"required": ["overrideRules"]},
    "then": {"not": {"anyOf": [{"required": ["targetCluster"]}, {"required": ["overriders"]}]}},
}
OVERRIDE_POLICY = strict(
    {
        "apiVersion": {"const": "policy.karmada.io/v1alpha1"},
        "kind": {"const": "OverridePolicy"},
        "metadata": NAMESPACED_METADATA,
        "spec": _OVERRIDE_SPEC,
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_SECRET_REF = strict(
    {"namespace": {"type": "string", "minLength": 1}, "name": {"type": "string", "minLength": 1}},
    ["namespace", "name"],
)
_LABEL_VALUE = {
    "type": "string",
    "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
    "maxLength": 63,
}
_CLUSTER_SPEC = {
    **strict(
        {
            "syncMode": {"enum": ["Push", "Pull"]},
            "apiEndpoint": {"type": "string", "pattern": r"^https?://[^/?#@\s]+(/[^?#\s]*)?$"},
            "secretRef": _SECRET_REF,
            "impersonatorSecretRef": _SECRET_REF,
            "insecureSkipTLSVerification": {"type": "boolean"},
            "proxyURL": {"type": "string", "pattern": r"^(https?|socks5)://"},
            "proxyHeader": STRING_MAP,
            "provider": _LABEL_VALUE,
            "region": _LABEL_VALUE,
            "zone": {"type": "string"},
            "zones": _STRINGS,
            "id": {"type": "string", "maxLength": 128000},
            "taints": _ARRAY,
            "resourceModels": _ARRAY,
        },
        ["syncMode"],
    ),
    # the API server: zone (deprecated) and zones cannot co-exist
    "not": {"required": ["zone", "zones"]},
}
CLUSTER = strict(
    {
        "apiVersion": {"const": "cluster.karmada.io/v1alpha1"},
        "kind": {"const": "Cluster"},
        # cluster-scoped; the name is a DNS-1123 label of at most 48 characters
        "metadata": {
            **METADATA,
            "properties": {
                **METADATA["properties"],
                "name": {
                    "type": "string",
                    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                    "maxLength": 48,
                },
            },
            "not": {"required": ["namespace"]},
        },
        "spec": _CLUSTER_SPEC,
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "ClusterIssuer"): CLUSTER_ISSUER,
    ("policy.karmada.io/v1alpha1", "PropagationPolicy"): PROPAGATION_POLICY,
    ("policy.karmada.io/v1alpha1", "OverridePolicy"): OVERRIDE_POLICY,
    ("cluster.karmada.io/v1alpha1", "Cluster"): CLUSTER,
}
