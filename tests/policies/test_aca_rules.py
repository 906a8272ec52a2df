"""The Container Apps, image and Dockerfile policies as a user reads their verdicts.

test_validators.py checks one pass/fail/not-applicable case per policy; these pin the
edges a one-case test leaves open: the exact message (the resource, the field, the value,
the limit), the config knobs, boundary values, init containers, the other workload kinds,
unknowns at preview, and the shared helpers' documented contracts (spec.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import daca_policies
import pytest
from daca_policies.spec import Resource, get, truthy

from .cases import (
    IDENTITY,
    KEY_DIGESTS,
    UNKNOWN,
    container,
    container_app,
    d,
    docker_image,
    resource,
)
from .verdicts import outcome


def app_with(*path: Any, value: Any) -> Resource:
    """The compliant Container App with one property set (or removed, for value=None)."""

    def mutate(props: dict[str, Any]) -> None:
        cur: Any = props
        for key in path[:-1]:
            cur = cur[key]
        if value is None:
            cur.pop(path[-1], None)
        else:
            cur[path[-1]] = value

    return container_app(mutate)


MIGRATE = {
    "name": "migrate",
    "image": "dacaacr.azurecr.io/daca-agent:v1",
    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
}


# -- aca-containerapp-https-only ---------------------------------------------------------


def test_plain_http_is_named_by_its_field() -> None:
    app = app_with("configuration", "ingress", "allowInsecure", value=True)
    assert outcome("aca-containerapp-https-only", app) == (
        "fail",
        ["configuration.ingress.allowInsecure is true: plain HTTP is accepted"],
    )


def test_a_mistyped_ingress_is_not_judged() -> None:
    app = app_with("configuration", "ingress", value=["external"])
    assert outcome("aca-containerapp-https-only", app) == (
        "na",
        ["configuration.ingress is not an object"],
    )


# -- aca-containerapp-managed-identity ---------------------------------------------------

NO_IDENTITY = ["the app has no managed identity (identity.type is not set)"]


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({"type": "SystemAssigned"}, ("pass", [])),
        (
            {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": [IDENTITY]},
            ("pass", []),
        ),
        ({"type": "None"}, ("fail", NO_IDENTITY)),
        ({"type": " none "}, ("fail", NO_IDENTITY)),
        ({"type": ""}, ("fail", NO_IDENTITY)),
        ({"userAssignedIdentities": [IDENTITY]}, ("fail", NO_IDENTITY)),
        # an identity built from another resource's output is not known until the update
        (UNKNOWN, ("na", ["identity is unknown at preview"])),
        ({"type": UNKNOWN}, ("na", ["identity.type is unknown at preview"])),
    ],
)
def test_managed_identity(identity: Any, expected: tuple[str, list[str]]) -> None:
    assert outcome("aca-containerapp-managed-identity", app_with("identity", value=identity)) == (
        expected
    )


# -- aca-containerapp-registry-identity --------------------------------------------------

PASSWORD = "dacaacr.azurecr.io is pulled with a username/password; use identity instead"


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ({"server": "dacaacr.azurecr.io", "username": "daca"}, [PASSWORD]),
        ({"server": "dacaacr.azurecr.io", "passwordSecretRef": "acr"}, [PASSWORD]),
        # a password beside the identity still works for anyone who reads the secret
        (
            {"server": "dacaacr.azurecr.io", "identity": IDENTITY, "passwordSecretRef": "acr"},
            [PASSWORD],
        ),
        ({"server": "dacaacr.azurecr.io"}, ["dacaacr.azurecr.io has no identity to pull with"]),
        ({"identity": None}, ["registry has no identity to pull with"]),
    ],
)
def test_a_registry_without_identity_is_named(registry: dict, expected: list[str]) -> None:
    app = app_with("configuration", "registries", value=[registry])
    assert outcome("aca-containerapp-registry-identity", app) == ("fail", expected)


def test_a_registry_unknown_at_preview_is_left_for_the_update() -> None:
    registries = [UNKNOWN, {"server": "dacaacr.azurecr.io", "identity": IDENTITY}]
    app = app_with("configuration", "registries", value=registries)
    assert outcome("aca-containerapp-registry-identity", app) == ("pass", [])


# -- aca-containerapp-secret-refs --------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (
            {"name": "openai", "value": "sk-1"},
            "secret 'openai' is stored inline; reference Key Vault via keyVaultUrl",
        ),
        (
            {"name": "openai", "keyVaultUrl": "https://kv.vault.azure.net/secrets/o"},
            "secret 'openai' names a Key Vault URL but no identity to read it with",
        ),
    ],
)
def test_an_unreferenced_secret_is_named(secret: dict, expected: str) -> None:
    app = app_with("configuration", "secrets", value=[secret])
    assert outcome("aca-containerapp-secret-refs", app) == ("fail", [expected])
    # the secrets are judged even when the containers are not known
    app.props.pop("template")
    assert outcome("aca-containerapp-secret-refs", app) == ("fail", [expected])


def _env(*env: dict[str, Any]) -> Resource:
    return app_with("template", "containers", 0, "env", value=list(env))


def test_a_literal_credential_in_env_names_the_container_and_the_variable() -> None:
    assert outcome("aca-containerapp-secret-refs", _env({"name": "DB_PASSWORD", "value": "x"})) == (
        "fail",
        ["container 'agent' sets env DB_PASSWORD to a literal value; use secretRef"],
    )
    # how `daca synth` shows a secret input: a credential whatever the variable is called
    assert outcome("aca-containerapp-secret-refs", _env({"name": "DSN", "value": "[secret]"})) == (
        "fail",
        ["container 'agent' sets env DSN to a literal value; use secretRef"],
    )


def test_an_empty_credential_variable_holds_no_credential() -> None:
    assert outcome(
        "aca-containerapp-secret-refs", _env({"name": "OPENAI_API_KEY", "value": ""})
    ) == (
        "pass",
        [],
    )


def test_the_credential_name_pattern_comes_from_the_config() -> None:
    env = _env(
        {"name": "DB_URL", "value": "postgres://u:p@db"}, {"name": "OPENAI_API_KEY", "value": "x"}
    )
    assert outcome("aca-containerapp-secret-refs", env, secretNamePattern="^DB_") == (
        "fail",
        ["container 'agent' sets env DB_URL to a literal value; use secretRef"],
    )


def test_init_containers_env_is_checked_and_unnamed_containers_are_labelled_by_position() -> None:
    def mutate(props: dict[str, Any]) -> None:
        literal = [{"name": "OPENAI_API_KEY", "value": "sk-1"}]
        props["template"]["initContainers"] = [
            {**MIGRATE, "env": literal},
            {"image": "busybox:1.36", "env": literal},
        ]
        props["template"]["containers"].append({"image": "busybox:1.36", "env": literal})

    assert outcome("aca-containerapp-secret-refs", container_app(mutate)) == (
        "fail",
        [
            "container 'containers[1]' sets env OPENAI_API_KEY to a literal value; use secretRef",
            "container 'migrate' sets env OPENAI_API_KEY to a literal value; use secretRef",
            "container 'initContainers[1]' sets env OPENAI_API_KEY to a literal value; "
            "use secretRef",
        ],
    )


# -- aca-containerapp-replica-bounds -----------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "config", "expected"),
    [
        ({"minReplicas": 2.0, "maxReplicas": 3.0}, {"minReplicas": 1}, []),
        ({"minReplicas": 2.0, "maxReplicas": 2.0}, {}, []),
        ({"minReplicas": 0.0, "maxReplicas": 10.0}, {}, []),  # exactly the default ceiling
        (
            {"minReplicas": 0.0, "maxReplicas": 11.0},
            {},
            ["template.scale.maxReplicas is 11, above 10"],
        ),
        (
            {"minReplicas": 0.0, "maxReplicas": 12.5},
            {},
            ["template.scale.maxReplicas is 12.5, above 10"],
        ),
        ({"minReplicas": 0.0, "maxReplicas": 5.0}, {"maxReplicas": 5}, []),
        (
            {"minReplicas": 0.0, "maxReplicas": 6.0},
            {"maxReplicas": 5},
            ["template.scale.maxReplicas is 6, above 5"],
        ),
        (
            {"maxReplicas": 3.0},
            {"minReplicas": 1},
            ["template.scale.minReplicas is 0, below 1"],  # ACA's default minimum is 0
        ),
        (
            {"minReplicas": 0.5, "maxReplicas": 3.0},
            {"minReplicas": 1},
            ["template.scale.minReplicas is 0.5, below 1"],
        ),
        (
            {"minReplicas": 5.0, "maxReplicas": 3.0},
            {},
            ["template.scale.maxReplicas is below minReplicas"],
        ),
        (
            {"minReplicas": 1.0},
            {},
            ["template.scale.maxReplicas is not set; bound the scale-out explicitly"],
        ),
    ],
)
def test_replica_bounds(scale: dict, config: dict, expected: list[str]) -> None:
    app = app_with("template", "scale", value=scale)
    assert outcome("aca-containerapp-replica-bounds", app, **config) == (
        "fail" if expected else "pass",
        expected,
    )


def test_replica_bounds_of_an_app_without_template_are_not_judged() -> None:
    assert outcome("aca-containerapp-replica-bounds", app_with("template", value=None)) == (
        "na",
        ["template is not known (missing or unknown at preview)"],
    )


# -- aca-containerapp-resources-set / probes-set ----------------------------------------


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({}, "container 'agent' has no resources.cpu or resources.memory"),
        ({"cpu": 0.25}, "container 'agent' has no resources.memory"),
        ({"memory": "0.5Gi"}, "container 'agent' has no resources.cpu"),
    ],
)
def test_missing_resources_are_named(resources: dict, expected: str) -> None:
    app = app_with("template", "containers", 0, "resources", value=resources)
    assert outcome("aca-containerapp-resources-set", app) == ("fail", [expected])


@pytest.mark.parametrize(
    "policy", ["aca-containerapp-resources-set", "aca-containerapp-probes-set"]
)
def test_containers_of_an_app_without_template_are_not_judged(policy: str) -> None:
    assert outcome(policy, app_with("template", value=None)) == (
        "na",
        ["template is not known (missing or unknown at preview)"],
    )


def test_an_init_container_needs_resources_too() -> None:
    app = app_with("template", "initContainers", value=[{"name": "migrate", "image": "a:1"}])
    assert outcome("aca-containerapp-resources-set", app) == (
        "fail",
        ["container 'migrate' has no resources.cpu or resources.memory"],
    )


@pytest.mark.parametrize(
    ("probes", "expected"),
    [
        ([], "container 'agent' has no Readiness and no Liveness probe"),
        ([{"type": "Liveness"}], "container 'agent' has no Readiness probe"),
        ([{"type": "Readiness"}], "container 'agent' has no Liveness probe"),
        (
            [{"type": "Startup"}, {"httpGet": {"path": "/"}}],
            "container 'agent' has no Readiness and no Liveness probe",
        ),
    ],
)
def test_missing_probes_are_named(probes: list, expected: str) -> None:
    app = app_with("template", "containers", 0, "probes", value=probes)
    assert outcome("aca-containerapp-probes-set", app) == ("fail", [expected])


def test_init_containers_run_to_completion_and_need_no_probes() -> None:
    app = app_with("template", "initContainers", value=[MIGRATE])
    assert outcome("aca-containerapp-probes-set", app) == ("pass", [])


# -- aca-data-local-auth-disabled --------------------------------------------------------

KEYS_WORK = "account keys / SAS would work beside managed identity"


@pytest.mark.parametrize(
    ("type_", "props", "expected"),
    [
        (
            "azure-native:cosmosdb:DatabaseAccount",
            {"disableLocalAuth": False},
            f"disableLocalAuth is False: {KEYS_WORK}",
        ),
        (
            "azure-native:servicebus:Namespace",
            {},
            f"disableLocalAuth is not set (Azure's default accepts keys): {KEYS_WORK}",
        ),
        (
            "azure-native:storage:StorageAccount",
            {"allowSharedKeyAccess": True},
            f"allowSharedKeyAccess is True: {KEYS_WORK}",
        ),
    ],
)
def test_local_auth_names_the_property_and_its_value(
    type_: str, props: dict, expected: str
) -> None:
    assert outcome("aca-data-local-auth-disabled", resource(type_, props)) == ("fail", [expected])


# -- aca-app-published-without-auth ------------------------------------------------------

PUBLISHED = "aca-app-published-without-auth"


def test_a_published_app_without_auth_names_its_app_id_and_the_variables() -> None:
    assert outcome(PUBLISHED, _env({"name": "LOG_LEVEL", "value": "info"})) == (
        "fail",
        [
            "the app (Dapr app-id 'agent') is published by its external ingress, but no "
            "container sets any of DACA_API_KEYS, DACA_OIDC_ISSUER: it has no way to "
            "authenticate callers"
        ],
    )


def test_an_app_without_configuration_is_not_published() -> None:
    assert outcome(PUBLISHED, app_with("configuration", value=None)) == ("pass", [])


def test_auth_set_only_on_an_init_container_does_not_count() -> None:
    def mutate(props: dict[str, Any]) -> None:
        props["template"]["containers"][0]["env"] = []
        props["template"]["initContainers"] = [{**MIGRATE, "env": [KEY_DIGESTS]}]

    assert outcome(PUBLISHED, container_app(mutate))[0] == "fail"


@pytest.mark.parametrize(
    "env",
    [
        ["DACA_API_KEYS=digest", KEY_DIGESTS],  # a mistyped entry before the real one
        [UNKNOWN, KEY_DIGESTS],
        [{"name": "DACA_API_KEYS", "value": UNKNOWN}],  # set by the update
    ],
)
def test_auth_is_found_past_entries_it_cannot_read(env: list) -> None:
    assert outcome(PUBLISHED, _env(*env)) == ("pass", [])


@pytest.mark.parametrize(
    "env",
    [
        [UNKNOWN],
        [{"name": UNKNOWN, "value": "c" * 64}],
        [{"name": "LOG_LEVEL", "value": "info"}, {"name": UNKNOWN, "secretRef": "keys"}],
    ],
)
def test_an_env_entry_unknown_at_preview_leaves_the_app_unjudged(env: list) -> None:
    assert outcome(PUBLISHED, _env(*env)) == ("na", ["the containers' env is unknown at preview"])


@pytest.mark.parametrize(
    "path", [("ingress", "external"), ("dapr", "enabled"), ("dapr",), ("ingress",)]
)
def test_ingress_or_dapr_settings_unknown_at_preview_are_not_judged(path: tuple) -> None:
    app = app_with("configuration", *path, value=UNKNOWN)
    app.props["template"]["containers"][0]["env"] = []
    assert outcome(PUBLISHED, app) == (
        "na",
        ["the ingress or Dapr settings are unknown at preview"],
    )


# -- aca-registry-admin-disabled ---------------------------------------------------------


def test_an_enabled_admin_user_says_what_to_use_instead() -> None:
    registry = resource("azure-native:containerregistry:Registry", {"adminUserEnabled": True})
    assert outcome("aca-registry-admin-disabled", registry) == (
        "fail",
        ["the registry's admin user is enabled; pull with managed identity (AcrPull)"],
    )


# -- images-container-tag-pinned ---------------------------------------------------------

PINNED = "images-container-tag-pinned"


def test_the_forbidden_tags_come_from_the_config() -> None:
    edge = d(lambda p: p["spec"]["template"]["spec"]["containers"][0].update(image="redis:edge"))
    assert outcome(PINNED, edge, forbiddenTags=["edge"]) == (
        "fail",
        ["container 'agent': image redis:edge uses the mutable tag :edge"],
    )
    assert outcome(PINNED, edge)[0] == "pass"


@pytest.mark.parametrize(
    ("type_", "prop", "label"),
    [
        ("docker:index/container:Container", "image", "container"),
        ("docker:index/remoteImage:RemoteImage", "name", "pulled image"),
        ("docker:index/image:Image", "imageName", "built image"),
    ],
)
def test_docker_resources_are_judged_by_their_own_image_property(
    type_: str, prop: str, label: str
) -> None:
    assert outcome(PINNED, resource(type_, {prop: "redis:7.4.2"})) == ("pass", [])
    assert outcome(PINNED, resource(type_, {prop: "redis:latest"})) == (
        "fail",
        [f"{label}: image redis:latest uses the mutable tag :latest"],
    )
    assert outcome(PINNED, resource(type_, {})) == ("fail", [f"{label} has no image"])


def test_every_container_app_container_is_judged_by_name() -> None:
    app = app_with("template", "initContainers", value=[{**MIGRATE, "image": "busybox"}])
    assert outcome(PINNED, app) == (
        "fail",
        ["container 'migrate': image busybox has no tag, so it resolves to :latest"],
    )


def test_a_container_app_without_template_is_not_judged() -> None:
    assert outcome(PINNED, app_with("template", value=None)) == (
        "na",
        ["template is not known (missing or unknown at preview)"],
    )


def test_every_container_is_judged_past_an_unknown_or_missing_image() -> None:
    def mutate(props: dict[str, Any]) -> None:
        props["spec"]["template"]["spec"]["containers"] = [
            container(name="built", image=UNKNOWN),  # built in the same update
            container(name="bare", image=None),
            container(name="sidecar", image="envoyproxy/envoy:latest"),
        ]

    assert outcome(PINNED, d(mutate)) == (
        "fail",
        [
            "container 'bare' has no image",
            "container 'sidecar': image envoyproxy/envoy:latest uses the mutable tag :latest",
        ],
    )


def _pod(**overrides: Any) -> dict[str, Any]:
    return {
        "containers": [container(image="redis:latest")],
        "initContainers": [container(name="init", image="busybox:1.36"), {"image": "busybox"}],
        **overrides,
    }


LATEST_AND_BARE = [
    "container 'agent': image redis:latest uses the mutable tag :latest",
    "init container 'initContainers[1]': image busybox has no tag, so it resolves to :latest",
]


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("kubernetes:core/v1:Pod", {"metadata": {"name": "agent"}, "spec": _pod()}),
        (
            "kubernetes:batch/v1:CronJob",
            {
                "spec": {
                    "schedule": "0 * * * *",
                    "jobTemplate": {"spec": {"template": {"spec": _pod()}}},
                }
            },
        ),
        ("kubernetes:batch/v1:Job", {"spec": {"template": {"spec": _pod()}}}),
        ("kubernetes:apps/v1:ReplicaSet", {"spec": {"template": {"spec": _pod()}}}),
    ],
)
def test_every_workload_kind_has_its_containers_and_init_containers_judged(
    type_: str, props: dict
) -> None:
    assert outcome(PINNED, resource(type_, props)) == ("fail", LATEST_AND_BARE)


@pytest.mark.parametrize("spec", [None, ["containers"], UNKNOWN])
def test_a_workload_without_a_readable_pod_spec_is_not_judged(spec: Any) -> None:
    def mutate(props: dict[str, Any]) -> None:
        props["spec"]["template"]["spec"] = spec

    assert outcome(PINNED, d(mutate)) == (
        "na",
        ["the pod template is not known (missing or unknown at preview)"],
    )


# -- images-container-pull-policy --------------------------------------------------------


def test_a_disallowed_pull_policy_lists_the_allowed_ones() -> None:
    def mutate(props: dict[str, Any]) -> None:
        props["spec"]["template"]["spec"]["containers"] = [
            container(name="defaulted", imagePullPolicy=None),
            container(name="computed", imagePullPolicy=UNKNOWN),
            container(name="sideloaded", imagePullPolicy="Never"),
        ]

    assert outcome("images-container-pull-policy", d(mutate)) == (
        "fail",
        ["container 'sideloaded' uses imagePullPolicy Never (allowed: IfNotPresent, Always)"],
    )


# -- images-dockerfile-* -----------------------------------------------------------------

USER_POLICY, BASE_POLICY = "images-dockerfile-nonroot-user", "images-dockerfile-base-pinned"
PY = "python:3.12.8-slim-bookworm"


def dockerfile(tmp_path: Path, text: str, policy: str) -> tuple[str, list[str]]:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    return outcome(policy, docker_image("Dockerfile"), repoRoot=str(tmp_path))


@pytest.mark.parametrize(
    ("text", "user", "base"),
    [
        # a comment or a blank line inside a continued instruction does not end it
        (
            f"FROM {PY} \\\n    # the build stage\n    AS build\n\nFROM build\nUSER 10001\n",
            [],
            [],
        ),
        (f"FROM {PY} \\\n\n    AS build\nFROM build\nUSER 10001\n", [], []),
        # nor does a commented-out line that ends in a backslash swallow the next one
        (f"FROM {PY}\n# RUN apt-get install -y curl \\\nUSER 10001\n", [], []),
        # a continuation over three lines, and one with no space before the backslash
        (f"FROM \\\n  {PY} \\\n  AS build\nFROM build\\\n  AS runtime\nUSER 10001\n", [], []),
        # the last line continued into the end of the file
        (f"FROM {PY}\nUSER 10001 \\\n", [], []),
        # an empty final stage has no base image to pin
        (f"FROM {PY} AS build\nUSER 10001\nFROM scratch\nUSER 10001\n", [], []),
        (
            f"FROM {PY}\nUSER 0:0\n",
            ["Dockerfile: the final stage runs as USER 0:0"],
            [],
        ),
        (
            f"FROM {PY}\nUSER root:staff\n",
            ["Dockerfile: the final stage runs as USER root:staff"],
            [],
        ),
        (
            f"FROM {PY}\nUSER 10001\nFROM {PY}\n",
            ["Dockerfile: the final stage has no USER, so the container runs as root"],
            [],
        ),
        ("# syntax=docker/dockerfile:1\n", ["Dockerfile has no FROM instruction"], []),
        # an ARG with no default, and the FROM's own fallback for it
        (
            "ARG PY_TAG\nFROM python:${PY_TAG:-latest}\nUSER 10001\n",
            [],
            ["Dockerfile: base image python:latest uses the mutable tag :latest"],
        ),
        # an optional registry prefix left unset
        (
            "ARG REGISTRY\nFROM ${REGISTRY}python\nUSER 10001\n",
            [],
            ["Dockerfile: base image python has no tag, so it resolves to :latest"],
        ),
        # the USER from an ARG the stage re-declares, and a variable's own default
        (
            f"ARG APP_USER=root\nFROM {PY}\nARG APP_USER\nUSER ${{APP_USER}}\n",
            ["Dockerfile: the final stage runs as USER root"],
            [],
        ),
        (
            f"FROM {PY}\nUSER ${{RUN_AS:-root}}\n",
            ["Dockerfile: the final stage runs as USER root"],
            [],
        ),
    ],
)
def test_dockerfile_verdicts(tmp_path: Path, text: str, user: list[str], base: list[str]) -> None:
    assert dockerfile(tmp_path, text, USER_POLICY) == ("fail" if user else "pass", user)
    assert dockerfile(tmp_path, text, BASE_POLICY) == ("fail" if base else "pass", base)


@pytest.mark.parametrize("policy", [USER_POLICY, BASE_POLICY])
def test_a_dockerfile_that_cannot_be_read_is_not_judged(tmp_path: Path, policy: str) -> None:
    unknown = resource("docker:index/image:Image", {"imageName": "a:1", "build": UNKNOWN})
    assert outcome(policy, unknown, repoRoot=str(tmp_path)) == (
        "na",
        ["build settings are unknown at preview"],
    )
    assert outcome(policy, docker_image(None), repoRoot=str(tmp_path)) == (
        "na",
        ["the image has no build (it is pulled, not built)"],
    )
    assert outcome(policy, docker_image("app/Dockerfile"), repoRoot=str(tmp_path)) == (
        "na",
        [f"Dockerfile not found at {tmp_path / 'app' / 'Dockerfile'}"],
    )


# -- spec.py helpers every validator relies on -------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("ports", 0, "port"), 80),
        (("ports", 1), None),  # one past the end
        (("ports", 5), None),
        (("name", 0), None),  # a string is not a list
        (("labels", 0), None),  # nor is a mapping
        (("host",), None),  # unknown reads as missing
        (("ports", 0, "name"), None),
    ],
)
def test_get_walks_mappings_and_lists_and_returns_none_for_what_is_not_there(
    path: tuple, expected: Any
) -> None:
    obj = {"ports": [{"port": 80}], "name": "agent", "labels": {"0": "x"}, "host": UNKNOWN}
    assert get(obj, *path) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *((v, True) for v in (True, "true", "True", " 1 ", "yes", "YES")),
        *((v, False) for v in (False, "false", "0", "no", "No")),
        *((v, None) for v in (None, "", "maybe", 1, UNKNOWN)),
    ],
)
def test_truthy_reads_booleans_and_their_annotation_spellings(value: Any, expected: Any) -> None:
    assert truthy(value) is expected


# -- the package --------------------------------------------------------------------------


def test_an_unknown_package_attribute_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match=r"^no_such_policy$"):
        daca_policies.no_such_policy  # noqa: B018


def test_the_crossguard_policies_need_the_packs_own_environment() -> None:
    # POLICIES is built lazily, so the pure specs import without pulumi_policy
    with pytest.raises(ModuleNotFoundError, match="pulumi_policy"):
        daca_policies.POLICIES  # noqa: B018
    with pytest.raises(AttributeError):
        daca_policies.policies  # noqa: B018
