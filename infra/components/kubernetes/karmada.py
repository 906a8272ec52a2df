"""Karmada's control plane on the hub cluster, from the official Helm chart at a pinned version.

The chart (`installMode: host`) runs a Karmada API server, its etcd, scheduler, controller
manager, webhook and aggregated API server in `karmada-system` of the hub. Its pre-install
job generates the certificates and writes the Secret `karmada-kubeconfig` (key
`kubeconfig`): an admin kubeconfig for the Karmada API whose server is the in-cluster
address `https://karmada-apiserver.<namespace>.svc.cluster.local:5443`. This component
reads that Secret back and points it at an address `pulumi up` can reach, so the stack can
build the `kubernetes.Provider` through which members, policies and the app go to Karmada.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options

#: the chart repository its README documents (an index.yaml on the master branch)
CHART_REPO = "https://raw.githubusercontent.com/karmada-io/karmada/master/charts"
#: the newest release in that index (its images are tagged the same: the packaging
#: script writes the version into the chart's `karmadaImageVersion`)
CHART_VERSION = "v1.18.1"
#: the Helm release's name: the chart names every object after it
RELEASE_NAME = "karmada"
#: where the chart's pre-install job writes the admin kubeconfig, and under which key
KUBECONFIG_SECRET = f"{RELEASE_NAME}-kubeconfig"
KUBECONFIG_KEY = "kubeconfig"
#: the Karmada API server's Service and port (fixed by the chart)
API_SERVICE = f"{RELEASE_NAME}-apiserver"
API_PORT = 5443
#: read by cloud load-balancer controllers (AKS writes it into the NSG) when the
#: Service's spec.loadBalancerSourceRanges is empty; the chart cannot set the spec field
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"

ApiServiceType = Literal["LoadBalancer", "ClusterIP"]


@dataclass(frozen=True)
class KarmadaControlPlaneArgs:
    #: the exact chart version (Karmada's release tag, with its `v`)
    version: str = CHART_VERSION
    #: the hub namespace the control plane runs in
    namespace: str = "karmada-system"
    #: how the Karmada API server's Service is exposed: `LoadBalancer` (an address the
    #: machine running `pulumi up` reaches, limited to `allowed_source_ranges`) or
    #: `ClusterIP` (only from inside the hub, or through `kubectl port-forward`)
    api_service_type: ApiServiceType = "LoadBalancer"
    #: CIDRs allowed to reach a `LoadBalancer` API server (the operator's, a CI runner's);
    #: required with `LoadBalancer`, since every client certificate is an admin's
    allowed_source_ranges: tuple[str, ...] = ()
    #: the URL the returned kubeconfig uses instead of the default (the load balancer's
    #: address, or the in-cluster address for `ClusterIP`): a DNS name for the load
    #: balancer, or `https://127.0.0.1:5443` through
    #: `kubectl -n karmada-system port-forward svc/karmada-apiserver 5443`
    api_server: str | None = None
    #: size of etcd's persistent volume (the chart's default, hostPath, loses every member,
    #: policy and binding when the pod moves to another node)
    etcd_storage: str = "2Gi"
    #: extra chart values, merged over the defaults (top-level keys replace)
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.api_service_type == "LoadBalancer" and not self.allowed_source_ranges:
            raise ValueError(
                "a LoadBalancer Karmada API server needs allowed_source_ranges "
                "(e.g. the operator's CIDR); its kubeconfig holds admin credentials"
            )
        if self.api_server is not None and not self.api_server.startswith("https://"):
            raise ValueError(f"api_server must be an https:// URL, got {self.api_server!r}")


def in_cluster_address(namespace: str, cluster_domain: str = "cluster.local") -> str:
    """The Karmada API server's URL inside the hub (the chart's own kubeconfig uses it)."""
    return f"https://{API_SERVICE}.{namespace}.svc.{cluster_domain}:{API_PORT}"


def chart_values(args: KarmadaControlPlaneArgs) -> dict[str, Any]:
    """The Helm values: host mode, the API server's exposure, durable etcd, and the
    `PropagateDeps` feature gate the app's application failover needs (the chart turns
    it off; Karmada's webhook rejects failover without `propagateDeps`)."""
    api_server: dict[str, Any] = {"serviceType": args.api_service_type}
    if args.api_service_type == "LoadBalancer":
        api_server["serviceAnnotations"] = {
            SOURCE_RANGES_ANNOTATION: ",".join(args.allowed_source_ranges)
        }
    values: dict[str, Any] = {
        "installMode": "host",
        "apiServer": api_server,
        "controllerManager": {"featureGates": {"PropagateDeps": True}},
        "etcd": {"internal": {"storageType": "pvc", "pvc": {"size": args.etcd_storage}}},
    }
    values.update(args.values)
    return values


def reachable_kubeconfig(kubeconfig: str, server: str, tls_server_name: str) -> str:
    """The chart's kubeconfig with every cluster's `server` replaced by `server`.

    The serving certificate names only in-cluster hosts (`*.<ns>.svc.cluster.local`,
    `localhost`, `127.0.0.1`), so `tls-server-name` keeps the check against one of
    them: client-go (and so the Pulumi provider) verifies the certificate for that
    name while connecting to `server`.
    """
    document = yaml.safe_load(kubeconfig)
    clusters = document.get("clusters") if isinstance(document, dict) else None
    if not clusters:
        raise ValueError(f"{KUBECONFIG_SECRET} holds no kubeconfig with clusters")
    for entry in clusters:
        cluster = entry.setdefault("cluster", {})
        cluster["server"] = server
        cluster["tls-server-name"] = tls_server_name
    return yaml.safe_dump(document, sort_keys=False)


def load_balancer_address(status: Any) -> str:
    """`https://<ip or hostname>:5443` of a LoadBalancer Service's status."""
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    for point in ingress:
        host = point.ip or point.hostname
        if host:
            return f"https://{host}:{API_PORT}"
    raise ValueError(f"Service {API_SERVICE} has no load balancer address yet")


class KarmadaControlPlane(pulumi.ComponentResource):
    """Karmada (official chart, pinned, `installMode: host`) on the hub cluster.

    Give it the hub's provider (`ResourceOptions(providers=[hub])`). `kubeconfig` is a
    secret: the chart's admin kubeconfig, pointed at `api_endpoint`, which is the Karmada
    API server's load balancer (`LoadBalancer`, the default, open only to
    `allowed_source_ranges`) or `api_server` when given. A `kubernetes.Provider` built on
    it (`k8s.Provider("karmada", kubeconfig=cp.kubeconfig)`) talks to the Karmada API:
    register members there and send the app there, once. With `ClusterIP` and no
    `api_server` the kubeconfig only works inside the hub.
    """

    kubeconfig: pulumi.Output[str]
    #: the URL the kubeconfig points at
    api_endpoint: pulumi.Output[str]
    #: the Karmada API server's URL inside the hub cluster
    in_cluster_endpoint: pulumi.Output[str]
    version: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: KarmadaControlPlaneArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("daca:k8s:KarmadaControlPlane", name, None, opts)
        release = pinned_release(
            f"{name}-release",
            PinnedChart(
                release=RELEASE_NAME,
                chart="karmada",
                repo=CHART_REPO,
                version=args.version,
                namespace=args.namespace,
                values=chart_values(args),
                # Helm waits for the load balancer's address too; certificates, etcd and
                # five control-plane Deployments take a few minutes on a small hub
                timeout=900,
            ),
            child_options(self, opts),
        )
        in_cluster = in_cluster_address(args.namespace)
        # an id known only once the release is deployed: `pulumi preview` skips the read
        # (the Secret does not exist yet) instead of failing (pulumi/pulumi#16395)
        deployed = release.status.apply(lambda _: args.namespace)
        secret = k8s.core.v1.Secret.get(
            f"{name}-kubeconfig",
            deployed.apply(lambda ns: f"{ns}/{KUBECONFIG_SECRET}"),
            opts=child_options(self, opts, depends_on=[release]),
        )
        if args.api_server is not None:
            server: pulumi.Output[str] = pulumi.Output.from_input(args.api_server)
        elif args.api_service_type == "LoadBalancer":
            service = k8s.core.v1.Service.get(
                f"{name}-apiserver",
                deployed.apply(lambda ns: f"{ns}/{API_SERVICE}"),
                opts=child_options(self, opts, depends_on=[release]),
            )
            server = service.status.apply(load_balancer_address)
        else:
            server = pulumi.Output.from_input(in_cluster)
        tls_name = in_cluster.removeprefix("https://").rsplit(":", 1)[0]
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(secret.data, server).apply(
                lambda v: reachable_kubeconfig(_decoded(v[0]), v[1], tls_name)
            )
        )
        self.api_endpoint = server
        self.in_cluster_endpoint = pulumi.Output.from_input(in_cluster)
        self.version = pulumi.Output.from_input(args.version)
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "apiEndpoint": self.api_endpoint,
                "inClusterEndpoint": self.in_cluster_endpoint,
                "version": self.version,
            }
        )


def _decoded(data: Mapping[str, str] | None) -> str:
    if not data or KUBECONFIG_KEY not in data:
        raise ValueError(f"Secret {KUBECONFIG_SECRET} has no {KUBECONFIG_KEY!r} key")
    return base64.b64decode(data[KUBECONFIG_KEY]).decode("utf-8")
