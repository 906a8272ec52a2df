"""The Dapr policies' verdicts as a user reads them: which resource, which field, what to do.

test_validators.py checks pass/fail/not-applicable for every policy; these check the
message text and the config knobs of the Dapr domain, written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from daca_policies import SPECS
from daca_policies.spec import NotApplicable, Resource

from .cases import UNKNOWN, aca_component, container_app, d, dapr_release, k8s_component

BY_NAME = {spec.name: spec for spec in SPECS}


def messages(policy: str, resource: Resource, **config: Any) -> list[str]:
    spec = BY_NAME[policy]
    assert spec.validate_resource is not None
    return spec.validate_resource(resource, {**spec.defaults(), **config})


def stack_messages(policy: str, *resources: Resource) -> list[str]:
    spec = BY_NAME[policy]
    assert spec.validate_stack is not None
    return [m for _, m in spec.validate_stack(list(resources), spec.defaults())]


# -- dapr-component-scoped ---------------------------------------------------------------


def test_an_unscoped_component_is_named_in_the_message() -> None:
    assert messages("dapr-component-scoped", k8s_component(scopes=[], name="orders")) == [
        "component 'orders' has no scopes, so every Dapr app in the namespace loads it"
    ]
    assert messages("dapr-component-scoped", aca_component(scopes=[])) == [
        "component 'pubsub' has no scopes, so every Dapr app in the namespace loads it"
    ]


def test_an_exempt_component_may_be_unscoped_by_its_own_name() -> None:
    # the Kubernetes name is metadata.name, ACA's is componentName, not the Pulumi name
    kube = k8s_component(scopes=[], name="orders")
    kube.props["metadata"]["name"] = "shared-config"
    assert messages("dapr-component-scoped", kube, exemptComponents=["shared-config"]) == []
    assert messages("dapr-component-scoped", kube, exemptComponents=["orders"]) != []
    aca = aca_component(scopes=[], componentName="shared-bus")
    assert messages("dapr-component-scoped", aca, exemptComponents=["shared-bus"]) == []
    assert messages("dapr-component-scoped", aca, exemptComponents=["pubsub"]) != []


def test_a_component_with_an_unknown_scope_is_not_judged() -> None:
    with pytest.raises(NotApplicable, match=r"^some scopes are unknown at preview$"):
        messages("dapr-component-scoped", k8s_component(scopes=["agent", UNKNOWN]))
    with pytest.raises(NotApplicable, match=r"^scopes are unknown at preview$"):
        messages("dapr-component-scoped", k8s_component(scopes=UNKNOWN))


# -- dapr-component-secret-refs ----------------------------------------------------------


def test_a_literal_credential_names_the_field_and_the_platforms_reference() -> None:
    kube = k8s_component([{"name": "redisPassword", "value": "hunter2"}])
    assert messages("dapr-component-secret-refs", kube) == [
        "metadata 'redisPassword' holds a literal value; reference it with secretKeyRef"
    ]
    aca = aca_component(metadata=[{"name": "connectionString", "value": "Endpoint=sb://x"}])
    assert messages("dapr-component-secret-refs", aca) == [
        "metadata 'connectionString' holds a literal value; reference it with secretRef"
    ]


def test_an_inline_aca_secret_is_named() -> None:
    aca = aca_component(secrets=[{"name": "sb-conn", "value": "Endpoint=sb://x"}])
    assert messages("dapr-component-secret-refs", aca) == [
        "secret 'sb-conn' is stored inline; use keyVaultUrl with a managed identity"
    ]


def test_empty_and_plain_metadata_are_not_credentials_and_do_not_end_the_check() -> None:
    kube = k8s_component(
        [
            {"name": "redisPassword", "value": ""},
            {"name": "redisHost", "value": "redis:6379"},
            {"name": "password"},
            {"name": "accessKey", "value": "AKIA..."},
        ]
    )
    assert messages("dapr-component-secret-refs", kube) == [
        "metadata 'accessKey' holds a literal value; reference it with secretKeyRef"
    ]


def test_an_aca_secret_with_a_key_vault_reference_is_not_inline() -> None:
    vault = {"name": "sb", "value": "cached", "keyVaultUrl": "https://kv.vault.azure.net/s/sb"}
    assert messages("dapr-component-secret-refs", aca_component(secrets=[vault])) == []


# -- dapr-component-scopes-deployed ------------------------------------------------------


def test_a_scope_no_workload_deploys_is_listed_with_what_is_deployed() -> None:
    found = stack_messages(
        "dapr-component-scopes-deployed",
        k8s_component(scopes=["agnet", "agent", "zz"]),  # before the workloads: all are read
        d(),
        container_app(),
        container_app(lambda p: p["configuration"]["dapr"].update(appId="off", enabled=False)),
    )
    assert found == [
        "component 'statestore' is scoped to app-ids no workload deploys: agnet, zz "
        "(deployed: agent)"
    ]
    renamed = container_app(lambda p: p["configuration"]["dapr"].update(appId="web"))
    two = stack_messages(
        "dapr-component-scopes-deployed", d(), renamed, k8s_component(scopes=["x"])
    )
    assert two[0].endswith("(deployed: agent, web)")


def test_container_app_ids_count_as_deployed_and_unknown_ids_defer() -> None:
    assert stack_messages("dapr-component-scopes-deployed", container_app(), aca_component()) == []
    no_apps = stack_messages("dapr-component-scopes-deployed", k8s_component())
    assert no_apps == [
        "component 'statestore' is scoped to app-ids no workload deploys: agent (deployed: none)"
    ]

    def unknown_id(props: dict[str, Any]) -> None:
        props["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"] = UNKNOWN

    with pytest.raises(NotApplicable, match=r"^a Dapr app-id is unknown at preview$"):
        stack_messages("dapr-component-scopes-deployed", d(unknown_id), k8s_component())


# -- dapr-workload-annotations -----------------------------------------------------------


def _annotations(**changes: Any) -> Resource:
    def change(props: dict[str, Any]) -> None:
        annotations = props["spec"]["template"]["metadata"]["annotations"]
        for key, value in changes.items():
            name = f"dapr.io/{key.replace('_', '-')}"
            if value is None:
                annotations.pop(name)
            else:
                annotations[name] = value

    return d(change)


def test_missing_annotations_are_each_named() -> None:
    assert messages("dapr-workload-annotations", _annotations(app_id=None, app_port=None)) == [
        "annotation dapr.io/app-id is missing",
        "annotation dapr.io/app-port is missing",
    ]


def test_required_annotations_come_from_config() -> None:
    workload = _annotations(app_id=None)
    required = ["dapr.io/app-port", "dapr.io/config"]
    assert messages("dapr-workload-annotations", workload, requiredAnnotations=required) == [
        "annotation dapr.io/config is missing"
    ]


def test_an_empty_annotation_is_missing() -> None:
    assert messages("dapr-workload-annotations", _annotations(app_id="")) == [
        "annotation dapr.io/app-id is missing"
    ]


def test_app_port_must_be_a_declared_container_port() -> None:
    assert messages("dapr-workload-annotations", _annotations(app_port="8080")) == [
        "dapr.io/app-port 8080 matches no containerPort (declared: 8000)"
    ]

    def two_ports_and_an_init_container(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["containers"][0]["ports"].append({"containerPort": 9090.0, "name": "metrics"})
        pod["initContainers"] = [{"name": "init", "ports": [{"containerPort": 8080.0}]}]
        props["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-port"] = "8080"

    # an init container's port is gone by the time the sidecar calls the app
    assert messages("dapr-workload-annotations", d(two_ports_and_an_init_container)) == [
        "dapr.io/app-port 8080 matches no containerPort (declared: 8000, 9090)"
    ]

    def no_ports(props: dict[str, Any]) -> None:
        props["spec"]["template"]["spec"]["containers"][0].pop("ports")

    assert messages("dapr-workload-annotations", d(no_ports)) == [
        "dapr.io/app-port 8000 matches no containerPort (declared: none)"
    ]
    assert messages("dapr-workload-annotations", _annotations(app_port="http")) == [
        "dapr.io/app-port 'http' is not a port number"
    ]


def test_an_app_port_unknown_at_preview_is_not_judged() -> None:
    assert messages("dapr-workload-annotations", _annotations(app_port=UNKNOWN)) == []


def test_a_workload_without_dapr_is_not_judged() -> None:
    assert messages("dapr-workload-annotations", _annotations(enabled="false", app_id=None)) == []


# -- dapr-runtime-mtls-enabled / dapr-runtime-chart-pinned -------------------------------


def test_mtls_disabled_in_the_chart_or_a_configuration_is_named() -> None:
    off = dapr_release({"global": {"mtls": {"enabled": False}}})
    assert messages("dapr-runtime-mtls-enabled", off) == [
        "Dapr Helm release sets global.mtls.enabled: false"
    ]
    configuration = Resource(
        "kubernetes:dapr.io/v1alpha1:Configuration",
        "cfg",
        {"spec": {"mtls": {"enabled": "false"}}},
    )
    assert messages("dapr-runtime-mtls-enabled", configuration) == [
        "Dapr Configuration sets spec.mtls.enabled: false"
    ]


def test_only_the_dapr_chart_is_held_to_dapr_rules() -> None:
    other = dapr_release({"global": {"mtls": {"enabled": False}}}, version=None)
    other.props["chart"] = "oci://registry/charts/redis"
    assert messages("dapr-runtime-mtls-enabled", other) == []
    assert messages("dapr-runtime-chart-pinned", other) == []
    repo_chart = dapr_release(version=None)
    repo_chart.props["chart"] = "dapr/dapr"
    assert messages("dapr-runtime-chart-pinned", repo_chart) != []


@pytest.mark.parametrize("version", ["^1.15", "~1.15.0", "1.15.x", ">=1.15", "1.15.*"])
def test_a_chart_range_is_named(version: str) -> None:
    assert messages("dapr-runtime-chart-pinned", dapr_release(version=version)) == [
        f"Dapr chart version '{version}' is a range; pin an exact version"
    ]


def test_a_chart_from_an_oci_registry_is_recognised_by_its_last_segment() -> None:
    release = dapr_release(version=None)
    release.props["chart"] = "oci://registry.example/charts/dapr"
    assert messages("dapr-runtime-chart-pinned", release) != []


def test_an_unpinned_chart_says_why_it_matters() -> None:
    assert messages("dapr-runtime-chart-pinned", dapr_release(version=None)) == [
        "Dapr Helm release has no chart version; Helm would install the newest chart "
        "(and never upgrade its CRDs)"
    ]
    assert messages("dapr-runtime-chart-pinned", dapr_release(version=UNKNOWN)) == []
    assert messages("dapr-runtime-chart-pinned", dapr_release(version=1.15)) != []
