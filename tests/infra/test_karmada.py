"""Karmada federation: the control plane on the hub, member registration, the app's policies.

Components run under the mocks in update mode; the rendered Karmada objects are checked
against the schemas in `infra.crd_schemas` (written from Karmada v1.18.1's CRDs).
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from infra import synth
from infra.components.kubernetes.karmada import (
    CHART_REPO,
    CHART_VERSION,
    KarmadaControlPlane,
    KarmadaControlPlaneArgs,
    reachable_kubeconfig,
)
from infra.components.kubernetes.karmada_member import KarmadaMember, KarmadaMemberArgs
from infra.components.kubernetes.karmada_policies import (
    RETAIN_REPLICAS_LABEL,
    KarmadaAppPolicies,
    KarmadaAppPoliciesArgs,
    PropagatedResource,
    autoscaling_override_spec,
    override_policy_spec,
    propagation_policy_spec,
)
from infra.synth import FAKE_KUBECONFIG, manifest_of
from infra.validate import validate_object
from tests.infra.conftest import Record, of_type, one, run_under_mocks

K8S = "1.34.0"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER = "pulumi:providers:kubernetes"
SECRET = "kubernetes:core/v1:Secret"
CLUSTER = "kubernetes:cluster.karmada.io/v1alpha1:Cluster"
PROPAGATION = "kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy"
OVERRIDE = "kubernetes:policy.karmada.io/v1alpha1:OverridePolicy"
OPERATOR_CIDR = "203.0.113.7/32"
IN_CLUSTER_NAME = "karmada-apiserver.karmada-system.svc.cluster.local"

APP = [
    PropagatedResource("apps/v1", "Deployment", "agent"),
    PropagatedResource("v1", "Service", "agent"),
    PropagatedResource("autoscaling/v2", "HorizontalPodAutoscaler", "agent"),
    PropagatedResource("v1", "ServiceAccount", "agent"),
]


def app_args(**changes: Any) -> KarmadaAppPoliciesArgs:
    given: dict[str, Any] = {
        "app_id": "agent",
        "namespace": "daca",
        "resources": APP,
        "clusters": ["eastus", "westeurope", "frankfurt"],
        "replicas_by_cluster": {"eastus": 3, "westeurope": 2},
        "failover_toleration_seconds": 120,
    }
    given.update(changes)
    return KarmadaAppPoliciesArgs(**given)


# --- the control plane --------------------------------------------------------------


def control_plane(args: KarmadaControlPlaneArgs) -> tuple[list[Record], dict[str, Any]]:
    """Run the control plane plus a Provider built on its kubeconfig, as a stack would."""
    seen: dict[str, Any] = {}

    def build() -> pulumi.Output[Any]:
        hub = k8s.Provider("hub", kubeconfig="hub-kubeconfig")
        plane = KarmadaControlPlane("karmada", args, pulumi.ResourceOptions(providers=[hub]))
        k8s.Provider("karmada-api", kubeconfig=plane.kubeconfig)
        return pulumi.Output.all(
            plane.kubeconfig, plane.api_endpoint, plane.in_cluster_endpoint
        ).apply(lambda v: seen.update(kubeconfig=v[0], endpoint=v[1], in_cluster=v[2]))

    return run_under_mocks(build), seen


def test_the_charts_secret_and_service_are_read_from_the_hub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kubeconfig Secret and the API server's Service are *read* (`.get`), which the
    engine does through the provider the read names: without the hub's, it reads whatever
    cluster the deployer's own kubeconfig points at."""
    reads: dict[str, str] = {}
    registered = synth.SynthMocks.new_resource

    def new_resource(self: synth.SynthMocks, args: Any) -> Any:
        if args.resource_id:
            # a provider reference is `<provider urn>::<provider id>`
            reads[args.name] = args.provider.split("::")[-2] if args.provider else ""
        return registered(self, args)

    monkeypatch.setattr(synth.SynthMocks, "new_resource", new_resource)
    control_plane(KarmadaControlPlaneArgs(allowed_source_ranges=(OPERATOR_CIDR,)))
    assert reads == {"karmada-kubeconfig": "hub", "karmada-apiserver": "hub"}


def test_the_official_chart_is_installed_pinned_in_host_mode() -> None:
    records, _ = control_plane(KarmadaControlPlaneArgs(allowed_source_ranges=(OPERATOR_CIDR,)))
    release = one(records, RELEASE)
    inputs = release["inputs"]
    assert CHART_VERSION == "v1.18.1"
    assert (inputs["chart"], inputs["version"]) == ("karmada", "v1.18.1")
    assert inputs["repositoryOpts"]["repo"] == CHART_REPO
    # the chart names its Secret and Service after the release
    assert (inputs["name"], inputs["namespace"]) == ("karmada", "karmada-system")
    assert release["provider"] == "hub"
    values = inputs["values"]
    assert values["installMode"] == "host"
    # the webhook refuses application failover without propagateDeps; the chart turns it off
    assert values["controllerManager"]["featureGates"]["PropagateDeps"] is True
    assert values["etcd"]["internal"]["storageType"] == "pvc"
    api = values["apiServer"]
    assert api["serviceType"] == "LoadBalancer"
    assert api["serviceAnnotations"] == {
        "service.beta.kubernetes.io/load-balancer-source-ranges": OPERATOR_CIDR
    }


def test_kubeconfig_is_a_secret_from_the_charts_secret_pointed_at_the_load_balancer() -> None:
    records, seen = control_plane(
        KarmadaControlPlaneArgs(allowed_source_ranges=(OPERATOR_CIDR, "198.51.100.0/24"))
    )
    provider = one(records, PROVIDER, "karmada-api")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    config = yaml.safe_load(seen["kubeconfig"])
    (cluster,) = config["clusters"]
    # the mocks answer a read of `karmada-system/karmada-kubeconfig` (key `kubeconfig`)
    # with a kubeconfig and the apiserver Service with a load balancer at 192.0.2.x
    assert cluster["cluster"]["server"].startswith("https://192.0.2.")
    assert cluster["cluster"]["server"].endswith(":5443")
    assert cluster["cluster"]["server"] == seen["endpoint"]
    # the certificate names in-cluster hosts only: verified against one of them
    assert cluster["cluster"]["tls-server-name"] == IN_CLUSTER_NAME
    assert config["users"] == yaml.safe_load(FAKE_KUBECONFIG)["users"]
    assert seen["in_cluster"] == f"https://{IN_CLUSTER_NAME}:5443"
    annotation = one(records, RELEASE)["inputs"]["values"]["apiServer"]["serviceAnnotations"]
    assert set(next(iter(annotation.values())).split(",")) == {OPERATOR_CIDR, "198.51.100.0/24"}


def test_cluster_ip_keeps_the_in_cluster_address_unless_told_otherwise() -> None:
    records, seen = control_plane(KarmadaControlPlaneArgs(api_service_type="ClusterIP"))
    values = one(records, RELEASE)["inputs"]["values"]["apiServer"]
    assert values == {"serviceType": "ClusterIP"}
    assert yaml.safe_load(seen["kubeconfig"])["clusters"][0]["cluster"]["server"] == (
        f"https://{IN_CLUSTER_NAME}:5443"
    )
    _, forwarded = control_plane(
        KarmadaControlPlaneArgs(api_service_type="ClusterIP", api_server="https://127.0.0.1:5443")
    )
    assert forwarded["endpoint"] == "https://127.0.0.1:5443"
    assert "https://127.0.0.1:5443" in forwarded["kubeconfig"]


def test_a_load_balancer_without_source_ranges_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed_source_ranges"):
        KarmadaControlPlaneArgs()
    with pytest.raises(ValueError, match="https://"):
        KarmadaControlPlaneArgs(api_service_type="ClusterIP", api_server="127.0.0.1:5443")


def test_reachable_kubeconfig_rewrites_every_cluster_and_refuses_an_empty_one() -> None:
    two = yaml.safe_load(FAKE_KUBECONFIG)
    two["clusters"].append({"name": "b", "cluster": {"server": "https://old:1"}})
    out = yaml.safe_load(reachable_kubeconfig(yaml.safe_dump(two), "https://lb:5443", "svc"))
    assert [c["cluster"]["server"] for c in out["clusters"]] == ["https://lb:5443"] * 2
    assert {c["cluster"]["tls-server-name"] for c in out["clusters"]} == {"svc"}
    with pytest.raises(ValueError, match="no kubeconfig"):
        reachable_kubeconfig("apiVersion: v1\nkind: Config\n", "https://lb:5443", "svc")


# --- members --------------------------------------------------------------------------


def members(*names: str) -> list[Record]:
    def build() -> None:
        karmada = k8s.Provider("karmada-api", kubeconfig="karmada-kubeconfig")
        for name in names:
            member = k8s.Provider(f"{name}-k8s", kubeconfig=pulumi.Output.secret("member"))
            KarmadaMember(
                f"{name}-member",
                KarmadaMemberArgs(
                    cluster_name=name,
                    api_endpoint=f"https://{name}.hcp.azmk8s.io:443",
                    member_provider=member,
                    region=name,
                    zones=(f"{name}-1", f"{name}-2"),
                    cloud_provider="azure",
                    labels={"daca.io/region": name},
                ),
                pulumi.ResourceOptions(providers=[karmada]),
            )

    return run_under_mocks(build)


def test_member_credentials_are_a_secret_token_and_ca_bundle_in_karmada() -> None:
    records = members("eastus")
    secret = one(records, SECRET, "eastus-member-credentials")
    inputs = secret["inputs"]
    assert inputs["metadata"]["name"] == "eastus"
    assert inputs["metadata"]["namespace"] == "karmada-cluster"
    # Karmada's keys (SecretTokenKey, SecretCADataKey), never a kubeconfig, never plaintext
    assert inputs["data"] == {"caBundle": "[secret]", "token": "[secret]"}
    assert secret["provider"] == "karmada-api"
    # the values come from the token Secret minted in the member, for Karmada alone
    assert secret["propertyDependencies"]["data"] == ["eastus-member-token"]
    token = one(records, SECRET, "eastus-member-token")
    assert token["provider"] == "eastus-k8s"
    assert token["inputs"]["type"] == "kubernetes.io/service-account-token"
    assert token["inputs"]["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "karmada-eastus"
    }
    assert "data" in token["options"]["additionalSecretOutputs"]
    impersonator = one(records, SECRET, "eastus-member-impersonator-credentials")["inputs"]
    assert impersonator["metadata"]["name"] == "eastus-impersonator"
    assert impersonator["data"] == {"token": "[secret]"}


def test_member_side_follows_karmadactl_join() -> None:
    records = members("eastus")
    in_member = {r["name"] for r in records if r.get("provider") == "eastus-k8s"}
    assert in_member == {
        "eastus-member-namespace",
        "eastus-member-service-account",
        "eastus-member-impersonator",
        "eastus-member-cluster-role",
        "eastus-member-cluster-role-binding",
        "eastus-member-token",
        "eastus-member-impersonator-token",
    }
    role = one(records, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")["inputs"]
    assert role["metadata"]["name"] == "karmada-controller-manager:karmada-eastus"
    # karmadactl join's role: Karmada pushes whatever kinds are propagated, so all of them
    assert role["rules"] == [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["get"]},
    ]
    binding = one(records, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding["inputs"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "karmada-eastus", "namespace": "karmada-cluster"}
    ]


def test_one_push_mode_cluster_per_member() -> None:
    records = members("eastus", "westeurope")
    clusters = {r["inputs"]["metadata"]["name"]: r for r in of_type(records, CLUSTER)}
    assert set(clusters) == {"eastus", "westeurope"}
    cluster = clusters["westeurope"]
    assert cluster["provider"] == "karmada-api"
    assert cluster["inputs"]["metadata"]["labels"] == {"daca.io/region": "westeurope"}
    assert cluster["inputs"]["spec"] == {
        "syncMode": "Push",
        "apiEndpoint": "https://westeurope.hcp.azmk8s.io:443",
        "secretRef": {"namespace": "karmada-cluster", "name": "westeurope"},
        "impersonatorSecretRef": {
            "namespace": "karmada-cluster",
            "name": "westeurope-impersonator",
        },
        "provider": "azure",
        "region": "westeurope",
        "zones": ["westeurope-1", "westeurope-2"],
    }
    # the controllers must find the credentials when the Cluster appears
    assert {
        "westeurope-member-credentials",
        "westeurope-member-impersonator-credentials",
    } <= set(cluster["dependsOn"])


@pytest.mark.parametrize("bad", ["EastUS", "east_us", "a" * 49, ""])
def test_a_cluster_name_karmada_would_refuse_fails_early(bad: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123"):
        KarmadaMemberArgs(bad, "https://x:443", member_provider=None)  # checked first


@pytest.mark.parametrize("what", ["region", "cloud_provider"])
def test_a_label_karmada_would_refuse_is_named_with_its_value(what: str) -> None:
    """The region and provider become the Cluster's labels and spec: a bad one is named."""
    given: dict[str, Any] = {"region": "eastus", "cloud_provider": "azure", what: "east us"}
    with pytest.raises(ValueError, match=f"^{what} 'east us' must be a valid label value$"):
        KarmadaMemberArgs("eastus", "https://x:443", member_provider=None, **given)


# --- the app's policies -------------------------------------------------------------


def test_propagation_places_on_exactly_the_active_clusters_duplicated_with_failover() -> None:
    spec = propagation_policy_spec(app_args())
    placement = spec["placement"]
    assert placement["clusterAffinity"] == {"clusterNames": ["eastus", "westeurope", "frankfurt"]}
    assert placement["replicaScheduling"] == {"replicaSchedulingType": "Duplicated"}
    application = spec["failover"]["application"]
    assert application["decisionConditions"] == {"tolerationSeconds": 120}
    assert application["purgeMode"] == "Gracefully"
    assert application["gracePeriodSeconds"] == 600
    assert spec["propagateDeps"] is True
    assert spec["resourceSelectors"] == [
        {"apiVersion": r.api_version, "kind": r.kind, "name": r.name, "namespace": "daca"}
        for r in APP
    ]


def test_workload_override_has_one_rule_per_cluster_with_its_replicas() -> None:
    spec = override_policy_spec(app_args(env_by_cluster={"frankfurt": {"DACA_REGION": "fra"}}))
    assert spec is not None
    assert spec["resourceSelectors"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent", "namespace": "daca"}
    ]
    rules = {rule["targetCluster"]["clusterNames"][0]: rule for rule in spec["overrideRules"]}
    assert list(rules) == ["eastus", "westeurope", "frankfurt"]
    assert all(len(rule["targetCluster"]["clusterNames"]) == 1 for rule in rules.values())
    for cluster, replicas in {"eastus": 3, "westeurope": 2}.items():
        assert rules[cluster]["overriders"]["plaintext"] == [
            {"path": "/spec/replicas", "operator": "replace", "value": replicas}
        ]
    assert rules["frankfurt"]["overriders"]["plaintext"] == [
        {
            "path": "/spec/template/spec/containers/0/env/-",
            "operator": "add",
            "value": {"name": "DACA_REGION", "value": "fra"},
        }
    ]
    # an HPA is propagated: each member's HPA keeps its own count
    for rule in rules.values():
        assert rule["overriders"]["labelsOverrider"] == [
            {"operator": "add", "value": {RETAIN_REPLICAS_LABEL: "true"}}
        ]


def test_autoscaler_override_sets_each_clusters_floor() -> None:
    spec = autoscaling_override_spec(app_args())
    assert spec is not None
    assert [s["kind"] for s in spec["resourceSelectors"]] == ["HorizontalPodAutoscaler"]
    floors = {
        rule["targetCluster"]["clusterNames"][0]: rule["overriders"]["plaintext"]
        for rule in spec["overrideRules"]
    }
    assert floors == {
        "eastus": [{"path": "/spec/minReplicas", "operator": "replace", "value": 3}],
        "westeurope": [{"path": "/spec/minReplicas", "operator": "replace", "value": 2}],
    }


def test_without_an_autoscaler_karmada_enforces_the_replicas() -> None:
    args = app_args(resources=[r for r in APP if r.kind != "HorizontalPodAutoscaler"])
    spec = override_policy_spec(args)
    assert spec is not None
    assert all("labelsOverrider" not in rule["overriders"] for rule in spec["overrideRules"])
    assert autoscaling_override_spec(args) is None
    assert override_policy_spec(app_args(replicas_by_cluster={}, resources=APP[:2])) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"clusters": []}, "at least one cluster"),
        ({"clusters": ["eastus", "eastus"]}, "twice"),
        ({"replicas_by_cluster": {"tokyo": 2}}, "not placed"),
        ({"replicas_by_cluster": {"eastus": 0}}, "at least 1"),
        ({"resources": []}, "resources"),
        ({"failover_toleration_seconds": -1}, "toleration"),
    ],
)
def test_bad_policy_args_fail_early(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        app_args(**changes)


def policies_records(args: KarmadaAppPoliciesArgs) -> list[Record]:
    def build() -> None:
        karmada = k8s.Provider("karmada-api", kubeconfig="karmada-kubeconfig")
        KarmadaAppPolicies("agent-karmada", args, pulumi.ResourceOptions(providers=[karmada]))

    return run_under_mocks(build)


def test_app_policies_go_to_the_karmada_api_overrides_first() -> None:
    records = policies_records(app_args())
    propagation = one(records, PROPAGATION)
    assert propagation["provider"] == "karmada-api"
    assert propagation["inputs"]["metadata"]["name"] == "agent"
    assert propagation["inputs"]["metadata"]["namespace"] == "daca"
    overrides = {r["inputs"]["metadata"]["name"]: r for r in of_type(records, OVERRIDE)}
    assert set(overrides) == {"agent-workload", "agent-autoscaling"}
    assert {r["name"] for r in overrides.values()} <= set(propagation["dependsOn"])
    # `kubectl get propagationpolicies,overridepolicies -l app.kubernetes.io/name=agent`,
    # labelled as every other object of the project
    for policy in [propagation, *overrides.values()]:
        # Karmada's validating webhook (v1.17+) refuses a namespaced policy selecting in
        # another namespace; its mutating one fills in a selector's missing namespace
        namespaces = {s.get("namespace") for s in policy["inputs"]["spec"]["resourceSelectors"]}
        assert namespaces <= {"daca", None}, policy["inputs"]["metadata"]["name"]
        assert policy["inputs"]["metadata"]["labels"] == {
            "app.kubernetes.io/name": "agent",
            "app.kubernetes.io/component": "federation",
            "app.kubernetes.io/part-of": "daca-ascent",
            "app.kubernetes.io/managed-by": "pulumi",
        }


def test_each_override_stands_alone() -> None:
    """No Deployment to override: the HPAs' floors are still set."""
    autoscaled = [r for r in APP if r.kind != "Deployment"]
    records = policies_records(app_args(resources=autoscaled))
    assert [r["inputs"]["metadata"]["name"] for r in of_type(records, OVERRIDE)] == [
        "agent-autoscaling"
    ]


# --- schemas ----------------------------------------------------------------------------


def karmada_objects() -> list[dict[str, Any]]:
    records = [*members("eastus"), *policies_records(app_args())]
    return [m for m in (manifest_of(r) for r in records) if m is not None]


def test_every_rendered_object_validates() -> None:
    objects = karmada_objects()
    kinds = {o["kind"] for o in objects}
    assert {"PropagationPolicy", "OverridePolicy", "Cluster", "Secret", "ClusterRole"} <= kinds
    assert [p for o in objects if (p := validate_object(o, K8S))] == []


def _first(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in objects if o["kind"] == kind))


def _rename(obj: dict[str, Any], path: list[str], new_key: str) -> None:
    *parents, key = path
    for part in parents:
        obj = obj[part]
    obj[new_key] = obj.pop(key)


@pytest.mark.parametrize(
    ("kind", "mutate", "fragment"),
    [
        (
            "PropagationPolicy",
            lambda o: _rename(
                o,
                ["spec", "placement", "replicaScheduling", "replicaSchedulingType"],
                "replicaScheduleType",
            ),
            "replicaScheduleType",
        ),
        (
            "PropagationPolicy",
            lambda o: _rename(
                o, ["spec", "placement", "clusterAffinity", "clusterNames"], "clusterName"
            ),
            "clusterName",
        ),
        (
            "PropagationPolicy",
            lambda o: o["spec"]["failover"]["application"].update(purgeMode="Graceful"),
            "Graceful",
        ),
        (
            "PropagationPolicy",
            lambda o: o["spec"]["failover"]["application"].update(purgeMode="Directly"),
            "gracePeriodSeconds",
        ),
        (
            "PropagationPolicy",
            lambda o: o["spec"].pop("propagateDeps"),
            "propagateDeps",
        ),
        (
            "PropagationPolicy",
            lambda o: o["spec"].update(resourceSelectors=[]),
            "resourceSelectors",
        ),
        (
            "OverridePolicy",
            lambda o: _rename(o, ["spec", "overrideRules"], "overrideRule"),
            "overrideRule",
        ),
        (
            "OverridePolicy",
            lambda o: o["spec"]["overrideRules"][0]["overriders"]["plaintext"][0].pop("value"),
            "value",
        ),
        ("Cluster", lambda o: _rename(o, ["spec", "syncMode"], "syncmode"), "sync"),
        ("Cluster", lambda o: o["spec"].update(syncMode="push"), "push"),
        ("Cluster", lambda o: o["metadata"].update(name="East-US"), "East-US"),
    ],
)
def test_karmada_schemas_reject_mistakes(kind: str, mutate: Any, fragment: str) -> None:
    obj = _first(karmada_objects(), kind)
    assert validate_object(obj, K8S) is None
    mutate(obj)
    problem = validate_object(obj, K8S)
    assert problem
    assert fragment in problem
