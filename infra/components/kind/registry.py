"""A local image registry container wired into a kind cluster.

Follows kind's local-registry recipe: the registry container joins the `kind` docker
network, every node gets a containerd `hosts.toml` that sends `localhost:<port>` pulls
to it, and the `local-registry-hosting` ConfigMap (KEP-1755) tells tools where it is.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s
from pulumi_command import local

from infra.components.options import child_options

REGISTRY_PORT = 5000  # the port inside the registry container
KIND_NETWORK = "kind"


@dataclass(frozen=True)
class LocalRegistryArgs:
    #: the registry container's name; nodes reach it as `<name>:5000`
    container_name: str
    #: the pinned registry image, e.g. `registry:2.8.3`
    image: str
    #: the port on 127.0.0.1 that `docker push localhost:<port>/...` uses
    host_port: int
    #: the kind cluster whose nodes pull from the registry (an output of the cluster, so
    #: that the registry is created after it)
    cluster_name: pulumi.Input[str]
    #: the cluster's identity: a recreated cluster has new nodes to configure
    cluster_id: pulumi.Input[str] = ""


def node_config_script(cluster: str, host: str, hosts_toml: str) -> str:
    """The shell command that writes `hosts_toml` for `host` on every node of `cluster`.

    It fails if any node fails (a loop alone returns only the last node's status) and if
    the cluster has no nodes (`kind get nodes` exits 0 for a cluster that is not there).
    """
    hosts_dir = f"/etc/containerd/certs.d/{host}"
    return (
        f"nodes=$(kind get nodes --name {shlex.quote(cluster)}) || exit 1; "
        f'[ -n "$nodes" ] || {{ printf "kind cluster %s has no nodes\\n" {shlex.quote(cluster)} '
        ">&2; exit 1; }; "
        "for node in $nodes; do "
        f'docker exec "$node" mkdir -p {shlex.quote(hosts_dir)} || exit 1; '
        f"printf %s {shlex.quote(hosts_toml)} | "
        f'docker exec -i "$node" cp /dev/stdin {shlex.quote(hosts_dir + "/hosts.toml")} '
        "|| exit 1; "
        "done"
    )


class LocalRegistry(pulumi.ComponentResource):
    """The registry container, the node-side containerd config and the ConfigMap.

    The Kubernetes provider for the ConfigMap comes in through `opts.providers`.
    """

    host: pulumi.Output[str]
    #: the registry container's id: a new container starts empty (nothing pushed to the
    #: old one survives it), so whatever pushes here follows this
    container_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:kind:LocalRegistry", name, None, opts)
        host = f"localhost:{args.host_port}"
        image = docker.RemoteImage(
            f"{name}-image",
            name=args.image,
            keep_locally=True,
            opts=child_options(self, opts),
        )
        container = docker.Container(
            f"{name}-container",
            name=args.container_name,
            image=image.image_id,
            restart="always",
            ports=[
                docker.ContainerPortArgs(
                    internal=REGISTRY_PORT, external=args.host_port, ip="127.0.0.1"
                )
            ],
            # kind creates the `kind` network with the cluster: the name is derived from
            # the cluster name so that the container waits for the cluster
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=pulumi.Output.from_input(args.cluster_name).apply(lambda _: KIND_NETWORK)
                )
            ],
            opts=child_options(self, opts),
        )
        hosts_toml = f'[host."http://{args.container_name}:{REGISTRY_PORT}"]\n'
        configure_nodes = pulumi.Output.from_input(args.cluster_name).apply(
            lambda cluster: node_config_script(cluster, host, hosts_toml)
        )
        nodes = local.Command(
            f"{name}-node-config",
            create=configure_nodes,
            triggers=[container.id, args.cluster_id],
            opts=child_options(self, opts, depends_on=[container]),
        )
        k8s.core.v1.ConfigMap(
            f"{name}-hosting",
            metadata={"name": "local-registry-hosting", "namespace": "kube-public"},
            data={
                "localRegistryHosting.v1": (
                    f'host: "{host}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'
                )
            },
            opts=child_options(self, opts, depends_on=[nodes]),
        )
        self.host = pulumi.Output.all(container.id, nodes.id).apply(lambda _: host)
        self.container_id = container.id
        self.register_outputs({"host": self.host, "containerId": self.container_id})
