"""Each component alone, under the mocks in update mode."""

from __future__ import annotations

import json
from pathlib import Path

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
            cluster.kubeconfig, pulumi.Output.from_input(cluster.kubeconfig).apply(lambda _: True)
        ).apply(lambda v: outputs.update(kubeconfig=v[0]))

    records = run_under_mocks(build)
    command = one(records, "command:local:Command")
    assert command["parent"] == "kind"
    inputs = command["inputs"]
    assert "kind create cluster --name demo --image kindest/node:v1.34.0" in inputs["create"]
    assert str(REPO_ROOT / "infra/kind/cluster.yaml") in inputs["create"]
    assert inputs["delete"] == "kind delete cluster --name demo"
    # a new node image or config file must replace the cluster
    assert "kindest/node:v1.34.0" in inputs["triggers"]
    assert "apiVersion: v1" in str(outputs["kubeconfig"])


def test_local_registry_follows_kinds_recipe() -> None:
    records = run_under_mocks(
        lambda: (
            LocalRegistry(
                "registry",
                LocalRegistryArgs("kind-registry", "registry:2.8.3", 5001, "demo", "cluster-42"),
            ).host
        )
    )
    container = one(records, "docker:index/container:Container")["inputs"]
    assert container["name"] == "kind-registry"
    port = container["ports"][0]
    assert (port["internal"], port["external"], port["ip"]) == (5000, 5001, "127.0.0.1")
    assert container["networksAdvanced"][0]["name"] == "kind"
    command = one(records, "command:local:Command")["inputs"]
    # new nodes (a recreated cluster) get their hosts.toml again
    assert "cluster-42" in command["triggers"]
    hook = command["create"]
    assert "kind get nodes --name demo" in hook
    assert "/etc/containerd/certs.d/localhost:5001" in hook
    assert "http://kind-registry:5000" in hook
    hosting = one(records, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert hosting["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert 'host: "localhost:5001"' in hosting["data"]["localRegistryHosting.v1"]


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


def test_redis_runs_non_root_with_its_password_only_in_a_secret() -> None:
    client = {"app.kubernetes.io/name": "agent", "app.kubernetes.io/component": "agent"}
    records = run_under_mocks(
        lambda: (
            Redis(
                "redis",
                RedisArgs(
                    namespace="daca",
                    image="redis:7.4.2-alpine",
                    storage="1Gi",
                    resources=RESOURCES,
                    client_selector=client,
                ),
            ).host
        )
    )
    generated = one(records, "random:index/randomPassword:RandomPassword")
    assert generated["inputs"]["length"] >= 32
    secret = one(records, "kubernetes:core/v1:Secret")["inputs"]
    assert secret["stringData"] == {"redis-password": "[secret]"}
    sts = one(records, "kubernetes:apps/v1:StatefulSet")
    pod = pod_spec(sts)
    container = pod["containers"][0]
    assert container["image"] == "redis:7.4.2-alpine"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    env = {e["name"]: e for e in container["env"]}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "redis-auth"
    assert "$(REDIS_PASSWORD)" in container["args"]
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
                "dc",
                DaprComponentsArgs(
                    namespace="daca", app_id="agent", components=specs, tracing_sampling_rate=0.5
                ),
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
    assert config["spec"]["tracing"]["samplingRate"] == "0.5"
    assert config["spec"]["secrets"]["scopes"][0]["defaultAccess"] == "deny"
    resiliency = one(records, "kubernetes:dapr.io/v1alpha1:Resiliency")["inputs"]
    assert set(resiliency["spec"]["targets"]["components"]) == {"statestore", "pubsub"}
    assert resiliency["scopes"] == ["agent"]


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
