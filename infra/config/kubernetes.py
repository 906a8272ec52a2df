"""Config sections of the Kubernetes platform layer, shared by every cluster stage."""

from __future__ import annotations

from infra.config.base import PinnedImage, Quantity, ResourcesConfig, _Section


class RedisConfig(_Section):
    """The in-cluster Redis behind the state store and pub/sub."""

    #: the official image's multi-platform index, as docker-library/repo-info lists it
    #: (repos/redis/remote/7.4.11-alpine.md)
    image: PinnedImage = (
        "redis:7.4.11-alpine"
        "@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf"
    )
    storage: Quantity = "1Gi"
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "50m", "memoryRequest": "64Mi", "cpuLimit": "500m", "memoryLimit": "256Mi"}
    )
