"""Kubernetes conventions every workload component follows."""

from __future__ import annotations

from typing import Any

from infra.api_rules import label_value_problem

PART_OF = "daca-ascent"
MANAGED_BY = "pulumi"


def standard_labels(name: str, component: str, version: str | None = None) -> dict[str, str]:
    """The `app.kubernetes.io/*` labels; the first two also select the pods."""
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    # an image tag may be 128 characters and start with `_`: a label value may not
    if version and label_value_problem(version) is None:
        labels["app.kubernetes.io/version"] = version
    return labels


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The stable subset of the labels: what Services and policies select on."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def pod_security_context(uid: int) -> dict[str, Any]:
    """Pod-level settings that meet the `restricted` Pod Security Standard."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int) -> dict[str, Any]:
    """Container-level settings: non-root, read-only root, no privilege, no capabilities."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resource_requirements(
    cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str
) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }
