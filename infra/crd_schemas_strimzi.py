"""JSON schemas for the Strimzi custom resources this project writes, for offline checks.

Written from Strimzi 1.2.0's CRDs (`packaging/helm-charts/helm3/strimzi-kafka-operator/
crds/04x-Crd-*.yaml` at tag 1.2.0, where `kafka.strimzi.io/v1` is the only served
version) for the fields we use, with the CRDs' enums, minimums and patterns, and strict
(unknown keys rejected) where a typo would silently change behaviour: a misspelt `tls`
or `authentication` would open a listener, a misspelt ACL field would grant nothing.
"""

from __future__ import annotations

from typing import Any

from infra.crd_schemas import NAME, STRING_MAP, strict

API_VERSION = "kafka.strimzi.io/v1"

_CLUSTER_LABEL: dict[str, Any] = {
    "type": "object",
    "required": ["strimzi.io/cluster"],
    "properties": {"strimzi.io/cluster": {"type": "string", "minLength": 1}},
    "additionalProperties": {"type": "string"},
}


def _metadata(labels: dict[str, Any]) -> dict[str, Any]:
    """Namespaced: a node pool, topic or user names its cluster in a label."""
    return strict(
        {"name": NAME, "namespace": NAME, "labels": labels, "annotations": STRING_MAP},
        ["name", "namespace"] + (["labels"] if labels is _CLUSTER_LABEL else []),
    )


def _resource(kind: str, spec: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    return strict(
        {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": _metadata(labels),
            "spec": spec,
        },
        ["apiVersion", "kind", "metadata", "spec"],
    )


_QUANTITY: dict[str, Any] = {"type": ["string", "integer", "number"]}
_RESOURCES = strict(
    {
        "requests": strict({"cpu": _QUANTITY, "memory": _QUANTITY}, []),
        "limits": strict({"cpu": _QUANTITY, "memory": _QUANTITY}, []),
    },
    [],
)
# matchLabels is optional upstream (040-Crd-kafka.yaml at 1.2.0): an empty selector is "all"
_SELECTOR = strict({"matchLabels": STRING_MAP}, [])
_PEER = strict(
    {
        "ipBlock": strict({"cidr": {"type": "string"}}, ["cidr"]),
        "namespaceSelector": _SELECTOR,
        "podSelector": _SELECTOR,
    },
    [],
)
_LISTENER = strict(
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
        "authentication": strict({"type": {"enum": ["tls", "scram-sha-512", "custom"]}}, ["type"]),
        "configuration": strict(
            {
                "loadBalancerSourceRanges": {"type": "array", "items": {"type": "string"}},
                "externalTrafficPolicy": {"enum": ["Local", "Cluster"]},
                "bootstrap": strict(
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
_OPERATOR = strict({"resources": _RESOURCES}, [])

KAFKA = _resource(
    "Kafka",
    strict(
        {
            "kafka": strict(
                {
                    "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
                    "listeners": {"type": "array", "minItems": 1, "items": _LISTENER},
                    "authorization": strict({"type": {"enum": ["simple", "custom"]}}, ["type"]),
                    "config": _CONFIG,
                },
                ["listeners"],
            ),
            "clusterCa": strict({"generateCertificateAuthority": {"type": "boolean"}}, []),
            "entityOperator": strict({"topicOperator": _OPERATOR, "userOperator": _OPERATOR}, []),
        },
        ["kafka"],
    ),
    STRING_MAP,
)

_VOLUME = strict(
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
    strict(
        {
            "replicas": {"type": "integer", "minimum": 0},
            "roles": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["controller", "broker"]},
            },
            "storage": strict(
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
    strict(
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
_ACL = strict(
    {
        "type": {"enum": ["allow", "deny"]},
        "resource": strict(
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
_SECRET_KEY_REF = strict({"name": NAME, "key": {"type": "string", "minLength": 1}}, ["name", "key"])
KAFKA_USER = _resource(
    "KafkaUser",
    strict(
        {
            "authentication": strict(
                {
                    "type": {"enum": ["tls", "tls-external", "scram-sha-512"]},
                    "password": strict(
                        {"valueFrom": strict({"secretKeyRef": _SECRET_KEY_REF}, ["secretKeyRef"])},
                        ["valueFrom"],
                    ),
                },
                ["type"],
            ),
            "authorization": strict(
                {"type": {"enum": ["simple"]}, "acls": {"type": "array", "items": _ACL}},
                ["acls", "type"],
            ),
        },
        [],
    ),
    _CLUSTER_LABEL,
)

_TRUSTED = strict(
    {"secretName": NAME, "certificate": {"type": "string"}, "pattern": {"type": "string"}},
    ["secretName"],
)
_CLIENT_TLS = strict({"trustedCertificates": {"type": "array", "items": _TRUSTED}}, [])
_CLIENT_AUTH = strict(
    {
        "type": {"enum": ["tls", "scram-sha-256", "scram-sha-512", "plain", "custom"]},
        "username": {"type": "string"},
        "passwordSecret": strict(
            {"secretName": NAME, "password": {"type": "string"}}, ["secretName", "password"]
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
_CONNECTOR = strict({"tasksMax": {"type": "integer", "minimum": 1}, "config": _CONFIG}, [])
KAFKA_MIRROR_MAKER_2 = _resource(
    "KafkaMirrorMaker2",
    strict(
        {
            "version": {"type": "string"},
            "replicas": {"type": "integer"},
            "resources": _RESOURCES,
            "target": strict(
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
                "items": strict(
                    {
                        "source": strict(_CLUSTER_FIELDS, ["alias", "bootstrapServers"]),
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
    STRING_MAP,
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (API_VERSION, "Kafka"): KAFKA,
    (API_VERSION, "KafkaNodePool"): KAFKA_NODE_POOL,
    (API_VERSION, "KafkaTopic"): KAFKA_TOPIC,
    (API_VERSION, "KafkaUser"): KAFKA_USER,
    (API_VERSION, "KafkaMirrorMaker2"): KAFKA_MIRROR_MAKER_2,
}
