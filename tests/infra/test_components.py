"""Each component alone, under the mocks in update mode."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.components.app_image import AppImage, AppImageArgs, source_digest
from infra.components.kind.cluster import KindCluster, KindClusterArgs
from infra.components.kind.registry import LocalRegistry, LocalRegistryArgs
from infra.components.kubernetes.agent_workload import AgentWorkload, AgentWorkloadArgs
from infra.components.kubernetes.app_namespace import AppNamespace, AppNamespaceArgs
from infra.components.kubernetes.dapr_components import DaprComponents, DaprComponentsArgs
from infra.components.kubernetes.dapr_runtime import DaprRuntime, DaprRuntimeArgs
from infra.components.kubernetes.redis import Redis, RedisArgs
from infra.config import REPO_ROOT, ResourcesConfig, SidecarResources
from infra.dapr.spec import DaprComponentSpec, SecretRef
from tests.infra.conftest import of_type, one, pod_spec, run_under_mocks

RESOURCES = ResourcesConfig.model_validate({})
SIDECAR = SidecarResources.model_validate({})


def children_of(records: list[dict], parent: str) -> list[dict]:
    return [r for r in records if r["parent"] == parent]


def test_kind_cluster_creates_and_deletes_with_kind_and_keeps_kubeconfig_secret() -> None:
    outputs: dict[str, object] = {}

    def build() -> pulumi.Output[object]:
        cluster = KindCluster(
            "kind",
            KindClusterArgs("demo", "kindest/node:v1.34.0", REPO_ROOT / "infra/kind/cluster.yaml"),
        )
        return pulumi.Output.all(
            cluster.kubeconfig, pulumi.Output.from_input(cluster.kubeconfig).is_secret()
        ).apply(lambda v: outputs.update(kubeconfig=v[0], secret=v[1]))

    records = run_under_mocks(build)
    command = one(records, "command:local:Command")
    assert command["parent"] == "kind"
    inputs = command["inputs"]
    assert "kind create cluster --name demo --image kindest/node:v1.34.0" in inputs["create"]
    assert str(REPO_ROOT / "infra/kind/cluster.yaml") in inputs["create"]
    assert inputs["delete"] == "kind delete cluster --name demo"
    assert "apiVersion: v1" in str(outputs["kubeconfig"])
    # the kubeconfig carries the admin client key: secret as an output, in the state
    # (the command's stdout) and never in the engine's log
    assert outputs["secret"] is True
    assert command["options"]["additionalSecretOutputs"] == ["stdout"]
    assert inputs["logging"] == "none"


def test_kind_cluster_is_replaced_when_its_node_image_or_config_file_changes(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text((REPO_ROOT / "infra/kind/cluster.yaml").read_text())

    def triggers() -> list[str]:
        records = run_under_mocks(
            lambda: KindCluster("kind", KindClusterArgs("demo", image, config)).cluster_id
        )
        return list(one(records, "command:local:Command")["inputs"]["triggers"])

    image = "kindest/node:v1.34.0"
    shipped = triggers()
    config.write_text(config.read_text() + "# a changed kind config\n")
    edited = triggers()
    image = "kindest/node:v1.35.0"
    newer = triggers()
    assert shipped != edited, "a changed kind config must replace the cluster"
    assert edited != newer, "a new node image must replace the cluster"
    assert shipped[0] == edited[0] == newer[0] == "demo"


def kind_cluster_command(node_image: str = "kindest/node:v1.34.0") -> dict:
    records = run_under_mocks(
        lambda: (
            KindCluster(
                "kind", KindClusterArgs("demo", node_image, REPO_ROOT / "infra/kind/cluster.yaml")
            ).cluster_id
        )
    )
    return one(records, "command:local:Command")


def test_kind_cluster_is_deleted_before_it_is_replaced() -> None:
    """kind refuses a second cluster of the same name, and pulumi-command replaces
    create-before-delete: a new node image or kind config must delete the old one first."""
    command = kind_cluster_command()
    assert command["options"].get("deleteBeforeReplace") is True


def test_kind_cluster_keeps_the_kubeconfig_out_of_the_logs() -> None:
    """stdout is the kubeconfig with the admin client key: secret as an output is not
    enough, pulumi-command logs stdout unless logging is off."""
    command = kind_cluster_command()
    assert command["options"]["additionalSecretOutputs"] == ["stdout"]
    assert command["inputs"]["logging"] == "none"


FAKE_KIND_FOR_CREATE = """#!/bin/sh
case "$1" in
  version) echo "kind $FAKE_KIND_VERSION go1.24.6 linux/amd64" ;;
  create) touch "$FAKE_CREATED" ;;
  get) echo "apiVersion: v1" ;;
  *) exit 64 ;;
esac
"""


@pytest.mark.parametrize(
    ("version", "accepted"),
    [
        ("v0.29.0", False),
        ("v0.9.9", False),
        ("v0.30.0", True),
        ("v0.31.0-alpha+4f2b", True),
        ("v1.0.0", True),
        ("garbled", False),
    ],
)
def test_kind_cluster_refuses_an_older_kind_before_creating(
    tmp_path: Path, version: str, accepted: bool
) -> None:
    """The node image is pinned to what kind v0.30.0 published: an older kind fails early
    with a message that names the versions, and creates nothing."""
    script = kind_cluster_command()["inputs"]["create"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kind").write_text(FAKE_KIND_FOR_CREATE)
    (bin_dir / "kind").chmod(0o755)
    created = tmp_path / "created"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_KIND_VERSION": version,
        "FAKE_CREATED": str(created),
    }
    result = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True)
    assert (result.returncode == 0) is accepted, result.stderr
    assert created.exists() is accepted
    if not accepted:
        assert "v0.30.0" in result.stderr
        assert version in result.stderr


def test_local_registry_follows_kinds_recipe() -> None:
    records = run_under_mocks(
        lambda: (
            LocalRegistry(
                "registry",
                LocalRegistryArgs("daca-registry", "registry:2.8.3", 5017, "demo", "cluster-42"),
            ).host
        )
    )
    container = one(records, "docker:index/container:Container")["inputs"]
    assert container["name"] == "daca-registry"
    port = container["ports"][0]
    assert (port["internal"], port["external"], port["ip"]) == (5000, 5017, "127.0.0.1")
    assert container["networksAdvanced"][0]["name"] == "kind"
    command = one(records, "command:local:Command")["inputs"]
    # new nodes (a recreated cluster) get their hosts.toml again
    assert "cluster-42" in command["triggers"]
    hook = command["create"]
    assert "kind get nodes --name demo" in hook
    assert "/etc/containerd/certs.d/localhost:5017" in hook
    assert "http://daca-registry:5000" in hook
    hosting = one(records, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert hosting["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert 'host: "localhost:5017"' in hosting["data"]["localRegistryHosting.v1"]


FAKE_KIND = """#!/bin/sh
# kind get nodes --name <cluster>: one node per line, as kind prints them
[ "$1 $2" = "get nodes" ] || exit 64
for node in $FAKE_NODES; do echo "$node"; done
"""
FAKE_DOCKER = """#!/bin/sh
# docker exec [-i] <node> <command...>: fails for $FAKE_FAILING_NODE
[ "$1" = exec ] || exit 64
shift
[ "$1" = -i ] && shift && cat > /dev/null
echo "$*" >> "$FAKE_LOG"
[ "$1" != "$FAKE_FAILING_NODE" ]
"""


def run_node_config(tmp_path: Path, nodes: str, failing: str = "") -> subprocess.CompletedProcess:
    """Run the rendered node-configuration command for real, with fake kind and docker."""
    records = run_under_mocks(
        lambda: (
            LocalRegistry(
                "registry",
                LocalRegistryArgs("daca-registry", "registry:2.8.3", 5017, "demo", "cluster-42"),
            ).host
        )
    )
    script = one(records, "command:local:Command", "registry-node-config")["inputs"]["create"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("kind", FAKE_KIND), ("docker", FAKE_DOCKER)):
        (bin_dir / tool).write_text(body)
        (bin_dir / tool).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_NODES": nodes,
        "FAKE_FAILING_NODE": failing,
        "FAKE_LOG": str(tmp_path / "calls"),
    }
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True)


def test_node_config_writes_hosts_toml_on_every_node(tmp_path: Path) -> None:
    result = run_node_config(tmp_path, "demo-control-plane demo-worker")
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    for node in ("demo-control-plane", "demo-worker"):
        assert f"{node} mkdir -p /etc/containerd/certs.d/localhost:5017" in calls
        assert f"{node} cp /dev/stdin /etc/containerd/certs.d/localhost:5017/hosts.toml" in calls


def test_node_config_fails_when_any_node_fails(tmp_path: Path) -> None:
    """A loop returns only its last command's status: a node in the middle must not be
    skipped silently (its pods could never pull the app image)."""
    result = run_node_config(tmp_path, "demo-control-plane demo-worker demo-worker2", "demo-worker")
    assert result.returncode != 0


def test_node_config_fails_when_the_cluster_has_no_nodes(tmp_path: Path) -> None:
    result = run_node_config(tmp_path, "")
    assert result.returncode != 0
    assert "no nodes" in result.stderr


def test_app_image_is_built_from_app_dockerfile_and_tagged_by_content() -> None:
    ref: dict[str, str] = {}
    records = run_under_mocks(
        lambda: AppImage(
            "img", AppImageArgs(repository="localhost:5001/daca-agent", context=REPO_ROOT)
        ).ref.apply(lambda r: ref.update(ref=r))
    )
    image = one(records, "docker:index/image:Image")["inputs"]
    tag = source_digest(REPO_ROOT, ("app", "pyproject.toml", "uv.lock", "app/Dockerfile"))[:16]
    assert image["imageName"] == f"localhost:5001/daca-agent:{tag}"
    assert image["build"]["dockerfile"].endswith("app/Dockerfile")
    assert image["build"]["context"] == str(REPO_ROOT)
    assert image.get("skipPush") is False
    assert "@sha256:" in ref["ref"], "the workload must get the image by digest"


def app_image_name(registry_id: str | None) -> str:
    records = run_under_mocks(
        lambda: (
            AppImage(
                "img",
                AppImageArgs(
                    repository="localhost:5017/daca-agent",
                    context=REPO_ROOT,
                    registry_id=registry_id,
                ),
            ).ref
        )
    )
    name: str = one(records, "docker:index/image:Image")["inputs"]["imageName"]
    return name


def test_a_recreated_registry_gets_the_image_pushed_again() -> None:
    """A new (so empty) registry container must change the image's inputs, or the
    Deployment stays pinned to a digest the registry no longer has."""
    first = app_image_name("container-1")
    assert app_image_name("container-1") == first, "the same registry must not re-push"
    assert app_image_name("container-2") != first
    assert first.startswith("localhost:5017/daca-agent:")


def test_source_digest_changes_with_the_sources(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("a = 1\n")
    first = source_digest(tmp_path, ("app",))
    (tmp_path / "app" / "main.py").write_text("a = 2\n")
    assert source_digest(tmp_path, ("app",)) != first
    with pytest.raises(FileNotFoundError, match="Dockerfile"):
        source_digest(tmp_path, ("app", "app/Dockerfile"))


def test_dapr_runtime_pins_chart_owns_crds_and_keeps_mtls_on() -> None:
    records = run_under_mocks(
        lambda: DaprRuntime("dapr", DaprRuntimeArgs(version="1.16.9")).version
    )
    release = one(records, "kubernetes:helm.sh/v3:Release")["inputs"]
    assert release["chart"] == "dapr"
    assert release["version"] == "1.16.9"
    assert release["repositoryOpts"]["repo"] == "https://dapr.github.io/helm-charts/"
    assert release["values"]["global"]["mtls"] == {
        "enabled": True,
        "workloadCertTTL": "24h",
        "allowedClockSkew": "15m",
    }
    assert release["skipCrds"] is True, "CRDs are owned by the ConfigGroup, which upgrades them"
    crds = one(records, "kubernetes:yaml/v2:ConfigGroup")["inputs"]["files"]
    assert all("/v1.16.9/charts/dapr/crds/" in url for url in crds)
    assert {url.rsplit("/", 1)[1] for url in crds} >= {
        "components.yaml",
        "configuration.yaml",
        "resiliency.yaml",
    }


def test_namespace_has_pod_security_labels_and_default_deny() -> None:
    records = run_under_mocks(lambda: AppNamespace("app", AppNamespaceArgs(name="daca")).name)
    labels = one(records, "kubernetes:core/v1:Namespace")["inputs"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    deny = one(records, "kubernetes:networking.k8s.io/v1:NetworkPolicy")["inputs"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


REDIS_CLIENT = {"app.kubernetes.io/name": "agent", "app.kubernetes.io/component": "agent"}
REDIS_IMAGE = "redis:7.4.11-alpine@sha256:" + "b" * 64


def redis_records() -> list[dict]:
    return run_under_mocks(
        lambda: (
            Redis(
                "redis",
                RedisArgs(
                    namespace="daca",
                    image=REDIS_IMAGE,
                    storage="1Gi",
                    resources=RESOURCES,
                    client_selector=REDIS_CLIENT,
                ),
            ).host
        )
    )


def test_redis_password_is_never_on_the_command_line() -> None:
    """`--requirepass $(REDIS_PASSWORD)` showed the password in `ps` and in the pod spec:
    redis-server reads it from a config file mounted from the Secret."""
    records = redis_records()
    secret = one(records, "kubernetes:core/v1:Secret")["inputs"]
    assert secret["stringData"] == {"redis-password": "[secret]", "auth.conf": "[secret]"}
    pod = pod_spec(one(records, "kubernetes:apps/v1:StatefulSet"))
    container = pod["containers"][0]
    command_line = " ".join(container.get("command", []) + container["args"])
    assert "requirepass" not in command_line
    assert "$(" not in command_line
    assert container["args"][:2] == ["redis-server", "/etc/redis/auth.conf"]
    env = {e["name"]: e for e in container["env"]}
    assert set(env) == {"REDISCLI_AUTH"}, "the server itself gets no password variable"
    assert env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"] == {
        "name": "redis-auth",
        "key": "redis-password",
    }
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["auth"]["secret"]["items"] == [{"key": "auth.conf", "path": "auth.conf"}]
    assert volumes["auth"]["secret"]["defaultMode"] == 0o440
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["auth"] == {"name": "auth", "mountPath": "/etc/redis", "readOnly": True}


def test_redis_auth_conf_quotes_the_password() -> None:
    from infra.components.kubernetes.redis import redis_auth_conf

    assert redis_auth_conf("abc123") == 'requirepass "abc123"\n'
    assert redis_auth_conf('a "b" \\c\nd') == 'requirepass "a \\"b\\" \\\\c\\nd"\n'


@pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server not installed (.ci/run installs it)"
)
@pytest.mark.parametrize("password", ['a "b" \\c', "line\nbreak\rreturn", "p@ss w0rd#;'"])
def test_redis_server_takes_the_password_its_auth_conf_sets(tmp_path: Path, password: str) -> None:
    """The real redis-server reads the file we mount: AUTH succeeds with the password
    itself (quotes, backslashes and line breaks included) and fails with anything else."""
    from infra.components.kubernetes.redis import redis_auth_conf

    conf = tmp_path / "auth.conf"
    conf.write_text(redis_auth_conf(password))
    socket_path = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [
            "redis-server",
            str(conf),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--dir",
            str(tmp_path),
            "--save",
            "",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            if socket_path.exists() or server.poll() is not None:
                break
            time.sleep(0.05)
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""

        def auth(given: str) -> bytes:
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(socket_path))
                args = [b"AUTH", given.encode()]
                client.sendall(
                    f"*{len(args)}\r\n".encode()
                    + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
                )
                return client.recv(256)

        assert auth(password) == b"+OK\r\n"
        assert auth(password + "x").startswith(b"-WRONGPASS")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_keeps_its_data_on_the_claimed_volume() -> None:
    """`--dir` is where the append-only file goes: anywhere but the claim's mount, and a
    restarted pod starts empty (or redis-server fails on the read-only root)."""
    sts = one(redis_records(), "kubernetes:apps/v1:StatefulSet")["inputs"]["spec"]
    container = sts["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    claims = {c["metadata"]["name"] for c in sts["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts.get(args[args.index("--dir") + 1]) in claims


def test_redis_runs_as_a_high_uid_with_a_writable_data_volume() -> None:
    """Not the image's `redis` (999): the entrypoint only chowns /data when started as
    root, so the pod's fsGroup makes the volume writable."""
    pod = pod_spec(one(redis_records(), "kubernetes:apps/v1:StatefulSet"))
    context = pod["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10999,) * 3
    assert pod["containers"][0]["securityContext"]["runAsUser"] == 10999


def test_redis_runs_non_root_with_its_password_only_in_a_secret() -> None:
    client = REDIS_CLIENT
    records = redis_records()
    generated = one(records, "random:index/randomPassword:RandomPassword")
    assert generated["inputs"]["length"] >= 32
    sts = one(records, "kubernetes:apps/v1:StatefulSet")
    pod = pod_spec(sts)
    container = pod["containers"][0]
    assert container["image"] == REDIS_IMAGE
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]
    assert container["livenessProbe"]
    assert container["resources"]["limits"]["memory"]
    claim = sts["inputs"]["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    policy = one(records, "kubernetes:networking.k8s.io/v1:NetworkPolicy")["inputs"]["spec"]
    assert policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == client
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert "synth-" not in json.dumps(records), "the generated password leaked into an input"


def test_dapr_components_render_scoped_with_secret_refs() -> None:
    specs = [
        DaprComponentSpec(
            name="statestore",
            type="state.redis",
            metadata={"redisHost": "redis:6379"},
            secrets={"redisPassword": SecretRef("redis-auth", "redis-password")},
            scopes=("agent",),
        ),
        DaprComponentSpec(name="secretstore", type="secretstores.kubernetes", scopes=("agent",)),
    ]
    records = run_under_mocks(
        lambda: (
            DaprComponents(
                "dc", DaprComponentsArgs(namespace="daca", app_id="agent", components=specs)
            ).configuration
        )
    )
    components = {
        r["inputs"]["metadata"]["name"]: r["inputs"]
        for r in of_type(records, "kubernetes:dapr.io/v1alpha1:Component")
    }
    state = components["statestore"]
    assert state["scopes"] == ["agent"]
    assert state["spec"]["type"] == "state.redis"
    assert {
        "name": "redisPassword",
        "secretKeyRef": {"name": "redis-auth", "key": "redis-password"},
    } in state["spec"]["metadata"]
    config = one(records, "kubernetes:dapr.io/v1alpha1:Configuration")["inputs"]
    assert config["metadata"]["name"] == "agent-config"
    assert config["spec"]["tracing"] == {"samplingRate": "0"}, "no exporter, no sampling"
    assert config["spec"]["secrets"]["scopes"][0]["defaultAccess"] == "deny"
    resiliency = one(records, "kubernetes:dapr.io/v1alpha1:Resiliency")["inputs"]
    assert set(resiliency["spec"]["targets"]["components"]) == {"statestore", "pubsub"}
    assert resiliency["scopes"] == ["agent"]


@pytest.mark.parametrize(
    ("tracing", "expected"),
    [
        ({}, {"samplingRate": "0"}),
        (
            {"exporter": "otlp", "endpoint": "otel-collector.obs:4317", "samplingRate": 0.25},
            {
                "samplingRate": "0.25",
                "otel": {
                    "endpointAddress": "otel-collector.obs:4317",
                    "isSecure": True,
                    "protocol": "grpc",
                },
            },
        ),
        (
            {"exporter": "otlp", "endpoint": "otel:4318", "protocol": "http", "secure": False},
            {
                "samplingRate": "1",
                "otel": {"endpointAddress": "otel:4318", "isSecure": False, "protocol": "http"},
            },
        ),
        (
            {"exporter": "zipkin", "endpoint": "http://zipkin:9411", "samplingRate": 0.00001},
            {"samplingRate": "0.00001", "zipkin": {"endpointAddress": "http://zipkin:9411"}},
        ),
        (
            {"exporter": "zipkin", "endpoint": "http://zipkin.obs:9411/api/v2/spans"},
            {
                "samplingRate": "1",
                "zipkin": {"endpointAddress": "http://zipkin.obs:9411/api/v2/spans"},
            },
        ),
    ],
)
def test_dapr_configuration_traces_only_to_a_configured_exporter(
    tracing: dict, expected: dict
) -> None:
    from infra.config.base import TracingConfig

    spec = DaprComponentSpec(name="secretstore", type="secretstores.kubernetes", scopes=("a",))
    records = run_under_mocks(
        lambda: (
            DaprComponents(
                "dc",
                DaprComponentsArgs(
                    namespace="daca",
                    app_id="a",
                    components=[spec],
                    tracing=TracingConfig.model_validate(tracing),
                ),
            ).configuration
        )
    )
    config = one(records, "kubernetes:dapr.io/v1alpha1:Configuration")["inputs"]
    assert config["spec"]["tracing"] == expected


def test_a_component_scoped_elsewhere_is_refused() -> None:
    with pytest.raises(ValueError, match="must be scoped"):
        DaprComponentSpec(name="statestore", type="state.redis")
    spec = DaprComponentSpec(name="statestore", type="state.redis", scopes=("other",))

    def build() -> None:
        DaprComponents(
            "dc", DaprComponentsArgs(namespace="daca", app_id="agent", components=[spec])
        )

    with pytest.raises(ValueError, match="not scoped to 'agent'"):
        run_under_mocks(build)


def workload(**overrides: object) -> list[dict]:
    args = {
        "app_id": "agent",
        "namespace": "daca",
        "image": "localhost:5001/agent@sha256:" + "a" * 64,
        "port": 8000,
        "resources": RESOURCES,
        "sidecar": SIDECAR,
        "dapr_config": "agent-config",
        "env": {"DACA_PUBSUB_TOPIC": "agent-events"},
    }
    args.update(overrides)
    return run_under_mocks(lambda: AgentWorkload("agent", AgentWorkloadArgs(**args)).service_name)  # type: ignore[arg-type]


def test_workload_is_hardened_probed_and_annotated_for_dapr() -> None:
    records = workload(kubernetes_secret_store=False)
    deployment = one(records, "kubernetes:apps/v1:Deployment")
    template = deployment["inputs"]["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/app-id"] == "agent"
    assert annotations["dapr.io/app-port"] == "8000"
    assert annotations["dapr.io/config"] == "agent-config"
    pod = template["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "agent"
    container = pod["containers"][0]
    assert container["ports"][0]["containerPort"] == 8000
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    sc = container["securityContext"]
    assert sc["runAsNonRoot"]
    assert sc["readOnlyRootFilesystem"]
    assert not sc["allowPrivilegeEscalation"]
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    labels = deployment["inputs"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "agent"
    assert deployment["inputs"]["spec"]["replicas"] == 1
    assert not of_type(records, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert not of_type(records, "kubernetes:policy/v1:PodDisruptionBudget")
    # no model key and no API keys given: the only Secret is Dapr's app token
    secrets = [
        s["inputs"]["metadata"]["name"] for s in of_type(records, "kubernetes:core/v1:Secret")
    ]
    assert secrets == ["agent-app-token"]
    assert (
        one(records, "kubernetes:core/v1:ServiceAccount")["inputs"]["automountServiceAccountToken"]
        is False
    )


@pytest.mark.parametrize("kubernetes_secret_store", [True, False])
def test_dapr_builtin_kubernetes_secret_store_is_off(kubernetes_secret_store: bool) -> None:
    """daprd otherwise loads a store named `kubernetes` that the Configuration's secret
    scopes (on `secretstore`) do not cover: the scoped component must be the only door."""
    records = workload(kubernetes_secret_store=kubernetes_secret_store)
    template = one(records, "kubernetes:apps/v1:Deployment")["inputs"]["spec"]["template"]
    assert template["metadata"]["annotations"]["dapr.io/disable-builtin-k8s-secret-store"] == "true"


def test_scaled_out_workload_gets_hpa_and_pdb_and_no_fixed_replicas() -> None:
    records = workload(min_replicas=2, max_replicas=5, target_cpu_utilization=60)
    hpa = one(records, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")["inputs"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["scaleTargetRef"]["name"] == "agent"
    one(records, "kubernetes:policy/v1:PodDisruptionBudget")
    assert "replicas" not in one(records, "kubernetes:apps/v1:Deployment")["inputs"]["spec"]


def test_model_key_reaches_the_pod_only_through_a_secret() -> None:
    records = workload(model_api_key=pulumi.Output.secret("sk-PLANTED-KEY"))
    assert "sk-PLANTED-KEY" not in json.dumps(records)
    secret = one(records, "kubernetes:core/v1:Secret", "agent-model-key")["inputs"]
    assert secret["stringData"] == {"OPENAI_API_KEY": "[secret]"}
    container = pod_spec(one(records, "kubernetes:apps/v1:Deployment"))["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "agent-model",
        "key": "OPENAI_API_KEY",
    }
    role = one(records, "kubernetes:rbac.authorization.k8s.io/v1:Role")["inputs"]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["agent-model"],
            "verbs": ["get"],
        }
    ]
    # the token is mounted because the Kubernetes secret store reads through it
    pod = pod_spec(one(records, "kubernetes:apps/v1:Deployment"))
    assert pod["automountServiceAccountToken"] is True


def test_kubernetes_secret_store_gets_a_token_but_no_permissions_without_a_key() -> None:
    records = workload()
    pod = pod_spec(one(records, "kubernetes:apps/v1:Deployment"))
    assert pod["automountServiceAccountToken"] is True
    assert not of_type(records, "kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert not of_type(records, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")


def test_every_object_of_a_fully_optioned_workload_hangs_off_it() -> None:
    """A child registered without the component's options has no parent, so it loses the
    cluster's provider: it would go to whatever cluster the kubeconfig points at."""
    records = workload(
        model_api_key=pulumi.Output.secret("sk-test"),
        min_replicas=2,
        max_replicas=4,
        service_type="NodePort",
        node_port=30080,
        image_pull_secret="registry-login",
        metrics_port=9090,
        metrics_scrapers=({"namespaceSelector": {}},),
    )
    types = {r["type"] for r in records if r["name"] != "agent"}
    assert {  # every optional object is there
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    } <= types
    assert [r["name"] for r in records if r["name"] != "agent" and r["parent"] != "agent"] == []


def test_node_port_service_and_network_policy() -> None:
    records = workload(service_type="NodePort", node_port=30080)
    service = one(records, "kubernetes:core/v1:Service")["inputs"]["spec"]
    assert service["type"] == "NodePort"
    assert service["ports"][0]["nodePort"] == 30080
    policy = one(records, "kubernetes:networking.k8s.io/v1:NetworkPolicy")["inputs"]["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert {"protocol": "TCP", "port": 8000} in policy["ingress"][0]["ports"]


def test_a_components_depends_on_reaches_its_children() -> None:
    """Pulumi does not hold children back for their component's depends_on by itself."""
    from pulumi_command import local

    def build() -> None:
        gate = local.Command("gate", create="true")
        AppNamespace(
            "app", AppNamespaceArgs(name="daca"), opts=pulumi.ResourceOptions(depends_on=[gate])
        )

    records = run_under_mocks(build)
    children = [r for r in records if r["parent"] == "app"]
    assert len(children) == 2
    for child in children:
        assert "gate" in child["dependsOn"]


@pytest.mark.parametrize(
    ("version", "files"),
    [
        # read in dapr/dapr's charts/dapr/crds at each tag
        ("1.16.9", {"components", "configuration", "httpendpoints", "resiliency", "subscription"}),
        (
            "1.18.3",
            {
                "components",
                "configuration",
                "httpendpoints",
                "mcpservers",
                "resiliency",
                "subscription",
                "workflowaccesspolicy",
            },
        ),
    ],
)
def test_dapr_crds_follow_the_pinned_release(version: str, files: set[str]) -> None:
    """Helm never installs the chart's CRDs here (skipCrds): we must bring every one."""
    records = run_under_mocks(lambda: DaprRuntime("dapr", DaprRuntimeArgs(version=version)).version)
    crds = one(records, "kubernetes:yaml/v2:ConfigGroup")["inputs"]["files"]
    assert {url.rsplit("/", 1)[1].removesuffix(".yaml") for url in crds} == files
    assert all(f"/v{version}/charts/dapr/crds/" in url for url in crds)


def test_the_pull_secret_logs_the_kubelet_in_with_the_registry_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kubelet reads `.dockerconfigjson`'s `auth` (base64 of `user:password`, split at
    the first colon) for the registry's host; the Secret's data stays a Pulumi secret."""
    from infra.components.app_image import RegistryLogin
    from infra.components.kubernetes import registry_credentials
    from infra.components.kubernetes.registry_credentials import (
        RegistryPullSecret,
        RegistryPullSecretArgs,
    )

    given: dict[str, Any] = {}
    real_secret = registry_credentials.k8s.core.v1.Secret

    def secret(name: str, **kwargs: Any) -> Any:
        given.update(kwargs)
        return real_secret(name, **kwargs)

    monkeypatch.setattr(registry_credentials.k8s.core.v1, "Secret", secret)
    written: list[str] = []

    def build() -> object:
        RegistryPullSecret(
            "pull",
            RegistryPullSecretArgs(
                secret_name="registry-credentials",
                namespace="daca",
                login=RegistryLogin(
                    server="fra.ocir.io",
                    username="tenancy/oracleidentitycloudservice/me@example.com",
                    password=pulumi.Output.secret("to:ken;1"),
                ),
            ),
        )
        return given["string_data"][".dockerconfigjson"].apply(written.append)

    records = run_under_mocks(build)
    record = one(records, "kubernetes:core/v1:Secret")["inputs"]
    assert record["type"] == "kubernetes.io/dockerconfigjson"
    assert record["stringData"] == {".dockerconfigjson": "[secret]"}
    entry = json.loads(written[0])["auths"]["fra.ocir.io"]
    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    assert (user, password) == ("tenancy/oracleidentitycloudservice/me@example.com", "to:ken;1")
    assert (entry["username"], entry["password"]) == (user, password)


def test_a_tag_no_label_value_can_hold_is_left_off_the_version_label() -> None:
    """An image tag may be 128 characters and start with `_`; a label value may not (the
    API server would refuse the whole Deployment)."""
    from infra.components.kubernetes.conventions import standard_labels

    version = "app.kubernetes.io/version"
    assert standard_labels("a", "agent", "1.2.3")[version] == "1.2.3"
    assert version not in standard_labels("a", "agent", "_beta")
    assert version not in standard_labels("a", "agent", "1" * 64)
    assert standard_labels("a", "agent", "1" * 63)[version] == "1" * 63


def test_redis_is_one_server() -> None:
    """No replication is configured: a second replica would be a second, empty primary
    behind the same Service, each client reading and writing whichever it reached."""
    sts = one(redis_records(), "kubernetes:apps/v1:StatefulSet")["inputs"]["spec"]
    assert sts["replicas"] == 1
    assert "replicaof" not in " ".join(sts["template"]["spec"]["containers"][0]["args"])
