"""Config sections of the Kubernetes platform layer, shared by every cluster stage."""

from __future__ import annotations

from infra.config.base import PinnedImage, Quantity, ResourcesConfig, _Section


class RedisConfig(_Section):
    """The in-cluster Redis behind the state store and pub/sub."""

    image: PinnedImage = "redis:7.4.2-alpine"
    storage: Quantity = "1Gi"
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "50m", "memoryRequest": "64Mi", "cpuLimit": "500m", "memoryLimit": "256Mi"}
    )
