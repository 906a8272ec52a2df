"""`daca check` refuses what the API server would: each case below passes the strict
OpenAPI schema and is rejected by a real cluster (k8s.io/apimachinery validation)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from infra.api_rules import api_problems, label_key_problem, port_name_problem, quantity
from infra.validate import validate_object

VERSION = "1.33"

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "agent", "namespace": "daca", "labels": {"app.kubernetes.io/name": "a"}},
    "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {
                "volumes": [{"name": "tmp", "emptyDir": {}}],
                "containers": [
                    {
                        "name": "app",
                        "image": "ghcr.io/example/app:1.0",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
            },
        },
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "agent", "namespace": "daca"},
    "spec": {
        "type": "ClusterIP",
        "selector": {"app": "agent"},
        "ports": [
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "metrics", "port": 9090, "targetPort": 9090},
        ],
    },
}
STATEFULSET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "redis", "namespace": "daca"},
    "spec": {
        "serviceName": "redis",
        "selector": {"matchLabels": {"app": "redis"}},
        "template": {
            "metadata": {"labels": {"app": "redis"}},
            "spec": {
                "containers": [
                    {
                        "name": "redis",
                        "image": "redis:8.2",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }
                ]
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
    },
}
HPA: dict[str, Any] = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "agent", "namespace": "daca"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent"},
        "minReplicas": 1,
        "maxReplicas": 3,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    },
}
NETWORK_POLICY: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "redis", "namespace": "daca"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}


def _edited(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(obj)
    *parents, last = path.split(".")
    target: Any = edited
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is None:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return edited


CONTAINER = "spec.template.spec.containers.0"


def test_the_examples_are_valid() -> None:
    assert validate_object(DEPLOYMENT, VERSION) is None
    assert validate_object(SERVICE, VERSION) is None
    assert validate_object(STATEFULSET, VERSION) is None
    assert validate_object(NETWORK_POLICY, VERSION) is None
    assert validate_object(HPA, VERSION) is None
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "daca"},
        "spec": {
            "accessModes": ["ReadWriteOncePod"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    assert validate_object(claim, VERSION) is None
    claim["spec"]["accessModes"] = ["ReadWriteonce"]
    assert "access mode 'ReadWriteonce'" in str(validate_object(claim, VERSION))


@pytest.mark.parametrize(
    ("obj", "path", "value", "fragment"),
    [
        (DEPLOYMENT, f"{CONTAINER}.imagePullPolicy", "ifnotpresent", "imagePullPolicy"),
        (DEPLOYMENT, f"{CONTAINER}.ports.0.name", "HTTP", "port name 'HTTP'"),
        (DEPLOYMENT, f"{CONTAINER}.ports.0.name", "metrics-endpoint", "port name"),
        (DEPLOYMENT, f"{CONTAINER}.ports.0.protocol", "tcp", "protocol 'tcp'"),
        (DEPLOYMENT, f"{CONTAINER}.volumeMounts.0.name", "TMP", "names no volume"),
        (DEPLOYMENT, f"{CONTAINER}.name", "App", "DNS-1123 label"),
        (DEPLOYMENT, "spec.template.spec.volumes.0.name", "Tmp", "volume 'Tmp'"),
        (DEPLOYMENT, "spec.template.spec.restartPolicy", "always", "restartPolicy"),
        (DEPLOYMENT, "metadata.name", "Agent", "DNS-1123 subdomain"),
        (DEPLOYMENT, "metadata.labels", {"app.kubernetes.io/name": "a b"}, "label value"),
        (DEPLOYMENT, "spec.template.metadata.labels.app", "agent!", "label value"),
        (SERVICE, "spec.type", "CLUSTERIP", "type 'CLUSTERIP'"),
        (SERVICE, "spec.ports.0.name", "HTTP", "port name 'HTTP'"),
        (SERVICE, "spec.ports.0.name", None, "must name each"),
        (SERVICE, "spec.ports.0.targetPort", "Http", "targetPort 'Http'"),
        (SERVICE, "metadata.name", "1agent", "DNS-1035"),
        (SERVICE, "spec.ports.0.nodePort", 30080, "nodePort may not be used"),
        (
            DEPLOYMENT,
            f"{CONTAINER}.securityContext",
            {"allowPrivilegeEscalation": False, "privileged": True},
            "privileged to true",
        ),
        (
            DEPLOYMENT,
            f"{CONTAINER}.securityContext",
            {"allowPrivilegeEscalation": False, "capabilities": {"add": ["CAP_SYS_ADMIN"]}},
            "CAP_SYS_ADMIN",
        ),
        (STATEFULSET, "spec.volumeClaimTemplates.0.spec.accessModes", ["rwo"], "access mode 'rwo'"),
        (STATEFULSET, "spec.volumeClaimTemplates.0.spec.accessModes", [], "at least one"),
        (NETWORK_POLICY, "spec.policyTypes", ["ingress"], "policyType 'ingress'"),
        (
            NETWORK_POLICY,
            "spec.ingress",
            [{"ports": [{"protocol": "tcp", "port": 6379}]}],
            "protocol 'tcp'",
        ),
        (
            HPA,
            "spec.metrics.0.type",
            "resource",
            "metric type 'resource'",
        ),
        (HPA, "spec.metrics.0.resource.target.type", "utilization", "target type 'utilization'"),
        (
            DEPLOYMENT,
            f"{CONTAINER}.readinessProbe",
            {"httpGet": {"path": "/", "port": "HTTP"}},
            "readinessProbe port 'HTTP' must be 1-15 lower-case letters",
        ),
        (DEPLOYMENT, f"{CONTAINER}.resources", {"requests": {"cpu": "-1"}}, "greater than or"),
        (DEPLOYMENT, f"{CONTAINER}.resources", {"limits": {"XXcpuXX": "1"}}, "not a resource"),
        (
            DEPLOYMENT,
            f"{CONTAINER}.resources",
            {"requests": {"nvidia.com/gpu": "1"}},
            "requests.nvidia.com/gpu must equal its limit",
        ),
        (
            DEPLOYMENT,
            f"{CONTAINER}.resources",
            {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}},
            "must equal its limit",
        ),
        (
            DEPLOYMENT,
            f"{CONTAINER}.livenessProbe",
            {"tcpSocket": {"port": "grpc"}},
            "livenessProbe port 'grpc' names no port of the container",
        ),
        (
            DEPLOYMENT,
            "spec.template.spec.volumes.0.emptyDir",
            {"sizeLimit": "128MI"},
            "sizeLimit '128MI' is not a quantity",
        ),
        (DEPLOYMENT, f"{CONTAINER}.resources", {"limits": {"cpu": "XX500mXX"}}, "not a quantity"),
        (STATEFULSET, "spec.podManagementPolicy", "PARALLEL", "podManagementPolicy 'PARALLEL'"),
        (SERVICE, "spec.externalTrafficPolicy", "local", "externalTrafficPolicy 'local'"),
        (SERVICE, "spec.internalTrafficPolicy", "Node", "internalTrafficPolicy 'Node'"),
        (DEPLOYMENT, f"{CONTAINER}.resources", {"requests": {"memory": "64mb"}}, "not a quantity"),
        (
            DEPLOYMENT,
            f"{CONTAINER}.resources",
            {"requests": {"cpu": "10M"}, "limits": {"cpu": "500m"}},
            "requests.cpu must be less than or equal to its limit",
        ),
        (
            DEPLOYMENT,
            f"{CONTAINER}.resources",
            {"requests": {"memory": "1Gi"}, "limits": {"memory": "1000Mi"}},
            "requests.memory must be less than or equal",
        ),
    ],
)
def test_what_the_api_server_refuses_is_refused(
    obj: dict[str, Any], path: str, value: Any, fragment: str
) -> None:
    edited = _edited(obj, path, value)
    problem = validate_object(edited, VERSION)
    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10m", "0.01"),
        ("1", "1"),
        ("1.5", "1.5"),
        ("64Mi", "67108864"),
        ("1G", "1000000000"),
        ("2e3", "2000"),
        ("1Ki", "1024"),
    ],
)
def test_a_quantity_is_read_as_kubernetes_reads_it(text: str, value: str) -> None:
    assert quantity(text) == Decimal(value)


def test_a_request_equal_to_its_limit_passes() -> None:
    """Also a size of hugepages, and an extended resource, each named as Kubernetes does."""
    resources = {
        "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "0.5", "memory": "1024Mi", "hugepages-2Mi": "4Mi", "nvidia.com/gpu": 1},
    }
    edited = _edited(DEPLOYMENT, f"{CONTAINER}.resources", resources)
    assert validate_object(edited, VERSION) is None


def test_a_service_port_name_is_a_dns_label_not_an_iana_name() -> None:
    """Unlike a container port's, a Service port's name may be longer than 15 characters
    (ValidateService checks it as a DNS-1123 label); a refused one here would stop a
    valid deploy."""
    long_name = _edited(SERVICE, "spec.ports.1.name", "metrics-for-prometheus")
    assert validate_object(long_name, VERSION) is None


def test_sys_admin_spelt_without_cap_passes_as_the_api_server_lets_it() -> None:
    """ValidateSecurityContext compares `CAP_SYS_ADMIN` exactly: `SYS_ADMIN` beside
    `allowPrivilegeEscalation: false` is accepted by a real cluster, so not refused here
    (the policy pack's capability rules judge whether it should be added at all)."""
    context = {"allowPrivilegeEscalation": False, "capabilities": {"add": ["SYS_ADMIN"]}}
    assert (
        validate_object(_edited(DEPLOYMENT, f"{CONTAINER}.securityContext", context), VERSION)
        is None
    )


def test_a_mount_may_name_a_volume_claim_template() -> None:
    statefulset = _edited(DEPLOYMENT, "kind", "StatefulSet")
    statefulset["spec"]["serviceName"] = "agent"
    statefulset["spec"]["template"]["spec"]["volumes"] = []
    statefulset["spec"]["volumeClaimTemplates"] = [
        {"metadata": {"name": "tmp"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    ]
    assert api_problems(statefulset) == []
    statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] = "MODELS"
    problems = api_problems(statefulset)
    assert any("volumeClaimTemplate 'MODELS'" in p for p in problems), problems
    assert any("volumeMount 'tmp' names no volume" in p for p in problems), problems


def test_labels_on_custom_resources_are_checked_too() -> None:
    component = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "statestore", "labels": {"bad key!": "x"}},
        "spec": {"type": "state.redis", "version": "v1", "metadata": []},
    }
    problem = validate_object(component, VERSION)
    assert problem is not None
    assert "label key 'bad key!'" in problem


@pytest.mark.parametrize(
    ("name", "valid"),
    [("http", True), ("grpc-1", True), ("a" * 15, True), ("a" * 16, False), ("80", False)],
)
def test_port_names_follow_iana(name: str, valid: bool) -> None:
    assert (port_name_problem(name) is None) is valid


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("app.kubernetes.io/name", True),
        ("region", True),
        ("Example.com/x", False),
        ("x/" + "a" * 64, False),
        ("pod-security.kubernetes.io/enforce", True),
    ],
)
def test_label_keys_are_qualified_names(key: str, valid: bool) -> None:
    assert (label_key_problem(key) is None) is valid
