"""The `prototype` stage's config: the local kind cluster, its registry, and the kind file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import AfterValidator

from infra.config.base import (
    NAMESPACE,
    REPO_ROOT,
    ConfigError,
    DnsLabel,
    HostPort,
    PinnedImage,
    _Section,
    parse_image,
)
from infra.config.kubernetes import KubernetesStackConfig

#: the oldest kind this stage is checked with; the default node image is the one its
#: release published for Kubernetes v1.34.0 (kubernetes-sigs/kind v0.30.0,
#: pkg/apis/config/defaults/image.go), and `pulumi up` stops on an older kind
MIN_KIND_VERSION = "0.30.0"
KIND_NODE_IMAGE = (
    "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
)


def _digest_pinned(value: str) -> str:
    # kind pushes a node image tag again for later kind releases, built for them
    if parse_image(value)[2] is None:
        raise ValueError(
            "must be pinned by digest (kindest/node:<version>@sha256:<digest>): kind "
            "publishes node images per kind release and reuses their tags; take the image "
            "from your kind release's notes"
        )
    return value


class KindConfig(_Section):
    """The local kind cluster."""

    cluster_name: DnsLabel = "daca"
    node_image: Annotated[PinnedImage, AfterValidator(_digest_pinned)] = KIND_NODE_IMAGE
    config_file: str = "infra/kind/cluster.yaml"

    @property
    def kubernetes_version(self) -> str:
        _, tag, _ = parse_image(self.node_image)
        return (tag or "").lstrip("v")


class RegistryConfig(_Section):
    """The local image registry container kind pulls from.

    Not kind's own `kind-registry` on 5001 (its local-registry script's names, which
    many kind users already run): 5017 is unassigned by IANA.
    """

    name: DnsLabel = "daca-registry"
    host_port: HostPort = 5017
    image: PinnedImage = "registry:2.8.3"


class PrototypeConfig(KubernetesStackConfig):
    """The `prototype` stage: kind, a local registry, Helm-installed Dapr, Redis."""

    stage: Literal["prototype"]
    kind: KindConfig = KindConfig()
    registry: RegistryConfig = RegistryConfig()

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.redis"}),
        "pubsub": frozenset({"pubsub.redis", "pubsub.kafka"}),
        "secretStore": frozenset({"secretstores.kubernetes"}),
    }

    @property
    def kubernetes_version(self) -> str:
        return self.kind.kubernetes_version


# --- the committed kind cluster file ------------------------------------------------

NODE_PORT_RANGE = range(30000, 32768)
_REGISTRY_PATCH = 'config_path = "/etc/containerd/certs.d"'


@dataclass(frozen=True)
class KindClusterFile:
    """What the program needs from the kind config file."""

    path: Path
    #: the nodePort the app's Service uses (a mapped containerPort in the NodePort range)
    node_port: int
    #: the port the app answers on at localhost
    host_port: int
    listen_address: str


def read_kind_config(config_file: str, root: Path = REPO_ROOT) -> KindClusterFile:
    """Read and check the kind config named by `daca:kind.configFile`."""
    key = f"{NAMESPACE}:kind.configFile"
    path = (root / config_file).resolve()
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{key}: {config_file!r} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: {config_file!r} is not valid YAML ({exc})") from None
    if not isinstance(document, dict) or document.get("kind") != "Cluster":
        raise ConfigError(f"{key}: {config_file!r} is not a kind Cluster config")
    patches = document.get("containerdConfigPatches") or []
    if not any(_REGISTRY_PATCH in str(patch) for patch in patches):
        raise ConfigError(
            f"{key}: {config_file!r} lacks the local-registry containerd patch "
            f"({_REGISTRY_PATCH}); the cluster could not pull the app image"
        )
    mappings = [
        mapping
        for node in document.get("nodes") or []
        for mapping in (node or {}).get("extraPortMappings") or []
        if isinstance(mapping, dict) and mapping.get("containerPort") in NODE_PORT_RANGE
    ]
    if len(mappings) != 1:
        raise ConfigError(
            f"{key}: {config_file!r} must map exactly one containerPort in "
            f"{NODE_PORT_RANGE.start}-{NODE_PORT_RANGE.stop - 1} (the app's nodePort) to a "
            f"hostPort; found {len(mappings)}"
        )
    mapping = mappings[0]
    host_port = mapping.get("hostPort")
    if not isinstance(host_port, int) or not 1 <= host_port <= 65535:
        raise ConfigError(f"{key}: {config_file!r} hostPort {host_port!r} is not a port")
    return KindClusterFile(
        path=path,
        node_port=int(mapping["containerPort"]),
        host_port=host_port,
        listen_address=str(mapping.get("listenAddress", "127.0.0.1")),
    )
