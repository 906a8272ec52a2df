"""Monitoring policies: Prometheus Operator objects and the chart that reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .spec import (
    WORKLOAD_TYPES,
    Config,
    PolicySpec,
    Resource,
    as_list,
    get,
    is_unknown,
    named_in,
    pod_template,
)

MONITORING_API = "kubernetes:monitoring.coreos.com/"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
MONITORING_CHARTS = ("kube-prometheus-stack",)


def _app_namespaces(resources: Sequence[Resource], config: Config) -> set[str]:
    """Namespaces running a Dapr app (a workload with `dapr.io/enabled: "true"`), plus the
    configured ones."""
    found = {str(n) for n in as_list(config.get("appNamespaces", []))}
    for r in resources:
        if r.type not in WORKLOAD_TYPES:
            continue
        annotations = get(pod_template(r), "metadata", "annotations")
        namespace = get(r.props, "metadata", "namespace")
        enabled = isinstance(annotations, Mapping) and annotations.get("dapr.io/enabled")
        if enabled == "true" and isinstance(namespace, str):
            found.add(namespace)
    return found


def _monitoring_namespace(r: Resource) -> tuple[bool, Any]:
    """(is a monitoring object, its namespace as given: maybe None or unknown)."""
    if r.type.startswith(MONITORING_API):
        metadata = r.props.get("metadata")
        return True, metadata.get("namespace") if isinstance(metadata, Mapping) else None
    if r.type == HELM_RELEASE and get(r.props, "chart") in MONITORING_CHARTS:
        return True, r.props.get("namespace")
    return False, None


def validate_monitoring_outside_app(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    """PodMonitors, PrometheusRules (any monitoring.coreos.com kind) and the monitoring
    chart must live in a namespace of their own, never in an app's."""
    apps = _app_namespaces(resources, config)
    out: list[tuple[Resource | None, str]] = []
    for r in resources:
        monitoring, namespace = _monitoring_namespace(r)
        if not monitoring or is_unknown(namespace) or is_unknown(r.props.get("metadata")):
            continue  # decided at the update
        if not namespace:
            out.append(
                (
                    r,
                    "no namespace: it lands in the provider's default namespace; set the "
                    "monitoring namespace",
                )
            )
        elif named_in(namespace, apps):
            out.append(
                (
                    r,
                    f"monitoring object in the app namespace '{namespace}': whoever may edit "
                    "the app could then change what is scraped and alerted on",
                )
            )
    return out


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="monitoring-object-outside-app-namespace",
        description="Prometheus Operator objects (PodMonitor, PrometheusRule, ...) and the "
        "kube-prometheus-stack release live in their own namespace, not in an app's.",
        severity="medium",
        enforcement="mandatory",
        remediation="Put them in the `monitoring` namespace and select the app's pods with "
        "spec.namespaceSelector.matchNames.",
        config_schema={
            "appNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "App namespaces besides those running a Dapr-enabled workload.",
            }
        },
        validate_stack=validate_monitoring_outside_app,
    ),
]
