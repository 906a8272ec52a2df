"""The platform every cluster stage runs: one composition, given a provider and settings.

`prototype` (kind), `oci` (k3s) and each `planet` region call :func:`install_platform`
with their own `kubernetes.Provider`; a cluster stage adds only what creates the
cluster. It registers named components in the order the cluster needs them: Dapr's
CRDs and control plane, the app namespace, Redis, the Dapr components, a pull secret
for a private registry, the app's API keys, the agent workload (which gets only the
keys' digests, Dapr's app token and a metrics port no Service publishes), and the public
ingress (cert-manager + an HTTPS-only Ingress) where the stage asks for one.

It is a plain composition, not a ComponentResource of its own: a new parent would
change the URN of every object on clusters that already run the prototype stage
(Pulumi would replace them all). `prefix` keeps regions apart on `planet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.api_keys import ApiKeys
from infra.components.app_image import RegistryLogin
from infra.components.kubernetes.agent_workload import (
    AgentWorkload,
    AgentWorkloadArgs,
    model_key_secret_name,
)
from infra.components.kubernetes.app_namespace import AppNamespace, AppNamespaceArgs
from infra.components.kubernetes.cert_manager import CertManager, CertManagerArgs
from infra.components.kubernetes.conventions import selector_labels
from infra.components.kubernetes.dapr_components import DaprComponents, DaprComponentsArgs
from infra.components.kubernetes.dapr_runtime import DaprRuntime, DaprRuntimeArgs
from infra.components.kubernetes.event_autoscaling import (
    EventAutoscaling,
    install_event_autoscaling,
    kafka_lag_source,
)
from infra.components.kubernetes.ingress import AppIngress, AppIngressArgs
from infra.components.kubernetes.kafka import (
    CLIENT_PROTOCOL_VERSION,
    KafkaCluster,
    KafkaClusterArgs,
    KafkaConnection,
    KafkaExternalListener,
)
from infra.components.kubernetes.llama_server import LlamaServer, LlamaServerArgs
from infra.components.kubernetes.observability import (
    PROMETHEUS_PEER,
    Observability,
    ObservabilityArgs,
)
from infra.components.kubernetes.redis import Redis, RedisArgs
from infra.components.kubernetes.registry_credentials import (
    RegistryPullSecret,
    RegistryPullSecretArgs,
)
from infra.components.kubernetes.thanos import GlobalView
from infra.components.kubernetes.traefik import TraefikController, TraefikControllerArgs
from infra.components.kubernetes.vllm_stack import VllmStack, VllmStackArgs
from infra.config import RedisConfig
from infra.config.autoscaling import AutoscalingConfig
from infra.config.base import AppConfig, DaprConfig
from infra.config.kafka import KAFKA_PUBSUB, KafkaConfig
from infra.config.llm import LlmConfig
from infra.config.observability import ObservabilityConfig
from infra.dapr.spec import (
    PUBSUB,
    SECRETSTORE,
    STATESTORE,
    DaprComponentSpec,
    SecretRef,
    sweep_binding,
)


@dataclass(frozen=True)
class PublicIngress:
    """How the app is published: a host, its ingress controller, the certificate issuer."""

    #: the public host name (e.g. `<ip>.sslip.io`)
    host: pulumi.Input[str]
    #: the ingress controller's class
    ingress_class: str
    #: Let's Encrypt's production or staging directory
    acme_server: Literal["production", "staging"] = "production"
    #: the ACME account email; optional
    acme_email: str | None = None
    #: install Traefik first (clusters without an ingress controller), with these
    #: LoadBalancer Service annotations; None: the cluster has one (k3s's Traefik)
    install_controller: pulumi.Input[Mapping[str, str]] | None = None


@dataclass(frozen=True)
class KubernetesPlatformArgs:
    #: the app: its Dapr app-id, namespace, port, scale and resources
    app: AppConfig
    #: the Dapr version and the component types behind the building blocks
    dapr: DaprConfig
    #: the in-cluster Redis behind the state store and pub/sub
    redis: RedisConfig
    #: the app image, pinned by digest or exact tag
    image: pulumi.Input[str]
    #: the app's plain settings (component names, topic, model)
    env: Mapping[str, str]
    #: the LLM API key (secret); None runs the app's offline model
    model_api_key: pulumi.Input[str] | None = None
    #: how the app's Service is exposed: NodePort on kind, ClusterIP behind an ingress
    service_type: Literal["ClusterIP", "NodePort"] = "ClusterIP"
    #: the nodePort, when `service_type` is NodePort
    node_port: int | None = None
    #: the public HTTPS entry; None where the stage exposes the app otherwise (kind)
    ingress: PublicIngress | None = None
    #: credentials for a private image registry (a pull secret in the app namespace)
    registry: RegistryLogin | None = None
    #: addresses the app's pods may never reach (the cloud's instance metadata service)
    deny_egress_to: tuple[str, ...] = ()
    #: the app's API keys; None generates them here. Planet generates them once for every
    #: region, since Front Door may send a client to any of them
    api_keys: ApiKeys | None = None
    #: the app workload is not applied here but once to a federation control plane
    #: (Karmada), which propagates it; the rest of the platform is installed as usual
    federated_workload: bool = False
    #: with `federated_workload`: what the Ingress waits for instead of the workload
    workload_ready: tuple[pulumi.Resource, ...] = ()
    #: starts every logical name (a planet region's name); empty on single-cluster stages
    prefix: str = ""
    #: the production services beside the app, each off unless the stack turns it on
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    llm: LlmConfig = field(default_factory=LlmConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    autoscaling: AutoscalingConfig = field(default_factory=AutoscalingConfig)
    #: planet's query view across regions (`daca:observability.globalView`); None: none
    global_view: GlobalView | None = None


@dataclass(frozen=True)
class KubernetesPlatform:
    """What :func:`install_platform` registered, for the stage's outputs and wiring."""

    dapr: DaprRuntime
    namespace: AppNamespace
    redis: Redis
    components: DaprComponents
    #: the app workload; None when it is federated (`federated_workload`)
    workload: AgentWorkload | None
    #: the app's API keys (secret outputs); the workload holds them in `<app-id>-api-keys`
    api_keys: ApiKeys
    #: the public HTTPS entry, where the stage has one
    ingress: AppIngress | None = None
    #: KEDA and the app's ScaledObject, with `daca:autoscaling` on
    autoscaling: EventAutoscaling | None = None
    #: the self-hosted LLM server (`daca:llm`), when its engine is not `none`
    llm: LlamaServer | VllmStack | None = None
    #: kube-prometheus-stack with our monitors, alerts and dashboard (`daca:observability`)
    observability: Observability | None = None
    #: Kafka on Strimzi behind the `pubsub` component (`daca:kafka`); its `connection`
    #: says how a client (KEDA's scaler) reaches it
    kafka: KafkaCluster | None = None


#: the topic the app subscribes to: its `review_topic` default (app/config.py), which no
#: stage overrides
REVIEW_TOPIC = "agent-reviews"


def _named(prefix: str, name: str) -> str:
    return f"{prefix}-{name}" if prefix else name


def kafka_pubsub(args: KubernetesPlatformArgs, kafka: KafkaConnection) -> DaprComponentSpec:
    """`pubsub` on the in-cluster Kafka: TLS with our cluster CA, SCRAM-SHA-512, the
    login and the CA only by reference to the app namespace's Secret."""
    return DaprComponentSpec(
        name=PUBSUB,
        type=KAFKA_PUBSUB,
        metadata={
            "brokers": kafka.bootstrap_servers,
            "consumerGroup": kafka.consumer_group,
            "clientID": args.app.name,
            "authType": "password",
            "saslMechanism": "SHA-512",
            "version": CLIENT_PROTOCOL_VERSION,
        },
        secrets={
            "saslUsername": SecretRef(name=kafka.secret_name, key=kafka.username_key),
            "saslPassword": SecretRef(name=kafka.secret_name, key=kafka.password_key),
            "caCert": SecretRef(name=kafka.ca_secret_name, key=kafka.ca_key),
        },
        scopes=(args.app.name,),
    )


def platform_components(
    args: KubernetesPlatformArgs, redis: Redis, kafka: KafkaConnection | None = None
) -> list[DaprComponentSpec]:
    """The app's state store, pub/sub, secret store and sweep binding, scoped to its app-id."""
    scopes = (args.app.name,)
    password = SecretRef(name=redis.auth_secret, key=redis.password_key)
    pubsub = (
        kafka_pubsub(args, kafka)
        if kafka is not None and args.dapr.pubsub == KAFKA_PUBSUB
        else DaprComponentSpec(
            name=PUBSUB,
            type=args.dapr.pubsub,
            metadata={"redisHost": redis.host, "consumerID": "{appID}"},
            secrets={"redisPassword": password},
            scopes=scopes,
        )
    )
    return [
        DaprComponentSpec(
            name=STATESTORE,
            type=args.dapr.state_store,
            metadata={
                "redisHost": redis.host,
                "actorStateStore": str(args.dapr.actor_state_store).lower(),
            },
            secrets={"redisPassword": password},
            scopes=scopes,
        ),
        pubsub,
        DaprComponentSpec(name=SECRETSTORE, type=args.dapr.secret_store, scopes=scopes),
        sweep_binding(scopes),
    ]


def install_platform(
    args: KubernetesPlatformArgs,
    provider: k8s.Provider,
    depends_on: list[pulumi.Resource] | None = None,
) -> KubernetesPlatform:
    """Register the platform on the cluster behind `provider`.

    `depends_on` holds what must exist before anything is applied (e.g. the node
    configuration that lets the cluster pull from a local registry).
    """
    app = args.app
    on_cluster = pulumi.ResourceOptions(
        providers={"kubernetes": provider}, depends_on=list(depends_on or [])
    )

    def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=list(resources))
        )

    dapr = DaprRuntime(
        _named(args.prefix, "dapr"), DaprRuntimeArgs(version=args.dapr.version), opts=on_cluster
    )
    namespace = AppNamespace(
        _named(args.prefix, "app"),
        AppNamespaceArgs(name=app.namespace, deny_egress_to=args.deny_egress_to),
        opts=on_cluster,
    )
    redis = Redis(
        _named(args.prefix, "redis"),
        RedisArgs(
            namespace=namespace.name,
            image=args.redis.image,
            storage=args.redis.storage,
            resources=args.redis.resources,
            client_selector=selector_labels(app.name, "agent"),
        ),
        opts=on_cluster,
    )
    # --- Kafka (daca:kafka): before the components, which wait for its user and topics
    kafka = install_kafka(args, namespace, on_cluster)
    components = DaprComponents(
        _named(args.prefix, "dapr-components"),
        DaprComponentsArgs(
            namespace=namespace.name,
            app_id=app.name,
            components=platform_components(args, redis, kafka.connection if kafka else None),
            tracing=args.dapr.tracing,
            allowed_secrets=[model_key_secret_name(app.name)] if args.model_api_key else [],
        ),
        opts=after(dapr, *(kafka.ready if kafka else [])),
    )
    pull_secret = None
    if args.registry is not None:
        pull_secret = RegistryPullSecret(
            _named(args.prefix, "registry-credentials"),
            RegistryPullSecretArgs(
                secret_name=f"{app.name}-registry",
                namespace=namespace.name,
                login=args.registry,
            ),
            opts=on_cluster,
        ).name
    api_keys = args.api_keys or ApiKeys(_named(args.prefix, "api-keys"))
    # --- self-hosted LLM (daca:llm): before the app, whose readiness reports the model
    llm = llm_server(args, namespace.name, on_cluster)
    workload = None
    if not args.federated_workload:
        workload = agent_workload(
            _named(args.prefix, "agent"),
            args,
            namespace.name,
            components.configuration,
            api_keys,
            pull_secret,
            after(dapr, components, redis, *([llm.ready] if llm else [])),
        )
    ready: list[pulumi.Resource] = [workload] if workload else list(args.workload_ready)
    # KEDA and the app's ScaledObject (in every member too when Karmada propagates the
    # app: KEDA scales the pods of the cluster it runs in)
    autoscaling = install_event_autoscaling(
        (_named(args.prefix, "keda"), _named(args.prefix, "agent-autoscaling")),
        args.autoscaling,
        app,
        kafka_lag_source(kafka.connection) if kafka else None,
        [namespace, *ready],
        on_cluster,
    )
    ingress = _public_ingress(args, namespace, ready, on_cluster)
    # --- metrics, dashboards and alerts (daca:observability) ---
    observability = _observability(args, after(ingress) if ingress is not None else on_cluster)
    return KubernetesPlatform(
        dapr=dapr,
        namespace=namespace,
        redis=redis,
        components=components,
        workload=workload,
        api_keys=api_keys,
        ingress=ingress,
        autoscaling=autoscaling,
        llm=llm,
        observability=observability,
        kafka=kafka,
    )


def install_kafka(
    args: KubernetesPlatformArgs, namespace: AppNamespace, on_cluster: pulumi.ResourceOptions
) -> KafkaCluster | None:
    """Strimzi and the `daca` cluster, when `daca:kafka.enabled`; on planet with mirroring,
    an external listener the other regions' MirrorMaker 2 reach."""
    config = args.kafka
    if not config.enabled:
        return None
    mirror = config.mirror
    external = None
    if mirror.enabled and args.prefix in mirror.bootstrap:
        external = KafkaExternalListener(
            bootstrap_host=mirror.bootstrap[args.prefix].rsplit(":", 1)[0],
            allowed_cidrs=tuple(mirror.allowed_cidrs),
        )
    return KafkaCluster(
        _named(args.prefix, "kafka"),
        KafkaClusterArgs(
            config=config,
            app_id=args.app.name,
            app_namespace=namespace.name,
            client_selector=selector_labels(args.app.name, "agent"),
            publish_topics=(args.app.pubsub_topic,),
            subscribe_topics=(REVIEW_TOPIC,),
            # KEDA's operator reads the consumer lag
            client_namespaces=("keda",) if args.autoscaling.enabled else (),
            external=external,
        ),
        opts=on_cluster,
    )


def _observability(
    args: KubernetesPlatformArgs, on_cluster: pulumi.ResourceOptions
) -> Observability | None:
    """kube-prometheus-stack in `monitoring`, scraping the app and its sidecar."""
    if not args.observability.enabled:
        return None
    return Observability(
        _named(args.prefix, "observability"),
        ObservabilityArgs(
            config=args.observability,
            app_id=args.app.name,
            app_namespace=args.app.namespace,
            region=args.prefix or None,
            global_view=args.global_view,
        ),
        opts=on_cluster,
    )


def llm_server(
    args: KubernetesPlatformArgs,
    app_namespace: pulumi.Input[str],
    on_cluster: pulumi.ResourceOptions,
) -> LlamaServer | VllmStack | None:
    """The LLM server the app's environment points at (see infra/stacks/common.py)."""
    config = args.llm
    if config.engine == "llamacpp":
        return LlamaServer(
            _named(args.prefix, "llm"),
            LlamaServerArgs(
                config=config,
                client_namespace=app_namespace,
                client_selector=selector_labels(args.app.name, "agent"),
                deny_egress_to=args.deny_egress_to,
            ),
            opts=on_cluster,
        )
    if config.engine == "vllm":
        return VllmStack(_named(args.prefix, "llm"), VllmStackArgs(config=config), opts=on_cluster)
    return None


def agent_workload(
    name: str,
    args: KubernetesPlatformArgs,
    namespace: pulumi.Input[str],
    dapr_config: pulumi.Input[str],
    api_keys: ApiKeys,
    pull_secret: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> AgentWorkload:
    """The app itself, on a cluster or (federated) on Karmada's API."""
    app = args.app
    return AgentWorkload(
        name,
        AgentWorkloadArgs(
            app_id=app.name,
            namespace=namespace,
            image=args.image,
            port=app.port,
            resources=app.resources,
            sidecar=args.dapr.sidecar,
            dapr_config=dapr_config,
            min_replicas=app.min_replicas,
            max_replicas=app.max_replicas,
            target_cpu_utilization=app.target_cpu_utilization,
            autoscaler="keda" if args.autoscaling.enabled else "hpa",
            env=args.env,
            model_api_key=(
                pulumi.Output.secret(args.model_api_key) if args.model_api_key else None
            ),
            kubernetes_secret_store=args.dapr.secret_store == "secretstores.kubernetes",
            service_type=args.service_type,
            node_port=args.node_port,
            image_pull_secret=pull_secret,
            api_keys=api_keys,
            metrics_port=app.metrics_port,
            metrics_scrapers=(PROMETHEUS_PEER,) if args.observability.enabled else (),
        ),
        opts=opts,
    )


def _public_ingress(
    args: KubernetesPlatformArgs,
    namespace: AppNamespace,
    ready: list[pulumi.Resource],
    on_cluster: pulumi.ResourceOptions,
) -> AppIngress | None:
    """cert-manager with its issuer, then the app's Ingress (after the Service exists)."""
    if args.ingress is None:
        return None
    after_controller = on_cluster
    if args.ingress.install_controller is not None:
        controller = TraefikController(
            _named(args.prefix, "traefik"),
            TraefikControllerArgs(
                ingress_class=args.ingress.ingress_class,
                service_annotations=args.ingress.install_controller,
            ),
            opts=on_cluster,
        )
        after_controller = pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[controller])
        )
    certificates = CertManager(
        _named(args.prefix, "cert-manager"),
        CertManagerArgs(
            ingress_class=args.ingress.ingress_class,
            acme_server=args.ingress.acme_server,
            acme_email=args.ingress.acme_email,
        ),
        opts=on_cluster,
    )
    return AppIngress(
        _named(args.prefix, "public"),
        AppIngressArgs(
            app_id=args.app.name,
            namespace=namespace.name,
            host=args.ingress.host,
            ingress_class=args.ingress.ingress_class,
            cluster_issuer=certificates.issuer,
        ),
        opts=pulumi.ResourceOptions.merge(
            after_controller, pulumi.ResourceOptions(depends_on=[certificates, *ready])
        ),
    )
