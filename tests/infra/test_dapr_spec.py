"""The stage-neutral Dapr component spec and its two renderers, object by object.

Expected objects are written out by hand from Dapr's component reference and ACA's
`DaprComponent` API, not produced by the renderers under test.
"""

from __future__ import annotations

import pulumi
import pytest

from infra.dapr.aca import render_aca_component
from infra.dapr.kubernetes import DaprObject, render_k8s_component
from infra.dapr.spec import DaprComponentSpec, SecretRef, sweep_binding
from tests.infra.conftest import one, run_under_mocks

REDIS = DaprComponentSpec(
    name="statestore",
    type="state.redis",
    metadata={"redisHost": "redis:6379", "actorStateStore": "true"},
    secrets={"redisPassword": SecretRef("redis-auth", "password")},
    scopes=("daca-agent",),
    secret_store="kubernetes",
)


def test_kubernetes_component_lists_plain_then_secret_metadata_and_its_auth_store() -> None:
    assert render_k8s_component(REDIS, "agents", {"app": "daca"}) == {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "statestore", "namespace": "agents", "labels": {"app": "daca"}},
        "spec": {
            "type": "state.redis",
            "version": "v1",
            "metadata": [
                {"name": "actorStateStore", "value": "true"},
                {"name": "redisHost", "value": "redis:6379"},
                {
                    "name": "redisPassword",
                    "secretKeyRef": {"name": "redis-auth", "key": "password"},
                },
            ],
        },
        "scopes": ["daca-agent"],
        "auth": {"secretStore": "kubernetes"},
    }


def test_kubernetes_component_without_a_secret_store_has_no_auth() -> None:
    plain = DaprComponentSpec(name="pubsub", type="pubsub.redis", version="v2", scopes=("a", "b"))
    body = render_k8s_component(plain, "ns", {})
    assert "auth" not in body
    assert body["spec"] == {"type": "pubsub.redis", "version": "v2", "metadata": []}
    assert body["scopes"] == ["a", "b"]


def test_aca_component_refers_to_secrets_by_name_through_its_store() -> None:
    rendered = render_aca_component(REDIS, init_timeout="45s")
    assert rendered.component_name == "statestore"
    assert rendered.component_type == "state.redis"
    assert rendered.version == "v1"
    assert rendered.metadata == [
        {"name": "actorStateStore", "value": "true"},
        {"name": "redisHost", "value": "redis:6379"},
        {"name": "redisPassword", "secret_ref": "redis-auth"},
    ]
    assert rendered.scopes == ["daca-agent"]
    assert rendered.secret_store_component == "kubernetes"
    assert rendered.ignore_errors is False
    assert rendered.init_timeout == "45s"


def test_aca_component_defaults_and_no_store_without_secrets() -> None:
    plain = DaprComponentSpec(
        name="pubsub",
        type="pubsub.azure.servicebus.topics",
        version="v2",
        scopes=("daca-agent",),
        secret_store="keyvault",
    )
    rendered = render_aca_component(plain)
    assert rendered.version == "v2"
    assert rendered.init_timeout == "30s"
    assert rendered.secret_store_component is None  # nothing to resolve through it


def test_a_component_must_be_scoped() -> None:
    with pytest.raises(ValueError, match=r"'statestore' must be scoped to at least one app-id"):
        DaprComponentSpec(name="statestore", type="state.redis")


def test_a_key_cannot_be_both_plain_and_secret() -> None:
    with pytest.raises(
        ValueError,
        match=r"^Dapr component 'pubsub': \['password'\] given both as plain and secret metadata$",
    ):
        DaprComponentSpec(
            name="pubsub",
            type="pubsub.redis",
            metadata={"password": "x", "host": "h"},
            secrets={"password": SecretRef("s", "k")},
            scopes=("a",),
        )


def test_sweep_binding_posts_to_the_apps_sweep_route_every_five_minutes() -> None:
    binding = sweep_binding(("daca-agent",))
    assert (binding.name, binding.type, binding.version) == ("sweep", "bindings.cron", "v1")
    assert dict(binding.metadata) == {
        "schedule": "@every 5m",
        "route": "/dapr/bindings/sweep",
        "direction": "input",
    }
    assert binding.scopes == ("daca-agent",)
    assert binding.secret_store is None


def test_dapr_object_registers_the_whole_body_with_the_given_options() -> None:
    def build() -> None:
        first = DaprObject("first", render_k8s_component(REDIS, "agents", {}))
        DaprObject(
            "second",
            {**render_k8s_component(sweep_binding(("x",)), "agents", {})},
            pulumi.ResourceOptions(depends_on=[first]),
        )

    records = run_under_mocks(build)
    first = one(records, "kubernetes:dapr.io/v1alpha1:Component", "first")
    second = one(records, "kubernetes:dapr.io/v1alpha1:Component", "second")
    assert first["inputs"]["scopes"] == ["daca-agent"]
    assert first["inputs"]["auth"] == {"secretStore": "kubernetes"}
    assert second["dependsOn"] == ["first"]
