"""KEDA event-driven autoscaling of the app (`daca:autoscaling`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.config.base import _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig


class AutoscalingConfig(_Section):
    """KEDA event-driven autoscaling of the app; off unless the stack turns it on."""

    enabled: bool = False

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across sections (the stage, the Dapr component types); raises ConfigError."""
