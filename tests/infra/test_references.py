"""Every name one object gives for another resolves, in the cluster it is sent to.

The strict schemas check each object alone: an HPA whose `scaleTargetRef` says
`kind: Deployments`, a Service whose selector matches no pod, a RoleBinding for an account
that is not there all pass them, and the API server takes them too. What a user sees is
an HPA that never scales, a Service with no endpoints, a pod that cannot start (its
Secret or account missing) or a Forbidden in the sidecar's log. These tests resolve each
such reference against the objects the stack sends to the same cluster (the same
provider), with every optional part on in one stack or another.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.api_rules import label_value_problem, resources_problems
from infra.config import decode_pulumi_values, load_config
from infra.synth import evaluate, load_stack_config, manifest_of
from infra.validate import validate_object
from tests.infra.conftest import Record, edited_stack_file

ROOT = Path(__file__).parents[2]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")

#: pods no object of ours makes, selected on purpose: cert-manager starts its HTTP-01
#: solver pods, with this label, in the namespace of the Ingress it answers for
MADE_BY_OTHERS = ({"acme.cert-manager.io/http01-solver": "true"},)


@dataclass
class Cluster:
    """The objects a stack sends to one cluster (one Kubernetes provider)."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    #: every registration of the stack (components too): name -> its types (a component and
    #: a provider may share a name)
    types: dict[str, set[str]] = field(default_factory=dict)
    #: the Helm releases installed in the cluster (the objects their charts make are not here)
    releases: list[Record] = field(default_factory=list)
    #: k3s, which runs its own Traefik (class "traefik") unless told not to; we never do
    k3s: bool = False
    #: the ConfigGroups (CRD manifests) applied to the cluster
    config_groups: list[Record] = field(default_factory=list)

    def names(self, kind: str, namespace: str | None = None) -> set[str]:
        return {
            o["metadata"]["name"]
            for o in self.objects
            if o["kind"] == kind
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        }

    def find(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        return any(
            (o["apiVersion"], o["kind"], o["metadata"].get("name")) == (api_version, kind, name)
            and o["metadata"].get("namespace") == namespace
            for o in self.objects
        )

    def pod_labels(self, namespace: str) -> list[dict[str, str]]:
        return [
            o["spec"]["template"]["metadata"].get("labels", {})
            for o in self.objects
            if o["kind"] in WORKLOADS and o["metadata"].get("namespace") == namespace
        ]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


def clusters(records: list[Record]) -> dict[str, Cluster]:
    found: dict[str, Cluster] = defaultdict(Cluster)
    for record in records:
        if record["type"] == "kubernetes:helm.sh/v3:Release":
            found[str(record.get("provider"))].releases.append(record)
        manifest = manifest_of(record)
        if manifest is not None:
            cluster = found[str(record.get("provider"))]
            cluster.objects.append(manifest)
            cluster.records.append(record)
    # a ConfigGroup is a component in the provider, registered without one: it goes where
    # its siblings (the objects of the same component) go
    siblings: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record["custom"] and record.get("provider"):
            siblings[str(record.get("parent"))].add(str(record["provider"]))
    for record in records:
        if record["type"] == "kubernetes:yaml/v2:ConfigGroup":
            for provider in siblings[str(record.get("parent"))]:
                found[provider].config_groups.append(record)
    types: dict[str, set[str]] = defaultdict(set)
    for record in records:
        types[record["name"]].add(record["type"])
    parents = {r["name"]: r.get("parent") for r in records if r["custom"]}
    providers = {r["name"]: r for r in records if r["type"] == "pulumi:providers:kubernetes"}
    for provider, cluster in found.items():
        cluster.types = dict(types)
        made_by = (providers.get(provider) or {}).get("propertyDependencies", {})
        cluster.k3s = any(
            "daca:oci:K3sCluster" in types.get(str(parents.get(server)), set())
            for server in made_by.get("clusterIdentifier", [])
        )
    for hub in list(found.values()):
        for policy in hub.of_kind("PropagationPolicy"):
            _propagate(policy, hub, found)
    return dict(found)


def _pod_uses(pod: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(kind, name) of the account, Secrets and ConfigMaps a pod spec uses: volumes,
    `secretKeyRef`/`configMapKeyRef`, `envFrom` and `imagePullSecrets`."""
    used: set[tuple[str, str | None]] = {("ServiceAccount", pod.get("serviceAccountName"))}
    for volume in pod.get("volumes", []):
        used.add(("Secret", (volume.get("secret") or {}).get("secretName")))
        used.add(("ConfigMap", (volume.get("configMap") or {}).get("name")))
    used |= {("Secret", s["name"]) for s in pod.get("imagePullSecrets", [])}
    for container in pod["containers"] + pod.get("initContainers", []):
        for source in container.get("envFrom", []):
            used.add(("Secret", (source.get("secretRef") or {}).get("name")))
            used.add(("ConfigMap", (source.get("configMapRef") or {}).get("name")))
        for env in container.get("env", []):
            ref = env.get("valueFrom") or {}
            used.add(("Secret", (ref.get("secretKeyRef") or {}).get("name")))
            used.add(("ConfigMap", (ref.get("configMapKeyRef") or {}).get("name")))
    return used


def _propagate(policy: dict[str, Any], hub: Cluster, found: dict[str, Cluster]) -> None:
    """What Karmada sends to each member a PropagationPolicy places on: the objects its
    resourceSelectors name and, with propagateDeps, the account, Secrets and ConfigMaps
    their pods use (Karmada's dependencies distributor)."""
    spec = policy["spec"]
    picked = [
        obj
        for obj in hub.objects
        for sel in spec["resourceSelectors"]
        if (obj["apiVersion"], obj["kind"], obj["metadata"].get("name"))
        == (sel["apiVersion"], sel["kind"], sel["name"])
        and obj["metadata"].get("namespace") == sel.get("namespace")
    ]
    if spec.get("propagateDeps"):
        for workload in [o for o in picked if o["kind"] in WORKLOADS]:
            namespace = workload["metadata"]["namespace"]
            used = _pod_uses(workload["spec"]["template"]["spec"])
            picked += [
                o
                for o in hub.objects
                if (o["kind"], o["metadata"]["name"]) in used
                and o["metadata"].get("namespace") == namespace
            ]
    for member in spec["placement"]["clusterAffinity"]["clusterNames"]:
        assert member in found, f"{policy['metadata']['name']} places on {member}, not a cluster"
        found[member].objects += picked


def _planet_config(**planet: Any) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    config["daca:planet"].update(planet)
    return config


EVERYTHING_ON = {
    "dapr.pubsub": "pubsub.kafka",
    "kafka": {"enabled": True},
    "observability.enabled": True,
    "autoscaling": {"enabled": True, "triggers": ["prometheus", "kafka"]},
    "llm": {
        "engine": "llamacpp",
        "model": {
            "url": "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/"
            "91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf",
            "sha256": "6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
            "name": "qwen",
        },
    },
}

#: stack: (shipped stack, changes to its file); the stacks with an in-cluster LLM take no key
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # the prototype scaled out (its HPA and PDB) and holding a model key (its Role)
    "prototype": ("prototype", {"app.minReplicas": 1, "app.maxReplicas": 3}),
    "oci-everything-on": ("oci", EVERYTHING_ON),
    "planet": ("planet", {}),
    "planet-karmada": (
        "planet",
        {
            "planet.federation": "karmada",
            "planet.hub": "eu-west",
            "planet.karmada": {
                "apiSources": ["203.0.113.0/24"],
                "hubEgressCidrs": ["198.51.100.77/32"],
            },
        },
    ),
}


def variant_records(variant: str, where: Path) -> list[Record]:
    """Every registration of one of the VARIANTS, its stack file edited in `where`."""
    shipped, changes = VARIANTS[variant]
    file = edited_stack_file(shipped, where, changes)
    config, values, secrets = load_stack_config(file)
    if config.llm.engine == "none":  # type: ignore[attr-defined]
        values["daca:modelApiKey"] = "sk-test-0123456789"
        secrets = [*secrets, "daca:modelApiKey"]
        config = load_config(decode_pulumi_values(values), frozenset({"modelApiKey"}))
    records, _ = evaluate(shipped, values, secrets, config)
    return records


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def records(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[Record]:
    return variant_records(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def stack(records: list[Record]) -> dict[str, Cluster]:
    return clusters(records)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_object_passes_what_daca_check_validates(stack: dict[str, Cluster]) -> None:
    """The variants render what the shipped stacks do not (Kafka with every service, an
    in-cluster model, Karmada): each object is checked as `daca check` checks a stack's,
    against one Kubernetes version's schemas, 1.34 (`daca check` uses each stage's own:
    prototype 1.34, planet 1.33, oci 1.36)."""
    for name, cluster in stack.items():
        for obj in cluster.objects:
            assert validate_object(obj, "1.34.0") is None, name


#: a CPU quantity with a multiplier above one: a decimal one (k, M, G…) means thousands of
#: cores or more, a binary one (Ki, Mi…) is a memory unit. The API server takes either, so a
#: `250M` meant as `250m` deploys as a limit that never limits.
_CPU_TYPO = re.compile(r"[0-9.](k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)$")


def cpu_problems(resources: dict[str, Any], where: str) -> list[str]:
    """A container's `resources`' CPU quantities in thousands of cores or a memory unit."""
    return [
        f"{where}.{bound}.cpu: {value!r} is not cores or millicores"
        for bound in ("requests", "limits")
        if (value := (resources.get(bound) or {}).get("cpu")) is not None
        and _CPU_TYPO.search(str(value))
    ]


@pytest.mark.parametrize("value", ["250M", "1k", "100Mi", "2G", "0.5Ki"])
def test_cpu_written_in_mega_cores_is_caught(value: str) -> None:
    assert cpu_problems({"limits": {"cpu": value}}, "c") == [
        f"c.limits.cpu: {value!r} is not cores or millicores"
    ]


@pytest.mark.parametrize("value", ["2", "0.5", ".5", "250m", "1000m", 2, 0.25, "1e-1", "500u"])
def test_cpu_as_people_write_it_passes(value: str | float) -> None:
    assert cpu_problems({"requests": {"cpu": value}, "limits": {"cpu": value}}, "c") == []


def test_our_containers_ask_for_cpu_in_cores_or_millicores(stack: dict[str, Cluster]) -> None:
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            pod = workload["spec"]["template"]["spec"]
            for container in pod["containers"] + pod.get("initContainers", []):
                where = f"{name}: {workload['metadata']['name']}/{container['name']}"
                resources = container.get("resources") or {}
                assert cpu_problems(resources, where) == []
                seen += sum(1 for bound in resources.values() if "cpu" in bound)
    assert seen


def test_every_dapr_sidecar_gets_requests_and_limits(stack: dict[str, Cluster]) -> None:
    """The injector sizes daprd from the pod's annotations; without them the sidecar runs
    unbounded (and, under a quota, the pod is refused)."""
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            notes = workload["spec"]["template"]["metadata"].get("annotations") or {}
            if notes.get("dapr.io/enabled") != "true":
                continue
            resources: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
            for bound, short in (("requests", "request"), ("limits", "limit")):
                for resource in ("cpu", "memory"):
                    value = notes.get(f"dapr.io/sidecar-{resource}-{short}")
                    where = f"{name}: {workload['metadata']['name']}"
                    assert value, f"{where}: no sidecar {resource} {short}"
                    resources[bound][resource] = value
            assert list(resources_problems(resources, "daprd")) == [], name
            assert cpu_problems(resources, f"{name}: daprd") == []
            seen += 1
    assert seen


def test_scale_targets_are_workloads_of_the_same_cluster(stack: dict[str, Cluster]) -> None:
    seen = 0
    for name, cluster in stack.items():
        for scaler in cluster.of_kind("HorizontalPodAutoscaler") + cluster.of_kind("ScaledObject"):
            target = scaler["spec"]["scaleTargetRef"]
            # KEDA's defaults for a ScaledObject; an HPA must say both
            api_version = target.get("apiVersion", "apps/v1")
            kind = target.get("kind", "Deployment")
            namespace = scaler["metadata"]["namespace"]
            assert cluster.find(api_version, kind, namespace, target["name"]), (
                f"{name}: {scaler['kind']} {scaler['metadata']['name']} scales "
                f"{api_version} {kind} {namespace}/{target['name']}, which is not there"
            )
            seen += 1
    assert seen, "no autoscaler in this stack: the test would check nothing"


def test_selectors_pick_pods_the_cluster_runs(stack: dict[str, Cluster]) -> None:
    seen: set[str] = set()
    for name, cluster in stack.items():
        for obj in cluster.objects:
            kind, spec = obj["kind"], obj.get("spec") or {}
            namespaces = [obj["metadata"].get("namespace")]
            if kind == "Service":
                selector = spec.get("selector")
            elif kind in ("PodDisruptionBudget", "PodMonitor"):
                selector = spec["selector"].get("matchLabels")
                namespaces = spec.get("namespaceSelector", {}).get("matchNames", namespaces)
            elif kind == "NetworkPolicy":
                selector = spec["podSelector"].get("matchLabels")
            else:
                continue
            if not selector or selector in MADE_BY_OTHERS:
                continue  # every pod of the namespace, or pods made by another controller
            labels = [labels for ns in namespaces for labels in cluster.pod_labels(ns)]
            assert any(_selects(selector, pod) for pod in labels), (
                f"{name}: {kind} {obj['metadata']['name']} selects {selector} in "
                f"{namespaces}: no pod there has those labels"
            )
            seen.add(kind)
    assert {"Service", "NetworkPolicy"} <= seen


def test_our_services_and_guards_select_one_workloads_pods_by_its_selector(
    stack: dict[str, Cluster],
) -> None:
    """A Service selecting on less than its workload's selector takes in any other pod that
    shares those labels (a second app's agents, a job) as an endpoint; a disruption budget
    doing so counts (and holds back evictions of) pods that are not its workload's."""
    seen: set[str] = set()
    for name, cluster in stack.items():
        for obj in cluster.of_kind("Service") + cluster.of_kind("PodDisruptionBudget"):
            labels = obj["metadata"].get("labels") or {}
            selector = obj["spec"].get("selector")
            if obj["kind"] == "PodDisruptionBudget":
                selector = selector["matchLabels"]
            if "app.kubernetes.io/managed-by" not in labels or not selector:
                continue
            namespace = obj["metadata"]["namespace"]
            selectors = [
                o["spec"]["selector"]["matchLabels"]
                for o in cluster.objects
                if o["kind"] in WORKLOADS and o["metadata"].get("namespace") == namespace
            ]
            assert selector in selectors, (
                f"{name}: {obj['kind']} {obj['metadata']['name']} selects {selector}; "
                f"its namespace's workloads select {selectors}"
            )
            seen.add(obj["kind"])
    assert "Service" in seen
    if any(c.of_kind("PodDisruptionBudget") for c in stack.values()):
        assert "PodDisruptionBudget" in seen


def _peers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The peers a NetworkPolicy admits, or a Kafka's listeners do (Strimzi writes them
    into the NetworkPolicy it makes for the brokers)."""
    if obj["kind"] == "NetworkPolicy":
        for rule in [*obj["spec"].get("ingress", []), *obj["spec"].get("egress", [])]:
            yield from [*rule.get("from", []), *rule.get("to", [])]
    elif obj["kind"] == "Kafka":
        for listener in obj["spec"]["kafka"]["listeners"]:
            yield from listener.get("networkPolicyPeers", [])


def test_a_network_peer_that_admits_our_pods_admits_one_workloads(
    stack: dict[str, Cluster],
) -> None:
    """A peer selecting less than a workload's selector lets in every pod that shares the
    labels (another app's agents, a debug pod) along with the ones meant. A peer naming
    only a role label of its own (`daca.dev/...`) is an opt-in any pod may carry."""
    seen = 0
    for name, cluster in stack.items():
        everywhere = {o["metadata"].get("namespace") for o in cluster.objects}
        for obj in cluster.of_kind("NetworkPolicy") + cluster.of_kind("Kafka"):
            for peer in _peers(obj):
                selector = (peer.get("podSelector") or {}).get("matchLabels")
                if not selector or not any(k.startswith("app.kubernetes.io/") for k in selector):
                    continue
                chosen = peer.get("namespaceSelector")
                by_name = ((chosen or {}).get("matchLabels") or {}).get(
                    "kubernetes.io/metadata.name"
                )
                if chosen is None:
                    namespaces = {obj["metadata"]["namespace"]}
                else:  # by name, or every namespace (or any a label picks)
                    namespaces = {by_name} if by_name else everywhere
                matched = [
                    o
                    for o in cluster.objects
                    if o["kind"] in WORKLOADS
                    and o["metadata"].get("namespace") in namespaces
                    and _selects(selector, o["spec"]["template"]["metadata"].get("labels", {}))
                ]
                if not matched:
                    continue  # pods a chart makes (Prometheus): not ours to name
                where = f"{name}: {obj['kind']} {obj['metadata']['name']} admits {selector}"
                assert len(matched) == 1, f"{where}: {[o['metadata']['name'] for o in matched]}"
                assert selector == matched[0]["spec"]["selector"]["matchLabels"], where
                seen += 1
    assert seen


def test_our_workloads_select_by_name_and_component(stack: dict[str, Cluster]) -> None:
    """A workload's selector is immutable: ours is the two labels that never change, and
    both of them, so two components of one app (or one component of two apps) never
    select each other's pods."""
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            if "app.kubernetes.io/managed-by" not in (workload["metadata"].get("labels") or {}):
                continue
            selector = workload["spec"]["selector"]["matchLabels"]
            assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/component"}, (
                f"{name}: {workload['kind']} {workload['metadata']['name']} selects {selector}"
            )
            assert all(isinstance(v, str) and v for v in selector.values()), selector
            seen += 1
    assert seen


def test_a_peers_namespace_is_one_the_cluster_has(stack: dict[str, Cluster]) -> None:
    """A peer naming a namespace by `kubernetes.io/metadata.name` that no one creates (a
    name in capitals, a typo) admits nothing: KEDA's scaler could no longer read Kafka."""
    seen = 0
    for name, cluster in stack.items():
        namespaces = cluster.names("Namespace") | {"kube-system", "default"}
        namespaces |= {release["inputs"].get("namespace") for release in cluster.releases}
        for obj in cluster.of_kind("NetworkPolicy") + cluster.of_kind("Kafka"):
            for peer in _peers(obj):
                labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
                if "kubernetes.io/metadata.name" in labels:
                    named = labels["kubernetes.io/metadata.name"]
                    assert named in namespaces, f"{name}: {obj['metadata']['name']}: {named}"
                    seen += 1
    if any(c.of_kind("Kafka") for c in stack.values()):
        assert seen, "the Kafka listeners name the app's namespace"


def test_a_workload_selects_its_own_pods(stack: dict[str, Cluster]) -> None:
    """The API server refuses a Deployment whose selector does not match its template."""
    for cluster in stack.values():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            spec = workload["spec"]
            assert _selects(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])


def test_what_a_pod_mounts_and_runs_as_is_in_its_namespace(stack: dict[str, Cluster]) -> None:
    """A missing Secret, ConfigMap or service account keeps the pod from starting."""
    for name, cluster in stack.items():
        made = _secrets_made_by_operators(cluster)
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            namespace = workload["metadata"]["namespace"]
            where = f"{name}: {workload['kind']} {namespace}/{workload['metadata']['name']}"
            secrets = cluster.names("Secret", namespace) | made.get(namespace, set())
            pod = workload["spec"]["template"]["spec"]
            account = pod.get("serviceAccountName")
            if account:
                assert account in cluster.names("ServiceAccount", namespace), where
            for volume in pod.get("volumes", []):
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in secrets, (where, volume)
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in cluster.names("ConfigMap", namespace)
            for container in pod["containers"] + pod.get("initContainers", []):
                for env in container.get("env", []):
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                    if ref is not None:
                        assert ref["name"] in secrets, (where, env["name"])
            if workload["kind"] == "StatefulSet":
                # the governing Service: headless, or the pods get no stable DNS names
                governing = [
                    o
                    for o in cluster.of_kind("Service")
                    if o["metadata"]["name"] == workload["spec"]["serviceName"]
                    and o["metadata"].get("namespace") == namespace
                ]
                assert [o["spec"].get("clusterIP") for o in governing] == ["None"], where


def _secret_keys_named(value: Any) -> Iterator[tuple[str, str]]:
    """(Secret, key) pairs an object names: a `secretKeyRef`, or Strimzi's
    `passwordSecret` (`{secretName, password: <key>}`)."""
    if isinstance(value, dict):
        ref = value.get("secretKeyRef")
        if isinstance(ref, dict) and "key" in ref:
            yield str(ref["name"]), str(ref["key"])
        if "secretName" in value and isinstance(value.get("password"), str):
            yield str(value["secretName"]), value["password"]
        for item in value.values():
            yield from _secret_keys_named(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_keys_named(item)


def test_a_secret_key_named_anywhere_is_a_key_of_our_secret(stack: dict[str, Cluster]) -> None:
    """A pod whose `secretKeyRef` names a missing key does not start; Strimzi's Connect
    with a `passwordSecret` key the Secret lacks never logs in."""
    seen = 0
    for name, cluster in stack.items():
        keys = {
            (o["metadata"].get("namespace"), o["metadata"]["name"]): {
                *(o.get("data") or {}),
                *(o.get("stringData") or {}),
            }
            for o in cluster.of_kind("Secret")
        }
        for obj in cluster.objects:
            namespace = obj["metadata"].get("namespace")
            for secret, key in _secret_keys_named(obj.get("spec") or {}):
                if (namespace, secret) in keys:  # ours, not an operator's
                    assert key in keys[namespace, secret], (
                        f"{name}: {obj['kind']} {obj['metadata']['name']} reads key {key!r} "
                        f"of Secret {secret}, which has {sorted(keys[namespace, secret])}"
                    )
                    seen += 1
    assert seen


def _secrets_made_by_operators(cluster: Cluster) -> dict[str, set[str]]:
    """Secrets cert-manager writes for a Certificate (`spec.secretName`) and Strimzi's
    User Operator for a KafkaUser (named after the user), by namespace."""
    made: dict[str, set[str]] = defaultdict(set)
    for cert in cluster.of_kind("Certificate"):
        made[cert["metadata"]["namespace"]].add(cert["spec"]["secretName"])
    for user in cluster.of_kind("KafkaUser"):
        made[user["metadata"]["namespace"]].add(user["metadata"]["name"])
    return made


def _waited_for(record: Record, by_name: dict[str, Record]) -> set[str]:
    """Every resource the engine creates before `record`: its dependencies (the SDK has put
    a component's children in its place already) and theirs in turn."""
    seen: set[str] = set()
    todo = list(record["dependsOn"])
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in by_name:
            todo += by_name[name]["dependsOn"]
    return seen


def test_a_workload_waits_for_the_account_and_secrets_its_pods_use(
    stack: dict[str, Cluster], records: list[Record]
) -> None:
    """Until its account exists the ReplicaSet cannot create a pod (it backs off), and until
    its Secrets and ConfigMaps exist the pod does not start: when the stack makes them, the
    workload must come after them, or the first `pulumi up` is delayed, and times out if
    they come late. (Dependencies are recorded by name: a name two resources share would
    make the check ambiguous, so it is refused.)"""
    by_name = {r["name"]: r for r in records if r["custom"]}
    named = Counter(r["name"] for r in records)
    checked = 0
    for name, cluster in stack.items():
        made = {
            (
                r["inputs"]["kind"],
                r["inputs"]["metadata"].get("namespace"),
                r["inputs"]["metadata"]["name"],
            ): r["name"]
            for r in cluster.records
            if r["inputs"]["kind"] in ("ServiceAccount", "Secret", "ConfigMap")
        }
        for record in (r for r in cluster.records if r["inputs"]["kind"] in WORKLOADS):
            namespace = record["inputs"]["metadata"]["namespace"]
            used = _pod_uses(record["inputs"]["spec"]["template"]["spec"])
            before = _waited_for(record, by_name)
            for kind, used_name in used:
                made_as = made.get((kind, namespace, used_name))
                if made_as is not None:
                    assert named[made_as] == 1, f"{name}: two resources are named {made_as}"
                    assert made_as in before, (
                        f"{name}: {record['name']} does not wait for {kind} {used_name}"
                    )
                    checked += 1
    assert checked


def test_bindings_name_a_role_and_accounts_that_are_there(stack: dict[str, Cluster]) -> None:
    for name, cluster in stack.items():
        for binding in cluster.of_kind("RoleBinding") + cluster.of_kind("ClusterRoleBinding"):
            where = f"{name}: {binding['kind']} {binding['metadata']['name']}"
            role = binding["roleRef"]
            namespace = binding["metadata"].get("namespace")
            assert role["apiGroup"] == "rbac.authorization.k8s.io", where
            if role["kind"] == "Role":
                assert role["name"] in cluster.names("Role", namespace), where
            else:
                assert role["name"] in cluster.names("ClusterRole"), where
            for subject in binding["subjects"]:
                assert subject["kind"] == "ServiceAccount", where
                assert subject["name"] in cluster.names("ServiceAccount", subject["namespace"]), (
                    where
                )


def test_a_token_secret_names_its_account_and_waits_for_it(stack: dict[str, Cluster]) -> None:
    """Kubernetes' token controller deletes a service-account-token Secret whose account
    does not exist yet: the Secret must name an account and be created after it."""
    for name, cluster in stack.items():
        accounts = {
            (r["inputs"]["metadata"].get("namespace"), r["inputs"]["metadata"]["name"]): r["name"]
            for r in cluster.records
            if r["inputs"]["kind"] == "ServiceAccount"
        }
        for record in cluster.records:
            obj = record["inputs"]
            if obj["kind"] != "Secret" or obj.get("type") != "kubernetes.io/service-account-token":
                continue
            meta = obj["metadata"]
            account = meta["annotations"]["kubernetes.io/service-account.name"]
            key = (meta.get("namespace"), account)
            assert key in accounts, f"{name}: {record['name']} is for {key}, not in the cluster"
            assert accounts[key] in record["dependsOn"], f"{name}: {record['name']}"


def test_ingress_backends_are_services_with_that_port(stack: dict[str, Cluster]) -> None:
    for name, cluster in stack.items():
        services = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s["spec"]["ports"]
            for s in cluster.of_kind("Service")
        }
        for ingress in cluster.of_kind("Ingress"):
            namespace = ingress["metadata"]["namespace"]
            for rule in ingress["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    ports = services.get((namespace, backend["name"]))
                    assert ports is not None, f"{name}: {backend['name']} is not a Service"
                    wanted = backend["port"]
                    assert any(
                        wanted.get("number") == p["port"] or wanted.get("name") == p.get("name")
                        for p in ports
                    ), f"{name}: {backend['name']} has no port {json.dumps(wanted)}"


def test_objects_wait_for_the_namespace_the_stack_makes_for_them(
    stack: dict[str, Cluster],
) -> None:
    """Sent before its Namespace exists, an object fails to create ("namespaces not
    found"); Pulumi orders them only by dependsOn or by an input taken from the Namespace
    (directly, or through an object that waits for it). A Helm release made with
    `createNamespace` makes its namespace too: an object in it waits for the release."""
    seen = 0
    for name, cluster in stack.items():
        makers: dict[str, set[str]] = defaultdict(set)
        for r in cluster.records:
            if r["inputs"]["kind"] == "Namespace":
                makers[r["inputs"]["metadata"]["name"]].add(r["name"])
        for release in cluster.releases:
            if release["inputs"].get("createNamespace"):
                makers[release["inputs"]["namespace"]].add(release["name"])
        for record in cluster.records:
            namespace = record["inputs"]["metadata"].get("namespace")
            if namespace not in makers:
                continue
            assert makers[namespace] & _waits_for(record, cluster), (
                f"{name}: {record['name']} may be created before namespace {namespace} "
                f"(made by {sorted(makers[namespace])})"
            )
            seen += 1
    assert seen


def _waits_for(record: Record, cluster: Cluster) -> set[str]:
    """The names of every object `record` is created after, by dependsOn or an input."""
    by_name = {r["name"]: r for r in [*cluster.records, *cluster.releases, *cluster.config_groups]}
    found: set[str] = set()
    todo = [record]
    while todo:
        current = todo.pop()
        direct = set(current["dependsOn"])
        for inputs in (current.get("propertyDependencies") or {}).values():
            direct |= set(inputs)
        for name in direct - found:
            found.add(name)
            if name in by_name:
                todo.append(by_name[name])
    return found


#: API group: what puts its CRDs in a cluster (a ConfigGroup's file, or a chart that
#: installs them itself)
CRD_SOURCES = {
    "dapr.io": "/dapr/dapr/",
    "kafka.strimzi.io": "/strimzi-crds-",
    "cert-manager.io": "/cert-manager.crds.yaml",
    "monitoring.coreos.com": "/prometheus-operator-crd/",
    "keda.sh": "chart:keda",
    "traefik.io": "chart:traefik",
}
#: Karmada's own kinds live in its API server, installed with it (the karmada chart)
KARMADA_GROUPS = ("policy.karmada.io", "cluster.karmada.io", "work.karmada.io")


def _crd_installers(group: str, cluster: Cluster) -> set[str]:
    source = CRD_SOURCES[group]
    if cluster.k3s and group == "traefik.io":
        # k3s applies its bundled traefik-crd chart as the server starts, long before any
        # release of ours is done: anything that waits for a release finds them there
        return {r["name"] for r in cluster.releases}
    if source.startswith("chart:"):
        chart = source.removeprefix("chart:")
        return {
            r["name"]
            for r in cluster.releases
            if r["inputs"]["chart"] == chart and not r["inputs"].get("skipCrds")
        }
    return {
        g["name"]
        for g in cluster.config_groups
        if any(source in str(f) for f in g["inputs"].get("files") or [])
    }


def test_custom_resources_wait_for_their_crds(stack: dict[str, Cluster]) -> None:
    """A custom resource sent before its CRD is refused ("no matches for kind"); a chart
    told to skip its CRDs starts an operator that watches kinds not yet there."""
    seen: set[str] = set()
    for name, cluster in stack.items():
        for record in cluster.records:
            group = record["inputs"]["apiVersion"].partition("/")[0]
            if group not in CRD_SOURCES:
                assert "." not in group or group.endswith(("k8s.io", *KARMADA_GROUPS)), (
                    f"{name}: {record['name']} is a {group} kind this test knows no CRDs for"
                )
                continue
            installers = _crd_installers(group, cluster)
            assert installers & _waits_for(record, cluster), (
                f"{name}: {record['inputs']['kind']} {record['name']} may be sent before the "
                f"{group} CRDs ({sorted(installers) or 'nothing installs them'})"
            )
            seen.add(group)
        for release in cluster.releases:
            if release["inputs"].get("skipCrds"):
                crds = {g["name"] for g in cluster.config_groups}
                assert crds & set(release["dependsOn"]), (
                    f"{name}: {release['name']} skips its chart's CRDs and waits for none of ours"
                )
    assert "dapr.io" in seen


#: the Secret types Kubernetes defines (core/v1 types.go); a misspelt one ("opaque") is a
#: custom type no tool filtering on the real one finds
SECRET_TYPES = {
    "Opaque", "kubernetes.io/service-account-token", "kubernetes.io/dockercfg",
    "kubernetes.io/dockerconfigjson", "kubernetes.io/basic-auth", "kubernetes.io/ssh-auth",
    "kubernetes.io/tls", "bootstrap.kubernetes.io/token",
}  # fmt: skip


def test_every_secret_is_of_a_type_kubernetes_defines(stack: dict[str, Cluster]) -> None:
    seen = 0
    for name, cluster in stack.items():
        for secret in cluster.of_kind("Secret"):
            kind = secret.get("type", "Opaque")
            assert kind in SECRET_TYPES, f"{name}: Secret {secret['metadata']['name']}: {kind!r}"
            seen += 1
    assert seen


RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of")


def test_our_objects_carry_the_recommended_labels(stack: dict[str, Cluster]) -> None:
    """`kubectl get -l app.kubernetes.io/component=agent` and the dashboards group by
    these: an object of ours (managed-by set) without one drops out of every view."""
    seen = 0
    for name, cluster in stack.items():
        for obj in cluster.objects:
            labels = obj["metadata"].get("labels") or {}
            if "app.kubernetes.io/managed-by" not in labels:
                continue
            missing = [key for key in RECOMMENDED if not labels.get(key)]
            assert not missing, f"{name}: {obj['kind']} {obj['metadata']['name']}: no {missing}"
            seen += 1
    assert seen


def test_a_workload_of_ours_is_labelled_with_its_images_version(
    stack: dict[str, Cluster],
) -> None:
    """`app.kubernetes.io/version` is "the current version of the application": the tag of
    the image its main container runs, on the workload and its pods (what `kubectl get
    -L app.kubernetes.io/version` shows during an upgrade). An image pinned by digest
    alone (our agent's) has no version to show, nor a tag no label value can hold."""
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            if "app.kubernetes.io/managed-by" not in (workload["metadata"].get("labels") or {}):
                continue
            image = workload["spec"]["template"]["spec"]["containers"][0]["image"]
            reference = image.split("@", 1)[0]
            last = reference.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else None
            if tag is not None and label_value_problem(tag) is not None:
                tag = None  # no label can hold it
            for labels in (
                workload["metadata"]["labels"],
                workload["spec"]["template"]["metadata"]["labels"],
            ):
                assert labels.get("app.kubernetes.io/version") == tag, (
                    f"{name}: {workload['kind']} {workload['metadata']['name']} runs {image}"
                )
            seen += tag is not None
    assert seen


def test_an_autoscaler_carries_its_targets_component(
    stack: dict[str, Cluster],
) -> None:
    seen = 0
    for name, cluster in stack.items():
        workloads = {
            (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
            for o in cluster.objects
            if o["kind"] in WORKLOADS
        }
        for scaler in cluster.of_kind("HorizontalPodAutoscaler") + cluster.of_kind("ScaledObject"):
            ref = scaler["spec"]["scaleTargetRef"]
            target = workloads[
                (ref.get("kind", "Deployment"), scaler["metadata"]["namespace"], ref["name"])
            ]
            key = "app.kubernetes.io/component"
            assert scaler["metadata"]["labels"][key] == target["metadata"]["labels"][key], (
                f"{name}: {scaler['kind']} {scaler['metadata']['name']}"
            )
            seen += 1
    assert seen


def test_only_pods_that_call_the_api_server_hold_a_token(stack: dict[str, Cluster]) -> None:
    """A mounted service-account token is a credential a compromised container can use:
    our pods mount one only when their account is bound to a role (Kubernetes mounts it
    unless told not to), or when their daprd loads a Kubernetes secret store, which builds
    its client from the token at start and keeps daprd down without it."""
    seen = 0
    for name, cluster in stack.items():
        if cluster.of_kind("PropagationPolicy"):
            continue  # Karmada's API server runs no pod: its members, checked too, do
        k8s_store = {
            (c["metadata"].get("namespace"), app_id)
            for c in cluster.of_kind("Component")
            if c["spec"]["type"] == "secretstores.kubernetes"
            for app_id in c.get("scopes") or []
        }
        bound = {
            (subject.get("namespace", binding["metadata"].get("namespace")), subject["name"])
            for binding in cluster.of_kind("RoleBinding") + cluster.of_kind("ClusterRoleBinding")
            for subject in binding.get("subjects") or []
            if subject["kind"] == "ServiceAccount"
        }
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            if "app.kubernetes.io/managed-by" not in (workload["metadata"].get("labels") or {}):
                continue
            pod = workload["spec"]["template"]["spec"]
            account = pod.get("serviceAccountName", "default")
            annotations = workload["spec"]["template"]["metadata"].get("annotations") or {}
            namespace = workload["metadata"]["namespace"]
            if (namespace, annotations.get("dapr.io/app-id")) in k8s_store:
                continue
            if pod.get("automountServiceAccountToken", True):
                assert (namespace, account) in bound, (
                    f"{name}: {workload['kind']} {workload['metadata']['name']} mounts the "
                    f"token of {namespace}/{account}, which no role binding names"
                )
            seen += 1
    assert seen


def test_our_pods_run_under_their_own_account(stack: dict[str, Cluster]) -> None:
    """Not the namespace's `default` account, which every other pod there shares and any
    binding made for one of them would grant to all."""
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            if "app.kubernetes.io/managed-by" not in (workload["metadata"].get("labels") or {}):
                continue
            account = workload["spec"]["template"]["spec"].get("serviceAccountName", "default")
            namespace = workload["metadata"]["namespace"]
            assert account != "default", (
                f"{name}: {workload['kind']} {workload['metadata']['name']} runs as default"
            )
            assert account in cluster.names("ServiceAccount", namespace), (name, account)
            seen += 1
    assert seen


#: kinds that live outside namespaces (the rest must name one)
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "PersistentVolume",
    "ClusterIssuer", "ClusterTriggerAuthentication", "Cluster", "ClusterPropagationPolicy",
    "ClusterOverridePolicy", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "APIService",
}  # fmt: skip


def test_every_namespaced_object_names_its_namespace(stack: dict[str, Cluster]) -> None:
    """Without one, an object lands in whatever namespace the provider's kubeconfig
    defaults to (`default`), where nothing that should read it looks."""
    for name, cluster in stack.items():
        for obj in cluster.objects:
            if obj["kind"] in CLUSTER_SCOPED:
                assert not obj["metadata"].get("namespace"), (name, obj["kind"])
                continue
            assert obj["metadata"].get("namespace"), (
                f"{name}: {obj['kind']} {obj['metadata'].get('name')} names no namespace"
            )


def test_what_a_component_waits_for_its_every_resource_waits_for(
    records: list[Record],
) -> None:
    """Each resource names what its component was told to wait for (the CRDs, the sidecar
    injector) among its own dependencies, as `child_options` passes it down: the engine
    then orders it so in a preview's plan too, and a child built without the component's
    options (which would lose the ordering and the provider) shows here."""
    children: dict[str | None, list[Record]] = defaultdict(list)
    for record in records:
        children[record.get("parent")].append(record)

    def descendants(name: str) -> Iterator[Record]:
        for child in children.get(name, []):
            yield child
            yield from descendants(child["name"])

    checked = 0
    for component in (r for r in records if not r["custom"] and r["dependsOn"]):
        for resource in descendants(component["name"]):
            if resource["custom"]:
                missing = set(component["dependsOn"]) - set(resource["dependsOn"])
                assert not missing, (
                    f"{resource['type']} {resource['name']} does not wait for {sorted(missing)}, "
                    f"which its component {component['name']} waits for"
                )
                checked += 1
    assert checked


def test_every_object_belongs_to_a_component(stack: dict[str, Cluster]) -> None:
    """An object registered without its component as parent sits at the stack's root: a
    new URN (Pulumi replaces it on the next `up`) and no place in `pulumi stack`'s tree."""
    for name, cluster in stack.items():
        for record in cluster.records:
            parent = cluster.types.get(record["parent"], set())
            assert any(t.startswith("daca:") for t in parent), (
                f"{name}: {record['name']} hangs off {record['parent']!r}"
            )


#: the pod annotations Dapr's sidecar injector reads (dapr/dapr v1.18.3,
#: pkg/injector/annotations/annotations.go; keys are matched exactly)
DAPR_ANNOTATIONS = {
    f"dapr.io/{key}"
    for key in [
        "actors-disseminate-timeout",
        "api-token-secret",
        "app-binding-options-timeout",
        "app-channel-address",
        "app-health-check-path",
        "app-health-probe-interval",
        "app-health-probe-timeout",
        "app-health-threshold",
        "app-id",
        "app-max-concurrency",
        "app-port",
        "app-protocol",
        "app-ssl",
        "app-token-secret",
        "block-shutdown-duration",
        "component-container",
        "config",
        "debug-port",
        "disable-builtin-k8s-secret-store",
        "disable-init-endpoints",
        "enable-api-logging",
        "enable-app-health-check",
        "enable-debug",
        "enable-metrics",
        "enable-native-sidecar",
        "enable-profiling",
        "enabled",
        "env",
        "env-from-secret",
        "graceful-shutdown-seconds",
        "grpc-port",
        "http-max-request-size",
        "http-read-buffer-size",
        "inject-pluggable-components",
        "internal-grpc-port",
        "log-as-json",
        "log-level",
        "max-body-size",
        "metrics-port",
        "placement-host-address",
        "pluggable-components",
        "pluggable-components-sockets-folder",
        "read-buffer-size",
        "scheduler-host-address",
        "sentry-request-jwt-audiences",
        "sidecar-cpu-limit",
        "sidecar-cpu-request",
        "sidecar-image",
        "sidecar-listen-addresses",
        "sidecar-liveness-probe-delay-seconds",
        "sidecar-liveness-probe-period-seconds",
        "sidecar-liveness-probe-threshold",
        "sidecar-liveness-probe-timeout-seconds",
        "sidecar-memory-limit",
        "sidecar-memory-request",
        "sidecar-readiness-probe-delay-seconds",
        "sidecar-readiness-probe-period-seconds",
        "sidecar-readiness-probe-threshold",
        "sidecar-readiness-probe-timeout-seconds",
        "sidecar-seccomp-profile-type",
        "sidecar-svc-annotations",
        "unix-domain-socket-path",
        "volume-mounts",
        "volume-mounts-rw",
    ]
}


def test_the_injector_reads_every_dapr_annotation_we_give_a_pod(
    stack: dict[str, Cluster],
) -> None:
    """A misspelt key is ignored: the sidecar falls back to its default, e.g. no seccomp
    profile, which a namespace enforcing `restricted` then refuses."""
    seen = 0
    for name, cluster in stack.items():
        for workload in (o for o in cluster.objects if o["kind"] in WORKLOADS):
            notes = workload["spec"]["template"]["metadata"].get("annotations") or {}
            for key in notes:
                if "dapr.io" in key.lower():
                    where = f"{name}: {workload['metadata']['name']}"
                    assert key in DAPR_ANNOTATIONS, f"{where}: {key}"
                    seen += 1
    assert seen


#: what Traefik's Ingress provider reads after `traefik.ingress.kubernetes.io/`
#: (traefik/traefik v3.7.9, pkg/provider/kubernetes/ingress/annotations.go: RouterIng and
#: ServiceIng, decoded case-insensitively, with pkg/config/dynamic's RouterObservability
#: and Sticky; the TLS domains' indexed keys left out; Traefik v3.7 is what the chart runs)
TRAEFIK_ANNOTATIONS = {
    "router.entrypoints",
    "router.middlewares",
    "router.pathmatcher",
    "router.priority",
    "router.rulesyntax",
    "router.tls",
    "router.tls.certresolver",
    "router.tls.options",
    "service.serversscheme",
    "service.serverstransport",
    "service.passhostheader",
    "service.nativelb",
    "service.nodeportlb",
    "service.middlewares",
    "router.observability.accesslogs",
    "router.observability.metrics",
    "router.observability.tracing",
    "router.observability.traceverbosity",
    "service.sticky.cookie",
    *(
        f"service.sticky.cookie.{field}"
        for field in ("name", "secure", "httponly", "samesite", "maxage", "path", "domain")
    ),
}
#: the entry points Traefik defines by default, in the chart (ports.web, ports.websecure)
#: and in k3s's bundled release
TRAEFIK_ENTRYPOINTS = {"web", "websecure"}


def test_traefik_reads_every_annotation_we_give_an_ingress(stack: dict[str, Cluster]) -> None:
    """Traefik ignores an annotation it does not know: a misspelt `router.tls` serves the
    route as plain HTTP on the TLS entry point, with no error anywhere."""
    seen = 0
    for name, cluster in stack.items():
        for ingress in cluster.of_kind("Ingress"):
            annotations = ingress["metadata"].get("annotations") or {}
            for key, value in annotations.items():
                if "traefik" not in key.lower():
                    continue
                # meant for Traefik: under its prefix, exactly
                assert key.startswith("traefik.ingress.kubernetes.io/"), f"{name}: {key}"
                setting = key.removeprefix("traefik.ingress.kubernetes.io/")
                assert setting.lower() in TRAEFIK_ANNOTATIONS, f"{name}: {key}"
                if setting == "router.tls":
                    assert value in ("true", "false"), f"{name}: {key}={value!r}"
                if setting == "router.entrypoints":
                    assert set(value.split(",")) <= TRAEFIK_ENTRYPOINTS, f"{name}: {value!r}"
                seen += 1
    if any(c.of_kind("Ingress") for c in stack.values()):
        assert seen


def test_every_ingress_class_has_a_controller_that_serves_ingresses(
    stack: dict[str, Cluster],
) -> None:
    """An Ingress of a class no controller claims is never served (no error anywhere)."""
    for name, cluster in stack.items():
        served = {"traefik"} if cluster.k3s else set()
        served |= {
            values["ingressClass"]["name"]
            for release in cluster.releases
            if release["inputs"]["chart"] == "traefik"
            and (values := release["inputs"]["values"])["ingressClass"]["enabled"]
            and values["providers"]["kubernetesIngress"]["enabled"]
        }
        for ingress in cluster.of_kind("Ingress"):
            wanted = ingress["spec"]["ingressClassName"]
            assert wanted in served, f"{name}: no controller serves class {wanted!r}"
