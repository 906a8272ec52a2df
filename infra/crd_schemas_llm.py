"""A focused JSON schema for the `vllm-stack` chart values this project sets.

Written from vllm-project/production-stack at tag vllm-stack-0.1.12 (helm/values.yaml and
helm/values.schema.json), for the keys `infra.components.kubernetes.vllm_stack` writes,
with the chart schema's types (e.g. `requestCPU` is an integer there). The chart's own
schema allows unknown keys everywhere, so a misspelled `requestGpu` would be ignored by
Helm and the engine would start without a GPU: this one rejects unknown keys.
"""

from __future__ import annotations

from typing import Any

from infra.crd_schemas import STRING_MAP, strict

_NUMBERISH: dict[str, Any] = {"type": ["integer", "number", "string"]}
_TOLERATION = strict(
    {
        "key": {"type": "string"},
        "operator": {"enum": ["Exists", "Equal"]},
        "value": {"type": "string"},
        "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
    },
    ["key", "operator", "effect"],
)
_ENV = strict({"name": {"type": "string"}, "value": {"type": "string"}}, ["name", "value"])

_MODEL_SPEC = strict(
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "repository": {"type": "string", "minLength": 1},
        "tag": {"type": "string", "minLength": 1, "not": {"const": "latest"}},
        "modelURL": {"type": "string", "minLength": 1},
        "modelRevision": {"type": "string"},
        "replicaCount": {"type": "integer", "minimum": 1},
        "requestCPU": {"type": "integer", "minimum": 1},
        "requestMemory": {"type": "string"},
        "requestGPU": {"type": ["integer", "number", "string"]},
        "limitCPU": _NUMBERISH,
        "limitMemory": {"type": "string"},
        "pvcStorage": {"type": "string"},
        "pvcAccessMode": {"type": "array", "items": {"type": "string"}},
        "storageClass": {"type": "string"},
        "runtimeClassName": {"type": "string"},
        "podLabels": STRING_MAP,
        "env": {"type": "array", "items": _ENV},
        "tolerations": {"type": "array", "items": _TOLERATION},
        "nodeSelectorTerms": {"type": "array"},
        "vllmConfig": strict(
            {
                "maxModelLen": {"type": "integer"},
                "gpuMemoryUtilization": _NUMBERISH,
                "dtype": {"type": "string"},
            }
        ),
        "lmcacheConfig": strict({"enabled": {"type": "boolean"}}),
    },
    ["name", "repository", "tag", "modelURL", "requestCPU", "requestMemory", "requestGPU"],
)

#: the values passed to the vllm-stack 0.1.12 release
VLLM_STACK_VALUES = strict(
    {
        "servingEngineSpec": strict(
            {
                "runtimeClassName": {"type": "string"},
                "labels": STRING_MAP,
                "modelSpec": {"type": "array", "minItems": 1, "items": _MODEL_SPEC},
                "securityContext": {"type": "object"},
                "containerSecurityContext": strict(
                    {
                        "runAsNonRoot": {"type": "boolean"},
                        "allowPrivilegeEscalation": {"type": "boolean"},
                    }
                ),
            },
            ["modelSpec"],
        ),
        "routerSpec": strict(
            {
                "repository": {"type": "string"},
                "tag": {"type": "string", "not": {"const": "latest"}},
                "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                "resources": strict(
                    {
                        "requests": strict(
                            {"cpu": {"type": "string"}, "memory": {"type": "string"}}
                        ),
                        "limits": strict({"memory": {"type": "string"}}),
                    }
                ),
            },
            ["repository", "tag"],
        ),
    },
    ["servingEngineSpec", "routerSpec"],
)
