"""Redis for the state store and pub/sub: the official image in a StatefulSet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
# not the image's `redis` user (999): a high UID that no host account has. The image's
# entrypoint chowns /data only when started as root, so the pod's fsGroup makes the
# volume writable instead
REDIS_UID = 10999
PASSWORD_KEY = "redis-password"
#: the Secret key holding the redis.conf line with the password, mounted as a file
AUTH_CONF_KEY = "auth.conf"
AUTH_CONF_DIR = "/etc/redis"


@dataclass(frozen=True)
class RedisArgs:
    #: namespace of the StatefulSet, its Services and its Secret
    namespace: pulumi.Input[str]
    #: the pinned official `redis` image (tag and digest)
    image: str
    #: the size of the data volume
    storage: str
    #: CPU and memory of the Redis container
    resources: ResourcesConfig
    #: the labels of the pods allowed to connect (the Dapr sidecars run in them)
    client_selector: dict[str, str]
    #: the password; None generates one (pulumi-random, kept secret in state)
    password: pulumi.Input[str] | None = None


def redis_auth_conf(password: str) -> str:
    """The redis.conf line that sets the password, quoted as redis.conf reads it."""
    quoted = (
        password.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'requirepass "{quoted}"\n'


def _probes() -> dict[str, Any]:
    """redis-cli authenticates with REDISCLI_AUTH; exec, not TCP: the NetworkPolicy admits
    only the app's pods."""
    return {
        "readinessProbe": {
            "exec": {"command": ["sh", "-c", "redis-cli ping | grep -q PONG"]},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
        },
        "livenessProbe": {
            "exec": {"command": ["redis-cli", "ping"]},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
    }


def redis_container(args: RedisArgs, secret_name: pulumi.Input[str]) -> dict[str, Any]:
    """The server: its password only in the mounted config file (not in `ps`, the pod spec
    or the server's own settings), redis-cli's in an env var from the Secret."""
    r = args.resources
    return {
        "name": "redis",
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "redis-server",
            f"{AUTH_CONF_DIR}/{AUTH_CONF_KEY}",
            "--appendonly",
            "yes",
            "--dir",
            "/data",
        ],
        "env": [
            {
                "name": "REDISCLI_AUTH",
                "valueFrom": {"secretKeyRef": {"name": secret_name, "key": PASSWORD_KEY}},
            }
        ],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
        "resources": resource_requirements(
            r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit
        ),
        "securityContext": container_security_context(REDIS_UID),
        **_probes(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "auth", "mountPath": AUTH_CONF_DIR, "readOnly": True},
        ],
    }


def statefulset_spec(
    args: RedisArgs,
    labels: dict[str, str],
    selector: dict[str, str],
    service_name: pulumi.Input[str],
    service_account: pulumi.Input[str],
    secret_name: pulumi.Input[str],
) -> dict[str, Any]:
    """One replica with a persistent data volume and the auth config mounted read-only."""
    return {
        "serviceName": service_name,
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(REDIS_UID),
                "containers": [redis_container(args, secret_name)],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    {
                        "name": "auth",
                        "secret": {
                            "secretName": secret_name,
                            "items": [{"key": AUTH_CONF_KEY, "path": AUTH_CONF_KEY}],
                            # owner root, group fsGroup: readable by Redis, by no one else
                            "defaultMode": 0o440,
                        },
                    },
                ],
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
    }


def network_policy_spec(args: RedisArgs, selector: dict[str, str]) -> dict[str, Any]:
    """Only the client pods (the app and its sidecar) reach Redis, on its port only."""
    return {
        "podSelector": {"matchLabels": selector},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": args.client_selector}}],
                "ports": [{"protocol": "TCP", "port": REDIS_PORT}],
            }
        ],
    }


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
        secret = self._secret(name, args, labels, child)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": name, "namespace": args.namespace, "labels": labels},
            automount_service_account_token=False,
            opts=child,
        )
        headless = self._service(name, args, labels, selector, child, headless=True)
        service = self._service(name, args, labels, selector, child, headless=False)
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": name, "namespace": args.namespace, "labels": labels},
            spec=statefulset_spec(
                args,
                labels,
                selector,
                service_name=headless.metadata.name,
                service_account=account.metadata.name,
                secret_name=secret.metadata.name,
            ),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata={"name": f"{name}-clients", "namespace": args.namespace, "labels": labels},
            spec=network_policy_spec(args, selector),
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

    def _secret(
        self, name: str, args: RedisArgs, labels: dict[str, str], child: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        """The password (for clients and redis-cli) and the config line that sets it."""
        password = args.password
        if password is None:
            password = random.RandomPassword(
                f"{name}-password", length=32, special=False, opts=child
            ).result
        secret_password = pulumi.Output.secret(password)
        return k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": self.auth_secret, "namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data={
                PASSWORD_KEY: secret_password,
                AUTH_CONF_KEY: secret_password.apply(redis_auth_conf),
            },
            opts=child,
        )

    @staticmethod
    def _service(
        name: str,
        args: RedisArgs,
        labels: dict[str, str],
        selector: dict[str, str],
        child: pulumi.ResourceOptions,
        headless: bool,
    ) -> k8s.core.v1.Service:
        """The ClusterIP Service clients use, or the StatefulSet's headless one."""
        service_name = f"{name}-headless" if headless else name
        return k8s.core.v1.Service(
            f"{name}-headless" if headless else f"{name}-service",
            metadata={"name": service_name, "namespace": args.namespace, "labels": labels},
            spec={
                **({"clusterIP": "None"} if headless else {"type": "ClusterIP"}),
                "selector": selector,
                "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
            },
            opts=child,
        )
