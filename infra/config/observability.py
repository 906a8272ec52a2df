"""kube-prometheus-stack, the app's monitors, alerts and dashboard (`daca:observability`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from infra.config.base import ConfigError, DnsLabel, Quantity, ResourcesConfig, _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig

#: the Prometheus CRD's patterns (prometheus-operator v0.93.1, `spec.retention` and
#: `spec.retentionSize`): a Prometheus duration, a byte size with a B unit
DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
BYTE_SIZE = r"^(0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$"
_UNITS = {
    **{"": 1, "m": 10**-3, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9},
    **{"T": 10**12, "P": 10**15, "E": 10**18},
}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def size_bytes(value: str) -> float:
    """Bytes in a Prometheus byte size (`4GB`, `500MiB`) or a Kubernetes quantity (`8Gi`)."""
    match = re.fullmatch(r"([0-9.]+)(m|k|[KMGTPE]i?)?B?", value)
    if match is None:
        raise ValueError(value)
    unit = match.group(2) or ""
    return float(match.group(1)) * (_BINARY.get(unit) or _UNITS[unit])


class AlertThresholds(_Section):
    """When the alerts fire."""

    #: the agent runs' 95th percentile, seconds, over 5 minutes
    agent_p95_seconds: Annotated[float, Field(gt=0, le=600)] = 20.0
    #: reviews waiting for a human decision
    pending_reviews: Annotated[int, Field(ge=1)] = 25
    #: the share of HTTP answers that are 5xx, over 5 minutes
    error_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.05


class ObservabilityConfig(_Section):
    """Metrics, alerts and dashboards; off unless the stack turns it on."""

    #: kube-prometheus-stack (operator, Prometheus) and our PodMonitors: the metrics
    enabled: bool = False
    #: our PrometheusRule; unset: on with `enabled`
    alerts: bool | None = None
    #: Grafana with the agent's dashboard; unset: on with `enabled`
    dashboards: bool | None = None
    #: the chart's Alertmanager (routes alerts; needs receivers you configure)
    alertmanager: bool = False
    #: how long Prometheus keeps samples (a Prometheus duration: `7d`, `12h`)
    retention: Annotated[str, Field(pattern=DURATION)] = "7d"
    #: the size at which Prometheus drops its oldest blocks (`4GB`); under `storage`
    retention_size: Annotated[str, Field(pattern=BYTE_SIZE)] = "4GB"
    #: Prometheus's volume (a PersistentVolumeClaim of the default storage class)
    storage: Quantity = "5Gi"
    #: how often every target is scraped
    scrape_interval: Annotated[str, Field(pattern=DURATION)] = "30s"
    prometheus_resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "100m", "memoryRequest": "512Mi", "cpuLimit": "1", "memoryLimit": "1Gi"}
    )
    grafana_resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "50m", "memoryRequest": "128Mi", "cpuLimit": "500m", "memoryLimit": "256Mi"}
    )
    thresholds: AlertThresholds = AlertThresholds()
    #: `planet` only: one query view over every region. `thanos`: a Thanos sidecar beside
    #: each region's Prometheus, reached over mutually authenticated TLS through the
    #: region's ingress (SNI passthrough), and Thanos Query in `queryRegion`
    global_view: Literal["none", "thanos"] = "none"
    #: the region running Thanos Query (and Grafana's all-regions data source); unset:
    #: the first region that is not drained
    query_region: DnsLabel | None = None

    @property
    def alerts_on(self) -> bool:
        """Whether the PrometheusRule is installed."""
        return self.enabled and self.alerts is not False

    @property
    def dashboards_on(self) -> bool:
        """Whether Grafana and the dashboard are installed."""
        return self.enabled and self.dashboards is not False

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across keys (what needs the metrics); raises ConfigError."""
        key = "daca:observability"
        if not self.enabled:
            for name, value in (
                ("alerts", self.alerts),
                ("dashboards", self.dashboards),
                ("alertmanager", self.alertmanager),
                ("globalView", self.global_view == "thanos"),
            ):
                if value:
                    raise ConfigError(
                        f"{key}.{name} is true but {key}.enabled is false: alerts, dashboards "
                        "and Alertmanager read Prometheus's metrics; set enabled: true or "
                        f"drop {name}"
                    )
            return
        if self.alertmanager and self.alerts is False:
            raise ConfigError(
                f"{key}.alertmanager is true but {key}.alerts is false: Alertmanager would "
                "have no alerts to route; turn alerts on or alertmanager off"
            )
        if size_bytes(self.retention_size) >= size_bytes(self.storage):
            raise ConfigError(
                f"{key}.retentionSize ({self.retention_size}) is not below {key}.storage "
                f"({self.storage}): Prometheus would fill its volume before dropping old "
                "blocks; allowed: a retentionSize under the volume (e.g. 80% of it)"
            )
        if self.retention in ("0", ""):
            raise ConfigError(f"{key}.retention is {self.retention!r}; allowed: e.g. 7d, 12h")
        self._check_global_view(stack)

    def _check_global_view(self, stack: KubernetesStackConfig) -> None:
        key = "daca:observability"
        planet: Any = getattr(stack, "planet", None)
        if self.global_view == "none":
            if self.query_region is not None:
                raise ConfigError(
                    f"{key}.queryRegion is set ({self.query_region}) but {key}.globalView is "
                    "none; set globalView: thanos or drop queryRegion"
                )
            return
        if planet is None:
            raise ConfigError(
                f"{key}.globalView is {self.global_view} on stage {stack.stage}: one query "
                "view across regions is for planet; allowed here: none"
            )
        names = [region.name for region in planet.regions]
        if self.query_region is not None and self.query_region not in names:
            raise ConfigError(
                f"{key}.queryRegion is {self.query_region}, not a region of daca:planet."
                f"regions; allowed: {', '.join(names)}"
            )
        for region in planet.regions:
            cluster = region.cluster
            if cluster.kind == "kubeconfig" and not cluster.install_ingress_controller:
                raise ConfigError(
                    f"{key}.globalView is thanos but region {region.name} keeps its own "
                    "ingress controller (installIngressController: false): Thanos is reached "
                    "through Traefik's TLS passthrough; install Traefik there or set "
                    "globalView: none"
                )

    def query_region_of(self, regions: list[Any]) -> str | None:
        """The region running Thanos Query, or None without a global view."""
        if self.global_view == "none":
            return None
        if self.query_region is not None:
            return self.query_region
        active = [r.name for r in regions if not r.drain] or [r.name for r in regions]
        return str(active[0])
