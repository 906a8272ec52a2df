"""vLLM's production-stack chart (`vllm-stack`): vLLM engines on GPU nodes behind its router.

The chart's `servingEngineSpec.modelSpec` (read at chart 0.1.12: helm/values.yaml and
helm/values.schema.json of vllm-project/production-stack, tag vllm-stack-0.1.12) holds the
model (a Hugging Face id, downloaded by vLLM onto the model's PVC), replicas, CPU, memory
and `nvidia.com/gpu` requests. The router Service `<release>-router-service` (port 80)
is what the app calls; it answers the OpenAI API under `/v1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components.kubernetes.helm import PinnedChart, pinned_release
from infra.components.options import child_options
from infra.config.llm import GPU_NODE_LABEL, GPU_TAINT_KEY, VLLM_RELEASE, LlmConfig

VLLM_STACK_CHART = PinnedChart(
    release=VLLM_RELEASE,
    chart="vllm-stack",
    repo="https://vllm-project.github.io/production-stack",
    version="0.1.12",
    namespace="llm",
    # engines download the model before they are ready
    timeout=1800,
)
#: NVIDIA's device plugin, which advertises `nvidia.com/gpu` on the GPU nodes (AKS installs
#: only the driver). Read at tag v0.20.0 of NVIDIA/k8s-device-plugin
#: (deployments/helm/nvidia-device-plugin): its default affinity wants a label from
#: node-feature-discovery, which we do not run, so it selects our GPU pool's label instead
#: (a list, so Helm replaces the default rather than merging into it); its default
#: tolerations already include `nvidia.com/gpu`; the image tag follows the chart.
NVIDIA_DEVICE_PLUGIN_CHART = PinnedChart(
    release="nvidia-device-plugin",
    repo="https://nvidia.github.io/k8s-device-plugin",
    version="0.20.0",
    namespace="nvidia-device-plugin",
    values={
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": GPU_NODE_LABEL[0],
                                    "operator": "In",
                                    "values": [GPU_NODE_LABEL[1]],
                                }
                            ]
                        }
                    ]
                }
            }
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"memory": "128Mi"},
        },
    },
)
#: the router image the chart's release workflow publishes with chart 0.1.12
#: (.github/workflows/helm-release.yml: lmcache/lmstack-router:v<chart version>)
ROUTER_IMAGE = ("lmcache/lmstack-router", "v0.1.12")
#: the taint GPU node pools carry, so only pods that tolerate it land there
GPU_TAINT = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
VLLM_UID = 10802
#: the label the model pods carry, for the policy pack
LLM_SERVER_LABEL = "daca.dev/llm-server"


@dataclass(frozen=True)
class VllmStackArgs:
    #: the engine, model, sizes and resources (`daca:llm`, engine vllm)
    config: LlmConfig


def vllm_values(config: LlmConfig) -> dict[str, Any]:
    """The chart values: one model, its GPUs, a PVC per the chart, pinned images."""
    v = config.vllm
    model: dict[str, Any] = {
        "name": "model",
        "repository": v.image_repository,
        "tag": v.image_tag,
        "modelURL": v.model_url,
        "replicaCount": config.replicas,
        "requestCPU": v.cpus,
        "requestMemory": v.memory_request,
        "requestGPU": v.gpus,
        "limitCPU": v.cpu_limit,
        "limitMemory": v.memory_limit,
        "pvcStorage": config.storage,
        "pvcAccessMode": ["ReadWriteOnce"],
        # AKS GPU nodes run the NVIDIA runtime as containerd's default: no RuntimeClass
        "runtimeClassName": "",
        "podLabels": {LLM_SERVER_LABEL: "vllm"},
        # the PVC is /data (HF_HOME); caches under HOME must be writable for a non-root user
        "env": [{"name": "HOME", "value": "/data"}],
        "tolerations": [GPU_TAINT],
        "nodeSelectorTerms": [
            {
                "matchExpressions": [
                    {"key": GPU_NODE_LABEL[0], "operator": "In", "values": [GPU_NODE_LABEL[1]]}
                ]
            }
        ],
        "vllmConfig": {
            "maxModelLen": v.max_model_len,
            "gpuMemoryUtilization": v.gpu_memory_utilization,
        },
        "lmcacheConfig": {"enabled": False},
    }
    if v.model_revision is not None:
        model["modelRevision"] = v.model_revision
    if config.storage_class is not None:
        model["storageClass"] = config.storage_class
    return {
        "servingEngineSpec": {
            "runtimeClassName": "",
            "labels": {LLM_SERVER_LABEL: "vllm"},
            "modelSpec": [model],
            # the image runs as root by default; run it as a plain user, the PVC group-owned
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": VLLM_UID,
                "runAsGroup": VLLM_UID,
                "fsGroup": VLLM_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containerSecurityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        },
        "routerSpec": {
            "repository": ROUTER_IMAGE[0],
            "tag": ROUTER_IMAGE[1],
            "imagePullPolicy": "IfNotPresent",
            "resources": {
                "requests": {"cpu": "200m", "memory": "256Mi"},
                "limits": {"memory": "512Mi"},
            },
        },
    }


class VllmStack(pulumi.ComponentResource):
    """NVIDIA's device plugin, then the production-stack release, reached at
    :attr:`base_url`."""

    base_url: pulumi.Output[str]
    #: the Helm release (atomic: done when its pods are ready): what the app waits for
    ready: pulumi.Resource

    def __init__(
        self, name: str, args: VllmStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:llm:VllmStack", name, None, opts)
        chart = PinnedChart(
            **{
                **VLLM_STACK_CHART.__dict__,
                "namespace": args.config.namespace,
                "values": vllm_values(args.config),
            }
        )
        device_plugin = pinned_release(
            f"{name}-nvidia-device-plugin", NVIDIA_DEVICE_PLUGIN_CHART, child_options(self, opts)
        )
        # the engines stay Pending until the plugin advertises the GPUs
        self.ready = pinned_release(
            f"{name}-release", chart, child_options(self, opts, depends_on=[device_plugin])
        )
        self.base_url = pulumi.Output.from_input(args.config.base_url)
        self.register_outputs({"baseUrl": self.base_url})
