"""The agent service on Kubernetes, with its Dapr sidecar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import (
    container_security_context,
    pod_security_context,
    resource_requirements,
    selector_labels,
    standard_labels,
)
from infra.components.options import child_options
from infra.config import ResourcesConfig, SidecarResources

APP_UID = 10001  # the numeric USER of app/Dockerfile
MODEL_KEY_ENV = "OPENAI_API_KEY"
DAPR_INTERNAL_GRPC_PORT = 50002  # sidecar-to-sidecar service invocation
DAPR_METRICS_PORT = 9090
DAPR_HEALTH_PORT = 3501  # the kubelet probes daprd here


@dataclass(frozen=True)
class AgentWorkloadArgs:
    #: the Dapr app-id, also the name of every object here
    app_id: str
    #: the namespace to run in
    namespace: pulumi.Input[str]
    #: the image, pinned by digest or exact tag
    image: pulumi.Input[str]
    #: the port the app listens on (Dapr's app-port)
    port: int
    #: CPU and memory of the app container
    resources: ResourcesConfig
    #: CPU and memory of the daprd sidecar
    sidecar: SidecarResources
    #: the Dapr Configuration the sidecar loads
    dapr_config: pulumi.Input[str]
    #: replicas; above 1 adds a PodDisruptionBudget
    min_replicas: int = 1
    #: above `min_replicas` adds a HorizontalPodAutoscaler (which then owns the count)
    max_replicas: int = 1
    #: the HPA's CPU target, percent of the request
    target_cpu_utilization: int = 70
    #: plain environment for the app (names of components, topic, model)
    env: Mapping[str, str] = field(default_factory=dict)
    #: the LLM API key (secret config); None runs the app's offline model
    model_api_key: pulumi.Input[str] | None = None
    #: the app's `secretstore` is `secretstores.kubernetes`: daprd reads through the pod's
    #: service-account token (and fails to start without it); the account may read the
    #: model key Secret and nothing else
    kubernetes_secret_store: bool = True
    #: how the Service is exposed: NodePort on kind (the host port maps to it)
    service_type: Literal["ClusterIP", "NodePort"] = "ClusterIP"
    #: the nodePort, when `service_type` is NodePort
    node_port: int | None = None
    #: a `kubernetes.io/dockerconfigjson` Secret for a private registry
    image_pull_secret: pulumi.Input[str] | None = None


def model_key_secret_name(app_id: str) -> str:
    """The Secret holding the model key (the Dapr Configuration allows exactly this one)."""
    return f"{app_id}-model"


def dapr_annotations(args: AgentWorkloadArgs) -> dict[str, pulumi.Input[str]]:
    """The sidecar injector's annotations for this app."""
    s = args.sidecar
    return {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": args.app_id,
        "dapr.io/app-port": str(args.port),
        "dapr.io/app-protocol": "http",
        "dapr.io/config": args.dapr_config,
        "dapr.io/enable-app-health-check": "true",
        "dapr.io/app-health-check-path": "/healthz",
        "dapr.io/log-as-json": "true",
        "dapr.io/enable-metrics": "true",
        "dapr.io/metrics-port": str(DAPR_METRICS_PORT),
        "dapr.io/sidecar-cpu-request": s.cpu_request,
        "dapr.io/sidecar-memory-request": s.memory_request,
        "dapr.io/sidecar-cpu-limit": s.cpu_limit,
        "dapr.io/sidecar-memory-limit": s.memory_limit,
        "dapr.io/sidecar-seccomp-profile-type": "RuntimeDefault",
        # otherwise daprd adds a store named `kubernetes` that the Configuration's secret
        # scopes (set on our `secretstore`) do not cover; component secretKeyRefs are still
        # resolved, by the operator
        "dapr.io/disable-builtin-k8s-secret-store": "true",
    }


def _meta(args: AgentWorkloadArgs, object_name: str | None = None) -> dict[str, Any]:
    return {
        "name": object_name or args.app_id,
        "namespace": args.namespace,
        "labels": standard_labels(args.app_id, "agent"),
    }


def _probes() -> dict[str, Any]:
    """Startup and liveness on `/healthz` (the process), readiness on `/readyz` (the sidecar
    and the store)."""
    http = {"port": "http"}
    return {
        "startupProbe": {
            "httpGet": {"path": "/healthz", **http},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **http},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", **http},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
    }


def deployment_spec(
    args: AgentWorkloadArgs,
    service_account: pulumi.Input[str],
    env: list[dict[str, Any]],
) -> dict[str, Any]:
    """The Deployment's spec: one app container, hardened, probed, with the Dapr annotations."""
    r = args.resources
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(args.app_id, "agent")},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {
                "labels": standard_labels(args.app_id, "agent"),
                "annotations": dapr_annotations(args),
            },
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": args.kubernetes_secret_store,
                "securityContext": pod_security_context(APP_UID),
                "terminationGracePeriodSeconds": 30,
                "containers": [
                    {
                        "name": "agent",
                        "image": args.image,
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": args.port, "protocol": "TCP"}],
                        "env": env,
                        "resources": resource_requirements(
                            r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit
                        ),
                        "securityContext": container_security_context(APP_UID),
                        **_probes(),
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "128Mi"}}],
            },
        },
    }
    if args.image_pull_secret is not None:
        spec["template"]["spec"]["imagePullSecrets"] = [{"name": args.image_pull_secret}]
    if args.max_replicas <= args.min_replicas:
        # with an HPA the autoscaler owns the replica count; setting it here too
        # would fight it on every update
        spec["replicas"] = args.min_replicas
    return spec


def network_policy_spec(args: AgentWorkloadArgs) -> dict[str, Any]:
    """Who may reach the pods: the API and probes from anywhere, Dapr's ports from pods."""
    return {
        "podSelector": {"matchLabels": selector_labels(args.app_id, "agent")},
        "policyTypes": ["Ingress"],
        "ingress": [
            # the API itself (Service, node port) and the kubelet's probes of the app
            # and of daprd, whichever way the CNI treats node traffic
            {
                "ports": [
                    {"protocol": "TCP", "port": args.port},
                    {"protocol": "TCP", "port": DAPR_HEALTH_PORT},
                ]
            },
            # other apps' sidecars invoking this one, and metrics scrapes
            {
                "from": [{"namespaceSelector": {}}],
                "ports": [
                    {"protocol": "TCP", "port": DAPR_INTERNAL_GRPC_PORT},
                    {"protocol": "TCP", "port": DAPR_METRICS_PORT},
                ],
            },
        ],
    }


def autoscaler_spec(args: AgentWorkloadArgs, deployment: pulumi.Input[str]) -> dict[str, Any]:
    """A CPU-utilisation HPA between the replica bounds."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": args.min_replicas,
        "maxReplicas": args.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": args.target_cpu_utilization,
                    },
                },
            }
        ],
    }


class AgentWorkload(pulumi.ComponentResource):
    """ServiceAccount, Deployment, Service, NetworkPolicy, and PDB/HPA when scaled out."""

    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AgentWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:AgentWorkload", name, None, opts)
        child = child_options(self, opts)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=_meta(args), automount_service_account_token=False, opts=child
        )
        env: list[dict[str, Any]] = [
            {"name": "DACA_PORT", "value": str(args.port)},
            *({"name": key, "value": value} for key, value in sorted(args.env.items())),
        ]
        if args.model_api_key is not None:
            env.append(self._model_key(name, args, account, child))
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=_meta(args),
            spec=deployment_spec(args, account.metadata.name, env),
            opts=child,
        )
        service = self._service(name, args, child)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata=_meta(args, f"{args.app_id}-ingress"),
            spec=network_policy_spec(args),
            opts=child,
        )
        if args.min_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=_meta(args),
                spec={
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": selector_labels(args.app_id, "agent")},
                },
                opts=child,
            )
        if args.max_replicas > args.min_replicas:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=_meta(args),
                spec=autoscaler_spec(args, deployment.metadata.name),
                opts=child,
            )
        self.service_name = service.metadata.name
        self.deployment_name = deployment.metadata.name
        self.register_outputs(
            {"serviceName": self.service_name, "deploymentName": self.deployment_name}
        )

    def _model_key(
        self,
        name: str,
        args: AgentWorkloadArgs,
        account: k8s.core.v1.ServiceAccount,
        child: pulumi.ResourceOptions,
    ) -> dict[str, Any]:
        """The model key's Secret (and, for the Kubernetes secret store, the one Role that
        may read it); returns the container's env entry for it."""
        key_secret = k8s.core.v1.Secret(
            f"{name}-model-key",
            metadata=_meta(args, model_key_secret_name(args.app_id)),
            type="Opaque",
            string_data={MODEL_KEY_ENV: pulumi.Output.secret(args.model_api_key)},
            opts=child,
        )
        if args.kubernetes_secret_store:
            # the secret store reads as the pod's service account: exactly this Secret
            role = k8s.rbac.v1.Role(
                f"{name}-secret-reader",
                metadata=_meta(args, f"{args.app_id}-secret-reader"),
                rules=[
                    {
                        "apiGroups": [""],
                        "resources": ["secrets"],
                        "resourceNames": [key_secret.metadata.name],
                        "verbs": ["get"],
                    }
                ],
                opts=child,
            )
            k8s.rbac.v1.RoleBinding(
                f"{name}-secret-reader",
                metadata=_meta(args, f"{args.app_id}-secret-reader"),
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": role.metadata.name,
                },
                subjects=[
                    {
                        "kind": "ServiceAccount",
                        "name": account.metadata.name,
                        "namespace": args.namespace,
                    }
                ],
                opts=child,
            )
        return {
            "name": MODEL_KEY_ENV,
            "valueFrom": {"secretKeyRef": {"name": key_secret.metadata.name, "key": MODEL_KEY_ENV}},
        }

    def _service(
        self, name: str, args: AgentWorkloadArgs, child: pulumi.ResourceOptions
    ) -> k8s.core.v1.Service:
        port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        if args.service_type == "NodePort" and args.node_port is not None:
            port["nodePort"] = args.node_port
        return k8s.core.v1.Service(
            f"{name}-service",
            metadata=_meta(args),
            spec={
                "type": args.service_type,
                "selector": selector_labels(args.app_id, "agent"),
                "ports": [port],
            },
            opts=child,
        )
