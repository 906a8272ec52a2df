"""A local Kubernetes cluster run by kind, created and deleted with the stack."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local

from infra.components.options import child_options
from infra.config.prototype import MIN_KIND_VERSION


@dataclass(frozen=True)
class KindClusterArgs:
    #: the kind cluster name; its kubeconfig context is `kind-<name>`
    cluster_name: str
    #: the pinned `kindest/node` image; its tag is the Kubernetes version
    node_image: str
    #: the kind config file (port mappings, node labels, the registry patch)
    config_file: Path
    #: the oldest kind (MAJOR.MINOR.PATCH) the node image is known to work with
    min_kind_version: str = MIN_KIND_VERSION


def kind_version_check(minimum: str) -> str:
    """A shell command that fails, naming both versions, when `kind version` is older
    than `minimum` (or unreadable)."""
    major, minor, patch = (int(part) for part in minimum.split("."))
    floor = major * 1_000_000 + minor * 1_000 + patch
    return (
        'found=$(kind version) || exit 1; set -- $(printf "%s\\n" "$found" | sed -n '
        "'s/^kind v\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\).*/\\1 \\2 \\3/p'); "
        f"if [ $# -ne 3 ] || [ $(($1 * 1000000 + $2 * 1000 + $3)) -lt {floor} ]; then "
        f'printf "this stack needs kind v{minimum} or newer, the oldest its node image is '
        f'checked with; found: %s (upgrade kind)\\n" "$found" >&2; exit 1; fi'
    )


class KindCluster(pulumi.ComponentResource):
    """Runs `kind create cluster` on create and `kind delete cluster` on destroy.

    A change of node image or config file replaces the cluster (deleting the old one
    first): kind cannot change either in place.
    """

    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    context: pulumi.Output[str]
    #: changes whenever the cluster is recreated
    cluster_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:kind:KindCluster", name, None, opts)
        cluster = shlex.quote(args.cluster_name)
        config_digest = hashlib.sha256(args.config_file.read_bytes()).hexdigest()
        created = local.Command(
            f"{name}-cluster",
            # kind prints progress on stderr; stdout carries only the kubeconfig
            create=(
                f"{kind_version_check(args.min_kind_version)} && "
                f"kind create cluster --name {cluster} --image {shlex.quote(args.node_image)} "
                f"--config {shlex.quote(str(args.config_file))} --wait 180s 1>&2 && "
                f"kind get kubeconfig --name {cluster}"
            ),
            update=f"kind get kubeconfig --name {cluster}",
            delete=f"kind delete cluster --name {cluster}",
            triggers=[args.cluster_name, args.node_image, config_digest],
            # stdout is the kubeconfig with the admin client key: a secret output is still
            # logged unless logging is off (kind's progress on stderr is lost with it)
            logging=local.Logging.NONE,
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts),
                pulumi.ResourceOptions(
                    additional_secret_outputs=["stdout"],
                    # kind refuses a second cluster of the same name, and a command is
                    # replaced create-before-delete unless told otherwise
                    delete_before_replace=True,
                ),
            ),
        )
        self.kubeconfig = pulumi.Output.secret(created.stdout)
        # derived from the command, so whatever uses them waits for the cluster to exist
        self.cluster_name = created.id.apply(lambda _: args.cluster_name)
        self.context = created.id.apply(lambda _: f"kind-{args.cluster_name}")
        self.cluster_id = created.id
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "clusterName": self.cluster_name,
                "context": self.context,
            }
        )
