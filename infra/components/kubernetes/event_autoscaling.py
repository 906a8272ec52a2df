"""`daca:autoscaling` on one cluster: KEDA, then the app's ScaledObject from the stage's
replica bounds and the configured triggers. The app's workload then makes no HPA of its
own (KEDA makes one; two HPAs on one Deployment fight)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.components.kubernetes.keda import Keda
from infra.components.kubernetes.scaled_object import (
    AppScaledObject,
    AppScaledObjectArgs,
    KafkaLagSource,
    KafkaTrigger,
    PrometheusTrigger,
    SecretKey,
)
from infra.config.autoscaling import AutoscalingConfig
from infra.config.base import AppConfig

#: the topic the app consumes (app/config.py `review_topic`); it publishes on another
REVIEW_TOPIC = "agent-reviews"
#: Strimzi's TLS listener of the Kafka cluster `daca` in namespace `kafka`
KAFKA_BOOTSTRAP = "daca-kafka-bootstrap.kafka.svc:9093"


def conventional_kafka_lag_source(app_id: str) -> KafkaLagSource:
    """The lag source by the shared Kafka conventions (cluster `daca`, group = app-id),
    used until the Kafka component hands over its connection: the app's SCRAM user in the
    Secret `<app-id>-kafka-user` (`username`, `password`) and the cluster CA in
    `<app-id>-kafka-ca` (`ca.crt`), both in the app's namespace."""
    user = f"{app_id}-kafka-user"
    return KafkaLagSource(
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topics=(REVIEW_TOPIC,),
        consumer_group=app_id,
        ca=SecretKey(f"{app_id}-kafka-ca", "ca.crt"),
        authentication="scram-sha-512",
        username=SecretKey(user, "username"),
        password=SecretKey(user, "password"),
    )


def scales_out(app: AppConfig) -> bool:
    """Whether there is anything to scale: with equal bounds the Deployment keeps a fixed
    count and neither an HPA nor a ScaledObject is made (the HPA path does the same)."""
    return app.max_replicas > app.min_replicas


def scaled_object_args(
    config: AutoscalingConfig,
    app: AppConfig,
    kafka_source: KafkaLagSource | None,
    wait_for: Sequence[pulumi.Resource],
) -> AppScaledObjectArgs:
    """The ScaledObject's settings from `daca:autoscaling` and the app's replica bounds."""
    prometheus = kafka = None
    if "prometheus" in config.triggers:
        p = config.prometheus
        prometheus = PrometheusTrigger(
            metric=p.metric,
            threshold=p.threshold,
            activation_threshold=p.activation_threshold,
            window_seconds=p.window_seconds,
        )
    if "kafka" in config.triggers:
        kafka = KafkaTrigger(
            source=kafka_source or conventional_kafka_lag_source(app.name),
            lag_threshold=config.kafka.lag_threshold,
            activation_lag_threshold=config.kafka.activation_lag_threshold,
        )
    return AppScaledObjectArgs(
        app_id=app.name,
        namespace=app.namespace,
        min_replicas=app.min_replicas,
        max_replicas=app.max_replicas,
        prometheus=prometheus,
        kafka=kafka,
        cpu_utilization=app.target_cpu_utilization if "cpu" in config.triggers else None,
        polling_interval_seconds=config.polling_interval_seconds,
        cooldown_period_seconds=config.cooldown_period_seconds,
        wait_for=tuple(wait_for),
    )


@dataclass(frozen=True)
class EventAutoscaling:
    """What `daca:autoscaling` registered on one cluster."""

    keda: Keda
    #: None where the app has a fixed replica count
    scaled_object: AppScaledObject | None


def install_event_autoscaling(
    names: tuple[str, str],
    config: AutoscalingConfig,
    app: AppConfig,
    kafka_source: KafkaLagSource | None,
    wait_for: Sequence[pulumi.Resource],
    on_cluster: pulumi.ResourceOptions,
) -> EventAutoscaling | None:
    """KEDA (named `names[0]`) and the app's ScaledObject (`names[1]`), after KEDA's release
    and `wait_for` (the app's namespace and Deployment); None when autoscaling is off."""
    if not config.enabled:
        return None
    keda = Keda(names[0], opts=on_cluster)
    scaled = None
    if scales_out(app):
        scaled = AppScaledObject(
            names[1],
            scaled_object_args(config, app, kafka_source, [keda.release, *wait_for]),
            opts=on_cluster,
        )
    return EventAutoscaling(keda=keda, scaled_object=scaled)
