"""JSON schemas for the Strimzi custom resources this project writes, for offline checks.

Written from Strimzi 1.2.0's CRDs (`packaging/helm-charts/helm3/strimzi-kafka-operator/
crds/04x-Crd-*.yaml` at tag 1.2.0, where `kafka.strimzi.io/v1` is the only served
version) for the fields we use, with the CRDs' enums, minimums and patterns, and strict
(unknown keys rejected) where a typo would silently change behaviour: a misspelt `tls`
or `authentication` would open a listener, a misspelt ACL field would grant nothing.
"""

from __future__ import annotations

from typing import Any

API_VERSION = "kafka.strimzi.io/v1"

_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    "maxLength": 253,
}
_STRINGS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_CLUSTER_LABEL: dict[str, Any] = {
    "type": "object",
    "required": ["strimzi.io/cluster"],
    "properties": {"strimzi.io/cluster": {"type": "string", "minLength": 1}},
    "additionalProperties": {"type": "string"},
}


def _strict(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _metadata(labels: dict[str, Any]) -> dict[str, Any]:
    """Namespaced: a node pool, topic or user names its cluster in a label."""
    return _strict(
        {"name": _NAME, "namespace": _NAME, "labels": labels, "annotations": _STRINGS},
        ["name", "namespace"] + (["labels"] if labels is _CLUSTER_LABEL else []),
    )


def _resource(kind: str, spec: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    return _strict(
        {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": _metadata(labels),
            "spec": spec,
        },
        ["apiVersion", "kind", "metadata", "spec"],
    )


_QUANTITY: dict[str, Any] = {"type": ["string", "integer", "number"]}
_RESOURCES = _strict(
    {
        "requests": _strict({"cpu": _QUANTITY, "memory": _QUANTITY}, []),
        "limits": _strict({"cpu": _QUANTITY, "memory": _QUANTITY}, []),
    },
    [],
)
_SELECTOR = _strict({"matchLabels": _STRINGS}, ["matchLabels"])
_PEER = _strict(
    {
        "ipBlock": _strict({"cidr": {"type": "string"}}, ["cidr"]),
        "namespaceSelector": _SELECTOR,
        "podSelector": _SELECTOR,
    },
    [],
)
_LISTENER = _strict(
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9]{1,11}$"},
        "port": {"type": "integer", "minimum": 9092},
        "type": {
            "enum": [
                "internal",
                "route",
                "tlsroute",
                "loadbalancer",
                "nodeport",
                "ingress",
                "cluster-ip",
            ]
        },
        "tls": {"type": "boolean"},
        "authentication": _strict({"type": {"enum": ["tls", "scram-sha-512", "custom"]}}, ["type"]),
        "configuration": _strict(
            {
                "loadBalancerSourceRanges": {"type": "array", "items": {"type": "string"}},
                "externalTrafficPolicy": {"enum": ["Local", "Cluster"]},
                "bootstrap": _strict(
                    {"alternativeNames": {"type": "array", "items": {"type": "string"}}}, []
                ),
            },
            [],
        ),
        "networkPolicyPeers": {"type": "array", "items": _PEER},
    },
    ["name", "port", "type", "tls"],
)
_CONFIG: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["string", "integer", "number", "boolean"]},
}
_OPERATOR = _strict({"resources": _RESOURCES}, [])

KAFKA = _resource(
    "Kafka",
    _strict(
        {
            "kafka": _strict(
                {
                    "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
                    "listeners": {"type": "array", "minItems": 1, "items": _LISTENER},
                    "authorization": _strict({"type": {"enum": ["simple", "custom"]}}, ["type"]),
                    "config": _CONFIG,
                },
                ["listeners"],
            ),
            "clusterCa": _strict({"generateCertificateAuthority": {"type": "boolean"}}, []),
            "entityOperator": _strict({"topicOperator": _OPERATOR, "userOperator": _OPERATOR}, []),
        },
        ["kafka"],
    ),
    _STRINGS,
)

_VOLUME = _strict(
    {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["ephemeral", "persistent-claim"]},
        "size": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"},
        "class": {"type": "string"},
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"enum": ["shared"]},
    },
    ["type"],
)
KAFKA_NODE_POOL = _resource(
    "KafkaNodePool",
    _strict(
        {
            "replicas": {"type": "integer", "minimum": 0},
            "roles": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["controller", "broker"]},
            },
            "storage": _strict(
                {
                    "type": {"enum": ["ephemeral", "persistent-claim", "jbod"]},
                    "volumes": {"type": "array", "minItems": 1, "items": _VOLUME},
                },
                ["type"],
            ),
            "resources": _RESOURCES,
        },
        ["replicas", "storage", "roles"],
    ),
    _CLUSTER_LABEL,
)

KAFKA_TOPIC = _resource(
    "KafkaTopic",
    _strict(
        {
            "topicName": {"type": "string"},
            "partitions": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
            "config": _CONFIG,
        },
        [],
    ),
    _CLUSTER_LABEL,
)

_OPERATIONS = [
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
]
_ACL = _strict(
    {
        "type": {"enum": ["allow", "deny"]},
        "resource": _strict(
            {
                "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                "name": {"type": "string"},
                "patternType": {"enum": ["literal", "prefix"]},
            },
            ["type"],
        ),
        "host": {"type": "string"},
        "operations": {"type": "array", "minItems": 1, "items": {"enum": _OPERATIONS}},
    },
    ["resource", "operations"],
)
_SECRET_KEY_REF = _strict(
    {"name": _NAME, "key": {"type": "string", "minLength": 1}}, ["name", "key"]
)
KAFKA_USER = _resource(
    "KafkaUser",
    _strict(
        {
            "authentication": _strict(
                {
                    "type": {"enum": ["tls", "tls-external", "scram-sha-512"]},
                    "password": _strict(
                        {"valueFrom": _strict({"secretKeyRef": _SECRET_KEY_REF}, ["secretKeyRef"])},
                        ["valueFrom"],
                    ),
                },
                ["type"],
            ),
            "authorization": _strict(
                {"type": {"enum": ["simple"]}, "acls": {"type": "array", "items": _ACL}},
                ["acls", "type"],
            ),
        },
        [],
    ),
    _CLUSTER_LABEL,
)

_TRUSTED = _strict(
    {"secretName": _NAME, "certificate": {"type": "string"}, "pattern": {"type": "string"}},
    ["secretName"],
)
_CLIENT_TLS = _strict({"trustedCertificates": {"type": "array", "items": _TRUSTED}}, [])
_CLIENT_AUTH = _strict(
    {
        "type": {"enum": ["tls", "scram-sha-256", "scram-sha-512", "plain", "custom"]},
        "username": {"type": "string"},
        "passwordSecret": _strict(
            {"secretName": _NAME, "password": {"type": "string"}}, ["secretName", "password"]
        ),
    },
    ["type"],
)
_CLUSTER_FIELDS: dict[str, Any] = {
    "alias": {"type": "string"},
    "bootstrapServers": {"type": "string"},
    "tls": _CLIENT_TLS,
    "authentication": _CLIENT_AUTH,
    "config": _CONFIG,
}
_CONNECTOR = _strict({"tasksMax": {"type": "integer", "minimum": 1}, "config": _CONFIG}, [])
KAFKA_MIRROR_MAKER_2 = _resource(
    "KafkaMirrorMaker2",
    _strict(
        {
            "version": {"type": "string"},
            "replicas": {"type": "integer"},
            "resources": _RESOURCES,
            "target": _strict(
                {
                    **_CLUSTER_FIELDS,
                    "groupId": {"type": "string"},
                    "configStorageTopic": {"type": "string"},
                    "statusStorageTopic": {"type": "string"},
                    "offsetStorageTopic": {"type": "string"},
                },
                [
                    "alias",
                    "bootstrapServers",
                    "groupId",
                    "configStorageTopic",
                    "statusStorageTopic",
                    "offsetStorageTopic",
                ],
            ),
            "mirrors": {
                "type": "array",
                "items": _strict(
                    {
                        "source": _strict(_CLUSTER_FIELDS, ["alias", "bootstrapServers"]),
                        "sourceConnector": _CONNECTOR,
                        "checkpointConnector": _CONNECTOR,
                        "topicsPattern": {"type": "string"},
                        "topicsExcludePattern": {"type": "string"},
                        "groupsPattern": {"type": "string"},
                        "groupsExcludePattern": {"type": "string"},
                    },
                    ["source"],
                ),
            },
        },
        ["replicas", "target", "mirrors"],
    ),
    _STRINGS,
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (API_VERSION, "Kafka"): KAFKA,
    (API_VERSION, "KafkaNodePool"): KAFKA_NODE_POOL,
    (API_VERSION, "KafkaTopic"): KAFKA_TOPIC,
    (API_VERSION, "KafkaUser"): KAFKA_USER,
    (API_VERSION, "KafkaMirrorMaker2"): KAFKA_MIRROR_MAKER_2,
}
