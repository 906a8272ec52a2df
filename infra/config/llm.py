"""A self-hosted, OpenAI-compatible LLM server in the cluster (`daca:llm`).

`engine: llamacpp` runs llama.cpp's `llama-server` (CPU, amd64 and arm64) on a GGUF file
downloaded from `model.url` onto a volume; `engine: vllm` installs vLLM's production-stack
chart, which needs GPU nodes. Either way the app is pointed at the server's in-cluster
OpenAI-compatible URL (:attr:`LlmConfig.base_url`) with the `openai-compatible` provider.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from infra.config.base import (
    NAMESPACE,
    ConfigError,
    DnsLabel,
    PinnedImage,
    Quantity,
    ResourcesConfig,
    _Section,
    parse_image,
)

if TYPE_CHECKING:
    from infra.config.kubernetes import KubernetesStackConfig

ENGINES = ("none", "llamacpp", "vllm")
#: the port llama-server listens on (its default, `--port`)
LLAMACPP_PORT = 8080
#: the Service and workload name of the llama.cpp server
LLAMACPP_SERVICE = "llama-server"
#: the production-stack chart's router Service (`<release>-router-service`, port 80)
VLLM_RELEASE = "vllm"
VLLM_ROUTER_PORT = 80
#: what GPU nodes carry: a taint that keeps other pods off, a label GPU pods select
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_NODE_LABEL = ("daca.dev/gpu", "nvidia")

# GGUF quantisation names as llama.cpp's `llama-quantize` writes them (F16, Q8_0, Q4_K_M,
# IQ4_XS, ...): what the file name must carry so the config says what is downloaded.
_QUANTIZATION = re.compile(r"^(F32|F16|BF16|Q[2-8](_[01K])?(_[SML])?|IQ[1-4]_(XXS|XS|S|M|NL))$")
_HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _llamacpp_image(value: str) -> str:
    _, tag, digest = parse_image(value)
    # ggml-org publishes `server` and `server-<variant>` as moving tags next to each build's
    # `server-b<N>`: only a build number (or a digest) pins the server
    if digest is None and not re.match(r"^server(-[a-z0-9]+)*-b[0-9]+$", tag or ""):
        raise ValueError(
            f"the tag {tag!r} moves with every llama.cpp build; pin a build "
            "(e.g. server-b9859) or a digest"
        )
    return value


def _model_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or not parts.path.endswith(".gguf"):
        raise ValueError(
            "must be an https URL of a .gguf file, e.g. https://huggingface.co/<org>/<repo>/"
            "resolve/<revision>/<file>.gguf"
        )
    return value


class LlmModelConfig(_Section):
    """The model file llama.cpp serves: where to download it, its digest, its quantisation."""

    #: an https URL of the GGUF file (pin a revision, not `main`, for a stable file)
    url: Annotated[str, Field(min_length=1)] | None = None
    #: the file's SHA-256 (64 hex); checked after download. Unset: no verification
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    #: the GGUF quantisation (Q4_K_M, Q8_0, F16, ...); the file name must carry it
    quantization: Annotated[str, Field(pattern=_QUANTIZATION.pattern)] = "Q4_K_M"
    #: the name the server answers to (`--alias`) and the app sends as DACA_MODEL_NAME
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][\w.:-]{0,127}$")] = "local-model"

    @model_validator(mode="after")
    def _file_carries_the_quantization(self) -> LlmModelConfig:
        if self.url is None:
            return self
        _model_url(self.url)
        if self.quantization.lower() not in self.file.lower():
            raise ValueError(
                f"the file {self.file!r} does not carry the quantization {self.quantization!r} "
                "in its name; set quantization to the file's (e.g. Q4_K_M for *-q4_k_m.gguf)"
            )
        return self

    @property
    def file(self) -> str:
        """The file name on the model volume: the URL's last path segment."""
        return urlsplit(self.url or "").path.rsplit("/", 1)[-1]


class LlamaCppConfig(_Section):
    """llama.cpp's `llama-server` (engine llamacpp)."""

    #: the official server image, multi-arch (amd64, arm64): tag server-b9859, its index
    #: digest as recorded with tools/server vendored at that tag (see docs/services.md)
    image: Annotated[PinnedImage, AfterValidator(_llamacpp_image)] = (
        "ghcr.io/ggml-org/llama.cpp:server-b9859"
        "@sha256:f415de2e2c3e61b3dfab40d7fd26136c13d342c1ae4b3ffa8657fcc6a2f43d60"
    )
    #: `--ctx-size`: tokens of context in total, shared by the slots
    context_size: Annotated[int, Field(ge=512, le=131072)] = 4096
    #: `--threads`: CPU threads for generation; keep it at or below the CPU limit
    threads: Annotated[int, Field(ge=1, le=64)] = 2
    #: `--parallel`: concurrent request slots (each gets contextSize / parallel tokens)
    parallel: Annotated[int, Field(ge=1, le=32)] = 2
    resources: ResourcesConfig = ResourcesConfig.model_validate(
        {"cpuRequest": "1", "memoryRequest": "2Gi", "cpuLimit": "2", "memoryLimit": "3Gi"}
    )

    @model_validator(mode="after")
    def _slots_have_context(self) -> LlamaCppConfig:
        if self.context_size // self.parallel < 512:
            raise ValueError(
                f"contextSize {self.context_size} over parallel {self.parallel} slots leaves "
                f"{self.context_size // self.parallel} tokens a slot; give each at least 512"
            )
        return self


class VllmConfig(_Section):
    """vLLM's production-stack chart (engine vllm); needs GPU nodes."""

    #: the Hugging Face model id vLLM downloads (`modelSpec.modelURL`)
    model_url: Annotated[str, Field(pattern=_HF_REPO.pattern)] = "Qwen/Qwen2.5-1.5B-Instruct"
    #: the model's revision (a commit, for a stable model; `modelSpec.modelRevision`)
    model_revision: Annotated[str, Field(pattern=r"^[\w.-]{1,64}$")] | None = None
    #: the serving engine image (`modelSpec.repository` + `tag`), an exact tag
    image_repository: Annotated[str, Field(pattern=r"^[a-z0-9.-]+(/[a-z0-9._-]+)+$")] = (
        "vllm/vllm-openai"
    )
    image_tag: Annotated[str, Field(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+[\w.-]*$")] = "v0.15.1"
    #: GPUs per replica (`requestGPU`, a `nvidia.com/gpu` request and limit)
    gpus: Annotated[int, Field(ge=1, le=8)] = 1
    #: whole CPUs requested (`requestCPU`: the chart's schema takes an integer)
    cpus: Annotated[int, Field(ge=1, le=64)] = 2
    memory_request: Quantity = "8Gi"
    cpu_limit: Quantity = "4"
    memory_limit: Quantity = "16Gi"
    #: `vllmConfig.maxModelLen`
    max_model_len: Annotated[int, Field(ge=512, le=131072)] = 4096
    #: `vllmConfig.gpuMemoryUtilization`, 0..1
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = 0.9


class LlmConfig(_Section):
    """A self-hosted, OpenAI-compatible LLM server; off unless the stack turns it on."""

    #: `none`, `llamacpp` (CPU; amd64 and arm64) or `vllm` (GPU nodes)
    engine: Literal["none", "llamacpp", "vllm"] = "none"
    #: the namespace the server runs in
    namespace: DnsLabel = "llm"
    #: server replicas; each keeps its own copy of the model on its own volume
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    #: the size of each replica's model volume
    storage: Quantity = "5Gi"
    #: the storage class of the model volumes; unset: the cluster's default
    storage_class: DnsLabel | None = None
    model: LlmModelConfig = LlmModelConfig()
    llamacpp: LlamaCppConfig = LlamaCppConfig()
    vllm: VllmConfig = VllmConfig()

    @property
    def enabled(self) -> bool:
        return self.engine != "none"

    @property
    def service(self) -> str:
        """The Service the app calls."""
        return f"{VLLM_RELEASE}-router-service" if self.engine == "vllm" else LLAMACPP_SERVICE

    @property
    def port(self) -> int:
        return VLLM_ROUTER_PORT if self.engine == "vllm" else LLAMACPP_PORT

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible base URL inside the cluster."""
        return f"http://{self.service}.{self.namespace}.svc.cluster.local:{self.port}/v1"

    @property
    def served_model(self) -> str:
        """The model name the app sends: llama.cpp's alias, or vLLM's model id."""
        return self.vllm.model_url if self.engine == "vllm" else self.model.name

    def check(self, stack: KubernetesStackConfig) -> None:
        """Rules across sections (the stage, the Dapr component types); raises ConfigError."""
        key = f"{NAMESPACE}:llm"
        if self.engine == "none":
            return
        if self.engine == "llamacpp" and self.model.url is None:
            raise ConfigError(
                f"{key}.model.url: engine 'llamacpp' needs the https URL of a GGUF file "
                "to download onto the model volume"
            )
        if self.engine == "vllm" and not stack.gpu_nodes:
            # planet names its regions without GPU nodes; the other stages have none at all
            where: list[str] = getattr(stack, "regions_without_gpu_nodes", list)()
            missing = f"no GPU node pool at {', '.join(where)}" if where else "none"
            raise ConfigError(
                f"{key}.engine: 'vllm' needs GPU nodes, and the clusters of stage "
                f"{stack.stage!r} have {missing}; use 'llamacpp' (CPU) or add GPU nodes"
            )
        if self.namespace == stack.app.namespace:
            raise ConfigError(
                f"{key}.namespace: {self.namespace!r} is the app's namespace; the LLM server "
                "runs in a namespace of its own"
            )
        if stack.app.model.base_url is not None:
            raise ConfigError(
                f"{NAMESPACE}:app.model.baseUrl ({stack.app.model.base_url!r}) is set, but "
                f"{key}.engine {self.engine!r} points the app at the in-cluster server; "
                "remove one of them"
            )
        if stack.model_api_key is not None:
            raise ConfigError(
                f"{NAMESPACE}:modelApiKey is set, but {key}.engine {self.engine!r} points the "
                "app at the in-cluster server, which needs no key: the key would be sent to "
                "it; remove the key (or set engine: none)"
            )
