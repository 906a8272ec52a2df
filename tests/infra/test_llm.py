"""The self-hosted LLM (`daca:llm`): config, the llama.cpp server, vLLM's chart, the app's
wiring, on every cluster stage. Update-mode mocks throughout."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml

from infra.components.kubernetes.llama_server import (
    LlamaServer,
    LlamaServerArgs,
    download_container,
)
from infra.components.kubernetes.vllm_stack import vllm_values
from infra.config import ConfigError
from infra.config.llm import LlmConfig
from infra.crd_schemas_llm import VLLM_STACK_VALUES
from infra.synth import SynthResult, load_stack_config, synthesize
from infra.validate import validate_manifests

from .conftest import (
    assert_config_error,
    edited_stack_file,
    of_type,
    one,
    pod_spec,
    run_under_mocks,
)

ROOT = Path(__file__).parents[2]
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
MODEL_URL = (
    "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/"
    "91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf"
)
MODEL_SHA = "6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e"
LLAMA_ON: dict[str, Any] = {
    "engine": "llamacpp",
    "model": {"url": MODEL_URL, "sha256": MODEL_SHA, "name": "qwen"},
}
#: the in-cluster URL a user would type, from the Service name, namespace and port
IN_CLUSTER_URL = "http://llama-server.llm.svc.cluster.local:8080/v1"


def _llm(**changes: Any) -> dict[str, Any]:
    return {"llm": {**LLAMA_ON, **changes}}


def _env(record: dict[str, Any]) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in pod_spec(record)["containers"][0]["env"]}


# --- config ---------------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "unknown engine",
        {"llm": {"engine": "ollama"}},
        ["daca:llm.engine", "'ollama'", "'none'", "'llamacpp'", "'vllm'"],
    ),
    ("llamacpp without a model", {"llm": {"engine": "llamacpp"}}, ["daca:llm.model.url"]),
    (
        "vllm without GPU nodes",
        {"llm": {"engine": "vllm"}},
        ["daca:llm.engine", "'vllm'", "GPU", "prototype"],
    ),
    (
        "model over http",
        _llm(model={"url": MODEL_URL.replace("https", "http")}),
        ["daca:llm.model", "https URL of a .gguf file"],
    ),
    (
        "model not a gguf",
        _llm(model={"url": "https://example.com/model.bin"}),
        ["daca:llm.model", ".gguf"],
    ),
    (
        "file without the quantization",
        _llm(model={"url": MODEL_URL, "quantization": "Q8_0"}),
        ["daca:llm.model", "'Q8_0'", "qwen2.5-1.5b-instruct-q4_k_m.gguf"],
    ),
    (
        "unknown quantization",
        _llm(model={"url": MODEL_URL, "quantization": "Q4_K_Z"}),
        ["daca:llm.model.quantization", "'Q4_K_Z'"],
    ),
    (
        "digest not sha256 hex",
        _llm(model={"url": MODEL_URL, "sha256": "abc"}),
        ["daca:llm.model.sha256", "'abc'"],
    ),
    (
        "slots with too little context",
        _llm(llamacpp={"contextSize": 1024, "parallel": 4}),
        ["daca:llm.llamacpp", "256 tokens a slot", "512"],
    ),
    ("zero threads", _llm(llamacpp={"threads": 0}), ["daca:llm.llamacpp.threads", "0"]),
    ("zero replicas", _llm(replicas=0), ["daca:llm.replicas", "0"]),
    ("storage not a quantity", _llm(storage="lots"), ["daca:llm.storage", "'lots'"]),
    (
        "resources not quantities",
        _llm(llamacpp={"resources": {"cpuLimit": "two"}}),
        ["daca:llm.llamacpp.resources.cpuLimit", "'two'"],
    ),
    (
        "image not pinned",
        _llm(llamacpp={"image": "ghcr.io/ggml-org/llama.cpp:server"}),
        ["daca:llm.llamacpp.image", "'server'", "moves", "server-b9859"],
    ),
    (
        "image tag that moves",
        _llm(llamacpp={"image": "ghcr.io/ggml-org/llama.cpp:latest"}),
        ["daca:llm.llamacpp.image", "latest"],
    ),
    ("the app's namespace", _llm(namespace="daca"), ["daca:llm.namespace", "'daca'"]),
    ("unknown key", _llm(gpu=True), ["daca:llm.gpu", "allowed here", "engine"]),
    (
        "vllm model not a hub id",
        {"llm": {"vllm": {"modelUrl": "https://hf.co/x"}}},
        ["daca:llm.vllm.modelUrl"],
    ),
    ("vllm zero gpus", {"llm": {"vllm": {"gpus": 0}}}, ["daca:llm.vllm.gpus", "0"]),
    (
        "vllm cpus not whole",
        {"llm": {"vllm": {"cpus": "500m"}}},
        ["daca:llm.vllm.cpus", "'500m'"],
    ),
    (
        "a base URL of its own as well",
        {**_llm(), "app.model": {"provider": "openai-compatible", "baseUrl": "http://x:1/v1"}},
        ["daca:app.model.baseUrl", "daca:llm.engine", "remove one"],
    ),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_llm_config_is_one_line_naming_the_key(
    case: str,
    changes: dict[str, Any],
    expected: list[str],
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    assert_config_error(stack_config(changes), expected)


def test_a_model_key_next_to_the_server_is_refused_before_anything_is_registered(
    stack_config: Callable[[dict[str, Any]], Path],
) -> None:
    from pulumi.runtime.config import set_all_config

    from infra import program
    from infra.synth import read_stack_file

    file = stack_config({**_llm(), "@daca:modelApiKey": {"secure": "v1:abc"}})
    with pytest.raises(ConfigError, match=r"daca:modelApiKey .* sent to it"):
        load_stack_config(file)
    values, secrets = read_stack_file(file)

    def build() -> None:
        set_all_config(values, secrets)
        with pytest.raises(SystemExit):
            program.main()

    assert run_under_mocks(build) == []


def test_shipped_files_llm_on_planet_documented_elsewhere() -> None:
    planet, _, _ = load_stack_config(ROOT / "Pulumi.planet.yaml")
    assert planet.llm.engine == "llamacpp"  # type: ignore[attr-defined]
    for stage in ("prototype", "oci"):
        config, _, _ = load_stack_config(ROOT / f"Pulumi.{stage}.yaml")
        assert config.llm.engine == "none"  # type: ignore[attr-defined]
        text = (ROOT / f"Pulumi.{stage}.yaml").read_text()
        assert "# engine: llamacpp" in text


def test_the_commented_oci_block_is_valid_and_fits_the_always_free_nodes(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.oci.yaml").read_text()
    start = text.index("  daca:llm:\n")
    block = text[start : text.index("  daca:oci:\n")]
    uncommented = "\n".join(
        line.replace("# ", "", 1) if line.strip().startswith("# ") and ":" in line else line
        for line in block.splitlines()
        if not line.strip().startswith("engine: none")
    )
    llm = yaml.safe_load(uncommented)["daca:llm"]
    assert llm["engine"] == "llamacpp"
    file = edited_stack_file("oci", tmp_path, {"llm": llm})
    config, _, _ = load_stack_config(file)
    resources = config.llm.llamacpp.resources  # type: ignore[attr-defined]
    oci = config.oci  # type: ignore[attr-defined]
    # it must schedule on one node, next to the app: requests well under one node's share
    smallest_node_gb = min(oci.server.memory_gbs, oci.agents.memory_gbs)
    assert _gib(resources.memory_limit) <= smallest_node_gb / 2
    assert _cpus(resources.cpu_request) <= min(oci.server.ocpus, oci.agents.ocpus) / 2
    assert config.llm.llamacpp.threads <= _cpus(resources.cpu_limit)  # type: ignore[attr-defined]


def _gib(quantity: str) -> float:
    return float(quantity.removesuffix("Gi")) if quantity.endswith("Gi") else 0.001


def _cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


# --- the llama.cpp server -------------------------------------------------------------


def _component(config: LlmConfig) -> list[dict[str, Any]]:
    def build() -> None:
        LlamaServer(
            "llm",
            LlamaServerArgs(
                config=config,
                client_namespace="daca",
                client_selector={"app.kubernetes.io/name": "daca-agent"},
                deny_egress_to=("169.254.169.254/32",),
            ),
        )

    return run_under_mocks(build)


def test_a_server_without_a_model_url_is_refused_before_anything_is_built() -> None:
    config = LlmConfig.model_validate({"engine": "llamacpp"})
    with pytest.raises(ValueError, match=r"^LlamaServer needs config\.model\.url"):
        LlamaServerArgs(config=config, client_namespace="daca", client_selector={})


def test_the_servers_base_url_output_is_its_service_in_cluster() -> None:
    """`LlamaServer.base_url`, for a program wiring its own client: the Service's name,
    namespace, port and the OpenAI `/v1` path, as a client inside the cluster types it."""
    seen: list[str] = []

    def build() -> pulumi.Output[Any]:
        server = LlamaServer(
            "llm",
            LlamaServerArgs(
                config=LlmConfig.model_validate(LLAMA_ON),
                client_namespace="daca",
                client_selector={"app.kubernetes.io/name": "daca-agent"},
            ),
        )
        return server.base_url.apply(seen.append)

    run_under_mocks(build)
    assert seen == [IN_CLUSTER_URL]


def test_server_loads_the_configured_model_with_the_configured_flags() -> None:
    config = LlmConfig.model_validate(
        {**LLAMA_ON, "llamacpp": {"contextSize": 8192, "threads": 3, "parallel": 4}}
    )
    records = _component(config)
    spec = pod_spec(one(records, STATEFULSET))
    args = spec["containers"][0]["args"]
    flags = dict(zip(args[::2], args[1::2], strict=False))
    assert flags["--model"] == "/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"
    assert flags["--alias"] == "qwen"
    assert (flags["--ctx-size"], flags["--threads"], flags["--parallel"]) == ("8192", "3", "4")
    assert flags["--port"] == "8080"
    # listening on the pod's address, the port the Service and probes reach (llama-server
    # binds 127.0.0.1 unless told otherwise: then nothing outside the pod gets an answer)
    assert flags["--host"] == "0.0.0.0"
    (port,) = spec["containers"][0]["ports"]
    assert str(port["containerPort"]) == flags["--port"]
    # the init container writes the model; the server only reads it
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["models"]["readOnly"] is True
    init_mounts = {m["name"]: m for m in spec["initContainers"][0]["volumeMounts"]}
    assert not init_mounts["models"].get("readOnly", False)
    init = spec["initContainers"][0]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert (env["MODEL_URL"], env["MODEL_SHA256"]) == (MODEL_URL, MODEL_SHA)
    assert init["image"] == spec["containers"][0]["image"] == config.llamacpp.image


def test_server_is_non_root_bounded_and_ready_only_once_the_model_answers() -> None:
    config = LlmConfig.model_validate(
        {**LLAMA_ON, "llamacpp": {"resources": {"cpuRequest": "750m", "memoryLimit": "5Gi"}}}
    )
    spec = pod_spec(one(_component(config), STATEFULSET))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    for container in [*spec["initContainers"], *spec["containers"]]:
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    server = spec["containers"][0]
    assert server["resources"]["requests"]["cpu"] == "750m"
    assert server["resources"]["limits"]["memory"] == "5Gi"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"]["path"] == "/health"
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_each_replica_gets_its_own_model_volume() -> None:
    config = LlmConfig.model_validate({**LLAMA_ON, "replicas": 3, "storage": "8Gi"})
    records = _component(config)
    statefulset = one(records, STATEFULSET)["inputs"]["spec"]
    assert statefulset["replicas"] == 3
    (claim,) = statefulset["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert not of_type(records, "kubernetes:core/v1:PersistentVolumeClaim")


def test_only_the_app_reaches_the_server() -> None:
    records = _component(LlmConfig.model_validate(LLAMA_ON))
    policies = {
        r["name"]: r["inputs"]["spec"]
        for r in of_type(records, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    clients = policies["llm-clients"]["ingress"][0]
    peer = clients["from"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "daca"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "daca-agent"}
    assert clients["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert any("deny" in name for name in policies if name != "llm-clients")


def _run_download(tmp_path: Path, sha: str, model_bytes: bytes) -> subprocess.CompletedProcess[str]:
    """The init container as rendered (its command and environment), with curl replaced by
    a copy of a local file and the model volume by a directory."""
    url = "https://example.com/m-q4_k_m.gguf"
    model = {"url": url, "sha256": sha or None, "name": "m"}
    container = download_container(LlmConfig.model_validate({**LLAMA_ON, "model": model}))
    source = tmp_path / "source.gguf"
    source.write_bytes(model_bytes)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    curl = bin_dir / "curl"
    calls = shlex.quote(str(tmp_path / "calls"))
    curl.write_text(
        '#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\n'
        f'echo fetched >> {calls}\ncp {shlex.quote(str(source))} "$2"\n'
    )
    curl.chmod(0o755)
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_FILE"] == "m-q4_k_m.gguf"
    mount = container["volumeMounts"][0]["mountPath"]
    assert env["MODEL_DIR"] == mount
    env |= {"PATH": f"{bin_dir}:/usr/bin:/bin", "MODEL_DIR": str(models)}
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=30)


def test_the_download_is_verified_and_skipped_when_the_file_is_there(tmp_path: Path) -> None:
    import hashlib

    data = b"GGUF fake model"
    digest = hashlib.sha256(data).hexdigest()
    assert _run_download(tmp_path, digest, data).returncode == 0
    assert (tmp_path / "models" / "m-q4_k_m.gguf").read_bytes() == data
    assert _run_download(tmp_path, digest, data).returncode == 0
    assert (tmp_path / "calls").read_text().count("fetched") == 1  # second start: no download


def test_a_download_with_the_wrong_digest_fails_and_leaves_nothing(tmp_path: Path) -> None:
    result = _run_download(tmp_path, "0" * 64, b"tampered")
    assert result.returncode != 0
    assert "SHA-256" in result.stderr
    assert list((tmp_path / "models").iterdir()) == []


# --- the stages -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("synth-planet-llm"))


def test_planet_runs_the_server_in_every_region_and_the_app_waits_for_it(
    planet: SynthResult,
) -> None:
    for region in ("eu-west", "us-east", "eu-oci"):
        statefulset = one(planet.resources, STATEFULSET, f"{region}-llm-statefulset")
        agent = one(planet.resources, DEPLOYMENT, f"{region}-agent-deployment")
        assert statefulset["name"] in agent["dependsOn"]
        env = _env(agent)
        assert env["DACA_MODEL_PROVIDER"] == "openai-compatible"
        assert env["DACA_MODEL_BASE_URL"] == IN_CLUSTER_URL
        assert env["DACA_MODEL_NAME"] == "qwen2.5-1.5b-instruct"
        assert "OPENAI_API_KEY" not in env
        # the server admits the agent's pods, and only them
        policy = one(planet.resources, NETWORK_POLICY, f"{region}-llm-clients")
        (peer,) = policy["inputs"]["spec"]["ingress"][0]["from"]
        agent_pods = agent["inputs"]["spec"]["selector"]["matchLabels"]
        assert peer["podSelector"]["matchLabels"] == agent_pods
        assert peer["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": agent["inputs"]["metadata"]["namespace"]
        }


def test_planet_llm_manifests_are_strict_valid(planet: SynthResult) -> None:
    kinds = {
        yaml.safe_load(f.read_text())["kind"]
        for f in planet.manifests_dir.glob("*.yaml")
        if "llm" in f.name
    }
    assert {"StatefulSet", "Service", "NetworkPolicy", "Namespace", "ServiceAccount"} <= kinds
    assert validate_manifests(planet.manifests_dir, planet.k8s_version) == []


@pytest.mark.parametrize("stage", ["prototype", "oci"])
def test_each_cluster_stage_can_turn_the_server_on(stage: str, tmp_path: Path) -> None:
    file = edited_stack_file(stage, tmp_path, {"llm": LLAMA_ON})
    result = synthesize(stage, config_file=file, out_dir=tmp_path / "out")
    statefulset = one(result.resources, STATEFULSET, "llm-statefulset")
    agent = one(result.resources, DEPLOYMENT, "agent-deployment")
    assert statefulset["name"] in agent["dependsOn"]
    assert _env(agent)["DACA_MODEL_BASE_URL"] == IN_CLUSTER_URL
    services = {s["inputs"]["metadata"]["name"] for s in of_type(result.resources, SERVICE)}
    assert "llama-server" in services
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []


def test_off_registers_nothing_and_keeps_the_configured_model(tmp_path: Path) -> None:
    result = synthesize("prototype", out_dir=tmp_path / "out")
    assert not [r for r in result.resources if r["name"].startswith("llm")]
    assert "DACA_MODEL_BASE_URL" not in _env(one(result.resources, DEPLOYMENT, "agent-deployment"))


# --- vLLM ------------------------------------------------------------------------------


def test_vllm_values_match_the_chart_schema_for_the_fields_we_set() -> None:
    config = LlmConfig.model_validate(
        {"engine": "vllm", "replicas": 2, "vllm": {"gpus": 2, "modelRevision": "abc123"}}
    )
    values = vllm_values(config)
    jsonschema.validate(values, VLLM_STACK_VALUES)
    (model,) = values["servingEngineSpec"]["modelSpec"]
    assert (model["replicaCount"], model["requestGPU"]) == (2, 2)
    assert model["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert values["routerSpec"]["tag"] != "latest"
    # the label the policy pack's model-server rules key on (daca_policies/llm.py): "vllm"
    # holds the engine to its GPU limits
    assert model["podLabels"] == {"daca.dev/llm-server": "vllm"}
    assert values["servingEngineSpec"]["labels"] == {"daca.dev/llm-server": "vllm"}


@pytest.mark.parametrize("engine", ["llamacpp", "vllm"])
def test_the_model_volume_gets_the_configured_size_and_class(engine: str) -> None:
    """`llm.storage` and `llm.storageClass` at values other than their defaults reach the
    claim each engine's model volume is made from (the cluster's default class otherwise)."""
    config = LlmConfig.model_validate(
        {**LLAMA_ON, "engine": engine, "storage": "77Gi", "storageClass": "managed-csi-premium"}
    )
    if engine == "vllm":
        (model,) = vllm_values(config)["servingEngineSpec"]["modelSpec"]
        assert (model["pvcStorage"], model["storageClass"]) == ("77Gi", "managed-csi-premium")
        return
    sts = one(_component(config), "kubernetes:apps/v1:StatefulSet")["inputs"]["spec"]
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "77Gi"
    assert claim["spec"]["storageClassName"] == "managed-csi-premium"


def test_the_vllm_schema_catches_a_misspelled_key() -> None:
    values = vllm_values(LlmConfig.model_validate({"engine": "vllm"}))
    values["servingEngineSpec"]["modelSpec"][0]["requestGpu"] = 1
    with pytest.raises(jsonschema.ValidationError, match="requestGpu"):
        jsonschema.validate(values, VLLM_STACK_VALUES)
    json.dumps(values)  # what Helm receives is plain JSON


def _planet_with_gpus(drop_oci: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    regions = config["daca:planet"]["regions"]
    if drop_oci:
        config["daca:planet"]["regions"] = regions = [
            r for r in regions if r["cluster"]["kind"] == "aks"
        ]
        # Kafka's mirroring names its source regions: the dropped one goes from there too
        bootstrap = config["daca:kafka"]["mirror"]["bootstrap"]
        for name in set(bootstrap) - {r["name"] for r in regions}:
            del bootstrap[name]
    for region in regions:
        if region["cluster"]["kind"] == "aks":
            region["cluster"]["gpuPool"] = {"vmSize": "Standard_NC4as_T4_v3", "nodeCount": 1}
    config["daca:llm"] = {"engine": "vllm", "storage": "30Gi"}
    return config


def test_vllm_on_planet_needs_gpu_nodes_in_every_region(tmp_path: Path) -> None:
    file = tmp_path / "Pulumi.gpu.yaml"
    file.write_text(yaml.safe_dump({"config": _planet_with_gpus(drop_oci=False)}))
    with pytest.raises(ConfigError) as caught:
        load_stack_config(file)
    message = str(caught.value)
    assert "daca:llm.engine" in message
    assert "daca:planet.regions[eu-oci].cluster.gpuPool" in message
    assert "eu-west" not in message


def test_vllm_on_planet_gets_gpu_pools_the_device_plugin_and_the_chart(tmp_path: Path) -> None:
    file = tmp_path / "Pulumi.gpu.yaml"
    file.write_text(yaml.safe_dump({"config": _planet_with_gpus()}))
    result = synthesize("planet", config_file=file, out_dir=tmp_path / "out")
    pools = of_type(result.resources, "azure-native:containerservice:AgentPool")
    assert {p["name"] for p in pools} == {"eu-west-aks-gpu-pool", "us-east-aks-gpu-pool"}
    for pool in pools:
        assert pool["inputs"]["vmSize"] == "Standard_NC4as_T4_v3"
        assert pool["inputs"]["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
        assert pool["inputs"]["mode"] == "User"
    releases = {r["name"]: r for r in of_type(result.resources, "kubernetes:helm.sh/v3:Release")}
    chart = releases["eu-west-llm-release"]
    assert (chart["inputs"]["chart"], chart["inputs"]["version"]) == ("vllm-stack", "0.1.12")
    assert "eu-west-llm-nvidia-device-plugin" in chart["dependsOn"]
    jsonschema.validate(chart["inputs"]["values"], VLLM_STACK_VALUES)
    (model,) = chart["inputs"]["values"]["servingEngineSpec"]["modelSpec"]
    pool_label = pools[0]["inputs"]["nodeLabels"]
    term = model["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert pool_label == {term["key"]: term["values"][0]}
    agent = one(result.resources, DEPLOYMENT, "eu-west-agent-deployment")
    assert "eu-west-llm-release" in agent["dependsOn"]
    assert _env(agent)["DACA_MODEL_BASE_URL"] == (
        "http://vllm-router-service.llm.svc.cluster.local:80/v1"
    )
    assert _env(agent)["DACA_MODEL_NAME"] == "Qwen/Qwen2.5-1.5B-Instruct"


@pytest.mark.parametrize(
    ("pool", "fragment"),
    [
        ({"vmSize": "Standard_D2s_v5"}, "gpuPool.vmSize"),
        ({"nodeCount": 0}, "gpuPool.nodeCount"),
        ({"gpus": 1}, "gpuPool.gpus; allowed here: nodeCount, vmSize"),
    ],
)
def test_a_bad_gpu_pool_is_one_line_naming_the_key(
    pool: dict[str, Any], fragment: str, tmp_path: Path
) -> None:
    config = _planet_with_gpus()
    config["daca:planet"]["regions"][0]["cluster"]["gpuPool"] = pool
    file = tmp_path / "Pulumi.gpu.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(ConfigError) as caught:
        load_stack_config(file)
    assert f"daca:planet.regions[0].cluster.{fragment}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_region_model_endpoint_next_to_the_server_is_refused(tmp_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    config["daca:planet"]["regions"][0].setdefault("overrides", {})["model"] = {
        "provider": "openai-compatible",
        "baseUrl": "http://llm.eu-west.internal:8080/v1",
    }
    file = tmp_path / "Pulumi.region-model.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(ConfigError, match=r"regions\[eu-west\]\.overrides\.model\.baseUrl"):
        load_stack_config(file)
