"""`daca check` end to end: the real pack, in its own env, through `infra.check.run_check`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.check import evaluate_policies, pack_python, run_check

from .cases import UNKNOWN
from .conftest import FIXTURES, POLICIES_DIR

PROTOTYPE_CONFIG = POLICIES_DIR / "config" / "prototype.json"


def write(tmp_path: Path, resources: list[dict[str, Any]], name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(resources))
    return path


def k8s(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "name": name, "parent": None, "custom": True, "inputs": inputs}


def test_planted_plaintext_password_and_latest_image_are_caught(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_check("prototype", FIXTURES / "planted-violations.json", None, None)
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    password = [line for line in lines if "dapr-component-secret-refs" in line]
    latest = [line for line in lines if "images-container-tag-pinned" in line]
    assert password
    assert "statestore" in password[0]
    assert "redisPassword" in password[0]
    assert password[0].startswith("MANDATORY")
    assert latest
    assert "agent" in latest[0]
    assert ":latest" in latest[0]
    assert "2 mandatory" in lines[-1]


def test_clean_stack_passes_with_its_config(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_check("prototype", FIXTURES / "clean-prototype.json", None, None)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 mandatory" in out
    assert "policies/config/prototype.json" in out


def test_stack_config_relaxes_nodeport_only_where_allowed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without a stack (so without prototype.json) the kind NodePort is a violation.
    assert run_check(None, FIXTURES / "clean-prototype.json", None, None) == 1
    assert "k8s-service-type-allowed" in capsys.readouterr().out


def test_enforcement_level_comes_from_policy_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, {"all": "advisory"}, "all-advisory.json")  # type: ignore[arg-type]
    assert run_check(None, FIXTURES / "planted-violations.json", None, config) == 0
    out = capsys.readouterr().out
    assert "ADVISORY  dapr-component-secret-refs" in out
    assert "0 mandatory, 3 advisory" in out


def test_unknown_values_at_preview_are_not_applicable_not_crashes(tmp_path: Path) -> None:
    resources = [
        k8s(
            "kubernetes:dapr.io/v1alpha1:Component",
            "pubsub",
            {
                "metadata": {"name": "pubsub", "namespace": "daca"},
                "spec": {"type": "pubsub.redis", "version": "v1", "metadata": []},
                "scopes": "[unknown]",
            },
        ),
        k8s(
            "oci:Core/instance:Instance",
            "node",
            {"shape": UNKNOWN, "instanceOptions": {"areLegacyImdsEndpointsDisabled": True}},
        ),
        k8s(
            "kubernetes:apps/v1:Deployment",
            "agent",
            {"metadata": {"namespace": "daca"}, "spec": {"template": UNKNOWN}},
        ),
    ]
    report = evaluate_policies(write(tmp_path, resources), None, "t")
    not_applicable = {(n["policy"], n["resource"]) for n in report.not_applicable}
    assert ("dapr-component-scoped", "pubsub") in not_applicable
    assert ("oci-instance-free-shape", "node") in not_applicable
    assert ("oci-stack-free-tier-caps", "(stack)") in not_applicable
    assert ("k8s-container-non-root", "agent") in not_applicable
    assert not report.violations


def test_stack_policies_see_the_whole_stack(tmp_path: Path) -> None:
    def node(name: str) -> dict[str, Any]:
        return k8s(
            "oci:Core/instance:Instance",
            name,
            {
                "shape": "VM.Standard.A1.Flex",
                "shapeConfig": {"ocpus": 1, "memoryInGbs": 6},
                "instanceOptions": {"areLegacyImdsEndpointsDisabled": True},
                "sourceDetails": {"bootVolumeSizeInGbs": "50"},
            },
        )

    resources = [node("a"), node("b")]
    assert not evaluate_policies(write(tmp_path, resources), None, "oci").violations
    report = evaluate_policies(write(tmp_path, [*resources, node("c")]), None, "oci")
    caps = [v for v in report.violations if v.policy == "oci-stack-free-tier-caps"]
    assert {v.resource for v in caps} == {"(stack)"}
    assert any("OCPUs is 3 (a 1, b 1, c 1)" in v.message for v in caps)
    assert all(v.level == "mandatory" and v.severity == "high" for v in caps)


def test_listener_resolves_its_nlb_through_property_dependencies(tmp_path: Path) -> None:
    # At a real preview the NLB's id is unknown; the engine's property dependencies still
    # say which NLB the listener's networkLoadBalancerId comes from.
    resources = [
        k8s(
            "oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer",
            "nlb",
            {"isPrivate": False, "subnetId": "[unknown]"},
        ),
        {
            **k8s(
                "oci:NetworkLoadBalancer/listener:Listener",
                "kube-api",
                {"networkLoadBalancerId": "[unknown]", "port": 6443, "protocol": "TCP"},
            ),
            "propertyDependencies": {"networkLoadBalancerId": ["nlb"]},
        },
    ]
    report = evaluate_policies(write(tmp_path, resources), None, "oci")
    (finding,) = [v for v in report.violations if v.policy == "oci-nlb-listener-ports"]
    assert finding.resource == "kube-api"
    assert "no network security group" in finding.message
    del resources[1]["propertyDependencies"]
    report = evaluate_policies(write(tmp_path, resources), None, "oci")
    assert not [v for v in report.violations if v.policy == "oci-nlb-listener-ports"]
    assert ("oci-nlb-listener-ports", "(stack)") in {
        (n["policy"], n["resource"]) for n in report.not_applicable
    }


def test_two_autoscalers_are_told_apart_by_their_clusters_provider(tmp_path: Path) -> None:
    """Through the real pack: the same Deployment in two regions (two providers) may each
    have a ScaledObject; an HPA beside one of them in its own cluster is caught."""

    def provider(name: str) -> dict[str, Any]:
        return {**k8s("pulumi:providers:kubernetes", name, {}), "custom": True}

    def scaler(type_: str, name: str, region: str) -> dict[str, Any]:
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "daca-agent"}
        spec = {"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 4}
        if type_.endswith("ScaledObject"):
            spec = {"scaleTargetRef": target, "minReplicaCount": 2, "maxReplicaCount": 4}
        inputs = {"metadata": {"name": "daca-agent", "namespace": "daca"}, "spec": spec}
        return {**k8s(type_, name, inputs), "provider": region}

    so = "kubernetes:keda.sh/v1alpha1:ScaledObject"
    hpa = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    resources = [
        provider("eu"),
        provider("us"),
        scaler(so, "eu-agent-scaledobject", "eu"),
        scaler(so, "us-agent-scaledobject", "us"),
    ]

    def findings(items: list[dict[str, Any]]) -> list[Any]:
        report = evaluate_policies(write(tmp_path, items), None, "planet")
        return [v for v in report.violations if v.policy == "k8s-workload-one-autoscaler"]

    assert findings(resources) == []
    (finding,) = findings([*resources, scaler(hpa, "us-agent-hpa", "us")])
    assert finding.resource == "us-agent-hpa"
    assert "daca/daca-agent has 2 autoscalers" in finding.message


def test_stack_policy_reports_the_offending_resource(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "clean-prototype.json").read_text())
    for r in data:
        if r["name"] == "statestore":
            r["inputs"]["scopes"] = ["agnet"]
    report = evaluate_policies(write(tmp_path, data), PROTOTYPE_CONFIG, "prototype")
    (finding,) = report.violations
    assert (finding.policy, finding.resource) == ("dapr-component-scopes-deployed", "statestore")
    assert "agnet" in finding.message


def test_published_app_without_auth_is_caught_through_the_pack(tmp_path: Path) -> None:
    """The stack policy, as the real pack runs it: the kind NodePort Service selects the
    Dapr app's pods, and only the key digests in the app's env make that acceptable."""
    data = json.loads((FIXTURES / "clean-prototype.json").read_text())
    by_name = {r["name"]: r for r in data}
    by_name["agent-svc"]["inputs"]["spec"]["selector"] = {"app": "agent"}
    report = evaluate_policies(write(tmp_path, data), PROTOTYPE_CONFIG, "prototype")
    (finding,) = report.violations
    assert (finding.policy, finding.resource, finding.level) == (
        "k8s-app-published-without-auth",
        "agent-svc",
        "mandatory",
    )
    assert "DACA_API_KEYS" in finding.message
    container = by_name["agent"]["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "DACA_API_KEYS", "value": "d" * 64})
    report = evaluate_policies(
        write(tmp_path, data, "with-keys.json"), PROTOTYPE_CONFIG, "prototype"
    )
    assert not report.violations


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((None, None, None, None), "give a STACK or --resources FILE"),
        ((None, Path("/nonexistent/resources.json"), None, None), "not found"),
        ((None, FIXTURES / "clean-prototype.json", None, Path("/nonexistent.json")), "not found"),
    ],
)
def test_bad_usage_exits_2(
    args: tuple[Any, ...], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check(*args) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"k8s-no-such-policy": "mandatory"}, "unknown policies: k8s-no-such-policy"),
        ({"k8s-service-type-allowed": {"allowedTypes": "NodePort"}}, "allowedTypes"),
        ({"k8s-service-type-allowed": "strict"}, "not one of"),
    ],
)
def test_bad_policy_config_exits_2(
    tmp_path: Path, config: dict[str, Any], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, config, "cfg.json")  # type: ignore[arg-type]
    assert run_check(None, FIXTURES / "clean-prototype.json", None, path) == 2
    assert fragment in capsys.readouterr().err


def test_malformed_resources_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"not": "a list"}')
    assert run_check(None, path, None, None) == 2
    assert "JSON array" in capsys.readouterr().err


def test_shipped_policy_configs_are_valid(tmp_path: Path) -> None:
    empty = write(tmp_path, [])
    for config in sorted((POLICIES_DIR / "config").glob("*.json")):
        report = evaluate_policies(empty, config, config.stem)
        assert report.violations == [], config


def test_pack_exposes_crossguard_policies_with_full_metadata() -> None:
    script = (
        "import json\n"
        "from daca_policies import POLICIES, SPECS\n"
        "from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy\n"
        "print(json.dumps([{'name': p.name, 'severity': p.severity and p.severity.value,\n"
        "  'level': p.enforcement_level.value, 'steps': p.remediation_steps,\n"
        "  'stack': isinstance(p, StackValidationPolicy),\n"
        "  'schema': p.config_schema.properties if p.config_schema else {}}\n"
        "  for p in POLICIES]))\n"
    )
    done = subprocess.run(
        [str(pack_python()), "-c", script],
        cwd=POLICIES_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    policies = json.loads(done.stdout)
    names = [p["name"] for p in policies]
    assert len(names) == len(set(names)) >= 35
    for p in policies:
        domain = p["name"].split("-")[0]
        assert domain in {
            "k8s",
            "dapr",
            "aca",
            "azure",
            "oci",
            "karmada",
            "monitoring",
            "llm",
            "kafka",
            "images",
        }, p["name"]
        assert p["name"].count("-") >= 2
        assert p["name"] == p["name"].lower()
        assert p["severity"] in {"low", "medium", "high", "critical"}
        assert p["level"] in {"advisory", "mandatory"}
        assert p["steps"]
        assert all("default" in prop for prop in p["schema"].values()), p["name"]
    assert {p["name"] for p in policies if p["stack"]} == {
        "dapr-component-scopes-deployed",
        "k8s-app-published-without-auth",
        "k8s-workload-min-replicas",
        "k8s-workload-one-autoscaler",
        "oci-stack-free-tier-caps",
        "oci-nlb-listener-ports",
        "karmada-propagation-min-regions",
        "monitoring-object-outside-app-namespace",
    }


def test_pack_entry_point_builds_a_policy_pack() -> None:
    # PolicyPack() serves gRPC forever; stub the server out to check construction only.
    script = (
        "import runpy, pulumi_policy.policy as p\n"
        "class Stop(Exception): pass\n"
        "def server(*a, **k): raise Stop\n"
        "p.grpc.server = server\n"
        "try:\n    runpy.run_path('__main__.py', run_name='__main__')\n"
        "except Stop:\n    print('built')\n"
    )
    done = subprocess.run(
        [str(pack_python()), "-c", script],
        cwd=POLICIES_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "built"


def test_readme_policy_tables_are_in_sync() -> None:
    from daca_policies import docs

    assert docs.main(["--check"]) == 0, "run `python -m daca_policies.docs` in policies/"
    assert "<!-- policies:begin -->" in (POLICIES_DIR / "README.md").read_text()
