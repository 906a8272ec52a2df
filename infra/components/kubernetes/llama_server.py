"""llama.cpp's OpenAI-compatible `llama-server`, serving a GGUF model kept on a volume.

A StatefulSet, not a Deployment: every replica gets its own ReadWriteOnce volume from
`volumeClaimTemplates` (one shared RWO claim cannot be mounted by replicas on several
nodes, and a Deployment's rolling update would wait forever for it to detach). An init
container (the same pinned image, which ships curl) downloads the model onto the volume
once, checks its SHA-256 when one is given, and skips the download when the file is
already there. The model is never part of an image.

`/health` answers 503 while the model loads and 200 once it serves (tools/server
`server-http.cpp` at b9859: every route is 503 until the server is ready), so the startup
and readiness probes on it hold traffic back until the model is in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.app_namespace import AppNamespace, AppNamespaceArgs
from infra.components.kubernetes.conventions import (
    container_security_context,
    pod_security_context,
    resource_requirements,
    standard_labels,
)
from infra.components.options import child_options
from infra.config import parse_image
from infra.config.llm import LLAMACPP_PORT, LLAMACPP_SERVICE, LlmConfig

#: a high UID no host account has; the image runs as root unless told otherwise
LLAMA_UID = 10801
MODEL_DIR = "/models"
#: what the policy pack (and Services) recognise an LLM server by
LLM_SERVER_LABEL = "daca.dev/llm-server"
#: how long Pulumi waits for the StatefulSet: the first start downloads the model
AWAIT_SECONDS = 1800

# POSIX sh, run by the init container. Verifies an existing file when a digest is given
# (a truncated or corrupted copy is fetched again), downloads to a temporary name and
# renames only a verified file, so a killed download never looks complete.
DOWNLOAD_SCRIPT = """\
set -eu
target="$MODEL_DIR/$MODEL_FILE"
verify() { [ -z "$MODEL_SHA256" ] || echo "$MODEL_SHA256  $1" | sha256sum -c --status; }
if [ -s "$target" ] && verify "$target"; then
  echo "model $MODEL_FILE is on the volume"; exit 0
fi
echo "downloading $MODEL_URL"
curl -fL --retry 5 --retry-delay 10 --connect-timeout 30 -o "$target.part" "$MODEL_URL"
if ! verify "$target.part"; then
  echo "SHA-256 of $MODEL_FILE is not $MODEL_SHA256" >&2; rm -f "$target.part"; exit 1
fi
mv "$target.part" "$target"
echo "model $MODEL_FILE downloaded"
"""


@dataclass(frozen=True)
class LlamaServerArgs:
    #: the engine, model, sizes and resources (`daca:llm`, engine llamacpp)
    config: LlmConfig
    #: the app's namespace and pod labels: the only clients the server admits
    client_namespace: pulumi.Input[str]
    client_selector: dict[str, str]
    #: addresses the server's pods may never reach (the cloud's metadata service)
    deny_egress_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the stack's config check says so first; a program building this component
        # directly would otherwise deploy an init container that can never download
        if self.config.model.url is None:
            raise ValueError("LlamaServer needs config.model.url: the GGUF file it serves")


def server_args(config: LlmConfig) -> list[str]:
    """llama-server's flags (tools/server/README.md at b9859)."""
    cpp = config.llamacpp
    return [
        "--model",
        f"{MODEL_DIR}/{config.model.file}",
        "--alias",
        config.model.name,
        "--host",
        "0.0.0.0",  # noqa: S104 - a pod serves on its pod IP; the NetworkPolicy admits only the app
        "--port",
        str(LLAMACPP_PORT),
        "--ctx-size",
        str(cpp.context_size),
        "--threads",
        str(cpp.threads),
        "--parallel",
        str(cpp.parallel),
        "--metrics",
        "--no-webui",
    ]


def _probes() -> dict[str, Any]:
    """Startup allows 10 minutes to map the model; then readiness follows /health."""
    health = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5}
    return {
        "startupProbe": {**health, "periodSeconds": 10, "failureThreshold": 60},
        "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**health, "periodSeconds": 20, "failureThreshold": 6},
    }


def download_container(config: LlmConfig) -> dict[str, Any]:
    """The init container that puts the model on the volume."""
    r = config.llamacpp.resources
    return {
        "name": "fetch-model",
        "image": config.llamacpp.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", DOWNLOAD_SCRIPT],
        "env": [
            {"name": "MODEL_DIR", "value": MODEL_DIR},
            {"name": "MODEL_FILE", "value": config.model.file},
            {"name": "MODEL_URL", "value": config.model.url},
            {"name": "MODEL_SHA256", "value": config.model.sha256 or ""},
            {"name": "HOME", "value": "/tmp"},
        ],
        # hashing a GB-sized file is CPU-bound: the server's own CPU budget
        "resources": resource_requirements(r.cpu_request, "64Mi", r.cpu_limit, "256Mi"),
        "securityContext": container_security_context(LLAMA_UID),
        "volumeMounts": [
            {"name": "models", "mountPath": MODEL_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def server_container(config: LlmConfig) -> dict[str, Any]:
    r = config.llamacpp.resources
    return {
        "name": "llama-server",
        "image": config.llamacpp.image,
        "imagePullPolicy": "IfNotPresent",
        "args": server_args(config),
        "env": [{"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "http", "containerPort": LLAMACPP_PORT}],
        "resources": resource_requirements(
            r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit
        ),
        "securityContext": container_security_context(LLAMA_UID),
        **_probes(),
        "volumeMounts": [
            {"name": "models", "mountPath": MODEL_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def statefulset_spec(
    config: LlmConfig,
    labels: dict[str, str],
    selector: dict[str, str],
    service_name: str,
    service_account: pulumi.Input[str],
) -> dict[str, Any]:
    """`replicas` servers, each with its own model volume."""
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": config.storage}},
    }
    if config.storage_class is not None:
        claim["storageClassName"] = config.storage_class
    return {
        "serviceName": service_name,
        "replicas": config.replicas,
        # replicas start together: each downloads to its own volume
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security_context(LLAMA_UID),
                "initContainers": [download_container(config)],
                "containers": [server_container(config)],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
        "volumeClaimTemplates": [
            {"metadata": {"name": "models", "labels": selector}, "spec": claim}
        ],
    }


def network_policy_spec(args: LlamaServerArgs, selector: dict[str, str]) -> dict[str, Any]:
    """Only the app's pods, from the app's namespace, reach the server, on its port."""
    return {
        "podSelector": {"matchLabels": selector},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": args.client_namespace}
                        },
                        "podSelector": {"matchLabels": args.client_selector},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": LLAMACPP_PORT}],
            }
        ],
    }


class LlamaServer(pulumi.ComponentResource):
    """llama-server in a namespace of its own, reached at :attr:`base_url`."""

    #: the OpenAI-compatible base URL inside the cluster
    base_url: pulumi.Output[str]
    #: the StatefulSet (Pulumi waits for its pods to be ready): what the app waits for
    ready: k8s.apps.v1.StatefulSet

    def __init__(
        self, name: str, args: LlamaServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:llm:LlamaServer", name, None, opts)
        config = args.config
        _, tag, _ = parse_image(config.llamacpp.image)
        labels = {**standard_labels(LLAMACPP_SERVICE, "llm", tag), LLM_SERVER_LABEL: "llamacpp"}
        selector = {
            "app.kubernetes.io/name": LLAMACPP_SERVICE,
            "app.kubernetes.io/component": "llm",
        }
        namespace = AppNamespace(
            f"{name}-namespace",
            AppNamespaceArgs(
                name=config.namespace, enforce="restricted", deny_egress_to=args.deny_egress_to
            ),
            opts=child_options(self, opts),
        )
        child = child_options(self, opts, depends_on=[namespace])
        meta = {"namespace": config.namespace, "labels": labels}
        headless = f"{LLAMACPP_SERVICE}-headless"
        # its own identity, with no API token: the server never talks to Kubernetes
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": LLAMACPP_SERVICE, **meta},
            automount_service_account_token=False,
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-headless",
            metadata={"name": headless, **meta},
            spec={
                "clusterIP": "None",
                "selector": selector,
                "ports": [{"name": "http", "port": LLAMACPP_PORT, "targetPort": "http"}],
            },
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": LLAMACPP_SERVICE, **meta},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": LLAMACPP_PORT, "targetPort": "http"}],
            },
            opts=child,
        )
        self.ready = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={
                "name": LLAMACPP_SERVICE,
                **meta,
                "annotations": {"pulumi.com/timeoutSeconds": str(AWAIT_SECONDS)},
            },
            spec=statefulset_spec(config, labels, selector, headless, account.metadata.name),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-clients",
            metadata={"name": f"{LLAMACPP_SERVICE}-clients", **meta},
            spec=network_policy_spec(args, selector),
            opts=child,
        )
        self.base_url = pulumi.Output.concat(
            "http://",
            service.metadata.name,
            ".",
            service.metadata.namespace,
            f".svc.cluster.local:{LLAMACPP_PORT}/v1",
        )
        self.register_outputs({"baseUrl": self.base_url})
