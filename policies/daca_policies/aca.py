"""Azure Container Apps policies: HTTPS, identity, registry auth, secrets, scale, probes,
and identity-only access to the data services behind the app."""

from __future__ import annotations

from collections.abc import Mapping

from .spec import (
    AUTH_ENV_SCHEMA,
    SECRET_NAME_SCHEMA,
    SECRET_PLACEHOLDER,
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_dict,
    as_list,
    as_number,
    env_sets_any,
    fmt_num,
    get,
    is_unknown,
    known,
    secret_name_matcher,
    truthy,
)

CONTAINER_APP = "azure-native:app:ContainerApp"


def _app_containers(resource: Resource, include_init: bool = True) -> list[tuple[str, dict]]:
    template = get(resource.props, "template")
    if template is None:
        raise NotApplicable("template is not known (missing or unknown at preview)")
    kinds = ("containers", "initContainers") if include_init else ("containers",)
    out = []
    for kind in kinds:
        for i, c in enumerate(as_list(get(template, kind))):
            if isinstance(c, dict):
                name = c.get("name") if isinstance(c.get("name"), str) else f"{kind}[{i}]"
                out.append((f"container '{name}'", c))
    return out


def validate_https_only(resource: Resource, config: Config) -> list[str]:
    ingress = get(resource.props, "configuration", "ingress")
    if ingress is None:
        return []
    if not isinstance(ingress, Mapping):
        raise NotApplicable("configuration.ingress is not an object")
    if truthy(ingress.get("allowInsecure")) is True:
        return ["configuration.ingress.allowInsecure is true: plain HTTP is accepted"]
    return []


def validate_managed_identity(resource: Resource, config: Config) -> list[str]:
    # `get` reads an unknown as missing: check for unknowns first, or an identity set by an
    # output would be reported missing at preview
    identity = known(resource.props.get("identity"), "identity")
    identity_type = known(as_dict(identity).get("type"), "identity.type")
    if not isinstance(identity_type, str) or identity_type.strip().lower() in {"", "none"}:
        return ["the app has no managed identity (identity.type is not set)"]
    return []


def validate_registry_identity(resource: Resource, config: Config) -> list[str]:
    out = []
    for reg in as_list(get(resource.props, "configuration", "registries")):
        server = get(reg, "server") or "registry"
        if get(reg, "passwordSecretRef") is not None or get(reg, "username") is not None:
            out.append(f"{server} is pulled with a username/password; use identity instead")
        elif get(reg, "identity") is None:
            out.append(f"{server} has no identity to pull with")
    return out


def validate_secret_refs(resource: Resource, config: Config) -> list[str]:
    secret_like = secret_name_matcher(config)
    out = []
    for secret in as_list(get(resource.props, "configuration", "secrets")):
        name = get(secret, "name")
        if get(secret, "keyVaultUrl") is None:
            out.append(f"secret '{name}' is stored inline; reference Key Vault via keyVaultUrl")
        elif get(secret, "identity") is None:
            out.append(f"secret '{name}' names a Key Vault URL but no identity to read it with")
    if get(resource.props, "template") is not None:
        for label, c in _app_containers(resource):
            for env in as_list(c.get("env")):
                name, value = get(env, "name"), get(env, "value")
                if not isinstance(name, str) or value in (None, ""):
                    continue
                if value == SECRET_PLACEHOLDER or secret_like(name):
                    out.append(f"{label} sets env {name} to a literal value; use secretRef")
    return out


def validate_replica_bounds(resource: Resource, config: Config) -> list[str]:
    scale = get(resource.props, "template", "scale")
    if get(resource.props, "template") is None:
        raise NotApplicable("template is not known (missing or unknown at preview)")
    min_value = as_number(get(scale, "minReplicas"))
    max_value = as_number(get(scale, "maxReplicas"))
    out = []
    floor, ceiling = int(config.get("minReplicas", 0)), int(config.get("maxReplicas", 10))
    current_min = 0.0 if min_value is None else min_value
    if current_min < floor:
        out.append(f"template.scale.minReplicas is {fmt_num(current_min)}, below {floor}")
    if max_value is None:
        out.append("template.scale.maxReplicas is not set; bound the scale-out explicitly")
    elif max_value > ceiling:
        out.append(f"template.scale.maxReplicas is {fmt_num(max_value)}, above {ceiling}")
    elif max_value < current_min:
        out.append("template.scale.maxReplicas is below minReplicas")
    return out


def validate_resources(resource: Resource, config: Config) -> list[str]:
    out = []
    for label, c in _app_containers(resource):
        missing = [k for k in ("cpu", "memory") if get(c, "resources", k) is None]
        if missing:
            out.append(f"{label} has no resources.{' or resources.'.join(missing)}")
    return out


def validate_probes(resource: Resource, config: Config) -> list[str]:
    out = []
    for label, c in _app_containers(resource, include_init=False):
        kinds = {str(get(p, "type") or "").lower() for p in as_list(c.get("probes"))}
        missing = [k for k in ("Readiness", "Liveness") if k.lower() not in kinds]
        if missing:
            out.append(f"{label} has no {' and no '.join(missing)} probe")
    return out


#: per data service: the property that turns key (local) auth off, and its value
LOCAL_AUTH_OFF: dict[str, tuple[str, bool]] = {
    "azure-native:cosmosdb:DatabaseAccount": ("disableLocalAuth", True),
    "azure-native:servicebus:Namespace": ("disableLocalAuth", True),
    "azure-native:storage:StorageAccount": ("allowSharedKeyAccess", False),
}


def validate_data_local_auth(resource: Resource, config: Config) -> list[str]:
    prop, wanted = LOCAL_AUTH_OFF[resource.type]
    value = resource.props.get(prop)
    if is_unknown(value):
        raise NotApplicable(f"{prop} is unknown at preview")
    if truthy(value) is wanted:
        return []
    shown = "not set (Azure's default accepts keys)" if value is None else repr(value)
    return [f"{prop} is {shown}: account keys / SAS would work beside managed identity"]


def validate_published_auth(resource: Resource, config: Config) -> list[str]:
    configuration = resource.props.get("configuration")
    settings = configuration if isinstance(configuration, Mapping) else {}
    ingress, dapr = settings.get("ingress"), settings.get("dapr")
    flags = [
        section.get(key)
        for section, key in ((ingress, "external"), (dapr, "enabled"))
        if isinstance(section, Mapping)
    ]
    if any(is_unknown(v) for v in (configuration, ingress, dapr, *flags)):
        raise NotApplicable("the ingress or Dapr settings are unknown at preview")
    if not isinstance(ingress, Mapping) or truthy(ingress.get("external")) is not True:
        return []  # reachable only inside the environment
    if not isinstance(dapr, Mapping) or truthy(dapr.get("enabled")) is not True:
        return []
    names = [str(n) for n in config.get("authVariables", [])]
    unknown = False
    for _, c in _app_containers(resource, include_init=False):
        found = env_sets_any(c.get("env"), names, ref_key="secretRef")
        if found:
            return []
        unknown = unknown or found is None
    if unknown:
        raise NotApplicable("the containers' env is unknown at preview")
    return [
        f"the app (Dapr app-id '{dapr.get('appId')}') is published by its external ingress, "
        f"but no container sets any of {', '.join(names)}: it has no way to authenticate "
        "callers"
    ]


def validate_registry_admin(resource: Resource, config: Config) -> list[str]:
    if truthy(resource.props.get("adminUserEnabled")) is True:
        return ["the registry's admin user is enabled; pull with managed identity (AcrPull)"]
    return []


_APP = (CONTAINER_APP,)

POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="aca-containerapp-https-only",
        description="Container App ingress must not accept plain HTTP.",
        severity="high",
        enforcement="mandatory",
        remediation="Set configuration.ingress.allowInsecure: false (the default).",
        resource_types=_APP,
        validate_resource=validate_https_only,
    ),
    PolicySpec(
        name="aca-containerapp-managed-identity",
        description="Container Apps must have a managed identity.",
        severity="high",
        enforcement="mandatory",
        remediation="Attach a user-assigned identity (identity.type: UserAssigned) and grant it "
        "AcrPull and Key Vault Secrets User.",
        resource_types=_APP,
        validate_resource=validate_managed_identity,
    ),
    PolicySpec(
        name="aca-containerapp-registry-identity",
        description="Container Apps must pull images with a managed identity, not a password.",
        severity="high",
        enforcement="mandatory",
        remediation="Set configuration.registries[].identity to the app's identity resource ID "
        "and drop username/passwordSecretRef.",
        resource_types=_APP,
        validate_resource=validate_registry_identity,
    ),
    PolicySpec(
        name="aca-containerapp-secret-refs",
        description="Container App secrets must be Key Vault references and env credentials "
        "must use secretRef.",
        severity="critical",
        enforcement="mandatory",
        remediation="Give each configuration.secrets[] entry keyVaultUrl + identity instead of "
        "value, and point env vars at them with secretRef.",
        config_schema=SECRET_NAME_SCHEMA,
        resource_types=_APP,
        validate_resource=validate_secret_refs,
    ),
    PolicySpec(
        name="aca-containerapp-replica-bounds",
        description="Container Apps must set replica bounds within the stack's limits.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set template.scale.minReplicas and maxReplicas within the configured "
        "bounds (minReplicas 0 keeps the app inside the free grant).",
        config_schema={
            "minReplicas": {
                "type": "integer",
                "minimum": 0,
                "default": 0,
                "description": "Lowest allowed template.scale.minReplicas.",
            },
            "maxReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": 10,
                "description": "Highest allowed template.scale.maxReplicas.",
            },
        },
        resource_types=_APP,
        validate_resource=validate_replica_bounds,
    ),
    PolicySpec(
        name="aca-containerapp-resources-set",
        description="Container App containers must set CPU and memory.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set template.containers[].resources.cpu and .memory (e.g. 0.25 / 0.5Gi).",
        resource_types=_APP,
        validate_resource=validate_resources,
    ),
    PolicySpec(
        name="aca-containerapp-probes-set",
        description="Container App containers must have readiness and liveness probes.",
        severity="medium",
        enforcement="mandatory",
        remediation="Add probes of type Readiness (/readyz) and Liveness (/healthz).",
        resource_types=_APP,
        validate_resource=validate_probes,
    ),
    PolicySpec(
        name="aca-data-local-auth-disabled",
        description="Cosmos DB, Service Bus and Storage accounts must turn key (local) auth "
        "off, so only managed identities get in.",
        severity="high",
        enforcement="mandatory",
        remediation="Set disableLocalAuth: true (Cosmos DB, Service Bus) or "
        "allowSharedKeyAccess: false (Storage) and grant the identity a data role.",
        resource_types=tuple(LOCAL_AUTH_OFF),
        validate_resource=validate_data_local_auth,
    ),
    PolicySpec(
        name="aca-app-published-without-auth",
        description="A Dapr-enabled Container App with external ingress must be given its "
        "auth settings (API key digests or an OIDC issuer).",
        severity="high",
        enforcement="mandatory",
        remediation="Set DACA_API_KEYS (the SHA-256 digests of keys the stack generates) or "
        "DACA_OIDC_ISSUER + DACA_OIDC_AUDIENCE on the app container, or make the ingress "
        "internal.",
        config_schema=AUTH_ENV_SCHEMA,
        resource_types=_APP,
        validate_resource=validate_published_auth,
    ),
    PolicySpec(
        name="aca-registry-admin-disabled",
        description="Azure Container Registries must keep the admin user disabled.",
        severity="high",
        enforcement="mandatory",
        remediation="Set adminUserEnabled: false and grant AcrPull to the app's identity.",
        resource_types=("azure-native:containerregistry:Registry",),
        validate_resource=validate_registry_admin,
    ),
]
