"""The `prototype` stage: kind + local registry + Helm Dapr + Redis + the agent app."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.components.app_image import AppImage, AppImageArgs
from infra.components.kind.cluster import KindCluster, KindClusterArgs
from infra.components.kind.registry import LocalRegistry, LocalRegistryArgs
from infra.components.kubernetes.platform import KubernetesPlatformArgs, install_platform
from infra.config import REPO_ROOT, PrototypeConfig, read_kind_config
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
                registry_id=registry.container_id,
            ),
        ).ref

    platform = install_platform(
        KubernetesPlatformArgs(
            app=app,
            dapr=config.dapr,
            redis=config.redis,
            kafka=config.kafka,
            llm=config.llm,
            observability=config.observability,
            autoscaling=config.autoscaling,
            image=image_ref,
            env=app_environment(config),
            model_api_key=config.model_api_key,
            service_type="NodePort",
            node_port=kind_file.node_port,
        ),
        provider,
    )

    outputs: dict[str, pulumi.Input[object]] = {
        "appUrl": f"http://localhost:{kind_file.host_port}",
        "namespace": platform.namespace.name,
        "kubeconfig": cluster.kubeconfig,
        "kubeContext": cluster.context,
        "image": image_ref,
        "daprVersion": platform.dapr.version,
        # bearer keys for /v1 (secret: `pulumi stack output apiKey --show-secrets`)
        "apiKey": platform.api_keys.user_key,
        "reviewerKey": platform.api_keys.reviewer_key,
    }
    if platform.observability is not None:
        # Grafana's admin password (secret): `pulumi stack output grafanaAdminPassword
        # --show-secrets`; Grafana itself: see docs/services.md
        outputs["grafanaAdminPassword"] = platform.observability.grafana_admin_password
    return outputs
