"""kube-prometheus-stack (official chart, pinned) with the agent's PodMonitors, alerts and
Grafana dashboard, all in the `monitoring` namespace (never in the app's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.kubernetes.conventions import standard_labels
from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.kubernetes.observability_queries import (
    MONITORING_NAMESPACE,
    alert_rules,
    app_monitor_name,
    daprd_monitor_name,
    dashboard_json,
)
from infra.components.kubernetes.thanos import (
    QUERY_URL,
    SIDECAR_TLS_SECRET,
    GlobalView,
    sidecar_route_spec,
    sidecar_values,
    signed_tls_secret,
)
from infra.components.options import child_options
from infra.config import ResourcesConfig
from infra.config.observability import ObservabilityConfig

CHART_REPO = "https://prometheus-community.github.io/helm-charts"
CHART_VERSION = "88.5.3"
#: the prometheus-operator release the chart ships (its Chart.yaml appVersion): the CRDs
OPERATOR_VERSION = "v0.93.1"
#: the release's names all start with this (`fullnameOverride`)
FULLNAME = "kps"
PROMETHEUS_PORT = 9090
#: where the other services (KEDA's Prometheus trigger) query metrics
PROMETHEUS_URL = f"http://{FULLNAME}-prometheus.{MONITORING_NAMESPACE}.svc:{PROMETHEUS_PORT}"
#: the label Grafana's dashboard sidecar looks for (the chart's
#: `grafana.sidecar.dashboards.label`/`labelValue`)
DASHBOARD_LABEL = ("grafana_dashboard", "1")
GRAFANA_ADMIN_SECRET = "grafana-admin"
#: the port name daprd's container exposes metrics on (dapr/dapr v1.18.3,
#: pkg/injector/consts/consts.go `SidecarMetricsPortName`)
DAPRD_METRICS_PORT_NAME = "dapr-metrics"
#: the Prometheus pods' labels (prometheus-operator sets `app.kubernetes.io/name`)
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
#: the NetworkPolicy peer the app namespace admits to its metrics ports
PROMETHEUS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}},
    "podSelector": {"matchLabels": PROMETHEUS_POD_LABELS},
}
CRD_KINDS = (
    "alertmanagerconfigs",
    "alertmanagers",
    "podmonitors",
    "probes",
    "prometheusagents",
    "prometheuses",
    "prometheusrules",
    "scrapeconfigs",
    "servicemonitors",
    "thanosrulers",
)


def crd_urls(version: str = OPERATOR_VERSION) -> list[str]:
    """The operator's CRDs at `version`, as the chart's own charts/crds cites them."""
    base = (
        "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/"
        f"{version}/example/prometheus-operator-crd"
    )
    return [f"{base}/monitoring.coreos.com_{kind}.yaml" for kind in CRD_KINDS]


@dataclass(frozen=True)
class ObservabilityArgs:
    #: sizes, retention, what is on
    config: ObservabilityConfig
    #: the app's Dapr app-id (its pods' `app.kubernetes.io/name`)
    app_id: str
    #: the app's namespace, where the PodMonitors look
    app_namespace: str
    #: the container port name the app serves `/metrics` on (`metrics`, or `http` when it
    #: shares the API port)
    app_metrics_port_name: str = "metrics"
    #: a planet region's name: every series gets `region=<name>`; None elsewhere
    region: str | None = None
    #: planet's query view across regions (a Thanos sidecar here); None: none
    global_view: GlobalView | None = None


def _resources(r: ResourcesConfig) -> dict[str, Any]:
    return {
        "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
        "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
    }


def _small(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def prometheus_spec(args: ObservabilityArgs) -> dict[str, Any]:
    """`prometheus.prometheusSpec`: our monitors and rules picked up wherever they are."""
    c = args.config
    spec: dict[str, Any] = {
        # without these the operator selects only objects carrying the release's label
        "podMonitorSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "scrapeInterval": c.scrape_interval,
        "retention": c.retention,
        "retentionSize": c.retention_size,
        "resources": _resources(c.prometheus_resources),
        "storageSpec": {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": c.storage}},
                }
            }
        },
    }
    if args.region is not None:
        spec["externalLabels"] = {"region": args.region}
    if args.global_view is not None:
        spec.update(sidecar_values()[0])
    return spec


def chart_values(args: ObservabilityArgs) -> dict[str, Any]:
    """The chart's values (keys checked against kube-prometheus-stack 88.5.3's values.yaml
    and its grafana 12.11.1 subchart)."""
    c = args.config
    datasources = []
    if args.global_view is not None and args.global_view.query_here:
        datasources.append(
            {"name": "Thanos (all regions)", "type": "prometheus", "url": QUERY_URL,
             "access": "proxy", "isDefault": False}
        )  # fmt: skip
    prometheus = {"prometheusSpec": prometheus_spec(args)}
    if args.global_view is not None:
        prometheus.update(sidecar_values()[1])
    return {
        "fullnameOverride": FULLNAME,
        # the CRDs are ours (a ConfigGroup at the operator's version), so upgrades apply them
        "crds": {"enabled": False},
        "prometheusOperator": {"resources": _small("50m", "64Mi", "200m", "256Mi")},
        "prometheus": prometheus,
        "alertmanager": {
            "enabled": c.alertmanager,
            "alertmanagerSpec": {"resources": _small("10m", "32Mi", "100m", "128Mi")},
        },
        "grafana": {
            "enabled": c.dashboards_on,
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "resources": _resources(c.grafana_resources),
            "additionalDataSources": datasources,
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL[0],
                    "labelValue": DASHBOARD_LABEL[1],
                    "searchNamespace": MONITORING_NAMESPACE,
                }
            },
        },
        "kube-state-metrics": {"resources": _small("10m", "32Mi", "100m", "128Mi")},
        "prometheus-node-exporter": {"resources": _small("10m", "16Mi", "100m", "64Mi")},
    }


def pod_monitor_specs(args: ObservabilityArgs) -> dict[str, dict[str, Any]]:
    """PodMonitor name -> spec: the app's `/metrics`, then daprd's."""
    selector = {"matchLabels": {"app.kubernetes.io/name": args.app_id}}
    namespaces = {"matchNames": [args.app_namespace]}
    interval = args.config.scrape_interval
    return {
        app_monitor_name(args.app_id): {
            "selector": selector,
            "namespaceSelector": namespaces,
            "podMetricsEndpoints": [
                {"port": args.app_metrics_port_name, "path": "/metrics", "interval": interval}
            ],
        },
        daprd_monitor_name(args.app_id): {
            "selector": selector,
            "namespaceSelector": namespaces,
            "podMetricsEndpoints": [
                {"port": DAPRD_METRICS_PORT_NAME, "path": "/", "interval": interval}
            ],
        },
    }


class Observability(pulumi.ComponentResource):
    """The `monitoring` namespace, the operator's CRDs, the chart, our PodMonitors, the
    PrometheusRule and the dashboard; Grafana's admin password is generated here."""

    prometheus_url: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:Observability", name, None, opts)
        labels = standard_labels(args.app_id, "monitoring")
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": MONITORING_NAMESPACE, "labels": labels},
            opts=child_options(self, opts),
        )
        ns = namespace.metadata.name
        crds = k8s.yaml.v2.ConfigGroup(
            f"{name}-crds", files=crd_urls(), opts=child_options(self, opts)
        )
        password = random.RandomPassword(
            f"{name}-grafana-password", length=32, special=False, opts=child_options(self, opts)
        )
        ready: list[pulumi.Resource] = [crds, namespace]
        if args.config.dashboards_on:
            ready.append(
                k8s.core.v1.Secret(
                    f"{name}-grafana-admin",
                    metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": ns, "labels": labels},
                    string_data={"admin-user": "admin", "admin-password": password.result},
                    opts=child_options(self, opts),
                )
            )
            ready.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-dashboard",
                    metadata={
                        "name": f"{args.app_id}-dashboard",
                        "namespace": ns,
                        "labels": {**labels, DASHBOARD_LABEL[0]: DASHBOARD_LABEL[1]},
                    },
                    data={"daca-agent.json": dashboard_json(args.app_id, args.app_namespace)},
                    opts=child_options(self, opts),
                )
            )
        if args.global_view is not None:
            ready.append(
                signed_tls_secret(
                    f"{name}-thanos-sidecar", args.global_view.authority, SIDECAR_TLS_SECRET,
                    "server_auth", child_options(self, opts, depends_on=[namespace]),
                )
            )  # fmt: skip
        release = pinned_release(
            f"{name}-release",
            PinnedChart(
                release=FULLNAME,
                chart="kube-prometheus-stack",
                repo=CHART_REPO,
                version=CHART_VERSION,
                namespace=MONITORING_NAMESPACE,
                values=chart_values(args),
                skip_crds=True,
            ),
            child_options(self, opts, depends_on=ready),
        )
        for monitor, spec in pod_monitor_specs(args).items():
            k8s.apiextensions.CustomResource(
                f"{name}-{monitor}",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={"name": monitor, "namespace": ns, "labels": labels},
                spec=spec,
                opts=child_options(self, opts, depends_on=[crds, release]),
            )
        if args.config.alerts_on:
            k8s.apiextensions.CustomResource(
                f"{name}-alerts",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": f"{args.app_id}-alerts", "namespace": ns, "labels": labels},
                spec={
                    "groups": [
                        {
                            "name": f"{args.app_id}.rules",
                            "rules": alert_rules(args.app_id, args.config.thresholds),
                        }
                    ]
                },
                opts=child_options(self, opts, depends_on=[crds, release]),
            )
        if args.global_view is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-thanos-route",
                api_version="traefik.io/v1alpha1",
                kind="IngressRouteTCP",
                metadata={"name": "thanos-sidecar", "namespace": ns, "labels": labels},
                spec=sidecar_route_spec(),
                opts=child_options(self, opts, depends_on=[release]),
            )
        self.prometheus_url = pulumi.Output.from_input(PROMETHEUS_URL)
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        self.register_outputs(
            {
                "prometheusUrl": self.prometheus_url,
                "grafanaAdminPassword": self.grafana_admin_password,
            }
        )
