"""Kubernetes policies: pod and container hardening, services, ingress, namespaces."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .spec import (
    AUTH_ENV_SCHEMA,
    LONG_RUNNING_TYPES,
    SECRET_NAME_SCHEMA,
    SECRET_PLACEHOLDER,
    WORKLOAD_TYPES,
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_dict,
    as_list,
    as_number,
    containers,
    env_sets_any,
    fmt_num,
    get,
    is_unknown,
    named_in,
    pod_template,
    require_pod_spec,
    secret_name_matcher,
    truthy,
)


def _security_value(pod: Any, container: Any, key: str) -> Any:
    """A container's securityContext value, falling back to the pod's (as the kubelet does)."""
    value = get(container, "securityContext", key)
    return value if value is not None else get(pod, "securityContext", key)


def validate_non_root(resource: Resource, config: Config) -> list[str]:
    pod = require_pod_spec(resource)
    out = []
    for label, c in containers(resource):
        user = as_number(_security_value(pod, c, "runAsUser"))
        non_root = truthy(_security_value(pod, c, "runAsNonRoot"))
        if user == 0:
            out.append(f"{label} runs as UID 0 (securityContext.runAsUser: 0)")
        elif non_root is not True and user is None:
            out.append(
                f"{label} may run as root: set securityContext.runAsNonRoot: true "
                "(and a non-zero runAsUser)"
            )
    return out


def validate_no_privilege_escalation(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    return [
        f"{label} does not set securityContext.allowPrivilegeEscalation: false"
        for label, c in containers(resource)
        if truthy(get(c, "securityContext", "allowPrivilegeEscalation")) is not False
    ]


def validate_not_privileged(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    return [
        f"{label} runs privileged (securityContext.privileged: true)"
        for label, c in containers(resource)
        if truthy(get(c, "securityContext", "privileged")) is True
    ]


def validate_no_host_namespaces(resource: Resource, config: Config) -> list[str]:
    pod = require_pod_spec(resource)
    return [
        f"pod spec sets {key}: true"
        for key in ("hostNetwork", "hostPID", "hostIPC")
        if truthy(pod.get(key)) is True
    ]


def validate_no_host_port(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    out = []
    for label, c in containers(resource):
        for port in as_list(c.get("ports")):
            host_port = as_number(get(port, "hostPort"))
            if host_port:
                out.append(f"{label} binds hostPort {fmt_num(host_port)}")
    return out


def validate_readonly_rootfs(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    exempt = set(config.get("exemptContainers", []))
    return [
        f"{label} does not set securityContext.readOnlyRootFilesystem: true"
        for label, c in containers(resource)
        if not named_in(c.get("name"), exempt)
        and truthy(get(c, "securityContext", "readOnlyRootFilesystem")) is not True
    ]


def validate_capabilities_dropped(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    allowed = {str(c).upper() for c in config.get("allowedCapabilities", [])}
    out = []
    for label, c in containers(resource):
        drop = {str(x).upper() for x in as_list(get(c, "securityContext", "capabilities", "drop"))}
        if "ALL" not in drop:
            out.append(f"{label} does not drop ALL capabilities")
        added = [str(x) for x in as_list(get(c, "securityContext", "capabilities", "add"))]
        extra = sorted(a for a in added if a.upper() not in allowed)
        if extra:
            out.append(f"{label} adds capabilities not allowed by config: {', '.join(extra)}")
    return out


def validate_resources(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    out = []
    for label, c in containers(resource):
        requests = as_dict(get(c, "resources", "requests"))
        limits = as_dict(get(c, "resources", "limits"))
        missing = [f"requests.{k}" for k in ("cpu", "memory") if requests.get(k) is None]
        if limits.get("memory") is None:
            missing.append("limits.memory")
        if config.get("requireCpuLimit") and limits.get("cpu") is None:
            missing.append("limits.cpu")
        if missing:
            out.append(f"{label} has no resources.{', resources.'.join(missing)}")
    return out


def validate_probes(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    exempt = set(config.get("exemptContainers", []))
    out = []
    for label, c in containers(resource, include_init=False):
        if named_in(c.get("name"), exempt):
            continue
        missing = [p for p in ("readinessProbe", "livenessProbe") if get(c, p) is None]
        if missing:
            out.append(f"{label} has no {' and no '.join(missing)}")
    return out


def validate_env_no_literal_secret(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    secret_like = secret_name_matcher(config)
    out = []
    for label, c in containers(resource):
        for env in as_list(c.get("env")):
            name, value = get(env, "name"), get(env, "value")
            if not isinstance(name, str) or value is None or value == "":
                continue
            if value == SECRET_PLACEHOLDER or secret_like(name):
                out.append(
                    f"{label} sets env {name} to a literal value; use valueFrom.secretKeyRef"
                )
    return out


def validate_service_account(resource: Resource, config: Config) -> list[str]:
    pod = require_pod_spec(resource)
    account = pod.get("serviceAccountName")
    if is_unknown(account):
        return []
    if not account or account == "default":
        return [
            "pod runs as the namespace's 'default' service account; "
            "set spec.serviceAccountName to a dedicated account"
        ]
    return []


CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "Node",
    "IngressClass",
    # cert-manager
    "ClusterIssuer",
}
# cluster-scoped kinds whose bare kind name is namespaced elsewhere (CloudNativePG's
# `Cluster` is namespaced), so they are told apart by the whole type token
CLUSTER_SCOPED_TYPES = {"kubernetes:cluster.karmada.io/v1alpha1:Cluster"}


def validate_namespace(resource: Resource, config: Config) -> list[str]:
    if resource.type.startswith(("kubernetes:yaml/", "kubernetes:helm.sh/v4:")):
        return []  # components: the objects they render are checked one by one
    if resource.type.startswith("kubernetes:helm.sh/"):
        namespace = resource.props.get("namespace")
    else:
        kind = resource.type.rsplit(":", 1)[-1]
        if (
            kind in CLUSTER_SCOPED_KINDS
            or kind.endswith("List")
            or resource.type in CLUSTER_SCOPED_TYPES
        ):
            return []
        # not `get`, which reads an unknown as None: "not set" rather than "not known yet"
        metadata = resource.props.get("metadata")
        namespace = metadata if is_unknown(metadata) else as_dict(metadata).get("namespace")
    if is_unknown(namespace):
        return []
    if not namespace:
        return [
            "metadata.namespace is not set, so the object lands in the provider's default "
            "namespace; set it explicitly"
        ]
    if named_in(namespace, config.get("forbiddenNamespaces", ["default"])):
        return [f"object is placed in the '{namespace}' namespace"]
    return []


def validate_service_type(resource: Resource, config: Config) -> list[str]:
    svc_type = get(resource.props, "spec", "type") or "ClusterIP"
    allowed = list(config.get("allowedTypes", ["ClusterIP"]))
    if svc_type not in allowed:
        return [
            f"Service type {svc_type} is not allowed on this stack (allowed: {', '.join(allowed)})"
        ]
    return []


def validate_forbidden_ports(resource: Resource, config: Config) -> list[str]:
    forbidden = {int(p) for p in config.get("forbiddenPorts", [22])}
    out = []
    for port in as_list(get(resource.props, "spec", "ports")):
        for key in ("port", "targetPort", "nodePort"):
            number = as_number(get(port, key))
            if number is not None and int(number) in forbidden:
                out.append(f"Service exposes forbidden port {int(number)} ({key})")
    return out


def validate_ingress_tls(resource: Resource, config: Config) -> list[str]:
    if not config.get("requireTls", True):
        return []
    tls = as_list(get(resource.props, "spec", "tls"))
    if not tls:
        return ["Ingress has no spec.tls: this stage is public, serve it over HTTPS"]
    covered = {h for entry in tls for h in as_list(get(entry, "hosts")) if isinstance(h, str)}
    out = []
    for rule in as_list(get(resource.props, "spec", "rules")):
        host = get(rule, "host")
        if isinstance(host, str) and covered and host not in covered:
            out.append(f"Ingress host {host} is not covered by spec.tls")
    return out


def validate_min_replicas(resource: Resource, config: Config) -> list[str]:
    minimum = int(config.get("minReplicas", 1))
    if resource.type.endswith(":HorizontalPodAutoscaler"):
        value = as_number(get(resource.props, "spec", "minReplicas"))
        current = 1.0 if value is None else value  # the API's default
        field = "spec.minReplicas"
    elif resource.type == SCALED_OBJECT:
        value = as_number(get(resource.props, "spec", "minReplicaCount"))
        current = 0.0 if value is None else value  # KEDA's default: scale to zero
        field = "spec.minReplicaCount"
    else:
        spec = resource.props.get("spec")
        if is_unknown(spec) or (isinstance(spec, Mapping) and is_unknown(spec.get("replicas"))):
            raise NotApplicable("spec.replicas is unknown at preview")
        raw = get(resource.props, "spec", "replicas")
        if raw is None and spec is None:
            return []
        value = as_number(raw)
        current = 1.0 if value is None else value
        field = "spec.replicas"
    if current < minimum:
        return [f"{field} is {fmt_num(current)}, below this stack's minimum of {minimum}"]
    return []


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
#: KEDA's ScaledObject: KEDA makes an HPA of its own for its target
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
AUTOSCALERS = (HPA, SCALED_OBJECT)


def _scale_target(resource: Resource) -> tuple[Any, str | None] | None:
    """(namespace, Deployment name) an autoscaler scales; None when it is not known yet (at
    preview); ("", None) when it scales something other than a Deployment. (A stack may
    hold several clusters: `validate_one_autoscaler` keys by provider too.)"""
    # not `get`, which reads an unknown as None: a target not known yet would pass for none
    spec = resource.props.get("spec")
    target = spec.get("scaleTargetRef") if isinstance(spec, Mapping) else spec
    name = target.get("name") if isinstance(target, Mapping) else None
    if is_unknown(target) or is_unknown(name):
        return None
    # a ScaledObject's target kind defaults to Deployment; an HPA's is required
    default_kind = "Deployment" if resource.type == SCALED_OBJECT else None
    kind = get(target, "kind")
    if (kind or default_kind) != "Deployment" or _text(name) is None:
        return ("", None)
    return (_namespace(resource), _text(name))


def _autoscaled(resources: Sequence[Resource]) -> tuple[set[tuple[Any, Any]], set[Any]]:
    """(namespace, name) of the Deployments an HPA or ScaledObject scales; and the
    namespaces where an autoscaler's target is not known yet (at preview), where any
    Deployment may be one."""
    known: set[tuple[Any, Any]] = set()
    unknown: set[Any] = set()
    for r in resources:
        if r.type not in AUTOSCALERS:
            continue
        target = _scale_target(r)
        if target is None:
            unknown.add(_namespace(r))
        elif target[1] is not None:
            known.add(target)
    return known, unknown


def validate_one_autoscaler(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    """At most one autoscaler per Deployment: a ScaledObject's own HPA and another HPA (or
    two of either) on one Deployment each set its replica count, and undo each other."""
    by_target: dict[tuple[str, Any, Any], list[Resource]] = {}
    for r in resources:
        if r.type in AUTOSCALERS and (target := _scale_target(r)) and target[1] is not None:
            # one Deployment per cluster: planet's regions each have their own
            by_target.setdefault((r.provider, *target), []).append(r)
    out: list[tuple[Resource | None, str]] = []
    for (_, namespace, name), scalers in by_target.items():
        if len(scalers) < 2:
            continue
        names = ", ".join(f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in scalers)
        where = f"{namespace}/{name}" if namespace else str(name)
        out.extend(
            (r, f"Deployment {where} has {len(scalers)} autoscalers ({names}); they fight")
            for r in scalers[1:]
        )
    return out


def validate_min_replicas_stack(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    """Each Deployment and HPA against the minimum. A Deployment that leaves
    spec.replicas to its HPA is judged by the HPA's minReplicas instead (Kubernetes would
    default an unscaled one to 1)."""
    scaled, undecided = _autoscaled(resources)
    out: list[tuple[Resource | None, str]] = []
    for r in resources:
        if r.type not in (DEPLOYMENT, *AUTOSCALERS):
            continue
        if r.type == DEPLOYMENT and get(r.props, "spec", "replicas") is None:
            name = _text(get(r.props, "metadata", "name"))
            if (_namespace(r), name) in scaled or _namespace(r) in undecided:
                continue
        try:
            out.extend((r, message) for message in validate_min_replicas(r, config))
        except NotApplicable:
            continue  # this one is unknown at preview; the others are still judged
    return out


SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
#: Service types that publish pods beyond the cluster on their own
PUBLISHING_SERVICE_TYPES = ("NodePort", "LoadBalancer")


def _namespace(resource: Resource) -> Any:
    """metadata.namespace; None when not set or not known (matches any namespace)."""
    return _text(get(resource.props, "metadata", "namespace"))


def _text(value: Any) -> str | None:
    """A name as a string; anything else (unknown, or malformed such as a list) is None,
    so it can be compared and collected without crashing the policy."""
    return value if isinstance(value, str) else None


def _same_namespace(a: Resource, b: Resource) -> bool:
    first, second = _namespace(a), _namespace(b)
    return first is None or second is None or first == second


def _selects(service: Resource, workload: Resource) -> bool:
    """Whether the Service's selector picks the workload's pods; False when either side is
    not known yet (preview): the update judges it with the real values."""
    selector = get(service.props, "spec", "selector")
    labels = get(pod_template(workload), "metadata", "labels")
    if not isinstance(selector, Mapping) or not selector or not isinstance(labels, Mapping):
        return False  # a Service without a selector has hand-made endpoints
    return all(
        isinstance(value, str) and not is_unknown(value) and labels.get(key) == value
        for key, value in selector.items()
    ) and _same_namespace(service, workload)


def _ingress_service_names(ingress: Resource) -> set[str]:
    backends = [get(ingress.props, "spec", "defaultBackend")]
    for rule in as_list(get(ingress.props, "spec", "rules")):
        backends += [get(path, "backend") for path in as_list(get(rule, "http", "paths"))]
    names = [get(backend, "service", "name") for backend in backends]
    return {name for name in names if isinstance(name, str)}


def _publications(resources: Sequence[Resource]) -> Iterator[tuple[Resource, Resource, str]]:
    """(publisher, Service, how) for every NodePort/LoadBalancer Service and every Service
    an Ingress routes to."""
    services = [r for r in resources if r.type == SERVICE]
    for service in services:
        svc_type = get(service.props, "spec", "type")
        if named_in(svc_type, PUBLISHING_SERVICE_TYPES):
            yield service, service, f"{svc_type} Service '{service.name}'"
    for ingress in (r for r in resources if r.type == INGRESS):
        names = _ingress_service_names(ingress)
        for service in services:
            if _text(get(service.props, "metadata", "name")) in names and _same_namespace(
                ingress, service
            ):
                yield ingress, service, f"Ingress '{ingress.name}' (to Service '{service.name}')"


def _dapr_app_id(workload: Resource) -> Any:
    annotations = get(pod_template(workload), "metadata", "annotations")
    return annotations.get("dapr.io/app-id") if isinstance(annotations, Mapping) else None


def _authenticates(workload: Resource, names: Sequence[str]) -> bool | None:
    """Whether a container sets one of `names`; None when that is not known yet."""
    unknown = False
    for _, c in containers(workload, include_init=False):
        if c.get("envFrom"):
            return None  # a whole ConfigMap or Secret may carry it: not judged
        found = env_sets_any(c.get("env"), names)
        if found:
            return True
        unknown = unknown or found is None
    return None if unknown else False


def validate_published_auth(
    resources: Sequence[Resource], config: Config
) -> list[tuple[Resource | None, str]]:
    names = [str(n) for n in config.get("authVariables", [])]
    apps = [r for r in resources if r.type in WORKLOAD_TYPES and _dapr_app_id(r) is not None]
    out: list[tuple[Resource | None, str]] = []
    for publisher, service, how in _publications(resources):
        for app in apps:
            if not _selects(service, app) or _authenticates(app, names) is not False:
                continue
            out.append(
                (
                    publisher,
                    f"{how} publishes the Dapr app '{_dapr_app_id(app)}' (workload "
                    f"'{app.name}'), whose containers set none of {', '.join(names)}: the "
                    "app has no way to authenticate callers",
                )
            )
    return out


_EXEMPT_CONTAINERS = {
    "exemptContainers": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Container names this rule does not apply to.",
    }
}

POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="k8s-container-non-root",
        description="Containers must not run as root.",
        severity="high",
        enforcement="mandatory",
        remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod "
        "or container, and build the image with a non-root USER.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_non_root,
    ),
    PolicySpec(
        name="k8s-container-no-privilege-escalation",
        description="Containers must not allow privilege escalation.",
        severity="high",
        enforcement="mandatory",
        remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_no_privilege_escalation,
    ),
    PolicySpec(
        name="k8s-container-not-privileged",
        description="Containers must not run privileged.",
        severity="critical",
        enforcement="mandatory",
        remediation="Remove securityContext.privileged: true; grant a specific capability "
        "instead if one is really needed.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_not_privileged,
    ),
    PolicySpec(
        name="k8s-pod-no-host-namespaces",
        description="Pods must not share the node's network, PID or IPC namespace.",
        severity="critical",
        enforcement="mandatory",
        remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_no_host_namespaces,
    ),
    PolicySpec(
        name="k8s-container-no-host-port",
        description="Containers must not bind a hostPort.",
        severity="high",
        enforcement="mandatory",
        remediation="Remove ports[].hostPort and expose the pod through a Service.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_no_host_port,
    ),
    PolicySpec(
        name="k8s-container-readonly-rootfs",
        description="Containers must run with a read-only root filesystem.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir "
        "(or a volume) where the process writes, e.g. /tmp or /data.",
        config_schema=_EXEMPT_CONTAINERS,
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_readonly_rootfs,
    ),
    PolicySpec(
        name="k8s-container-capabilities-dropped",
        description="Containers must drop ALL Linux capabilities and add back only allowed ones.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set securityContext.capabilities.drop: [ALL]; add back only what the "
        "config's allowedCapabilities lists.",
        config_schema={
            "allowedCapabilities": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Capabilities a container may add back (e.g. NET_BIND_SERVICE).",
            }
        },
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_capabilities_dropped,
    ),
    PolicySpec(
        name="k8s-container-resources-set",
        description="Containers must set CPU and memory requests and a memory limit.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set resources.requests.cpu, resources.requests.memory and "
        "resources.limits.memory on every container.",
        config_schema={
            "requireCpuLimit": {
                "type": "boolean",
                "default": False,
                "description": "Also require resources.limits.cpu.",
            }
        },
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_resources,
    ),
    PolicySpec(
        name="k8s-container-probes-set",
        description="Long-running containers must have readiness and liveness probes.",
        severity="medium",
        enforcement="mandatory",
        remediation="Add readinessProbe and livenessProbe (httpGet on /readyz and /healthz for "
        "the agent; exec redis-cli ping for Redis).",
        config_schema=_EXEMPT_CONTAINERS,
        resource_types=LONG_RUNNING_TYPES,
        validate_resource=validate_probes,
    ),
    PolicySpec(
        name="k8s-container-env-no-literal-secret",
        description="Secret-looking environment variables must come from a Secret, not a literal.",
        severity="critical",
        enforcement="mandatory",
        remediation="Use env[].valueFrom.secretKeyRef (or envFrom.secretRef) for credentials.",
        config_schema=SECRET_NAME_SCHEMA,
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_env_no_literal_secret,
    ),
    PolicySpec(
        name="k8s-pod-dedicated-service-account",
        description="Pods must run under a dedicated service account, not 'default'.",
        severity="medium",
        enforcement="mandatory",
        remediation="Create a ServiceAccount per workload and set spec.serviceAccountName.",
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_service_account,
    ),
    PolicySpec(
        name="k8s-resource-not-default-namespace",
        description="Namespaced objects must name a namespace other than 'default'.",
        severity="medium",
        enforcement="mandatory",
        remediation="Set metadata.namespace (or the Helm release's namespace) to the stage's "
        "own namespace.",
        config_schema={
            "forbiddenNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["default"],
                "description": "Namespaces no object may be placed in.",
            }
        },
        resource_types=("kubernetes:*",),
        validate_resource=validate_namespace,
    ),
    PolicySpec(
        name="k8s-service-type-allowed",
        description="Services must not be LoadBalancer or NodePort unless the stack allows it.",
        severity="high",
        enforcement="mandatory",
        remediation="Use a ClusterIP Service behind the stage's ingress, or allow the type in "
        "policies/config/<stack>.json (kind maps host ports to NodePorts).",
        config_schema={
            "allowedTypes": {
                "type": "array",
                "items": {"enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]},
                "default": ["ClusterIP"],
                "description": "Service types this stack may create.",
            }
        },
        resource_types=("kubernetes:core/v1:Service",),
        validate_resource=validate_service_type,
    ),
    PolicySpec(
        name="k8s-service-no-admin-port",
        description="Services must not expose SSH or other admin ports.",
        severity="high",
        enforcement="mandatory",
        remediation="Remove the port from the Service; reach nodes through a bastion or "
        "kubectl exec instead.",
        config_schema={
            "forbiddenPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [22, 3389],
                "description": "Ports no Service may expose.",
            }
        },
        resource_types=("kubernetes:core/v1:Service",),
        validate_resource=validate_forbidden_ports,
    ),
    PolicySpec(
        name="k8s-ingress-tls",
        description="Ingresses on a public stage must terminate TLS for every host.",
        severity="high",
        enforcement="mandatory",
        remediation="Add spec.tls with a certificate Secret covering every rule's host.",
        config_schema={
            "requireTls": {
                "type": "boolean",
                "default": True,
                "description": "Whether this stage is public and needs TLS.",
            }
        },
        resource_types=("kubernetes:networking.k8s.io/v1:Ingress",),
        validate_resource=validate_ingress_tls,
    ),
    PolicySpec(
        name="k8s-workload-min-replicas",
        description="Deployments and autoscalers must keep the stack's minimum replica count.",
        severity="low",
        enforcement="advisory",
        remediation="Raise spec.replicas (or the HPA's minReplicas, the ScaledObject's "
        "minReplicaCount) to the configured minimum.",
        config_schema={
            "minReplicas": {
                "type": "integer",
                "minimum": 0,
                "default": 1,
                "description": "Minimum replicas per Deployment/HPA on this stack.",
            }
        },
        validate_stack=validate_min_replicas_stack,
    ),
    PolicySpec(
        name="k8s-workload-one-autoscaler",
        description="A Deployment must have at most one autoscaler: a KEDA ScaledObject "
        "(which makes its own HPA) and an HPA on the same Deployment fight over its replicas.",
        severity="high",
        enforcement="mandatory",
        remediation="Keep the ScaledObject and delete the HPA (KEDA makes its own; add CPU as "
        "a ScaledObject trigger), or drop the ScaledObject.",
        resource_types=AUTOSCALERS,
        validate_stack=validate_one_autoscaler,
    ),
    PolicySpec(
        name="k8s-app-published-without-auth",
        description="A Dapr app published by an Ingress or a NodePort/LoadBalancer Service "
        "must be given its auth settings (API key digests or an OIDC issuer).",
        severity="high",
        enforcement="mandatory",
        remediation="Set DACA_API_KEYS (the SHA-256 digests of keys the stack generates) or "
        "DACA_OIDC_ISSUER + DACA_OIDC_AUDIENCE on the app container, or publish it only "
        "through a ClusterIP Service.",
        config_schema=AUTH_ENV_SCHEMA,
        validate_stack=validate_published_auth,
    ),
]
