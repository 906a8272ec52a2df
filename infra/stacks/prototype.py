"""The `prototype` stage: kind + local registry + Helm Dapr + Redis + the agent app."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.components.app_image import AppImage, AppImageArgs
from infra.components.kind.cluster import KindCluster, KindClusterArgs
from infra.components.kind.registry import LocalRegistry, LocalRegistryArgs
from infra.components.kubernetes.agent_workload import (
    AgentWorkload,
    AgentWorkloadArgs,
    model_key_secret_name,
)
from infra.components.kubernetes.app_namespace import AppNamespace, AppNamespaceArgs
from infra.components.kubernetes.conventions import selector_labels
from infra.components.kubernetes.dapr_components import DaprComponents, DaprComponentsArgs
from infra.components.kubernetes.dapr_runtime import DaprRuntime, DaprRuntimeArgs
from infra.components.kubernetes.redis import Redis, RedisArgs
from infra.config import REPO_ROOT, PrototypeConfig, read_kind_config
from infra.dapr.spec import PUBSUB, SECRETSTORE, STATESTORE, DaprComponentSpec, SecretRef
from infra.stacks.common import app_environment


def build(config: PrototypeConfig) -> dict[str, pulumi.Input[object]]:
    """Register the prototype stage's resources; return the stack outputs."""
    kind_file = read_kind_config(config.kind.config_file)
    app = config.app

    cluster = KindCluster(
        "kind",
        KindClusterArgs(
            cluster_name=config.kind.cluster_name,
            node_image=config.kind.node_image,
            config_file=kind_file.path,
        ),
    )
    provider = k8s.Provider(
        "kind",
        kubeconfig=cluster.kubeconfig,
        context=cluster.context,
        delete_unreachable=True,
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})

    if app.image is not None:
        image_ref: pulumi.Input[str] = app.image
    else:
        registry = LocalRegistry(
            "registry",
            LocalRegistryArgs(
                container_name=config.registry.name,
                image=config.registry.image,
                host_port=config.registry.host_port,
                cluster_name=cluster.cluster_name,
                cluster_id=cluster.cluster_id,
            ),
            opts=on_cluster,
        )
        image_ref = AppImage(
            "agent-image",
            AppImageArgs(
                repository=pulumi.Output.concat(registry.host, "/", app.name),
                context=REPO_ROOT,
            ),
        ).ref

    dapr = DaprRuntime("dapr", DaprRuntimeArgs(version=config.dapr.version), opts=on_cluster)
    after_dapr = pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=[dapr])

    namespace = AppNamespace("app", AppNamespaceArgs(name=app.namespace), opts=on_cluster)
    redis = Redis(
        "redis",
        RedisArgs(
            namespace=namespace.name,
            image=config.redis.image,
            storage=config.redis.storage,
            resources=config.redis.resources,
            client_selector=selector_labels(app.name, "agent"),
        ),
        opts=on_cluster,
    )

    scopes = (app.name,)
    redis_password = SecretRef(name=redis.auth_secret, key=redis.password_key)
    components = DaprComponents(
        "dapr-components",
        DaprComponentsArgs(
            namespace=namespace.name,
            app_id=app.name,
            components=[
                DaprComponentSpec(
                    name=STATESTORE,
                    type=config.dapr.state_store,
                    metadata={
                        "redisHost": redis.host,
                        "actorStateStore": str(config.dapr.actor_state_store).lower(),
                    },
                    secrets={"redisPassword": redis_password},
                    scopes=scopes,
                ),
                DaprComponentSpec(
                    name=PUBSUB,
                    type=config.dapr.pubsub,
                    metadata={"redisHost": redis.host, "consumerID": "{appID}"},
                    secrets={"redisPassword": redis_password},
                    scopes=scopes,
                ),
                DaprComponentSpec(name=SECRETSTORE, type=config.dapr.secret_store, scopes=scopes),
            ],
            tracing_sampling_rate=config.dapr.tracing_sampling_rate,
            allowed_secrets=[model_key_secret_name(app.name)] if config.model_api_key else [],
        ),
        opts=after_dapr,
    )

    AgentWorkload(
        "agent",
        AgentWorkloadArgs(
            app_id=app.name,
            namespace=namespace.name,
            image=image_ref,
            port=app.port,
            resources=app.resources,
            sidecar=config.dapr.sidecar,
            dapr_config=components.configuration,
            min_replicas=app.min_replicas,
            max_replicas=app.max_replicas,
            target_cpu_utilization=app.target_cpu_utilization,
            env=app_environment(config),
            model_api_key=(
                pulumi.Output.secret(config.model_api_key) if config.model_api_key else None
            ),
            kubernetes_secret_store=config.dapr.secret_store == "secretstores.kubernetes",
            service_type="NodePort",
            node_port=kind_file.node_port,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": provider}, depends_on=[dapr, components, redis]
        ),
    )

    return {
        "appUrl": f"http://localhost:{kind_file.host_port}",
        "namespace": namespace.name,
        "kubeconfig": cluster.kubeconfig,
        "kubeContext": cluster.context,
        "image": image_ref,
        "daprVersion": dapr.version,
    }
