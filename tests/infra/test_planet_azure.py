"""The planet's Azure pieces on their own, under update-mode mocks: a region's AKS cluster
and the Front Door in front of every region."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.check import run_check
from infra.components.azure.aks_cluster import (
    AKS_RBAC_CLUSTER_ADMIN,
    NETWORK_CONTRIBUTOR,
    AksCluster,
    AksClusterArgs,
    kubeconfig_for_azure_cli,
)
from infra.components.azure.front_door import FrontDoor, FrontDoorArgs, FrontDoorOrigin
from infra.synth import AKS_AAD_SERVER_ID, SYNTH_SUBSCRIPTION, fake_aks_kubeconfig

from .conftest import Record, of_type, one, run_under_mocks

RG, LOC, TENANT, DEPLOYER = "daca-planet", "westeurope", "tenant-1", "deployer-1"
CLUSTER = "azure-native:containerservice:ManagedCluster"
PIP = "azure-native:network:PublicIPAddress"
ROLE = "azure-native:authorization:RoleAssignment"
ORIGIN = "azure-native:cdn:AFDOrigin"
ROUTE = "azure-native:cdn:Route"
GROUP = "azure-native:cdn:AFDOriginGroup"

AKS = AksClusterArgs(
    resource_group_name=RG,
    location=LOC,
    cluster_name="daca-eu",
    subscription_id=SYNTH_SUBSCRIPTION,
    tenant_id=TENANT,
    deployer_object_id=DEPLOYER,
    dns_label="daca-eu-app",
)


def _aks(args: AksClusterArgs = AKS) -> tuple[list[Record], dict[str, Any]]:
    """Build one AksCluster; return the records and its resolved outputs (+ secretness)."""
    seen: dict[str, Any] = {}

    def build() -> pulumi.Output[None]:
        cluster = AksCluster("eu", args)
        outputs = {
            "id": cluster.id,
            "cluster_name": cluster.cluster_name,
            "kubeconfig": cluster.kubeconfig,
            "principal_id": cluster.principal_id,
            "ingress_ip": cluster.ingress_ip,
            "ingress_host": cluster.ingress_host,
            "ingress_ip_name": cluster.ingress_ip_name,
            "ingress_ip_resource_group": cluster.ingress_ip_resource_group,
            "annotations": cluster.ingress_service_annotations,
            "kubeconfig_secret": pulumi.Output.from_input(cluster.kubeconfig.is_secret()),
        }
        return pulumi.Output.all(**outputs).apply(seen.update)

    return run_under_mocks(build), seen


def _role(records: list[Record], role: str) -> Record:
    (found,) = [
        r for r in of_type(records, ROLE) if r["inputs"]["roleDefinitionId"].endswith("/" + role)
    ]
    return found


def _children_of(records: list[Record], component_type: str) -> tuple[str, list[Record]]:
    (component,) = of_type(records, component_type)
    return component["name"], [r for r in records if r is not component]


# --- AksCluster ------------------------------------------------------------------------


def test_every_aks_resource_belongs_to_the_component() -> None:
    records, _ = _aks()
    name, children = _children_of(records, "daca:azure:AksCluster")
    assert {r["type"] for r in children} == {CLUSTER, PIP, ROLE}
    assert all(r["parent"] == name for r in children), [(r["name"], r["parent"]) for r in children]
    assert all(r["name"].startswith(f"{name}-") for r in children)


def test_the_cluster_signs_in_through_entra_id_only() -> None:
    records, _ = _aks()
    inputs = one(records, CLUSTER)["inputs"]
    assert inputs["disableLocalAccounts"] is True
    assert inputs["enableRBAC"] is True
    assert inputs["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT}
    assert inputs["identity"] == {"type": "SystemAssigned"}


def test_the_cluster_is_free_tier_patch_upgraded_overlay_with_network_policy() -> None:
    records, _ = _aks()
    inputs = one(records, CLUSTER)["inputs"]
    assert inputs["resourceName"] == "daca-eu"
    assert inputs["sku"] == {"name": "Base", "tier": "Free"}
    assert inputs["autoUpgradeProfile"]["upgradeChannel"] == "patch"
    network = inputs["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
    # without a policy engine AKS ignores the platform layer's NetworkPolicies
    assert network["networkPolicy"] == "cilium"
    assert network["networkDataplane"] == "cilium"
    assert "kubernetesVersion" not in inputs  # None: AKS's default
    assert "apiServerAccessProfile" not in inputs
    assert "oidcIssuerProfile" not in inputs


def test_a_fixed_size_system_pool_has_no_autoscaler() -> None:
    records, _ = _aks()
    cluster = one(records, CLUSTER)
    (pool,) = cluster["inputs"]["agentPoolProfiles"]
    assert pool["mode"] == "System"
    assert pool["vmSize"] == "Standard_D2s_v5"
    assert pool["count"] == 2
    assert pool["enableAutoScaling"] is False
    assert "minCount" not in pool
    assert "maxCount" not in pool
    assert "ignoreChanges" not in cluster


def test_the_autoscaler_runs_when_max_exceeds_min_and_owns_the_count() -> None:
    records, _ = _aks(replace(AKS, node_count=2, min_count=1, max_count=4))
    cluster = one(records, CLUSTER)
    (pool,) = cluster["inputs"]["agentPoolProfiles"]
    assert (pool["enableAutoScaling"], pool["minCount"], pool["maxCount"]) == (True, 1, 4)
    assert cluster["options"]["ignoreChanges"] == ["agentPoolProfiles[0].count"]


def test_options_reach_the_cluster() -> None:
    args = replace(
        AKS,
        kubernetes_version="1.33",
        api_server_authorized_ip_ranges=["203.0.113.7/32"],
        workload_identity=True,
    )
    inputs = one(_aks(args)[0], CLUSTER)["inputs"]
    assert inputs["kubernetesVersion"] == "1.33"
    assert inputs["agentPoolProfiles"][0]["orchestratorVersion"] == "1.33"
    assert inputs["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.7/32"]}
    assert inputs["oidcIssuerProfile"] == {"enabled": True}
    assert inputs["securityProfile"] == {"workloadIdentity": {"enabled": True}}


def test_the_deployer_is_cluster_admin_on_the_cluster_itself() -> None:
    records, outputs = _aks()
    grant = _role(records, AKS_RBAC_CLUSTER_ADMIN)["inputs"]
    assert grant["principalId"] == DEPLOYER
    assert grant["scope"] == outputs["id"]
    assert "/providers/Microsoft.containerservice/ManagedCluster/daca-eu" in outputs["id"]
    assert grant["roleDefinitionId"] == (
        f"/subscriptions/{SYNTH_SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{AKS_RBAC_CLUSTER_ADMIN}"
    )
    assert grant["principalType"] == "User"  # `az login` on a laptop


def test_a_service_principal_deployer_is_granted_as_one() -> None:
    # Azure refuses a role assignment whose principalType does not match the principal
    records, _ = _aks(replace(AKS, deployer_principal_type="ServicePrincipal"))
    assert _role(records, AKS_RBAC_CLUSTER_ADMIN)["inputs"]["principalType"] == "ServicePrincipal"


def test_the_cluster_identity_may_attach_the_ip_in_its_resource_group() -> None:
    records, outputs = _aks()
    grant = _role(records, NETWORK_CONTRIBUTOR)["inputs"]
    assert grant["principalId"] == outputs["principal_id"] != ""
    assert grant["principalType"] == "ServicePrincipal"
    assert grant["scope"] == f"/subscriptions/{SYNTH_SUBSCRIPTION}/resourceGroups/{RG}"


def test_the_ingress_ip_is_static_standard_with_the_region_dns_label() -> None:
    records, outputs = _aks()
    ip = one(records, PIP)["inputs"]
    assert ip["resourceGroupName"] == RG
    assert ip["publicIpAddressName"] == "daca-eu-ingress"
    assert ip["sku"] == {"name": "Standard", "tier": "Regional"}
    assert ip["publicIPAllocationMethod"] == "Static"
    assert ip["publicIPAddressVersion"] == "IPv4"
    assert ip["dnsSettings"] == {"domainNameLabel": "daca-eu-app"}
    assert outputs["ingress_host"] == f"daca-eu-app.{LOC}.cloudapp.azure.com"
    assert outputs["ingress_ip"].startswith("192.0.2.")
    assert outputs["ingress_ip_name"] == "daca-eu-ingress"
    assert outputs["ingress_ip_resource_group"] == RG


def test_the_ingress_service_annotations_name_the_ip() -> None:
    _, outputs = _aks()
    assert outputs["annotations"] == {
        "service.beta.kubernetes.io/azure-pip-name": "daca-eu-ingress",
        "service.beta.kubernetes.io/azure-load-balancer-resource-group": RG,
        "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz",
    }


def test_a_service_with_the_annotations_waits_for_the_network_grant() -> None:
    # without Network Contributor, AKS cannot attach the IP and the Service stays pending
    def build() -> None:
        cluster = AksCluster("eu", AKS)
        pulumi.CustomResource(
            "test:index:Service", "ingress", {"annotations": cluster.ingress_service_annotations}
        )

    records = run_under_mocks(build)
    grant = next(
        r
        for r in of_type(records, ROLE)
        if r["inputs"]["roleDefinitionId"].endswith(NETWORK_CONTRIBUTOR)
    )
    assert grant["name"] in one(records, "test:index:Service")["dependsOn"]


def test_the_kubeconfig_is_secret_and_signs_in_with_the_azure_cli() -> None:
    _, outputs = _aks()
    assert outputs["kubeconfig_secret"] is True
    kubeconfig = yaml.safe_load(outputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://daca-eu-")
    (user,) = kubeconfig["users"]
    plugin = user["user"]["exec"]
    assert plugin["command"] == "kubelogin"
    assert plugin["args"] == [
        "get-token",
        "--login",
        "azurecli",
        "--server-id",
        AKS_AAD_SERVER_ID,
    ]


def test_kubelogin_conversion_keeps_the_cache_dir_and_leaves_other_users_alone() -> None:
    document = yaml.safe_load(fake_aks_kubeconfig("rg", "c"))
    document["users"][0]["user"]["exec"]["args"] += ["--cache-dir", "/tmp/kl"]
    document["users"].append({"name": "token-user", "user": {"token": "t"}})
    document["users"].append(
        {"name": "no-server-id", "user": {"exec": {"command": "kubelogin", "args": ["x"]}}}
    )
    converted = yaml.safe_load(kubeconfig_for_azure_cli(yaml.safe_dump(document)))
    first, token_user, no_server = converted["users"]
    assert first["user"]["exec"]["args"][-2:] == ["--cache-dir", "/tmp/kl"]
    assert "devicecode" not in first["user"]["exec"]["args"]
    assert first["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert token_user == {"name": "token-user", "user": {"token": "t"}}
    assert no_server["user"]["exec"]["args"] == ["x"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dns_label": "Daca_EU"}, "dns_label"),
        ({"dns_label": "ab"}, "dns_label"),
        ({"cluster_name": "daca eu"}, "cluster_name"),
        ({"kubernetes_version": "1.33.2"}, "kubernetes_version"),
        ({"min_count": 3, "node_count": 2}, "node counts"),
        ({"max_count": 1, "min_count": 1, "node_count": 2}, "node counts"),
        ({"min_count": 0, "node_count": 0}, "node counts"),
        ({"api_server_authorized_ip_ranges": ["my laptop"]}, "api_server_authorized_ip_ranges"),
        ({"deployer_principal_type": "user"}, "deployer_principal_type"),
        ({"deployer_principal_type": "Group"}, "deployer_principal_type"),
    ],
)
def test_bad_aks_args_are_refused_before_anything_is_registered(
    change: dict[str, Any], message: str
) -> None:
    args = replace(AKS, **change)
    with pytest.raises(ValueError, match=message):
        AksCluster("eu", args)


# --- FrontDoor -------------------------------------------------------------------------

EU = FrontDoorOrigin(
    name="eu", host="daca-eu-app.westeurope.cloudapp.azure.com", weight=100, priority=1
)
US = FrontDoorOrigin(
    name="us", host="daca-us-app.eastus.cloudapp.azure.com", weight=300, priority=2
)
ASIA = FrontDoorOrigin(
    name="asia", host="daca-asia.japaneast.cloudapp.azure.com", weight=50, priority=1
)
FD = FrontDoorArgs(
    resource_group_name=RG, profile_name="daca-global", endpoint_name="daca", origins=[EU, US]
)


def _front_door(args: FrontDoorArgs = FD) -> tuple[list[Record], dict[str, Any]]:
    seen: dict[str, Any] = {}

    def build() -> pulumi.Output[None]:
        door = FrontDoor("global", args)
        return pulumi.Output.all(
            host=door.endpoint_host, url=door.url, fdid=door.front_door_id
        ).apply(seen.update)

    return run_under_mocks(build), seen


def test_every_front_door_resource_belongs_to_the_component() -> None:
    records, _ = _front_door()
    name, children = _children_of(records, "daca:azure:FrontDoor")
    assert len(children) == 4 + 2  # profile, endpoint, group, route + one origin per region
    assert all(r["parent"] == name for r in children), [(r["name"], r["parent"]) for r in children]


def test_the_profile_is_standard_and_global() -> None:
    records, _ = _front_door()
    profile = one(records, "azure-native:cdn:Profile")["inputs"]
    assert profile["sku"] == {"name": "Standard_AzureFrontDoor"}
    assert profile["location"] == "Global"
    assert profile["profileName"] == "daca-global"
    assert profile["originResponseTimeoutSeconds"] == 120
    endpoint = one(records, "azure-native:cdn:AFDEndpoint")["inputs"]
    assert (endpoint["location"], endpoint["enabledState"]) == ("Global", "Enabled")


def test_the_origin_group_probes_healthz_over_https() -> None:
    records, _ = _front_door()
    group = one(records, GROUP)["inputs"]
    assert group["healthProbeSettings"] == {
        "probePath": "/healthz",
        "probeProtocol": "Https",
        "probeRequestType": "GET",
        "probeIntervalInSeconds": 100,
    }
    assert group["loadBalancingSettings"] == {
        "sampleSize": 4,
        "successfulSamplesRequired": 3,
        "additionalLatencyInMilliseconds": 50,
    }
    assert group["sessionAffinityState"] == "Disabled"
    sticky = one(_front_door(replace(FD, session_affinity=True))[0], GROUP)["inputs"]
    assert sticky["sessionAffinityState"] == "Enabled"


def test_each_region_is_an_origin_with_its_host_weight_and_priority() -> None:
    records, _ = _front_door()
    origins = {r["inputs"]["originName"]: r["inputs"] for r in of_type(records, ORIGIN)}
    assert set(origins) == {"eu", "us"}
    for region in (EU, US):
        origin = origins[region.name]
        assert origin["hostName"] == origin["originHostHeader"] == region.host
        assert (origin["weight"], origin["priority"]) == (region.weight, region.priority)
        assert (origin["httpsPort"], origin["httpPort"]) == (443, 80)
        assert origin["enabledState"] == "Enabled"
        assert origin["enforceCertificateNameCheck"] is True
        assert origin["originGroupName"] == "daca-origins"


def test_the_route_is_https_only_and_waits_for_every_origin() -> None:
    records, _ = _front_door(replace(FD, origins=[EU, US, ASIA]))
    route = one(records, ROUTE)
    inputs = route["inputs"]
    assert inputs["supportedProtocols"] == ["Https", "Http"]
    assert inputs["httpsRedirect"] == "Enabled"
    assert inputs["forwardingProtocol"] == "HttpsOnly"
    assert inputs["patternsToMatch"] == ["/*"]
    assert inputs["linkToDefaultDomain"] == "Enabled"
    assert "cacheConfiguration" not in inputs
    group = one(records, GROUP)
    assert inputs["originGroup"]["id"].endswith(f"/{group['inputs']['originGroupName']}")
    origin_names = {r["name"] for r in of_type(records, ORIGIN)}
    assert len(origin_names) == 3
    assert origin_names <= set(route["dependsOn"])


def test_adding_a_region_renames_no_other_origin() -> None:
    def origin_names(records: list[Record]) -> dict[str, str]:
        return {r["inputs"]["originName"]: r["name"] for r in of_type(records, ORIGIN)}

    two = origin_names(_front_door()[0])
    three = origin_names(_front_door(replace(FD, origins=[ASIA, EU, US]))[0])
    assert two == {"eu": "global-origin-eu", "us": "global-origin-us"}
    assert {k: three[k] for k in two} == two
    assert three["asia"] == "global-origin-asia"


def test_the_endpoint_host_and_url_are_outputs() -> None:
    _, outputs = _front_door()
    assert outputs["host"].startswith("daca-")
    assert outputs["host"].endswith(".z01.azurefd.net")
    assert outputs["url"] == f"https://{outputs['host']}"
    assert outputs["fdid"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"origins": []}, "origins is empty"),
        ({"origins": [EU, replace(US, name="eu")]}, "repeat: eu"),
        ({"origins": [replace(EU, weight=0)]}, "weight 0"),
        ({"origins": [replace(EU, weight=1001)]}, "weight 1001"),
        ({"origins": [replace(EU, priority=6)]}, "priority 6"),
        ({"origins": [replace(EU, name="eu west")]}, r"origins\[0\].name"),
        ({"probe_path": "healthz"}, "probe_path"),
        ({"probe_interval_seconds": 0}, "probe_interval_seconds"),
        ({"probe_request_type": "POST"}, "probe_request_type"),
        ({"origin_response_timeout_seconds": 10}, "origin_response_timeout_seconds"),
        ({"successful_samples_required": 5}, "successful_samples_required"),
    ],
)
def test_bad_front_door_args_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FrontDoor("global", replace(FD, **change))


# --- both, through the policy pack ---------------------------------------------------


def _check(records: list[Record], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "resources.json"
    path.write_text(json.dumps(records))
    code = run_check("planet", path, None, None)
    out = capsys.readouterr().out
    return f"{code}\n{out}"


def test_what_the_components_write_passes_the_planet_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _aks()[0] + _front_door()[0]
    result = _check(records, tmp_path, capsys)
    assert result.startswith("0\n"), result
    assert " 0 mandatory" in result


def test_the_policies_catch_the_components_written_unsafely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _aks()[0] + _front_door()[0]
    one(records, CLUSTER)["inputs"]["disableLocalAccounts"] = False
    one(records, ROUTE)["inputs"]["forwardingProtocol"] = "MatchRequest"
    del one(records, GROUP)["inputs"]["healthProbeSettings"]
    result = _check(records, tmp_path, capsys)
    assert result.startswith("1\n"), result
    for policy in (
        "azure-aks-rbac-no-local-accounts",
        "azure-frontdoor-route-https-only",
        "azure-frontdoor-origin-group-health-probe",
    ):
        assert policy in result
