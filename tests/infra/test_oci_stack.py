"""The whole oci stack, as `daca synth oci` (update-mode mocks) records it."""

from __future__ import annotations

import base64
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from infra.components.oci import cloud_init
from infra.config import ConfigError, decode_pulumi_values, load_config
from infra.config.oci import OciStackConfig
from infra.synth import SYNTH_ADS, SynthResult, evaluate, load_stack_config, synthesize

from .conftest import edited_stack_file, of_type, one, pod_spec

ROOT = Path(__file__).parents[2]
INSTANCE = "oci:Core/instance:Instance"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
NLB = "oci:NetworkLoadBalancer/"
PLANTED_KEY = "sk-planted-oci-0123456789abcdef"
PLANTED_TOKEN = "oci-auth-token-PLANTED-4242"


def _oci_file(tmp_path: Path, changes: dict[str, Any]) -> Path:
    """The shipped Pulumi.oci.yaml with `section.key` changes (None removes)."""
    return edited_stack_file("oci", tmp_path, changes)


@pytest.fixture(scope="module")
def oci_stack(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("oci", out_dir=tmp_path_factory.mktemp("synth-oci"))


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    tmp = tmp_path_factory.mktemp("synth-oci-private")
    file = _oci_file(tmp, {"oci.network.privateNodes": True, "oci.caps.maxNatGateways": 1})
    return synthesize("oci", config_file=file, out_dir=tmp / "out")


def _by_name(result: SynthResult) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in result.resources}


# --- the same app as prototype ------------------------------------------------------


def test_same_app_id_and_dapr_components_as_prototype(
    oci_stack: SynthResult, prototype: SynthResult
) -> None:
    def shape(result: SynthResult) -> tuple[str, dict[str, tuple[str, list[str]]]]:
        deployment = one(result.resources, "kubernetes:apps/v1:Deployment")
        app_id = deployment["inputs"]["spec"]["template"]["metadata"]["annotations"][
            "dapr.io/app-id"
        ]
        components = {
            c["inputs"]["metadata"]["name"]: (c["inputs"]["spec"]["type"], c["inputs"]["scopes"])
            for c in of_type(result.resources, "kubernetes:dapr.io/v1alpha1:Component")
        }
        return app_id, components

    assert shape(oci_stack) == shape(prototype)
    app_id, components = shape(oci_stack)
    assert set(components) == {"statestore", "pubsub", "secretstore", "sweep"}
    assert all(scopes == [app_id] for _, scopes in components.values())


def test_every_kubernetes_object_goes_through_the_k3s_provider(oci_stack: SynthResult) -> None:
    k8s = [r for r in oci_stack.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert len(k8s) > 15
    assert {r.get("provider") for r in k8s} == {"k3s"}
    oci = [r for r in oci_stack.resources if r["type"].startswith("oci:")]
    assert {r.get("provider") for r in oci} == {"oci"}


# --- secrets ------------------------------------------------------------------------


def test_no_plaintext_secret_in_any_input_or_output(tmp_path: Path) -> None:
    """Keys as the CLI gives them (decrypted, flagged secret) and generated secrets never show."""
    _, values, secrets = load_stack_config(_oci_file(tmp_path, {}))
    values["daca:modelApiKey"] = PLANTED_KEY
    values["daca:ociAuthToken"] = PLANTED_TOKEN
    secrets = [*secrets, "daca:modelApiKey"]
    config = load_config(decode_pulumi_values(values), frozenset({"modelApiKey", "ociAuthToken"}))
    records, outputs = evaluate("oci", values, secrets, config)
    text = json.dumps(records) + json.dumps(outputs)
    assert PLANTED_KEY not in text
    assert PLANTED_TOKEN not in text
    assert base64.b64encode(PLANTED_TOKEN.encode()).decode()[:16] not in text
    # the mocks' generated passwords (k3s tokens, Redis) and the deploy key
    assert "synth-" not in text
    assert "PRIVATE KEY" not in text
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["sshPrivateKey"] == "[secret]"
    server = one(records, INSTANCE, "k3s-server")["inputs"]
    assert server["metadata"]["user_data"] == "[secret]"


def test_kubeconfig_is_read_once_cloud_init_is_done_and_never_logged(
    oci_stack: SynthResult,
) -> None:
    read = one(oci_stack.resources, "command:remote:Command", "kubeconfig-read")
    assert read["inputs"]["logging"] == "none"
    assert "stdout" in read["options"]["additionalSecretOutputs"]
    script = read["inputs"]["create"]
    assert script.index("cloud-init status --wait") < script.index("/etc/rancher/k3s/k3s.yaml")
    public_ip = oci_stack.outputs["publicIp"]
    assert f"https://{public_ip}:6443" in script
    # it reads through the API listener, and again whenever the server is replaced
    assert "entry-kube-api-listener" in read["dependsOn"]
    assert read["propertyDependencies"]["triggers"] == ["k3s-server"]


# --- network ------------------------------------------------------------------------


def _nsg_rules(result: SynthResult, nsg: str) -> dict[str, dict[str, Any]]:
    return {
        r["name"].removeprefix(f"network-{nsg}-"): r["inputs"]
        for r in of_type(result.resources, NSG_RULE)
        if r["name"].startswith(f"network-{nsg}-")
    }


def test_admin_ports_only_from_the_operator_web_ports_from_anywhere(
    oci_stack: SynthResult,
) -> None:
    operator = oci_stack.config.oci.operator_cidr  # type: ignore[attr-defined]
    for nsg in ("nodes", "lb"):
        for rule in _nsg_rules(oci_stack, nsg).values():
            port_range = (rule.get("tcpOptions") or {}).get("destinationPortRange")
            if port_range is None:  # all protocols: only inside the VCN
                assert rule["source"] == "10.0.0.0/16"
                continue
            port = port_range["min"]
            assert port_range["max"] == port
            assert rule["source"] == ("0.0.0.0/0" if port in (80, 443) else operator), rule
    assert {"ssh", "kube-api"} <= set(_nsg_rules(oci_stack, "nodes"))
    # the web ports reach the nodes only through the load balancer, from inside the VCN
    assert not {"http", "https"} & set(_nsg_rules(oci_stack, "nodes"))
    assert {"http", "https"} <= set(_nsg_rules(oci_stack, "lb"))


def test_subnets_use_our_security_list_never_the_default(oci_stack: SynthResult) -> None:
    security_list = one(oci_stack.resources, "oci:Core/securityList:SecurityList")
    for subnet in of_type(oci_stack.resources, "oci:Core/subnet:Subnet"):
        assert subnet["propertyDependencies"]["securityListIds"] == [security_list["name"]]
        assert len(subnet["inputs"]["securityListIds"]) == 1
    rules = security_list["inputs"]["ingressSecurityRules"]
    assert all(r["source"] != "0.0.0.0/0" or r["protocol"] == "1" for r in rules)
    assert not of_type(oci_stack.resources, "oci:Core/natGateway:NatGateway")


# --- nodes --------------------------------------------------------------------------


def test_nodes_are_always_free_a1_with_imdsv2_and_never_replaced_by_a_new_image(
    oci_stack: SynthResult,
) -> None:
    nodes = of_type(oci_stack.resources, INSTANCE)
    assert [n["name"] for n in nodes] == ["k3s-server", "k3s-agent-1"]
    total_ocpus = sum(n["inputs"]["shapeConfig"]["ocpus"] for n in nodes)
    total_memory = sum(n["inputs"]["shapeConfig"]["memoryInGbs"] for n in nodes)
    assert (total_ocpus, total_memory) == (2, 12)
    for node in nodes:
        inputs = node["inputs"]
        assert inputs["shape"] == "VM.Standard.A1.Flex"
        assert inputs["instanceOptions"]["areLegacyImdsEndpointsDisabled"] is True
        assert inputs["sourceDetails"]["bootVolumeSizeInGbs"] == "50"
        assert inputs["availabilityDomain"] == SYNTH_ADS[0]
        assert node["options"]["ignoreChanges"] == ["metadata", "sourceDetails.sourceId"]


def test_availability_domain_is_chosen_by_config(tmp_path: Path) -> None:
    result = synthesize(
        "oci", config_file=_oci_file(tmp_path, {"oci.availabilityDomain": 3}), out_dir=tmp_path
    )
    assert {n["inputs"]["availabilityDomain"] for n in of_type(result.resources, INSTANCE)} == {
        SYNTH_ADS[2]
    }


def test_an_image_ocid_in_config_pins_the_image(tmp_path: Path) -> None:
    pinned = "ocid1.image.oc1.eu-frankfurt-1.aaaapinnedimage"
    result = synthesize(
        "oci", config_file=_oci_file(tmp_path, {"oci.image.id": pinned}), out_dir=tmp_path
    )
    assert {
        n["inputs"]["sourceDetails"]["sourceId"] for n in of_type(result.resources, INSTANCE)
    } == {pinned}


def test_shipped_k3s_version_is_the_one_cloud_init_is_tested_with(
    oci_stack: SynthResult,
) -> None:
    assert isinstance(oci_stack.config, OciStackConfig)
    assert oci_stack.config.oci.k3s_version == cloud_init.K3S_VERSION
    assert oci_stack.k8s_version == cloud_init.K3S_VERSION.removeprefix("v").split("+")[0]


# --- the public entry ---------------------------------------------------------------


def test_load_balancer_changes_are_chained_one_after_another(oci_stack: SynthResult) -> None:
    """Concurrent changes to one NLB fail with 409: each waits for the one before."""
    parts = [
        r for r in oci_stack.resources
        if r["type"].startswith(NLB) and not r["type"].endswith(":NetworkLoadBalancer")
    ]  # fmt: skip
    assert len(parts) == 11  # 3 backend sets, 5 backends (2 nodes x 2 + server), 3 listeners
    previous = "entry-nlb"
    for part in parts:
        assert previous in part["dependsOn"], (part["name"], previous)
        previous = part["name"]


def test_listeners_and_targets(oci_stack: SynthResult) -> None:
    by_name = _by_name(oci_stack)
    listeners = {
        r["inputs"]["port"] for r in of_type(oci_stack.resources, f"{NLB}listener:Listener")
    }
    assert listeners == {80, 443, 6443}
    server_id = next(
        r["inputs"]["targetId"] for r in of_type(oci_stack.resources, f"{NLB}backend:Backend")
        if r["name"] == "entry-kube-api-backend-0"
    )  # fmt: skip
    assert "entry-kube-api-backend-1" not in by_name  # the API only on the server
    nlb = one(oci_stack.resources, f"{NLB}networkLoadBalancer:NetworkLoadBalancer")["inputs"]
    assert nlb["isPrivate"] is False
    # HTTP(S) does not keep the client's address (cert-manager's self-check hairpins
    # through the NLB); the API does, for the nodes' operator-only rule
    keeps_source = {
        r["inputs"]["name"]: r["inputs"]["isPreserveSource"]
        for r in of_type(oci_stack.resources, f"{NLB}backendSet:BackendSet")
    }
    assert keeps_source == {"http": False, "https": False, "kube-api": True}
    assert len(nlb["networkSecurityGroupIds"]) == 1
    assert server_id.startswith("ocid1.instance.")


def test_private_nodes_go_behind_nat_and_ssh_through_the_load_balancer(
    private_stack: SynthResult,
) -> None:
    assert len(of_type(private_stack.resources, "oci:Core/natGateway:NatGateway")) == 1
    for node in of_type(private_stack.resources, INSTANCE):
        assert node["inputs"]["createVnicDetails"]["assignPublicIp"] == "false"
    listeners = {
        r["inputs"]["port"] for r in of_type(private_stack.resources, f"{NLB}listener:Listener")
    }
    assert listeners == {22, 80, 443, 6443}
    public_ip = private_stack.outputs["publicIp"]
    assert private_stack.outputs["sshCommand"].endswith(f"ubuntu@{public_ip}")
    lb_rules = _nsg_rules(private_stack, "lb")
    assert lb_rules["ssh"]["source"] == private_stack.config.oci.operator_cidr  # type: ignore[attr-defined]


def test_app_is_published_over_https_on_the_reserved_address(oci_stack: SynthResult) -> None:
    ip = oci_stack.outputs["publicIp"]
    ipaddress.ip_address(ip)
    assert oci_stack.outputs["appUrl"] == f"https://{ip}.sslip.io"
    ingress = one(oci_stack.resources, "kubernetes:networking.k8s.io/v1:Ingress")["inputs"]
    assert ingress["spec"]["rules"][0]["host"] == f"{ip}.sslip.io"
    assert ingress["spec"]["tls"][0]["hosts"] == [f"{ip}.sslip.io"]
    paths = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert "/v1" in paths
    assert not any(p.startswith(("/dapr", "/metrics")) for p in paths)
    issuer = one(oci_stack.resources, "kubernetes:cert-manager.io/v1:ClusterIssuer")["inputs"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == issuer["metadata"]["name"]
    assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    assert (
        "cert-manager-issuer"
        in one(oci_stack.resources, "kubernetes:networking.k8s.io/v1:Ingress")["dependsOn"]
    )


def test_app_pods_cannot_reach_the_instance_metadata_service(oci_stack: SynthResult) -> None:
    """It serves every node's cloud-init, and so the cluster's join token."""
    policy = one(
        oci_stack.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "app-deny-egress"
    )
    blocks = [
        to["ipBlock"] for rule in policy["inputs"]["spec"]["egress"]
        for to in rule.get("to", []) if "ipBlock" in to
    ]  # fmt: skip
    assert blocks == [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}]


def test_image_is_arm64_in_a_private_ocir_repository_pulled_with_a_secret(
    oci_stack: SynthResult,
) -> None:
    image = one(oci_stack.resources, "docker:index/image:Image")["inputs"]
    assert image["build"]["platform"] == "linux/arm64"
    assert image["imageName"].startswith("eu-frankfurt-1.ocir.io/synthtenancy/daca-agent:")
    assert image["registry"]["password"] == "[secret]"
    repository = one(oci_stack.resources, "oci:Artifacts/containerRepository:ContainerRepository")
    assert repository["inputs"]["isPublic"] is False
    pull = one(oci_stack.resources, "kubernetes:core/v1:Secret", "registry-credentials-secret")
    assert pull["inputs"]["type"] == "kubernetes.io/dockerconfigjson"
    assert pull["inputs"]["stringData"] == {".dockerconfigjson": "[secret]"}
    deployment = one(oci_stack.resources, "kubernetes:apps/v1:Deployment")
    assert pod_spec(deployment)["imagePullSecrets"] == [
        {"name": pull["inputs"]["metadata"]["name"]}
    ]


def test_a_given_image_needs_no_registry(tmp_path: Path) -> None:
    file = _oci_file(tmp_path, {"app.image": "ghcr.io/you/daca-agent:1.2.3", "ociAuthToken": None})
    result = synthesize("oci", config_file=file, out_dir=tmp_path / "out")
    assert not of_type(result.resources, "docker:index/image:Image")
    assert not of_type(result.resources, "oci:Artifacts/containerRepository:ContainerRepository")
    deployment = one(result.resources, "kubernetes:apps/v1:Deployment")
    assert "imagePullSecrets" not in pod_spec(deployment)


def test_every_manifest_is_strict_valid(oci_stack: SynthResult) -> None:
    from infra.validate import validate_manifests

    assert oci_stack.k8s_version is not None
    assert validate_manifests(oci_stack.manifests_dir, oci_stack.k8s_version) == []


# --- bad config: refused before any resource is registered -------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"oci.server.ocpus": 2},
            "daca:oci.server.ocpus + daca:oci.agents.ocpus (1 x agents) total 3, above the "
            "Always Free cap of 2 (daca:oci.caps.maxA1Ocpus)",
        ),
        (
            {"oci.agents.count": 2},
            "total 3, above the Always Free cap of 2 (daca:oci.caps.maxA1Ocpus)",
        ),
        (
            {"oci.agents.memoryGbs": 7},
            "daca:oci.server.memoryGbs + daca:oci.agents.memoryGbs (1 x agents) total 13",
        ),
        (
            {"oci.server.bootVolumeGbs": 160},
            "bootVolumeGbs (1 x agents) total 210, above the Always Free cap of 200",
        ),
        ({"oci.server.bootVolumeGbs": 47}, "daca:oci.server.bootVolumeGbs: 47 is not allowed"),
        (
            {"oci.network.privateNodes": True},
            "daca:oci.network.privateNodes: true needs a NAT gateway, which is not Always Free",
        ),
        ({"oci.operatorCidr": "0.0.0.0/0"}, "daca:oci.operatorCidr: '0.0.0.0/0' is not allowed"),
        (
            {"oci.operatorCidr": "203.0.113.7"},
            "daca:oci.operatorCidr: '203.0.113.7' is not allowed",
        ),
        ({"oci.region": "Frankfurt"}, "daca:oci.region: 'Frankfurt' is not allowed"),
        ({"oci.compartmentId": "ocid1.tenancy.oc1..aaaa"}, "daca:oci.compartmentId"),
        ({"oci.availabilityDomain": 4}, "daca:oci.availabilityDomain: 4 is not allowed"),
        ({"oci.k3sVersion": "latest"}, "daca:oci.k3sVersion: 'latest' is not allowed"),
        ({"oci.caps.maxA1Ocpus": -1}, "daca:oci.caps.maxA1Ocpus: -1 is not allowed"),
        ({"oci.ingress.host": "not a host"}, "daca:oci.ingress.host: 'not a host' is not allowed"),
        ({"oci.ingress.acmeServer": "prod"}, "daca:oci.ingress.acmeServer: 'prod' is not allowed"),
        ({"oci.network.publicSubnetCidr": "10.1.0.0/24"}, "is not inside vcnCidr 10.0.0.0/16"),
        ({"oci.shape": "VM.Standard.E4.Flex"}, "unknown key daca:oci.shape"),
        ({"ociAuthToken": None}, "daca:ociAuthToken"),
        ({"dapr.stateStore": "state.azure.cosmosdb"}, "cannot back"),
    ],
)
def test_bad_config_is_refused_with_the_key_and_what_is_allowed(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(_oci_file(tmp_path, changes))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_plaintext_auth_token_is_refused(tmp_path: Path) -> None:
    file = _oci_file(tmp_path, {"ociAuthToken": "plain-token"})
    with pytest.raises(
        ConfigError, match="daca:ociAuthToken holds a credential and must be secret"
    ):
        load_stack_config(file)


def test_higher_caps_admit_a_bigger_cluster(tmp_path: Path) -> None:
    """Caps are config: paying users (or a future Oracle) raise them."""
    file = _oci_file(
        tmp_path, {"oci.agents.count": 3, "oci.caps.maxA1Ocpus": 4, "oci.caps.maxA1MemoryGbs": 24}
    )
    config, _, _ = load_stack_config(file)
    assert isinstance(config, OciStackConfig)
    assert config.oci.agents.count == 3


def test_synth_cli_refuses_over_cap_config_with_exit_2(tmp_path: Path) -> None:
    from infra.cli import main

    file = _oci_file(tmp_path, {"oci.agents.count": 2})
    assert main(["synth", "oci", "--config", str(file), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o" / "resources.json").exists()


def test_cert_manager_crds_are_ours_so_the_issuer_is_known_at_preview(
    oci_stack: SynthResult,
) -> None:
    """A Helm release's CRDs are invisible to the engine until it runs; ours are not."""
    by_name = _by_name(oci_stack)
    crds = by_name["cert-manager-crds"]
    assert crds["type"] == "kubernetes:yaml/v2:ConfigGroup"
    assert crds["inputs"]["files"] == [
        "https://github.com/cert-manager/cert-manager/releases/download/v1.19.1/"
        "cert-manager.crds.yaml"
    ]
    release = by_name["cert-manager-release"]
    assert release["inputs"]["values"]["crds"] == {"enabled": False}
    assert release["inputs"]["version"] == "v1.19.1"  # the CRDs' release and the chart's
    assert "cert-manager-crds" in release["dependsOn"]
    issuer = by_name["cert-manager-issuer"]
    assert {"cert-manager-crds", "cert-manager-release"} <= set(issuer["dependsOn"])
