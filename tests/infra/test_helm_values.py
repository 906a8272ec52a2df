"""The values we give a chart that the chart copies into pods (resources, security
contexts, affinity, tolerations) are valid as the Kubernetes fields they become.

Few charts validate their values. A misspelt key in a security context is dropped without
a word (the pod runs without the seccomp profile we meant it to have); an invalid quantity
or operator passes `helm install` and fails at the API server, half-way through a deploy.
Each such value is checked against the strict Kubernetes schema of its type, and quantities
and node-selector operators by Kubernetes' own rules, which the schemas leave out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from infra.api_rules import resources_problems
from infra.chart_schemas import CHART_VALUES, KUBE_PROMETHEUS_STACK_VALUES, TRAEFIK_VALUES
from infra.synth import SynthResult, synthesize
from tests.infra.conftest import edited_stack_file, of_type
from tests.infra.test_llm import _planet_with_gpus
from tests.infra.test_references import EVERYTHING_ON, cpu_problems
from tests.infra.test_references import VARIANTS as REFERENCE_VARIANTS

RESOURCE_NAMES = {"cpu", "memory", "ephemeral-storage", "storage", "nvidia.com/gpu"}
#: NodeSelectorRequirement's operators (its schema lists them only in prose)
OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"}

#: a values key → the Kubernetes type(s) the charts we use render it as
TYPES: dict[str, tuple[str, ...]] = {
    "resources": ("resourcerequirements",),
    "securityContext": ("podsecuritycontext", "securitycontext"),
    "podSecurityContext": ("podsecuritycontext",),
    "containerSecurityContext": ("securitycontext",),
    "affinity": ("affinity",),
    "nodeAffinity": ("nodeaffinity",),
    # kube-prometheus-stack's storageSpec: the Prometheus CR's claim template
    "volumeClaimTemplate": ("persistentvolumeclaim",),
}
LISTS = {
    "tolerations": "toleration",
    "nodeSelectorTerms": "nodeselectorterm",
    "volumeMounts": "volumemount",
    "volumes": "volume",
}


@cache
def _validator(version: str, type_: str) -> jsonschema.protocols.Validator:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    strict = root / f"v{version}.0-local-strict"
    schema = json.loads((strict / f"{type_}-v1.json").read_text())
    definitions = json.loads((strict / "_definitions.json").read_text())
    registry: Registry[Any] = Resource.from_contents(definitions) @ Registry()
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _problems(value: Any, types: tuple[str, ...], version: str) -> list[str]:
    """Nothing if `value` is valid as one of `types`, else each type's first error."""
    found = []
    for type_ in types:
        error = jsonschema.exceptions.best_match(_validator(version, type_).iter_errors(value))
        if error is None:
            return []
        found.append(f"as {type_}: {'.'.join(map(str, error.absolute_path))} {error.message}")
    return found


def _per_component(value: Any, types: tuple[str, ...]) -> bool:
    """KEDA's style: one entry per component (`resources.operator`, `.metricServer`…)."""
    if not isinstance(value, dict) or not value:
        return False
    fields = {"requests", "limits", "claims"} if "resourcerequirements" in types else _FIELDS
    if "persistentvolumeclaim" in types:
        fields = {"apiVersion", "kind", "metadata", "spec"}
    return all(isinstance(v, dict) for v in value.values()) and not fields & set(value)


#: the fields of a (pod) security context and an affinity, to tell them from a component map
_FIELDS = {
    "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "seccompProfile", "capabilities",
    "readOnlyRootFilesystem", "allowPrivilegeEscalation", "privileged", "seLinuxOptions",
    "supplementalGroups", "sysctls", "fsGroupChangePolicy", "appArmorProfile",
    "windowsOptions", "procMount", "nodeAffinity", "podAffinity", "podAntiAffinity",
    "preferredDuringSchedulingIgnoredDuringExecution",
    "requiredDuringSchedulingIgnoredDuringExecution",
}  # fmt: skip


def kubernetes_values(values: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every value under a key the charts render as a Kubernetes type."""
    if isinstance(values, dict):
        for key, value in values.items():
            here = f"{path}.{key}" if path else key
            types = TYPES.get(key)
            if types and _per_component(value, types):
                for component, inner in value.items():
                    yield f"{here}.{component}", key, inner
            elif types or key in LISTS or key == "matchExpressions":
                yield here, key, value
            yield from kubernetes_values(value, here)
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from kubernetes_values(item, f"{path}[{index}]")


def check(values: Any, version: str) -> list[str]:
    problems = []
    for path, key, value in kubernetes_values(values):
        if key in TYPES:
            problems += [f"{path} {p}" for p in _problems(value, TYPES[key], version)]
        elif key in LISTS:
            for index, item in enumerate(value):
                problems += [
                    f"{path}[{index}] {p}" for p in _problems(item, (LISTS[key],), version)
                ]
        else:  # matchExpressions
            problems += [
                f"{path}: operator {e.get('operator')!r}"
                for e in value
                if e.get("operator") not in OPERATORS
            ]
        if key == "resources" and isinstance(value, dict):
            for bound in ("requests", "limits"):
                for name in value.get(bound) or {}:
                    if name not in RESOURCE_NAMES:
                        problems.append(f"{path}.{bound}: {name!r} is not a resource name")
            problems += resources_problems(value, path)
            problems += cpu_problems(value, path)
            # a container's: what the scheduler places it by (a claim's asks for storage)
            requests = value.get("requests") or {}
            if "storage" not in requests:
                problems += [
                    f"{path}.requests: no {name} request"
                    for name in ("cpu", "memory")
                    if requests.get(name) is None
                ]
                # without one a leak takes the node's memory, and its neighbours with it
                if (value.get("limits") or {}).get("memory") is None:
                    problems.append(f"{path}.limits: no memory limit")
    return problems


#: stack → its config file, from the one shipped; the prototype's charts (Dapr's) take no
#: value of these types
VARIANTS: dict[str, tuple[str, Callable[[Path], Path | None]]] = {
    "oci-everything-on": ("oci", lambda tmp: edited_stack_file("oci", tmp, EVERYTHING_ON)),
    "planet": ("planet", lambda tmp: None),
    "planet-vllm": ("planet", lambda tmp: _written(tmp, _planet_with_gpus())),
    "planet-karmada": (
        "planet",
        lambda tmp: edited_stack_file("planet", tmp, REFERENCE_VARIANTS["planet-karmada"][1]),
    ),
}


def _written(tmp: Path, config: dict[str, Any]) -> Path:
    file = tmp / "Pulumi.test.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return file


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    shipped, config_file = VARIANTS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    return synthesize(shipped, config_file=config_file(tmp), out_dir=tmp / "out")


def test_chart_values_that_become_pod_fields_are_valid_kubernetes(stack: SynthResult) -> None:
    version = ".".join(str(stack.k8s_version).split(".")[:2])
    releases = of_type(stack.resources, "kubernetes:helm.sh/v3:Release")
    assert releases
    checked = 0
    for release in releases:
        values = release["inputs"].get("values", {})
        checked += sum(1 for _ in kubernetes_values(values))
        assert check(values, version) == [], release["name"]
    assert checked, "no chart value of a Kubernetes type: the test would check nothing"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"resources": {"limits": {"memory": "512mi"}}}, "'512mi' is not a quantity"),
        ({"resources": {"requests": {"memory": "32Mi"}}}, "no cpu request"),
        ({"resources": {"requests": {"cpu": "1m", "memory": "32Mi"}}}, "no memory limit"),
        ({"resources": {"requests": {"cpu": None, "memory": "32Mi"}}}, "no cpu request"),
        (
            {
                "webhook": {
                    "resources": {"requests": {"cpu": "10M", "memory": "1"}, "limits": {"cpu": "1"}}
                }
            },
            "requests.cpu must be less than or equal to its limit",
        ),
        ({"resources": {"requests": {"XXcpuXX": "1"}}}, "'XXcpuXX' is not a resource name"),
        (
            {"resources": {"requests": {"cpu": "50m", "memory": "1"}, "limits": {"cpu": "250M"}}},
            "'250M' is not cores or millicores",
        ),
        ({"podSecurityContext": {"seccompProfil": {"type": "RuntimeDefault"}}}, "seccompProfil"),
        ({"securityContext": {"seccompProfile": {"tipe": "RuntimeDefault"}}}, "'type' is a req"),
        ({"resources": {"webhooks": {"requests": {"cpu": "10x"}}}}, "'10x' is not a quantity"),
        ({"podSecurityContext": {"webhooks": {"runAsNonRot": True}}}, "runAsNonRot"),
        (
            {
                "m": [
                    {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "IN"}]}]}
                ]
            },
            "operator 'IN'",
        ),
        ({"tolerations": [{"key": "nvidia.com/gpu", "efect": "NoSchedule"}]}, "efect"),
        ({"volumeMounts": [{"name": "tls", "mountPath": "/tls", "READONLY": True}]}, "READONLY"),
        (
            {"volumeClaimTemplate": {"spec": {"XXaccessModesXX": ["ReadWriteOnce"]}}},
            "XXaccessModesXX",
        ),
    ],
)
def test_the_check_names_what_a_chart_would_get_wrong(values: Any, fragment: str) -> None:
    problems = check(values, "1.33")
    assert any(fragment in p for p in problems), problems


def test_every_chart_gets_only_keys_it_reads(stack: SynthResult) -> None:
    """A misspelt key is refused by a chart with a closed schema (cert-manager's,
    Traefik's) only at `helm install`, and silently ignored by the rest: Dapr's control
    plane would run on the chart's defaults, cert-manager's webhook without its requests.
    Every chart we install has a schema of the keys it reads (infra/chart_schemas.py)."""
    releases = of_type(stack.resources, "kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        chart = release["inputs"]["chart"]
        assert chart in CHART_VALUES, f"{chart}: no schema of the values it reads"
        jsonschema.validate(release["inputs"].get("values", {}), CHART_VALUES[chart])


def _refusals(values: Any, schema: dict[str, Any]) -> list[str]:
    """Every error's own message (str() of an error holds the whole input, so a fragment
    of the input would be found in it whichever rule fired)."""
    return [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(values)]


@pytest.mark.parametrize(
    ("chart", "values", "fragment"),
    [
        ("cert-manager", {"webhook": {"RESOURCES": {}}}, "RESOURCES"),
        ("cert-manager", {"crds": {"enable": False}}, "enable"),
        ("dapr", {"global": {"XXprometheusXX": {"enabled": True}}}, "XXprometheusXX"),
        ("dapr", {"global": {"mtls": {"enabled": "yes"}}}, "'yes' is not of type 'boolean'"),
        ("dapr", {"mtls": {"enabled": True}}, "mtls"),
        ("keda", {"resources": {"metricsServer": {}}}, "metricsServer"),
        ("keda", {"image": {"pullPolicy": "ifNotPresent"}}, "ifNotPresent"),
        ("strimzi-kafka-operator", {"watchNamespace": []}, "watchNamespace"),
        ("karmada", {"etcd": {"internal": {"storageType": "PVC"}}}, "PVC"),
        ("karmada", {"apiServer": {"serviceAnnotation": {}}}, "serviceAnnotation"),
        ("nvidia-device-plugin", {"nodeAffinity": {}}, "nodeAffinity"),
    ],
)
def test_a_key_a_chart_does_not_read_is_refused(
    chart: str, values: dict[str, Any], fragment: str
) -> None:
    assert any(fragment in message for message in _refusals(values, CHART_VALUES[chart]))


def _hardening(values: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every security setting we give a chart, wherever it sits in its values."""
    if isinstance(values, dict):
        for key, value in values.items():
            if key in ("allowPrivilegeEscalation", "privileged", "runAsNonRoot"):
                yield path, key, value
            yield from _hardening(value, f"{path}.{key}".lstrip("."))
    elif isinstance(values, list):
        for item in values:
            yield from _hardening(item, path)


def test_charts_are_only_ever_told_to_harden(stack: SynthResult) -> None:
    """Secure by default: every security setting we give a chart hardens it (no
    escalation, nothing privileged, non-root); the policy pack never sees inside a chart,
    and a chart's own defaults are read at its pin, not here."""
    seen = 0
    for release in of_type(stack.resources, "kubernetes:helm.sh/v3:Release"):
        for path, key, value in _hardening(release["inputs"].get("values", {})):
            expected = key == "runAsNonRoot"
            assert value is expected, f"{release['name']}: {path}.{key} is {value!r}"
            seen += 1
    assert seen


#: Helm's (and the provider's) default wait, in seconds
HELM_DEFAULT_TIMEOUT = 300


def test_every_release_is_atomic_with_time_to_pull_its_images(stack: SynthResult) -> None:
    """An atomic release is uninstalled when it is not ready in time: Helm's 5 minutes are
    short for a first pull of its images on a small node, so the first `pulumi up` would
    undo the install. Karmada's (etcd, certificates, five Deployments and the load
    balancer's address) gets longer still."""
    releases = of_type(stack.resources, "kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        inputs = release["inputs"]
        assert (inputs["atomic"], inputs["cleanupOnFail"]) == (True, True), release["name"]
        least = 3 if inputs["chart"] == "karmada" else 2
        assert inputs.get("timeout", HELM_DEFAULT_TIMEOUT) >= least * HELM_DEFAULT_TIMEOUT, (
            f"{release['name']} waits {inputs.get('timeout')} s"
        )


def test_every_kubernetes_resource_goes_through_a_provider_of_the_stack(
    stack: SynthResult,
) -> None:
    """A component registered without its options (or a child without its parent) loses
    the cluster's provider: its objects go through Pulumi's default provider, i.e. to
    whatever cluster the deployer's kubeconfig points at, not the region's."""
    providers = {r["name"] for r in of_type(stack.resources, "pulumi:providers:kubernetes")}
    objects = [r for r in stack.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert objects
    for record in objects:
        assert record.get("provider") in providers, (
            f"{record['type']} {record['name']} goes through {record.get('provider')!r}"
        )


def test_traefik_gets_only_values_its_chart_schema_accepts(stack: SynthResult) -> None:
    releases = [
        r
        for r in of_type(stack.resources, "kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "traefik"
    ]
    if stack.stack == "planet":
        assert releases, "planet's AKS regions run Traefik"
    for release in releases:
        jsonschema.validate(release["inputs"]["values"], TRAEFIK_VALUES)
        # the chart merges `service.spec` into its Service unchecked (its schema leaves it
        # open): it must be a ServiceSpec, and keep the client's address (Local: no SNAT
        # through another node), which the access log and any per-address limit need
        spec = release["inputs"]["values"]["service"]["spec"]
        assert _problems(spec, ("servicespec",), "1.33") == []
        assert (spec["type"], spec["externalTrafficPolicy"]) == ("LoadBalancer", "Local")


def test_a_misspelt_traefik_value_is_refused() -> None:
    values = {"providers": {"kubernetesingress": {"enabled": True}}}
    with pytest.raises(jsonschema.ValidationError, match="kubernetesingress"):
        jsonschema.validate(values, TRAEFIK_VALUES)


def test_kube_prometheus_stack_gets_only_keys_its_charts_read(stack: SynthResult) -> None:
    releases = [
        r
        for r in of_type(stack.resources, "kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "kube-prometheus-stack"
    ]
    sources: list[dict[str, object]] = []
    for release in releases:
        values = release["inputs"]["values"]
        jsonschema.validate(values, KUBE_PROMETHEUS_STACK_VALUES)
        sources += values["grafana"]["additionalDataSources"]
    if stack.stack == "planet":
        assert releases, "planet's regions run kube-prometheus-stack"
        assert sources, "planet's hub region gives Grafana the all-regions data source"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"prometheusoperator": {}}, "prometheusoperator"),
        ({"KUBE-STATE-METRICS": {}}, "KUBE-STATE-METRICS"),
        ({"grafana": {"additionalDataSources": [{"NAME": "x"}]}}, "NAME"),
        (
            {
                "grafana": {
                    "additionalDataSources": [
                        {"name": "x", "type": "Prometheus", "url": "http://q", "access": "proxy"}
                    ]
                }
            },
            "'Prometheus' is not one of",
        ),
        (
            {
                "grafana": {
                    "additionalDataSources": [{"name": "x", "url": "http://q", "access": "proxy"}]
                }
            },
            "'type' is a required property",
        ),
    ],
)
def test_a_misspelt_kube_prometheus_stack_value_is_refused(
    values: dict[str, object], fragment: str
) -> None:
    assert any(fragment in message for message in _refusals(values, KUBE_PROMETHEUS_STACK_VALUES))
