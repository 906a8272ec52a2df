"""`daca:autoscaling` on one cluster: KEDA, then the app's ScaledObject from the stage's
replica bounds and the configured triggers. The app's workload then makes no HPA of its
own (KEDA makes one; two HPAs on one Deployment fight)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.components.kubernetes.kafka import CLIENT_PROTOCOL_VERSION, KafkaConnection
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


def kafka_lag_source(connection: KafkaConnection) -> KafkaLagSource:
    """Where KEDA reads the app's consumer lag: the Kafka component's TLS listener, the
    topics the app consumes, and the SCRAM login and CA it put in the app's namespace."""
    return KafkaLagSource(
        bootstrap_servers=connection.bootstrap_servers,
        topics=connection.consumed_topics,
        consumer_group=connection.consumer_group,
        protocol_version=CLIENT_PROTOCOL_VERSION,
        ca=SecretKey(connection.ca_secret_name, connection.ca_key),
        authentication="scram-sha-512",
        username=SecretKey(connection.secret_name, connection.username_key),
        password=SecretKey(connection.secret_name, connection.password_key),
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
        if kafka_source is None:  # the config check asks for daca:kafka.enabled
            raise ValueError("the kafka trigger needs the Kafka cluster's connection")
        kafka = KafkaTrigger(
            source=kafka_source,
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
