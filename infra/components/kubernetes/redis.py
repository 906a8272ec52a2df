"""Redis for the state store and pub/sub: the official image in a StatefulSet."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.kubernetes.conventions import (
    container_security_context,
    pod_security_context,
    resource_requirements,
    selector_labels,
    standard_labels,
)
from infra.components.options import child_options
from infra.config import ResourcesConfig, parse_image

REDIS_PORT = 6379
REDIS_UID = 999  # the `redis` user of the official image
PASSWORD_KEY = "redis-password"


@dataclass(frozen=True)
class RedisArgs:
    #: namespace of the StatefulSet, its Services and its Secret
    namespace: pulumi.Input[str]
    #: the pinned official `redis` image
    image: str
    #: the size of the data volume
    storage: str
    #: CPU and memory of the Redis container
    resources: ResourcesConfig
    #: the labels of the pods allowed to connect (the Dapr sidecars run in them)
    client_selector: dict[str, str]
    #: the password; None generates one (pulumi-random, kept secret in state)
    password: pulumi.Input[str] | None = None


class Redis(pulumi.ComponentResource):
    """One Redis instance with a persistent volume, its password in a Secret."""

    host: pulumi.Output[str]
    secret_name: pulumi.Output[str]
    #: the Secret holding the password, and its key: what `secretKeyRef`s point at
    auth_secret: str
    password_key: str = PASSWORD_KEY

    def __init__(
        self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:redis:Redis", name, None, opts)
        child = child_options(self, opts)
        _, tag, _ = parse_image(args.image)
        labels = standard_labels(name, "cache", tag)
        selector = selector_labels(name, "cache")
        self.auth_secret = f"{name}-auth"
        password = args.password
        if password is None:
            password = random.RandomPassword(
                f"{name}-password", length=32, special=False, opts=child
            ).result
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": self.auth_secret, "namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data={PASSWORD_KEY: pulumi.Output.secret(password)},
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": name, "namespace": args.namespace, "labels": labels},
            automount_service_account_token=False,
            opts=child,
        )
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata={"name": f"{name}-headless", "namespace": args.namespace, "labels": labels},
            spec={
                "clusterIP": "None",
                "selector": selector,
                "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
            },
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": name, "namespace": args.namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
            },
            opts=child,
        )
        password_env = {
            "secretKeyRef": {"name": secret.metadata.name, "key": PASSWORD_KEY},
        }
        r = args.resources
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": name, "namespace": args.namespace, "labels": labels},
            spec={
                "serviceName": headless.metadata.name,
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": account.metadata.name,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(REDIS_UID),
                        "containers": [
                            {
                                "name": "redis",
                                "image": args.image,
                                "imagePullPolicy": "IfNotPresent",
                                # Kubernetes expands $(REDIS_PASSWORD) from the env below
                                "args": [
                                    "redis-server",
                                    "--requirepass",
                                    "$(REDIS_PASSWORD)",
                                    "--appendonly",
                                    "yes",
                                    "--dir",
                                    "/data",
                                ],
                                "env": [
                                    {"name": "REDIS_PASSWORD", "valueFrom": password_env},
                                    # redis-cli in the probes authenticates with this
                                    {"name": "REDISCLI_AUTH", "valueFrom": password_env},
                                ],
                                "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
                                "resources": resource_requirements(
                                    r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit
                                ),
                                "securityContext": container_security_context(REDIS_UID),
                                "readinessProbe": {
                                    "exec": {
                                        "command": ["sh", "-c", "redis-cli ping | grep -q PONG"]
                                    },
                                    "periodSeconds": 5,
                                    "timeoutSeconds": 2,
                                },
                                # exec, not TCP: the NetworkPolicy admits only the app's pods
                                "livenessProbe": {
                                    "exec": {"command": ["redis-cli", "ping"]},
                                    "initialDelaySeconds": 10,
                                    "periodSeconds": 10,
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/data"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data", "labels": selector},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": args.storage}},
                        },
                    }
                ],
            },
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata={"name": f"{name}-clients", "namespace": args.namespace, "labels": labels},
            spec={
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": args.client_selector}}],
                        "ports": [{"protocol": "TCP", "port": REDIS_PORT}],
                    }
                ],
            },
            opts=child,
        )
        self.host = pulumi.Output.concat(
            service.metadata.name,
            ".",
            service.metadata.namespace,
            ".svc.cluster.local:",
            str(REDIS_PORT),
        )
        self.secret_name = secret.metadata.name
        self.register_outputs({"host": self.host, "secretName": self.secret_name})
