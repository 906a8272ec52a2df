"""Thanos Query in one planet region: every region's Thanos sidecar behind one PromQL
endpoint, reached over mutual TLS with a client certificate from the planet's Thanos CA
(`infra.components.kubernetes.thanos`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import (
    container_security_context,
    pod_security_context,
    selector_labels,
    standard_labels,
)
from infra.components.kubernetes.observability_queries import MONITORING_NAMESPACE
from infra.components.kubernetes.thanos import (
    QUERY_HTTP_PORT,
    QUERY_NAME,
    QUERY_TLS_SECRET,
    QUERY_URL,
    SIDECAR_SERVER_NAME,
    SIDECAR_TLS_DIR,
    THANOS_IMAGE,
    THANOS_UID,
    ThanosAuthority,
    signed_tls_secret,
)
from infra.components.options import child_options
from infra.config.base import parse_image


@dataclass(frozen=True)
class ThanosQueryArgs:
    authority: ThanosAuthority
    #: every sidecar: `host:443` of the other regions, the local discovery Service
    endpoints: Sequence[pulumi.Input[str]]
    #: Query's replicas (planet's policy minimum is 2)
    replicas: int = 2


def query_args(endpoints: Sequence[str]) -> list[str]:
    """Thanos Query's flags (v0.42.4's docs/components/query.md)."""
    return [
        "query",
        f"--http-address=0.0.0.0:{QUERY_HTTP_PORT}",
        "--query.replica-label=prometheus_replica",
        "--grpc-client-tls-secure",
        f"--grpc-client-tls-cert={SIDECAR_TLS_DIR}/tls.crt",
        f"--grpc-client-tls-key={SIDECAR_TLS_DIR}/tls.key",
        f"--grpc-client-tls-ca={SIDECAR_TLS_DIR}/ca.crt",
        f"--grpc-client-server-name={SIDECAR_SERVER_NAME}",
        *(f"--endpoint={endpoint}" for endpoint in endpoints),
    ]


def query_pod_spec(endpoints: Sequence[str], account: pulumi.Input[str]) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10}
    return {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(THANOS_UID),
        "containers": [
            {
                "name": QUERY_NAME,
                "image": THANOS_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "args": query_args(endpoints),
                "ports": [{"name": "http", "containerPort": QUERY_HTTP_PORT, "protocol": "TCP"}],
                "readinessProbe": probe,
                "livenessProbe": {**probe, "httpGet": {"path": "/-/healthy", "port": "http"}},
                "resources": {
                    "requests": {"cpu": "25m", "memory": "64Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
                "securityContext": container_security_context(THANOS_UID),
                "volumeMounts": [{"name": "tls", "mountPath": SIDECAR_TLS_DIR, "readOnly": True}],
            }
        ],
        "volumes": [{"name": "tls", "secret": {"secretName": QUERY_TLS_SECRET}}],
    }


class ThanosQuery(pulumi.ComponentResource):
    """Thanos Query in `monitoring` with a client certificate every sidecar accepts, and
    its ClusterIP Service (Grafana's all-regions data source; not published)."""

    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ThanosQueryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:ThanosQuery", name, None, opts)
        labels = standard_labels(QUERY_NAME, "monitoring", parse_image(THANOS_IMAGE)[1])
        meta = {"name": QUERY_NAME, "namespace": MONITORING_NAMESPACE, "labels": labels}
        client = signed_tls_secret(
            f"{name}-client",
            args.authority,
            QUERY_TLS_SECRET,
            "client_auth",
            child_options(self, opts),
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta,
            automount_service_account_token=False,
            opts=child_options(self, opts),
        )
        selector = selector_labels(QUERY_NAME, "monitoring")
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": pulumi.Output.all(*args.endpoints).apply(
                        lambda endpoints: query_pod_spec(list(endpoints), QUERY_NAME)
                    ),
                },
            },
            opts=child_options(self, opts, depends_on=[client, account]),
        )
        k8s.core.v1.Service(
            f"{name}-svc",
            metadata=meta,
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": QUERY_HTTP_PORT, "targetPort": "http"}],
            },
            opts=child_options(self, opts),
        )
        self.url = pulumi.Output.from_input(QUERY_URL)
        self.register_outputs({"url": self.url})
