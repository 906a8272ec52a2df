"""The agent service on Kubernetes, with its Dapr sidecar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.api_keys import REVIEWER_DIGESTS_ENV, USER_DIGESTS_ENV, ApiKeys
from infra.components.kubernetes.conventions import (
    container_security_context,
    pod_security_context,
    resource_requirements,
    selector_labels,
    standard_labels,
)
from infra.components.options import child_options
from infra.config import ResourcesConfig, SidecarResources
from infra.config.base import parse_image

APP_UID = 10001  # the numeric USER of app/Dockerfile
MODEL_KEY_ENV = "OPENAI_API_KEY"
DAPR_INTERNAL_GRPC_PORT = 50002  # sidecar-to-sidecar service invocation
DAPR_METRICS_PORT = 9090
DAPR_HEALTH_PORT = 3501  # the kubelet probes daprd here
#: the Secret key daprd reads the app token from (Dapr's convention for app-token-secret)
APP_TOKEN_KEY = "token"
#: where the app reads that token: it then answers /dapr/* only to requests carrying it
APP_TOKEN_ENV = "APP_API_TOKEN"
METRICS_PORT_ENV = "DACA_METRICS_PORT"
#: the keys of the `<app-id>-api-keys` Secret (what an operator reads with kubectl)
USER_KEY_SECRET_KEY = "api-key"
REVIEWER_KEY_SECRET_KEY = "reviewer-key"


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
    #: who scales between the bounds: our CPU HPA, or KEDA (`daca:autoscaling`), whose
    #: ScaledObject makes an HPA of its own: then this component makes none
    autoscaler: Literal["hpa", "keda"] = "hpa"
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
    #: the app's API keys: kept in the Secret `<app-id>-api-keys`, given to the app only as
    #: digests; None leaves the app without credentials (behind a sidecar it refuses all)
    api_keys: ApiKeys | None = None
    #: the port the app serves Prometheus metrics on, reachable from pods only (not in the
    #: Service); None keeps `/metrics` on the app port
    metrics_port: int | None = None
    #: NetworkPolicy peers that may scrape the app's and daprd's metrics ports (Prometheus
    #: in `monitoring`); empty: nobody, the ports stay closed
    metrics_scrapers: tuple[Mapping[str, Any], ...] = ()


def model_key_secret_name(app_id: str) -> str:
    """The Secret holding the model key (the Dapr Configuration allows exactly this one)."""
    return f"{app_id}-model"


def api_keys_secret_name(app_id: str) -> str:
    """The Secret holding the app's API keys; neither the app nor Dapr may read it."""
    return f"{app_id}-api-keys"


def app_token_secret_name(app_id: str) -> str:
    """The Secret holding the token daprd sends the app (`dapr.io/app-token-secret`)."""
    return f"{app_id}-app-token"


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


def _workload_labels(args: AgentWorkloadArgs) -> dict[str, str]:
    """The Deployment's and its pods' labels: the standard ones, and a configured image's
    tag as `app.kubernetes.io/version`. An image built here is pinned by digest alone (no
    tag) and known only after the build: its labels stay known in a preview, where the
    policy pack reads them."""
    tag = parse_image(args.image)[1] if isinstance(args.image, str) else None
    return standard_labels(args.app_id, "agent", tag)


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


def container_ports(args: AgentWorkloadArgs) -> list[dict[str, Any]]:
    """The API first (Dapr's app-port), then the metrics listener where there is one."""
    ports = [{"name": "http", "containerPort": args.port, "protocol": "TCP"}]
    if args.metrics_port is not None:
        ports.append({"name": "metrics", "containerPort": args.metrics_port, "protocol": "TCP"})
    return ports


def deployment_spec(
    args: AgentWorkloadArgs,
    service_account: pulumi.Input[str],
    env: list[dict[str, Any]],
    app_token_secret: pulumi.Input[str],
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
                "labels": _workload_labels(args),
                "annotations": {
                    **dapr_annotations(args),
                    # daprd sends this Secret's `token` with every call to the app
                    "dapr.io/app-token-secret": app_token_secret,
                },
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
                        "ports": container_ports(args),
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
            # other apps' sidecars invoking this one
            {
                "from": [{"namespaceSelector": {}}],
                "ports": [{"protocol": "TCP", "port": DAPR_INTERNAL_GRPC_PORT}],
            },
            *_metrics_rule(args),
        ],
    }


def _metrics_rule(args: AgentWorkloadArgs) -> list[dict[str, Any]]:
    """daprd's and the app's metrics ports, for the scrapers only (none: closed)."""
    if not args.metrics_scrapers:
        return []
    ports = [{"protocol": "TCP", "port": DAPR_METRICS_PORT}]
    if args.metrics_port is not None:
        ports.append({"protocol": "TCP", "port": args.metrics_port})
    return [{"from": [dict(peer) for peer in args.metrics_scrapers], "ports": ports}]


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
    """ServiceAccount, Deployment, Service, NetworkPolicy, the Secrets of Dapr's app token
    and of the API keys, and PDB/HPA when scaled out (no HPA when KEDA scales the app)."""

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
        if args.metrics_port is not None:
            env.append({"name": METRICS_PORT_ENV, "value": str(args.metrics_port)})
        if args.api_keys is not None:
            env.extend(self._api_keys(name, args, args.api_keys, child))
        app_token = self._app_token(name, args, child)
        env.append(
            {
                "name": APP_TOKEN_ENV,
                "valueFrom": {"secretKeyRef": {"name": app_token, "key": APP_TOKEN_KEY}},
            }
        )
        if args.model_api_key is not None:
            env.append(self._model_key(name, args, account, child))
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**_meta(args), "labels": _workload_labels(args)},
            spec=deployment_spec(args, account.metadata.name, env, app_token),
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
        if args.max_replicas > args.min_replicas and args.autoscaler == "hpa":
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

    def _api_keys(
        self, name: str, args: AgentWorkloadArgs, keys: ApiKeys, child: pulumi.ResourceOptions
    ) -> list[dict[str, Any]]:
        """The keys in their Secret (for the operator: no Role lets the pod read it); returns
        the container's env entries: the digests, the only form the app gets."""
        k8s.core.v1.Secret(
            f"{name}-api-keys",
            metadata=_meta(args, api_keys_secret_name(args.app_id)),
            type="Opaque",
            string_data={
                USER_KEY_SECRET_KEY: keys.user_key,
                REVIEWER_KEY_SECRET_KEY: keys.reviewer_key,
            },
            opts=child,
        )
        return [
            {"name": USER_DIGESTS_ENV, "value": keys.user_key_digest},
            {"name": REVIEWER_DIGESTS_ENV, "value": keys.reviewer_key_digest},
        ]

    def _app_token(
        self, name: str, args: AgentWorkloadArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """Dapr's app API token, generated, in the Secret the annotation names; returns the
        Secret's name."""
        token = random.RandomPassword(f"{name}-app-token", length=40, special=False, opts=child)
        secret = k8s.core.v1.Secret(
            f"{name}-app-token-secret",
            metadata=_meta(args, app_token_secret_name(args.app_id)),
            type="Opaque",
            string_data={APP_TOKEN_KEY: token.result},
            opts=child,
        )
        secret_name: pulumi.Output[str] = secret.metadata.name
        return secret_name

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
