"""The whole planet stack, as `daca synth planet` (update-mode mocks) records it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.synth import SynthResult, synthesize
from infra.validate import validate_manifests

from .conftest import of_type, pod_spec

ROOT = Path(__file__).parents[2]
ORIGIN = "azure-native:cdn:AFDOrigin"
ROUTE = "azure-native:cdn:Route"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _shipped() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.planet.yaml").read_text())["config"]
    return config


def _synth(tmp_path: Path, config: dict[str, Any], label: str) -> SynthResult:
    file = tmp_path / f"Pulumi.{label}.yaml"
    file.write_text(yaml.safe_dump({"config": config}))
    return synthesize("planet", config_file=file, out_dir=tmp_path / label)


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("synth-planet"))


@pytest.fixture(scope="module")
def karmada(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    config = _shipped()
    config["daca:planet"].update(
        federation="karmada",
        hub="eu-west",
        karmada={"apiSources": ["203.0.113.0/24"], "hubEgressCidrs": ["198.51.100.77/32"]},
    )
    return _synth(tmp_path_factory.mktemp("synth-karmada"), config, "karmada")


REGIONS = ("eu-west", "us-east", "eu-oci")


def _region_of(name: str) -> str | None:
    return next((region for region in REGIONS if name.startswith(f"{region}-")), None)


def test_every_kubernetes_object_goes_through_its_own_regions_provider(
    planet: SynthResult,
) -> None:
    providers = {r["name"] for r in of_type(planet.resources, "pulumi:providers:kubernetes")}
    assert providers == set(REGIONS)
    objects = [r for r in planet.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert len(objects) > 3 * 15
    for record in objects:
        region = _region_of(record["name"])
        assert region is not None, f"{record['name']} does not start with a region's name"
        assert record["provider"] == region, record["name"]


def test_each_region_runs_the_app_with_its_overrides(planet: SynthResult) -> None:
    # the shipped file scales with KEDA: each region's ScaledObject has its bounds
    scalers = {
        r["name"]: r["inputs"]["spec"]
        for r in of_type(planet.resources, "kubernetes:keda.sh/v1alpha1:ScaledObject")
    }
    # defaults (2..4), us-east's override (max 6), eu-oci fixed at 2 (nothing to scale)
    assert scalers["eu-west-agent-autoscaling-scaledobject"]["minReplicaCount"] == 2
    assert scalers["eu-west-agent-autoscaling-scaledobject"]["maxReplicaCount"] == 4
    assert scalers["us-east-agent-autoscaling-scaledobject"]["maxReplicaCount"] == 6
    assert "eu-oci-agent-autoscaling-scaledobject" not in scalers
    assert of_type(planet.resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []
    deployments = {r["name"]: r for r in of_type(planet.resources, DEPLOYMENT)}
    assert deployments["eu-oci-agent-deployment"]["inputs"]["spec"]["replicas"] == 2


def test_a_region_can_use_its_own_model_endpoint(tmp_path: Path) -> None:
    config = _shipped()
    config["daca:llm"] = {"engine": "none"}  # the in-cluster server would take precedence
    config["daca:planet"]["regions"][2]["overrides"]["model"] = {
        "provider": "openai-compatible",
        "name": "llama-3.1-8b",
        "baseUrl": "http://llm.eu-oci.internal:8080/v1",
    }
    result = _synth(tmp_path, config, "model")
    env = {
        d["name"]: {e["name"]: e.get("value") for e in pod_spec(d)["containers"][0]["env"]}
        for d in of_type(result.resources, DEPLOYMENT)
        if d["name"].endswith("agent-deployment")
    }
    assert env["eu-oci-agent-deployment"]["DACA_MODEL_BASE_URL"] == (
        "http://llm.eu-oci.internal:8080/v1"
    )
    assert env["eu-oci-agent-deployment"]["DACA_MODEL_NAME"] == "llama-3.1-8b"
    assert "DACA_MODEL_BASE_URL" not in env["eu-west-agent-deployment"]


def test_one_set_of_api_keys_serves_every_region(planet: SynthResult) -> None:
    """Front Door may send a client to any region: its key must work everywhere."""
    digests = set()
    for deployment in of_type(planet.resources, DEPLOYMENT):
        if not deployment["name"].endswith("agent-deployment"):
            continue  # not the app (Thanos Query)
        env = {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0]["env"]}
        digests.add((env["DACA_API_KEYS"], env["DACA_REVIEWER_KEYS"]))
    assert len(digests) == 1
    assert len(of_type(planet.resources, "daca:auth:ApiKeys")) == 1
    assert planet.outputs["apiKey"] == "[secret]"


def test_front_door_has_one_origin_per_active_region_and_the_route_waits_for_all(
    planet: SynthResult,
) -> None:
    origins = {r["name"]: r for r in of_type(planet.resources, ORIGIN)}
    assert {name.rsplit("-origin-", 1)[1] for name in origins} == set(REGIONS)
    route = of_type(planet.resources, ROUTE)[0]
    assert set(origins) <= set(route["dependsOn"])
    weights = {name.rsplit("-origin-", 1)[1]: r["inputs"]["weight"] for name, r in origins.items()}
    assert weights == {"eu-west": 50, "us-east": 50, "eu-oci": 20}
    eu_oci = origins["front-door-origin-eu-oci"]["inputs"]
    assert eu_oci["priority"] == 2
    # the origin is the region's own HTTPS host, the one its Ingress and certificate name
    ingress = next(
        r for r in of_type(planet.resources, "kubernetes:networking.k8s.io/v1:Ingress")
        if r["name"].startswith("eu-oci-")
    )  # fmt: skip
    assert eu_oci["hostName"] == ingress["inputs"]["spec"]["rules"][0]["host"]
    assert eu_oci["originHostHeader"] == eu_oci["hostName"]
    assert planet.outputs["globalUrl"].startswith("https://")
    # an origin is probed from the moment it exists: each waits for every region's Ingress
    ingresses = {
        r["name"] for r in of_type(planet.resources, "kubernetes:networking.k8s.io/v1:Ingress")
    }
    assert len(ingresses) == len(REGIONS)
    for name, origin in origins.items():
        assert ingresses <= set(origin["dependsOn"]), name


def test_draining_removes_exactly_one_origin_and_keeps_the_cluster(
    planet: SynthResult, tmp_path: Path
) -> None:
    config = _shipped()
    config["daca:planet"]["regions"][1]["drain"] = True
    drained = _synth(tmp_path, config, "drained")
    before = {r["name"] for r in of_type(planet.resources, ORIGIN)}
    after = {r["name"] for r in of_type(drained.resources, ORIGIN)}
    assert before - after == {"front-door-origin-us-east"}
    assert after < before
    assert {r["name"] for r in drained.resources if r["name"].startswith("us-east-")} == {
        r["name"] for r in planet.resources if r["name"].startswith("us-east-")
    }
    assert drained.outputs["regions"]["us-east"]["status"] == "drained"


def test_adding_a_region_renames_nothing_in_the_others(planet: SynthResult, tmp_path: Path) -> None:
    config = _shipped()
    extra = copy.deepcopy(config["daca:planet"]["regions"][0])
    extra.update(name="ap-east", cluster={"kind": "aks", "location": "eastasia"})
    config["daca:planet"]["regions"].append(extra)
    grown = _synth(tmp_path, config, "grown")
    before = {r["urn"] for r in planet.resources}
    after = {r["urn"] for r in grown.resources}
    assert before <= after, sorted(before - after)[:5]
    added = {urn.rsplit("::", 1)[1] for urn in after - before}
    assert added
    assert all(name.startswith("ap-east") or "ap-east" in name for name in added)


def test_an_existing_cluster_region_uses_its_secret_kubeconfig(tmp_path: Path) -> None:
    config = _shipped()
    config["daca:planet"]["regions"][0]["cluster"] = {
        "kind": "kubeconfig",
        "host": "agent.example.com",
        "ingressClass": "public",  # a class of its own, beside one the cluster may have
    }
    # as `pulumi config set --secret --path 'daca:regionKubeconfigs.eu-west' ...` writes it
    config["daca:regionKubeconfigs"] = {"eu-west": {"secure": "v1:placeholder"}}
    result = _synth(tmp_path, config, "existing")
    assert not [r for r in result.resources if r["name"].startswith("eu-west-aks")]
    provider = next(
        r for r in of_type(result.resources, "pulumi:providers:kubernetes")
        if r["name"] == "eu-west"
    )  # fmt: skip
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    origin = next(r for r in of_type(result.resources, ORIGIN) if r["name"].endswith("eu-west"))
    assert origin["inputs"]["hostName"] == "agent.example.com"
    # the Traefik installed there claims that class, and the app's Ingress asks for it
    (traefik,) = [
        r for r in of_type(result.resources, "kubernetes:helm.sh/v3:Release")
        if r["provider"] == "eu-west" and r["inputs"]["chart"] == "traefik"
    ]  # fmt: skip
    assert traefik["inputs"]["values"]["ingressClass"]["name"] == "public"
    (ingress,) = [
        r for r in of_type(result.resources, "kubernetes:networking.k8s.io/v1:Ingress")
        if r["provider"] == "eu-west"
    ]  # fmt: skip
    assert ingress["inputs"]["spec"]["ingressClassName"] == "public"
    # and so do the solver Ingresses cert-manager makes to answer Let's Encrypt
    (issuer,) = [
        r for r in of_type(result.resources, "kubernetes:cert-manager.io/v1:ClusterIssuer")
        if r["provider"] == "eu-west"
    ]  # fmt: skip
    (solver,) = issuer["inputs"]["spec"]["acme"]["solvers"]
    assert solver["http01"]["ingress"]["ingressClassName"] == "public"


def test_every_manifest_is_strict_valid(planet: SynthResult, karmada: SynthResult) -> None:
    for result in (planet, karmada):
        assert result.k8s_version is not None
        assert validate_manifests(result.manifests_dir, result.k8s_version) == []


def test_karmada_mode_sends_the_app_once_and_no_region_deploys_it(karmada: SynthResult) -> None:
    deployments = [
        d for d in of_type(karmada.resources, DEPLOYMENT) if d["name"].endswith("agent-deployment")
    ]
    assert [d["name"] for d in deployments] == ["federated-agent-deployment"]
    assert deployments[0]["provider"] == "karmada-api"
    clusters = of_type(karmada.resources, "kubernetes:cluster.karmada.io/v1alpha1:Cluster")
    assert {c["inputs"]["metadata"]["name"] for c in clusters} == set(REGIONS)
    propagation = of_type(
        karmada.resources, "kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy"
    )[0]["inputs"]["spec"]
    assert sorted(propagation["placement"]["clusterAffinity"]["clusterNames"]) == sorted(REGIONS)
    assert propagation["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Duplicated"
    selected = {(s["kind"], s["name"]) for s in propagation["resourceSelectors"]}
    assert ("Deployment", "daca-agent") in selected
    assert ("Secret", "daca-agent-app-token") in selected
    # the regions still run their own Dapr, Redis, components and ingress
    for region in REGIONS:
        names = {r["name"] for r in karmada.resources}
        assert {f"{region}-dapr", f"{region}-redis", f"{region}-public"} <= names


def test_karmada_hub_runs_the_control_plane_and_members_are_registered(
    karmada: SynthResult,
) -> None:
    release = next(
        r for r in of_type(karmada.resources, "kubernetes:helm.sh/v3:Release")
        if r["name"].startswith("eu-west-karmada")
    )  # fmt: skip
    assert release["provider"] == "eu-west"
    members = [r for r in karmada.resources if r["type"] == "daca:k8s:KarmadaMember"]
    assert sorted(m["name"] for m in members) == sorted(f"{r}-member" for r in REGIONS)


def test_karmada_hub_may_reach_the_oci_members_api_and_nothing_else(
    karmada: SynthResult, planet: SynthResult
) -> None:
    """Push mode: the hub calls each member's API, which OCI opens only to named sources."""

    def sources(result: SynthResult, port: int) -> set[str]:
        return {
            r["inputs"]["source"]
            for r in of_type(
                result.resources,
                "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule",
            )
            if r["name"].startswith("eu-oci-network-")
            and (r["inputs"].get("tcpOptions") or {}).get("destinationPortRange", {}).get("min")
            == port
        }

    assert "198.51.100.77/32" in sources(karmada, 6443)
    assert "198.51.100.77/32" not in sources(karmada, 22)
    assert "198.51.100.77/32" not in sources(planet, 6443)  # pulumi mode: no hub
