"""LLM server policies: a model server requests the CPU, memory (and GPUs) it needs.

A model server without requests is scheduled anywhere, then OOM-killed or evicted as soon
as it maps its model; a vLLM engine without an `nvidia.com/gpu` limit gets no GPU at all.
Servers are recognised by the `daca.dev/llm-server` label the platform sets (on the
workload or its pod template) or by their image (llama.cpp's, vLLM's); the vLLM chart
(`vllm-stack`) is checked on its release values, since its Deployments are rendered by Helm.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .spec import (
    WORKLOAD_TYPES,
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_dict,
    as_list,
    as_number,
    containers,
    get,
    is_unknown,
    pod_template,
    require_pod_spec,
)

LLM_SERVER_LABEL = "daca.dev/llm-server"
#: image repositories of model servers, and whether they are GPU engines
SERVER_IMAGES = {
    "ghcr.io/ggml-org/llama.cpp": False,
    "vllm/vllm-openai": True,
    "docker.io/vllm/vllm-openai": True,
    "lmcache/vllm-openai": True,
}
VLLM_CHART = "vllm-stack"
#: Kubernetes quantity suffixes; "m" is a thousandth: "512m" of memory is half a byte
_UNITS = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_UNITS |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def _bytes(value: Any) -> float | None:
    """A memory quantity in bytes; None when it is not one."""
    number = as_number(value)  # plain bytes, "129e6" too
    if number is not None:
        return number
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)(m|k|[KMGTPE]i|[MGTPE])", str(value))
    return float(match[1]) * _UNITS[match[2]] if match else None


def _repository(image: Any) -> str:
    text = str(image).split("@", 1)[0]
    head, _, tail = text.rpartition(":")
    return head if head and "/" not in tail else text


def _server_kind(resource: Resource) -> str | None:
    """`llamacpp`, `vllm` (or another label value) for a model server; None otherwise."""
    for labels in (
        get(resource.props, "metadata", "labels"),
        get(pod_template(resource), "metadata", "labels"),
    ):
        value = as_dict(labels).get(LLM_SERVER_LABEL)
        if isinstance(value, str) and not is_unknown(value):
            return value
    for _, c in containers(resource, include_init=False):
        gpu = SERVER_IMAGES.get(_repository(c.get("image")))
        if gpu is not None:
            return "vllm" if gpu else "llamacpp"
    return None


def _memory_problem(label: str, request: Any, config: Config) -> str | None:
    minimum = _bytes(config.get("minMemoryRequest", "1Gi"))
    size = _bytes(request)
    if minimum is not None and size is not None and size < minimum:
        return (
            f"{label} requests {request} of memory, under the "
            f"{config.get('minMemoryRequest', '1Gi')} a model server needs"
        )
    return None


def validate_server_resources(resource: Resource, config: Config) -> list[str]:
    """Every container of a model server requests CPU and memory, and caps its memory; a
    GPU engine (vLLM) also limits `nvidia.com/gpu`."""
    require_pod_spec(resource)
    kind = _server_kind(resource)
    if kind is None:
        raise NotApplicable("not an LLM server")
    out = []
    for label, c in containers(resource, include_init=False):
        requests = as_dict(get(c, "resources", "requests"))
        limits = as_dict(get(c, "resources", "limits"))
        missing = [f"requests.{k}" for k in ("cpu", "memory") if requests.get(k) is None]
        if limits.get("memory") is None:
            missing.append("limits.memory")
        if kind == "vllm" and as_number(limits.get("nvidia.com/gpu")) in (None, 0):
            missing.append("limits.nvidia.com/gpu")
        if missing:
            out.append(f"LLM server {label} has no resources.{', resources.'.join(missing)}")
        elif (problem := _memory_problem(label, requests["memory"], config)) is not None:
            out.append(f"LLM server {problem}")
    return out


def _chart_name(resource: Resource) -> Any:
    return resource.props.get("chart")


def validate_vllm_chart_resources(resource: Resource, config: Config) -> list[str]:
    """Every enabled model of a `vllm-stack` release requests CPU, memory and GPUs."""
    chart = _chart_name(resource)
    if is_unknown(chart) or not str(chart or "").endswith(VLLM_CHART):
        raise NotApplicable("not the vllm-stack chart")
    values = as_dict(resource.props.get("values"))
    engine = as_dict(values.get("servingEngineSpec"))
    out = []
    for i, spec in enumerate(as_list(engine.get("modelSpec"))):
        model: Mapping[str, Any] = as_dict(spec)
        if model.get("enabled") is False:
            continue
        label = f"modelSpec[{i}] ({model.get('name', '?')})"
        if isinstance(model.get("resources"), Mapping) and model["resources"]:
            raw = model["resources"]
            requests, limits = as_dict(raw.get("requests")), as_dict(raw.get("limits"))
            fields = {
                "requests.cpu": requests.get("cpu"),
                "requests.memory": requests.get("memory"),
                "limits.nvidia.com/gpu": limits.get("nvidia.com/gpu"),
            }
        else:
            fields = {
                "requestCPU": model.get("requestCPU"),
                "requestMemory": model.get("requestMemory"),
                "requestGPU": model.get("requestGPU"),
            }
        missing = [k for k, v in fields.items() if v is None or as_number(v) == 0]
        if missing:
            out.append(f"vLLM {label} sets no {', no '.join(missing)}")
            continue
        memory = next(v for k, v in fields.items() if k.endswith(("memory", "Memory")))
        if (problem := _memory_problem(label, memory, config)) is not None:
            out.append(f"vLLM {problem}")
    return out


_MIN_MEMORY = {
    "minMemoryRequest": {
        "type": "string",
        "default": "1Gi",
        "description": "The least memory a model server may request (a quantity).",
    }
}

POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="llm-server-resources",
        description="LLM servers request the CPU and memory they need (and vLLM its GPUs).",
        severity="high",
        enforcement="mandatory",
        remediation="Set resources.requests.cpu, requests.memory (at least the model's size "
        "plus its context) and limits.memory on the model server; a vLLM engine also needs "
        "limits.nvidia.com/gpu. In daca:llm, see llamacpp.resources and vllm.*.",
        config_schema=_MIN_MEMORY,
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_server_resources,
    ),
    PolicySpec(
        name="llm-vllm-chart-resources",
        description="Every model of the vLLM production-stack chart requests CPU, memory and GPUs.",
        severity="high",
        enforcement="mandatory",
        remediation="Set requestCPU, requestMemory and requestGPU (>= 1) on every enabled "
        "servingEngineSpec.modelSpec entry (or requests/limits in its resources block).",
        config_schema=_MIN_MEMORY,
        resource_types=("kubernetes:helm.sh/v3:Release",),
        validate_resource=validate_vllm_chart_resources,
    ),
]
