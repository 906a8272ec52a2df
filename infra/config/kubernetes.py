"""Config sections of the Kubernetes platform layer, shared by every cluster stage."""

from __future__ import annotations

from infra.config.autoscaling import AutoscalingConfig
from infra.config.base import PinnedImage, Quantity, ResourcesConfig, StackConfig, _Section
from infra.config.kafka import KafkaConfig
from infra.config.llm import LlmConfig
from infra.config.observability import ObservabilityConfig


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


class KubernetesStackConfig(StackConfig):
    """What every cluster stage (prototype, oci, planet) has: the in-cluster data services
    and the production services of the shared platform, each off unless turned on."""

    redis: RedisConfig = RedisConfig()
    kafka: KafkaConfig = KafkaConfig()
    llm: LlmConfig = LlmConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    autoscaling: AutoscalingConfig = AutoscalingConfig()

    @property
    def gpu_nodes(self) -> bool:
        """Whether the stage's clusters have GPU nodes (none do unless a stage says so)."""
        return False

    def check_services(self) -> None:
        """Each service's rules across sections; raises ConfigError."""
        for section in (self.kafka, self.llm, self.observability, self.autoscaling):
            section.check(self)
