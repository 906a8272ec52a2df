"""KEDA event-driven autoscaling of the app (`daca:autoscaling`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator

from infra.config.base import NAMESPACE, ConfigError, _Section

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig

#: what KEDA may scale the app on: Prometheus (the app's own metrics), Kafka consumer lag
#: (the topics the app consumes), and CPU (what the HPA path scales on)
Trigger = Literal["prometheus", "kafka", "cpu"]
KEY = f"{NAMESPACE}:autoscaling"


class PrometheusTriggerConfig(_Section):
    """Scale on one of the app's own metrics, as Prometheus has scraped it."""

    #: `requestRate`: HTTP requests per second (`daca_http_requests_total`);
    #: `agentRunsInFlight`: agent runs in progress, on average over the window (the
    #: seconds of run time per second, `daca_agent_run_duration_seconds_sum`)
    metric: Literal["requestRate", "agentRunsInFlight"] = "requestRate"
    #: the metric's value one replica should carry; KEDA wants ceil(total / threshold) pods
    threshold: Annotated[float, Field(gt=0, le=100000)] = 5.0
    #: below this total the app is idle (KEDA's `activationThreshold`)
    activation_threshold: Annotated[float, Field(ge=0, le=100000)] = 0.0
    #: the PromQL rate window, seconds (at least 4 scrapes of a 15 s interval)
    window_seconds: Annotated[int, Field(ge=60, le=3600)] = 120

    @field_validator("threshold", "activation_threshold", mode="before")
    @classmethod
    def _int_is_a_number(cls, value: object) -> object:
        # YAML `threshold: 5` is an int; strict mode would refuse it as a float
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class KafkaTriggerConfig(_Section):
    """Scale on the consumer group's lag on the topics the app consumes."""

    #: messages of lag one replica should work off (KEDA's `lagThreshold`, default 10)
    lag_threshold: Annotated[int, Field(ge=1, le=1000000)] = 10
    #: below this lag the consumers are idle (KEDA's `activationLagThreshold`)
    activation_lag_threshold: Annotated[int, Field(ge=0, le=1000000)] = 0


class AutoscalingConfig(_Section):
    """KEDA event-driven autoscaling of the app; off unless the stack turns it on.

    On, KEDA (official chart) runs in namespace `keda` and a `ScaledObject` replaces the
    app's CPU HPA wherever it scales out (`maxReplicas` above `minReplicas`)."""

    enabled: bool = False
    #: which triggers scale the app (KEDA scales to the highest replica count any wants)
    triggers: Annotated[list[Trigger], Field(min_length=1)] = Field(
        default_factory=lambda: list[Trigger](["prometheus"])
    )
    #: how often KEDA checks each trigger, seconds (KEDA's default is 30)
    polling_interval_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    #: seconds after the last active trigger before KEDA deactivates the scaler (KEDA's
    #: default 300); the HPA's own stabilisation governs scaling down between min and max
    cooldown_period_seconds: Annotated[int, Field(ge=0, le=86400)] = 300
    prometheus: PrometheusTriggerConfig = PrometheusTriggerConfig()
    kafka: KafkaTriggerConfig = KafkaTriggerConfig()

    @field_validator("triggers")
    @classmethod
    def _no_repeats(cls, value: list[Trigger]) -> list[Trigger]:
        repeated = sorted({t for t in value if value.count(t) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once; name each trigger once")
        return value

    def check(self, stack: KubernetesStackConfig) -> None:
        """Each trigger needs the service it reads; raises ConfigError."""
        if not self.enabled:
            return
        if "prometheus" in self.triggers and not stack.observability.enabled:
            raise ConfigError(
                f"{KEY}.triggers: 'prometheus' reads the app's metrics from the monitoring "
                f"stack, but {NAMESPACE}:observability.enabled is false; set it to true or "
                "drop the trigger (allowed without it: kafka, cpu)"
            )
        if "kafka" in self.triggers and not stack.kafka.enabled:
            raise ConfigError(
                f"{KEY}.triggers: 'kafka' scales on consumer lag, but {NAMESPACE}:kafka.enabled "
                "is false; set it to true or drop the trigger (allowed without it: "
                "prometheus, cpu)"
            )
