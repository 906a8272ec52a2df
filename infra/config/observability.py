"""kube-prometheus-stack, the app's monitors, alerts and dashboard (`daca:observability`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.config.base import _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig


class ObservabilityConfig(_Section):
    """Metrics, alerts and dashboards; off unless the stack turns it on."""

    enabled: bool = False

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across sections (the stage, the Dapr component types); raises ConfigError."""
