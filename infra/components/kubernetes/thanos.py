"""Planet's one query view: a Thanos sidecar beside every region's Prometheus, Thanos Query
in one region (`thanos_query`), mutually authenticated TLS between them.

Cross-region traffic never leaves TLS and never reaches a sidecar without a client
certificate from the planet's own CA: each sidecar serves gRPC with a certificate for
`SIDECAR_SERVER_NAME` and requires client certificates from that CA (prometheus-operator's
`thanos.grpcServerTlsConfig.caFile` -> `--grpc-server-tls-client-ca`); the region's Traefik
passes connections for that SNI through untouched (`IngressRouteTCP`, `tls.passthrough`) on
the port it already serves HTTPS on, so no region opens a new port or load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from infra.components.kubernetes.observability_queries import MONITORING_NAMESPACE
from infra.components.options import child_options

#: the Thanos kube-prometheus-stack 88.5.3 runs as the sidecar
#: (`prometheusOperator.thanosImage.tag`); Query runs the same release
THANOS_IMAGE = "quay.io/thanos/thanos:v0.42.4"
#: the name every sidecar's certificate carries and Query verifies (and sends as SNI)
SIDECAR_SERVER_NAME = "thanos-sidecar.daca.internal"
SIDECAR_TLS_SECRET = "thanos-sidecar-tls"
QUERY_TLS_SECRET = "thanos-query-tls"
#: where prometheus-operator mounts `spec.secrets` entries, by its volume naming
#: (pkg/prometheus/common.go: volume `secret-<name>`); the sidecar mounts it here
SIDECAR_TLS_DIR = "/etc/thanos/tls"
#: the chart's headless `thanosService` (`<fullname>-thanos-discovery`), gRPC port
DISCOVERY_SERVICE = "kps-thanos-discovery"
SIDECAR_GRPC_PORT = 10901
QUERY_HTTP_PORT = 10902
QUERY_NAME = "thanos-query"
#: what Grafana's all-regions data source queries
QUERY_URL = f"http://{QUERY_NAME}.{MONITORING_NAMESPACE}.svc:{QUERY_HTTP_PORT}"
THANOS_UID = 1001  # the USER of Thanos's Dockerfile (v0.42.4)
CERT_HOURS = 5 * 365 * 24


class ThanosAuthority(pulumi.ComponentResource):
    """The planet's private CA for Thanos: signs every sidecar's server certificate and
    Query's client certificate. Its key lives only in the (encrypted) stack state."""

    ca_cert_pem: pulumi.Output[str]
    ca_key_pem: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("daca:k8s:ThanosAuthority", name, None, opts)
        key = tls.PrivateKey(
            f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child_options(self, opts)
        )
        cert = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="daca thanos ca"),
            validity_period_hours=CERT_HOURS,
            early_renewal_hours=30 * 24,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=child_options(self, opts),
        )
        self.ca_cert_pem = cert.cert_pem
        self.ca_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.register_outputs({"caCertPem": self.ca_cert_pem})


@dataclass(frozen=True)
class GlobalView:
    """What a region's monitoring needs to take part in the planet's query view."""

    authority: ThanosAuthority
    #: this region runs Thanos Query (Grafana gets the all-regions data source)
    query_here: bool = False


def signed_tls_secret(
    name: str,
    authority: ThanosAuthority,
    secret_name: str,
    usage: str,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """A key, a certificate from `authority` for `SIDECAR_SERVER_NAME` (server) or a
    client, and the Secret holding both with the CA (`tls.crt`, `tls.key`, `ca.crt`)."""
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=secret_name),
        dns_names=[SIDECAR_SERVER_NAME] if usage == "server_auth" else [],
        opts=opts,
    )
    cert = tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=authority.ca_key_pem,
        ca_cert_pem=authority.ca_cert_pem,
        validity_period_hours=CERT_HOURS,
        early_renewal_hours=30 * 24,
        allowed_uses=["digital_signature", "key_encipherment", usage],
        opts=opts,
    )
    return k8s.core.v1.Secret(
        f"{name}-secret",
        metadata={"name": secret_name, "namespace": MONITORING_NAMESPACE},
        type="Opaque",
        string_data={
            "tls.crt": cert.cert_pem,
            "tls.key": key.private_key_pem,  # pulumi-tls keeps it secret
            "ca.crt": authority.ca_cert_pem,
        },
        opts=opts,
    )


def sidecar_values() -> tuple[dict[str, Any], dict[str, Any]]:
    """(`prometheus.prometheusSpec` additions, `prometheus` additions): the sidecar with
    mTLS from `SIDECAR_TLS_SECRET`, and the chart's discovery Service."""
    spec = {
        "secrets": [SIDECAR_TLS_SECRET],
        "thanos": {
            "grpcServerTlsConfig": {
                "certFile": f"{SIDECAR_TLS_DIR}/tls.crt",
                "keyFile": f"{SIDECAR_TLS_DIR}/tls.key",
                # a client certificate from the planet's CA is required (Thanos's
                # --grpc-server-tls-client-ca); TLS 1.3 is Thanos's default minimum
                "caFile": f"{SIDECAR_TLS_DIR}/ca.crt",
            },
            "volumeMounts": [
                {
                    "name": f"secret-{SIDECAR_TLS_SECRET}",
                    "mountPath": SIDECAR_TLS_DIR,
                    "readOnly": True,
                }
            ],
            "resources": {
                "requests": {"cpu": "25m", "memory": "64Mi"},
                "limits": {"cpu": "250m", "memory": "256Mi"},
            },
        },
    }
    return spec, {"thanosService": {"enabled": True}}


def sidecar_route_spec() -> dict[str, Any]:
    """Traefik's `IngressRouteTCP` (traefik.io/v1alpha1): the sidecar's SNI, passed through
    on the HTTPS entry point to the chart's discovery Service."""
    return {
        "entryPoints": ["websecure"],
        "routes": [
            {
                "match": f"HostSNI(`{SIDECAR_SERVER_NAME}`)",
                "services": [{"name": DISCOVERY_SERVICE, "port": SIDECAR_GRPC_PORT}],
            }
        ],
        "tls": {"passthrough": True},
    }
