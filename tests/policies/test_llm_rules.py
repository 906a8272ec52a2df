"""LLM server policies beyond pass/fail: which workloads count as model servers, how
memory quantities compare with the configured minimum, and what each message names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from daca_policies.spec import Resource

from .cases import DIGEST, LLAMA_IMAGE, UNKNOWN, d, llm_server, resource, vllm_release
from .verdicts import outcome

SERVER = "llm-server-resources"
CHART = "llm-vllm-chart-resources"
ENOUGH = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "3Gi"}}
WITH_GPU = {
    "requests": {"cpu": "2", "memory": "8Gi"},
    "limits": {"memory": "16Gi", "nvidia.com/gpu": 1},
}


def memory_request(memory: Any) -> Resource:
    return llm_server(requests={"cpu": "1", "memory": memory}, limits={"memory": "64Gi"})


def too_little(memory: str, minimum: str = "1Gi") -> str:
    return (
        f"LLM server container 'llama-server' requests {memory} of memory, under the "
        f"{minimum} a model server needs"
    )


@pytest.mark.parametrize(
    ("memory", "expect"),
    [
        ("1Gi", "pass"),  # exactly the default minimum
        ("1023Mi", "fail"),
        ("1048576Ki", "pass"),
        ("1G", "fail"),  # 10^9 bytes: less than a GiB
        ("1074M", "pass"),  # 1.074 * 10^9: just over
        ("1073741824", "pass"),  # plain bytes
        ("1073741823", "fail"),
        (1073741824.0, "pass"),  # a number, as the engine sends one
        ("129e6", "fail"),  # Kubernetes' exponent form: 129 MB
        ("1.5Gi", "pass"),
        (".5Gi", "fail"),
        ("2k", "fail"),
        ("1Ti", "pass"),
        ("1E", "pass"),
        ("1Ei", "pass"),
        ("1024m", "fail"),  # a thousandth of a byte each: meant Mi, Kubernetes takes it
        ("1024000m", "fail"),
    ],
)
def test_memory_quantity_against_the_default_minimum(memory: Any, expect: str) -> None:
    verdict, messages = outcome(SERVER, memory_request(memory))
    assert verdict == expect
    assert messages == ([] if expect == "pass" else [too_little(str(memory))])


@pytest.mark.parametrize("memory", ["1.2.3Gi", ".", "Gi", "1 Gi", "one"])
def test_a_malformed_quantity_gets_a_verdict_not_a_crash(memory: str) -> None:
    """Kubernetes refuses such a request itself; the policy must not crash the pack run."""
    assert outcome(SERVER, memory_request(memory)) == ("pass", [])


def test_minimum_memory_comes_from_config() -> None:
    assert outcome(SERVER, memory_request("2Gi"), minMemoryRequest="4Gi") == (
        "fail",
        [too_little("2Gi", "4Gi")],
    )
    assert outcome(SERVER, memory_request("4Gi"), minMemoryRequest="4Gi") == ("pass", [])
    assert outcome(SERVER, memory_request("512Mi"), minMemoryRequest="500M") == ("pass", [])


@pytest.mark.parametrize(
    ("engine", "resources", "missing"),
    [
        (
            "llamacpp",
            {"requests": {}, "limits": {}},
            "requests.cpu, requests.memory, limits.memory",
        ),
        ("llamacpp", {"requests": {"cpu": "1", "memory": "2Gi"}}, "limits.memory"),
        (
            "vllm",
            {"requests": {"cpu": "1"}, "limits": {"memory": "3Gi"}},
            "requests.memory, limits.nvidia.com/gpu",
        ),
        (
            "vllm",
            {**WITH_GPU, "limits": {"memory": "16Gi", "nvidia.com/gpu": "0"}},
            "limits.nvidia.com/gpu",
        ),
    ],
)
def test_missing_resources_are_each_named(
    engine: str, resources: dict[str, Any], missing: str
) -> None:
    named = ", ".join(f"resources.{m}" for m in missing.split(", "))
    assert outcome(SERVER, llm_server(engine, **resources)) == (
        "fail",
        [f"LLM server container 'llama-server' has no {named}"],
    )


def app(*changes: Callable[[dict[str, Any]], None]) -> Resource:
    """The agent Deployment (an ordinary app: 128Mi) with ``changes`` applied."""

    def mutate(props: dict[str, Any]) -> None:
        for change in changes:
            change(props)

    return d(mutate)


def image(ref: str, resources: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        c = props["spec"]["template"]["spec"]["containers"][0]
        c["image"] = ref
        if resources is not None:
            c["resources"] = copy.deepcopy(resources)

    return change


def template_label(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["template"]["metadata"]["labels"]["daca.dev/llm-server"] = value

    return change


def init_container(ref: str) -> Callable[[dict[str, Any]], None]:
    """A model downloader: runs before the server, requests nothing."""

    def change(props: dict[str, Any]) -> None:
        spec = props["spec"]["template"]["spec"]
        spec["initContainers"] = [{"name": "fetch-model", "image": ref}]

    return change


APP_IS_SMALL = (
    "LLM server container 'agent' requests 128Mi of memory, under the 1Gi a model server needs"
)
NO_GPU = "LLM server container 'agent' has no resources.limits.nvidia.com/gpu"
VLLM = f"vllm/vllm-openai:v0.15.1@{DIGEST}"


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        (d(), ("na", ["not an LLM server"])),
        # the label on the pod template alone makes it a model server
        (app(template_label("llamacpp")), ("fail", [APP_IS_SMALL])),
        # a label not known until the update says nothing yet: the image decides
        (app(template_label(UNKNOWN)), ("na", ["not an LLM server"])),
        # by image: llama.cpp needs no GPU, the vLLM images do (tagged, untagged, pinned)
        (app(image(LLAMA_IMAGE, ENOUGH)), ("pass", [])),
        (app(image(VLLM, ENOUGH)), ("fail", [NO_GPU])),
        (app(image("vllm/vllm-openai", ENOUGH)), ("fail", [NO_GPU])),
        (app(image(f"docker.io/vllm/vllm-openai@{DIGEST}", ENOUGH)), ("fail", [NO_GPU])),
        (app(image("lmcache/vllm-openai:latest", ENOUGH)), ("fail", [NO_GPU])),
        (app(image("lmcache/vllm-openai:latest", WITH_GPU)), ("pass", [])),
        # an init container that fetches the model with the server's image serves nothing
        (app(init_container(LLAMA_IMAGE)), ("na", ["not an LLM server"])),
        # and needs no requests of its own on a model server
        (app(image(LLAMA_IMAGE, ENOUGH), init_container(LLAMA_IMAGE)), ("pass", [])),
    ],
    ids=[
        "app",
        "template-label",
        "label-unknown",
        "llama-image",
        "vllm-image",
        "vllm-untagged",
        "vllm-docker-io-digest",
        "lmcache-no-gpu",
        "lmcache-gpu",
        "init-container-image",
        "server-with-init-container",
    ],
)
def test_which_workloads_are_model_servers(
    workload: Resource, expected: tuple[str, list[str]]
) -> None:
    assert outcome(SERVER, workload) == expected


# --- the vllm-stack chart -------------------------------------------------------------


def release(*models: dict[str, Any]) -> Resource:
    """A vllm-stack release with these modelSpec entries."""
    props = copy.deepcopy(dict(vllm_release().props))
    props["values"]["servingEngineSpec"]["modelSpec"] = list(models)
    return resource("kubernetes:helm.sh/v3:Release", props, "vllm")


def model(**changes: Any) -> dict[str, Any]:
    (spec,) = vllm_release().props["values"]["servingEngineSpec"]["modelSpec"]
    return {k: v for k, v in {**spec, **changes}.items() if v is not None}


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (
            [model(requestCPU=None, requestMemory=None, requestGPU=None)],
            ["vLLM modelSpec[0] (model) sets no requestCPU, no requestMemory, no requestGPU"],
        ),
        ([model(requestGPU=0)], ["vLLM modelSpec[0] (model) sets no requestGPU"]),
        ([model(name=None, requestGPU=None)], ["vLLM modelSpec[0] (?) sets no requestGPU"]),
        (
            [model(requestMemory="512Mi")],
            [
                "vLLM modelSpec[0] (model) requests 512Mi of memory, under the 1Gi a model "
                "server needs"
            ],
        ),
        (
            [
                model(
                    requestCPU=None,
                    requestMemory=None,
                    requestGPU=None,
                    resources={"requests": {"memory": "8Gi"}, "limits": {}},
                )
            ],
            ["vLLM modelSpec[0] (model) sets no requests.cpu, no limits.nvidia.com/gpu"],
        ),
        (
            [
                model(
                    resources={
                        "requests": {"cpu": "2", "memory": "512Mi"},
                        "limits": {"nvidia.com/gpu": 1},
                    }
                )
            ],
            [
                "vLLM modelSpec[0] (model) requests 512Mi of memory, under the 1Gi a model "
                "server needs"
            ],
        ),
        # every model is judged: a disabled one is skipped, a failing one reported
        (
            [model(name="off", enabled=False, requestGPU=None), model(name="on", requestGPU=None)],
            ["vLLM modelSpec[1] (on) sets no requestGPU"],
        ),
        (
            [model(name="a", requestCPU=None), model(name="b", requestMemory="1Mi")],
            [
                "vLLM modelSpec[0] (a) sets no requestCPU",
                "vLLM modelSpec[1] (b) requests 1Mi of memory, under the 1Gi a model server needs",
            ],
        ),
    ],
)
def test_chart_messages_name_the_model_and_the_value(
    models: list[dict[str, Any]], expected: list[str]
) -> None:
    assert outcome(CHART, release(*models)) == ("fail", expected)


def test_chart_minimum_memory_comes_from_config() -> None:
    assert outcome(CHART, release(model()), minMemoryRequest="16Gi") == (
        "fail",
        ["vLLM modelSpec[0] (model) requests 8Gi of memory, under the 16Gi a model server needs"],
    )


@pytest.mark.parametrize(
    ("chart", "expect"),
    [
        ("vllm-stack", "pass"),
        ("vllm/vllm-stack", "pass"),  # repo/chart
        ("dapr", "na"),
        (None, "na"),
        (UNKNOWN, "na"),
    ],
)
def test_only_the_vllm_stack_chart_is_judged(chart: Any, expect: str) -> None:
    props = {**vllm_release().props, "chart": chart}
    verdict, said = outcome(CHART, resource("kubernetes:helm.sh/v3:Release", props, "vllm"))
    assert (verdict, said) == (expect, [] if expect == "pass" else ["not the vllm-stack chart"])
