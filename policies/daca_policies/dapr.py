"""Dapr policies: component secrets and scopes, sidecar annotations, mTLS, chart pinning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .spec import (
    SECRET_NAME_SCHEMA,
    SECRET_PLACEHOLDER,
    WORKLOAD_TYPES,
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_list,
    as_number,
    containers,
    fmt_num,
    get,
    is_unknown,
    named_in,
    pod_template,
    secret_name_matcher,
    truthy,
)

K8S_COMPONENT = "kubernetes:dapr.io/v1alpha1:Component"
ACA_COMPONENT = "azure-native:app:DaprComponent"
COMPONENT_TYPES = (K8S_COMPONENT, ACA_COMPONENT)
CONTAINER_APP = "azure-native:app:ContainerApp"


def _component_metadata(resource: Resource) -> list[Any]:
    if resource.type == K8S_COMPONENT:
        return as_list(get(resource.props, "spec", "metadata"))
    return as_list(resource.props.get("metadata"))


def _component_scopes(resource: Resource) -> Any:
    # Kubernetes Component CRD: `scopes` sits beside `spec`; ACA DaprComponent: top level too.
    return resource.props.get("scopes")


def validate_component_secret_refs(resource: Resource, config: Config) -> list[str]:
    secret_like = secret_name_matcher(config)
    ref_key = "secretKeyRef" if resource.type == K8S_COMPONENT else "secretRef"
    out = []
    for item in _component_metadata(resource):
        name, value = get(item, "name"), get(item, "value")
        if not isinstance(name, str) or value is None or value == "":
            continue
        if value == SECRET_PLACEHOLDER or secret_like(name):
            out.append(f"metadata '{name}' holds a literal value; reference it with {ref_key}")
    if resource.type == ACA_COMPONENT:
        for secret in as_list(resource.props.get("secrets")):
            if get(secret, "value") is not None and get(secret, "keyVaultUrl") is None:
                out.append(
                    f"secret '{get(secret, 'name')}' is stored inline; use keyVaultUrl "
                    "with a managed identity"
                )
    return out


def validate_component_scoped(resource: Resource, config: Config) -> list[str]:
    scopes = _component_scopes(resource)
    if is_unknown(scopes):
        raise NotApplicable("scopes are unknown at preview")
    exempt = set(config.get("exemptComponents", []))
    name = (
        get(resource.props, "metadata", "name")
        if resource.type == K8S_COMPONENT
        else get(resource.props, "componentName")
    ) or resource.name
    if named_in(name, exempt):
        return []
    if isinstance(scopes, list) and any(is_unknown(s) for s in scopes):
        raise NotApplicable("some scopes are unknown at preview")
    if not as_list(scopes):
        return [f"component '{name}' has no scopes, so every Dapr app in the namespace loads it"]
    return []


def _deployed_app_ids(resources: Sequence[Resource]) -> tuple[set[str], bool]:
    """App-ids of Dapr-enabled workloads; the flag says whether any was unknown."""
    ids: set[str] = set()
    unknown = False
    for r in resources:
        app_id: Any = None
        if r.type in WORKLOAD_TYPES:
            annotations = get(pod_template(r), "metadata", "annotations")
            if isinstance(annotations, Mapping) and truthy(annotations.get("dapr.io/enabled")):
                app_id = annotations.get("dapr.io/app-id")
        elif r.type == CONTAINER_APP:
            dapr = get(r.props, "configuration", "dapr")
            if isinstance(dapr, Mapping) and truthy(dapr.get("enabled")):
                app_id = dapr.get("appId")
        else:
            continue
        if is_unknown(app_id):
            unknown = True
        elif isinstance(app_id, str) and app_id:
            ids.add(app_id)
    return ids, unknown


def validate_scopes_deployed(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    deployed, unknown = _deployed_app_ids(resources)
    if unknown:
        raise NotApplicable("a Dapr app-id is unknown at preview")
    out: list[tuple[Resource | None, str]] = []
    for r in resources:
        if r.type not in COMPONENT_TYPES:
            continue
        stray = sorted(
            s for s in as_list(_component_scopes(r)) if isinstance(s, str) and s not in deployed
        )
        if stray:
            known = ", ".join(sorted(deployed)) or "none"
            out.append(
                (
                    r,
                    f"component '{r.name}' is scoped to app-ids no workload deploys: "
                    f"{', '.join(stray)} (deployed: {known})",
                )
            )
    return out


def validate_annotations(resource: Resource, config: Config) -> list[str]:
    template = pod_template(resource)
    annotations = get(template, "metadata", "annotations")
    if not isinstance(annotations, Mapping):
        return []
    if truthy(annotations.get("dapr.io/enabled")) is not True:
        return []
    out = [
        f"annotation {key} is missing"
        for key in config.get("requiredAnnotations", ["dapr.io/app-id", "dapr.io/app-port"])
        if annotations.get(key) in (None, "")
    ]
    app_port = annotations.get("dapr.io/app-port")
    if app_port is not None and not is_unknown(app_port):
        port = as_number(app_port)
        declared = {
            int(n)
            for _, c in containers(resource, include_init=False)
            for p in as_list(c.get("ports"))
            if (n := as_number(get(p, "containerPort"))) is not None
        }
        if port is None:
            out.append(f"dapr.io/app-port '{app_port}' is not a port number")
        elif int(port) not in declared:
            ports = ", ".join(str(d) for d in sorted(declared)) or "none"
            out.append(
                f"dapr.io/app-port {fmt_num(port)} matches no containerPort (declared: {ports})"
            )
    return out


def validate_mtls(resource: Resource, config: Config) -> list[str]:
    if resource.type == "kubernetes:dapr.io/v1alpha1:Configuration":
        if truthy(get(resource.props, "spec", "mtls", "enabled")) is False:
            return ["Dapr Configuration sets spec.mtls.enabled: false"]
        return []
    if not _is_dapr_release(resource):
        return []
    if truthy(get(resource.props, "values", "global", "mtls", "enabled")) is False:
        return ["Dapr Helm release sets global.mtls.enabled: false"]
    return []


def _is_dapr_release(resource: Resource) -> bool:
    chart = resource.props.get("chart")
    return isinstance(chart, str) and chart.rsplit("/", 1)[-1] == "dapr"


def validate_chart_pinned(resource: Resource, config: Config) -> list[str]:
    if not _is_dapr_release(resource):
        return []
    version = resource.props.get("version")
    if is_unknown(version):
        return []
    if not isinstance(version, str) or not version:
        return [
            "Dapr Helm release has no chart version; Helm would install the newest chart "
            "(and never upgrade its CRDs)"
        ]
    if any(ch in version for ch in "^~*<>=x| "):
        return [f"Dapr chart version '{version}' is a range; pin an exact version"]
    return []


POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="dapr-component-secret-refs",
        description="Dapr component credentials must come from a secret store, never a literal.",
        severity="critical",
        enforcement="mandatory",
        remediation="Replace the metadata value with secretKeyRef {name, key} (Kubernetes) or "
        "secretRef (ACA), and keep ACA component secrets as keyVaultUrl references.",
        config_schema=SECRET_NAME_SCHEMA,
        resource_types=COMPONENT_TYPES,
        validate_resource=validate_component_secret_refs,
    ),
    PolicySpec(
        name="dapr-component-scoped",
        description="Every Dapr component must be scoped to the app-ids that use it.",
        severity="high",
        enforcement="mandatory",
        remediation="Set scopes: [<app-id>, ...] on the component.",
        config_schema={
            "exemptComponents": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Component names that may be shared by every app.",
            }
        },
        resource_types=COMPONENT_TYPES,
        validate_resource=validate_component_scoped,
    ),
    PolicySpec(
        name="dapr-component-scopes-deployed",
        description="Dapr component scopes must name app-ids that the stack actually deploys.",
        severity="medium",
        enforcement="mandatory",
        remediation="Fix the scope (typo?) or deploy the app-id; a scope naming no app hides "
        "the component from the app that needs it.",
        validate_stack=validate_scopes_deployed,
    ),
    PolicySpec(
        name="dapr-workload-annotations",
        description="Dapr-enabled workloads must carry complete sidecar annotations whose "
        "app-port is a declared container port.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set dapr.io/app-id and dapr.io/app-port on the pod template, with app-port "
        "equal to the app container's containerPort.",
        config_schema={
            "requiredAnnotations": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["dapr.io/app-id", "dapr.io/app-port"],
                "description": "Annotations every Dapr-enabled pod template must set.",
            }
        },
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_annotations,
    ),
    PolicySpec(
        name="dapr-runtime-mtls-enabled",
        description="Dapr mTLS between sidecars must not be disabled.",
        severity="critical",
        enforcement="mandatory",
        remediation="Remove global.mtls.enabled: false from the Dapr chart values and "
        "spec.mtls.enabled: false from Dapr Configurations.",
        resource_types=(
            "kubernetes:helm.sh/v3:Release",
            "kubernetes:helm.sh/v4:Chart",
            "kubernetes:dapr.io/v1alpha1:Configuration",
        ),
        validate_resource=validate_mtls,
    ),
    PolicySpec(
        name="dapr-runtime-chart-pinned",
        description="The Dapr Helm chart must be pinned to an exact version.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set the release's version to an exact chart version per stage (Helm "
        "upgrades do not update Dapr's CRDs).",
        resource_types=("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"),
        validate_resource=validate_chart_pinned,
    ),
]
