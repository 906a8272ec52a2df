"""The Kubernetes, Kafka and monitoring policies' verdicts as a user reads them: which
container or object, which field, which value, what is allowed.

test_validators.py checks pass/fail/not-applicable for every policy on one compliant, one
violating and one missing case; these check the message text, the config knobs and the
edges of each rule (a value at a limit, a field set on the pod instead of the container,
a value not known until the update), written out by hand from the policies' descriptions.
"""

from __future__ import annotations

from typing import Any

import pytest
from daca_policies import SPECS
from daca_policies.spec import NotApplicable, Resource

from .cases import (
    _DELETE,
    UNKNOWN,
    C,
    P,
    _external,
    _set,
    app_ingress,
    app_service,
    ctr,
    d,
    dapr_release,
    hpa_of,
    in_cluster,
    ingress,
    kafka_cluster,
    pod,
    pod_monitor,
    resource,
    scaled_object,
    service,
)

BY_NAME = {spec.name: spec for spec in SPECS}


def messages(policy: str, r: Resource, **config: Any) -> list[str]:
    """A resource policy's violations, with the config the pack would give it."""
    spec = BY_NAME[policy]
    assert spec.validate_resource is not None
    assert spec.applies_to(r.type), r.type
    return spec.validate_resource(r, {**spec.defaults(), **config})


def stack(policy: str, *resources: Resource, **config: Any) -> list[tuple[str, str]]:
    """A stack policy's violations as (the Pulumi name of the resource blamed, message)."""
    spec = BY_NAME[policy]
    assert spec.validate_stack is not None
    found = spec.validate_stack(list(resources), {**spec.defaults(), **config})
    return [(r.name if r is not None else "", m) for r, m in found]


def with_containers(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> Resource:
    """The app's Deployment with these containers (and init containers) in its pod."""

    def change(props: dict[str, Any]) -> None:
        pod(props)["containers"] = list(containers)
        if init:
            pod(props)["initContainers"] = list(init)

    return d(change)


def security(**context: Any) -> Resource:
    """The app's Deployment whose container has exactly this securityContext."""
    return d(_set([*C, "securityContext"], context))


# -- k8s-container-non-root ----------------------------------------------------------------

NON_ROOT = "k8s-container-non-root"
MAY_RUN_AS_ROOT = (
    "container 'agent' may run as root: set securityContext.runAsNonRoot: true "
    "(and a non-zero runAsUser)"
)


def test_uid_0_is_named_with_the_field() -> None:
    assert messages(NON_ROOT, security(runAsNonRoot=True, runAsUser=0.0)) == [
        "container 'agent' runs as UID 0 (securityContext.runAsUser: 0)"
    ]


def test_no_non_root_setting_and_no_user_may_run_as_root() -> None:
    assert messages(NON_ROOT, security()) == [MAY_RUN_AS_ROOT]
    assert messages(NON_ROOT, security(runAsNonRoot=False)) == [MAY_RUN_AS_ROOT]


@pytest.mark.parametrize(
    "context",
    [
        {"runAsNonRoot": True},  # the kubelet refuses an image whose user is root
        {"runAsUser": 10001.0},  # a non-zero UID is not root, whatever runAsNonRoot says
        {"runAsNonRoot": False, "runAsUser": 1.0},
        {"runAsNonRoot": "true"},  # the string form a YAML program may carry
    ],
)
def test_a_non_root_setting_or_a_non_zero_user_passes(context: dict[str, Any]) -> None:
    assert messages(NON_ROOT, security(**context)) == []


def test_the_pod_security_context_applies_unless_the_container_overrides_it() -> None:
    def pod_level(pod_context: dict[str, Any], container_context: dict[str, Any]) -> Resource:
        def change(props: dict[str, Any]) -> None:
            ctr(props)["securityContext"] = container_context
            pod(props)["securityContext"] = pod_context

        return d(change)

    root_pod = pod_level({"runAsUser": 0.0}, {})
    assert messages(NON_ROOT, root_pod) == [
        "container 'agent' runs as UID 0 (securityContext.runAsUser: 0)"
    ]
    # the container's own value wins over the pod's
    assert messages(NON_ROOT, pod_level({"runAsUser": 0.0}, {"runAsUser": 1000.0})) == []
    assert messages(NON_ROOT, pod_level({"runAsUser": 1000.0}, {"runAsUser": 0.0})) != []
    assert messages(NON_ROOT, pod_level({"runAsNonRoot": True}, {"runAsNonRoot": False})) == [
        MAY_RUN_AS_ROOT
    ]
    assert messages(NON_ROOT, pod_level({"runAsNonRoot": False}, {"runAsNonRoot": True})) == []


def test_init_containers_and_unnamed_containers_are_labelled() -> None:
    workload = with_containers(
        {"securityContext": {"runAsNonRoot": True}},
        {"name": "sidecar", "securityContext": {"runAsUser": 0.0}},
        init=({"name": "migrate", "securityContext": {"runAsUser": 0.0}},),
    )
    assert messages(NON_ROOT, workload) == [
        "container 'sidecar' runs as UID 0 (securityContext.runAsUser: 0)",
        "init container 'migrate' runs as UID 0 (securityContext.runAsUser: 0)",
    ]
    unnamed = with_containers({"name": "ok", "securityContext": {"runAsUser": 5.0}}, {})
    assert messages(NON_ROOT, unnamed) == [
        "container 'containers[1]' may run as root: set securityContext.runAsNonRoot: true "
        "(and a non-zero runAsUser)"
    ]
    unnamed_init = with_containers(
        {"name": "ok", "securityContext": {"runAsUser": 5.0}}, init=({},)
    )
    assert messages(NON_ROOT, unnamed_init) == [
        "init container 'initContainers[0]' may run as root: set securityContext.runAsNonRoot: "
        "true (and a non-zero runAsUser)"
    ]


def test_a_workload_without_a_pod_template_is_not_judged() -> None:
    with pytest.raises(NotApplicable, match=r"^the pod template is not known"):
        messages(NON_ROOT, d(lambda p: p["spec"].pop("template")))
    with pytest.raises(NotApplicable):
        messages(NON_ROOT, d(lambda p: p["spec"]["template"].update(spec=UNKNOWN)))


# -- the other securityContext rules ---------------------------------------------------------


def test_privilege_escalation_must_be_switched_off_explicitly() -> None:
    policy = "k8s-container-no-privilege-escalation"
    message = "container 'agent' does not set securityContext.allowPrivilegeEscalation: false"
    assert messages(policy, security(allowPrivilegeEscalation=True)) == [message]
    assert messages(policy, security()) == [message]  # the kernel's default allows it
    assert messages(policy, security(allowPrivilegeEscalation="false")) == []
    assert messages(policy, security(allowPrivilegeEscalation=False)) == []


def test_a_privileged_container_is_named() -> None:
    policy = "k8s-container-not-privileged"
    assert messages(policy, security(privileged=True)) == [
        "container 'agent' runs privileged (securityContext.privileged: true)"
    ]
    assert messages(policy, security(privileged="true")) != []
    assert messages(policy, security(privileged=False)) == []
    assert messages(policy, security()) == []


@pytest.mark.parametrize("key", ["hostNetwork", "hostPID", "hostIPC"])
def test_each_host_namespace_is_named(key: str) -> None:
    policy = "k8s-pod-no-host-namespaces"
    assert messages(policy, d(_set([*P, key], True))) == [f"pod spec sets {key}: true"]
    assert messages(policy, d(_set([*P, key], "true"))) == [f"pod spec sets {key}: true"]
    assert messages(policy, d(_set([*P, key], False))) == []


def test_all_host_namespaces_are_listed() -> None:
    def share_all(props: dict[str, Any]) -> None:
        pod(props).update(hostNetwork=True, hostPID=True, hostIPC=True)

    assert messages("k8s-pod-no-host-namespaces", d(share_all)) == [
        "pod spec sets hostNetwork: true",
        "pod spec sets hostPID: true",
        "pod spec sets hostIPC: true",
    ]


def test_every_host_port_is_named() -> None:
    policy = "k8s-container-no-host-port"
    ports = [
        {"containerPort": 8000.0},
        {"containerPort": 8000.0, "hostPort": 8080.0},
        {"containerPort": 9090.0, "hostPort": "9090"},
    ]
    assert messages(policy, d(_set([*C, "ports"], ports))) == [
        "container 'agent' binds hostPort 8080",
        "container 'agent' binds hostPort 9090",
    ]
    # 0 is the API's "no host port"
    assert (
        messages(policy, d(_set([*C, "ports"], [{"containerPort": 80.0, "hostPort": 0.0}]))) == []
    )


def test_a_writable_root_filesystem_is_named_unless_the_container_is_exempt() -> None:
    policy = "k8s-container-readonly-rootfs"
    message = "container 'agent' does not set securityContext.readOnlyRootFilesystem: true"
    assert messages(policy, security(readOnlyRootFilesystem=False)) == [message]
    assert messages(policy, security()) == [message]
    assert messages(policy, security(readOnlyRootFilesystem="true")) == []
    assert messages(policy, security(), exemptContainers=["agent"]) == []
    assert messages(policy, security(), exemptContainers=["other"]) == [message]


def test_capabilities_must_drop_all_and_add_only_allowed_ones() -> None:
    policy = "k8s-container-capabilities-dropped"

    def caps(**capabilities: Any) -> Resource:
        return security(capabilities=capabilities)

    assert messages(policy, caps()) == ["container 'agent' does not drop ALL capabilities"]
    assert messages(policy, caps(drop=["NET_RAW"])) == [
        "container 'agent' does not drop ALL capabilities"
    ]
    assert messages(policy, caps(drop=["all"])) == []  # the runtime reads names case-blind
    added = caps(drop=["ALL"], add=["SYS_TIME", "NET_ADMIN", "NET_BIND_SERVICE"])
    assert messages(policy, added) == [
        "container 'agent' adds capabilities not allowed by config: NET_ADMIN, NET_BIND_SERVICE, "
        "SYS_TIME"
    ]
    assert messages(policy, added, allowedCapabilities=["net_admin", "SYS_TIME"]) == [
        "container 'agent' adds capabilities not allowed by config: NET_BIND_SERVICE"
    ]
    lower = caps(drop=["ALL"], add=["net_bind_service"])
    assert messages(policy, lower, allowedCapabilities=["NET_BIND_SERVICE"]) == []


# -- k8s-container-resources-set -------------------------------------------------------------

RESOURCES = "k8s-container-resources-set"


def with_resources(**resources: Any) -> Resource:
    return d(_set([*C, "resources"], resources))


def test_every_missing_request_and_limit_is_listed() -> None:
    assert messages(RESOURCES, with_resources()) == [
        "container 'agent' has no resources.requests.cpu, resources.requests.memory, "
        "resources.limits.memory"
    ]
    only_cpu = with_resources(requests={"cpu": "100m"}, limits={"memory": "1Gi"})
    assert messages(RESOURCES, only_cpu) == ["container 'agent' has no resources.requests.memory"]
    only_memory = with_resources(requests={"memory": "1Gi"}, limits={"memory": "1Gi"})
    assert messages(RESOURCES, only_memory) == ["container 'agent' has no resources.requests.cpu"]
    no_limit = with_resources(requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "1"})
    assert messages(RESOURCES, no_limit) == ["container 'agent' has no resources.limits.memory"]


def test_a_cpu_limit_is_required_only_when_the_stack_says_so() -> None:
    full = with_resources(requests={"cpu": "1", "memory": "1Gi"}, limits={"memory": "1Gi"})
    assert messages(RESOURCES, full) == []
    assert messages(RESOURCES, full, requireCpuLimit=True) == [
        "container 'agent' has no resources.limits.cpu"
    ]
    capped = with_resources(
        requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"}
    )
    assert messages(RESOURCES, capped, requireCpuLimit=True) == []
    assert messages(RESOURCES, with_resources(), requireCpuLimit=True) == [
        "container 'agent' has no resources.requests.cpu, resources.requests.memory, "
        "resources.limits.memory, resources.limits.cpu"
    ]


# -- k8s-container-probes-set ----------------------------------------------------------------

PROBES = "k8s-container-probes-set"


def test_missing_probes_are_named() -> None:
    def without(*probes: str) -> Resource:
        return d(lambda p: [ctr(p).pop(probe) for probe in probes])

    assert messages(PROBES, without("readinessProbe")) == [
        "container 'agent' has no readinessProbe"
    ]
    assert messages(PROBES, without("livenessProbe")) == ["container 'agent' has no livenessProbe"]
    assert messages(PROBES, without("readinessProbe", "livenessProbe")) == [
        "container 'agent' has no readinessProbe and no livenessProbe"
    ]


def test_init_containers_and_exempt_containers_need_no_probes() -> None:
    bare = {"name": "migrate", "image": "busybox:1.36"}
    assert messages(PROBES, with_containers(ctr_of_app(), init=(bare,))) == []
    sidecar = with_containers(ctr_of_app(), {"name": "log-shipper"})
    assert messages(PROBES, sidecar) == [
        "container 'log-shipper' has no readinessProbe and no livenessProbe"
    ]
    assert messages(PROBES, sidecar, exemptContainers=["log-shipper"]) == []
    # an exempt container does not end the check of the ones after it
    exempt_first = with_containers({"name": "log-shipper"}, {"name": "worker"})
    assert messages(PROBES, exempt_first, exemptContainers=["log-shipper"]) == [
        "container 'worker' has no readinessProbe and no livenessProbe"
    ]


def ctr_of_app() -> dict[str, Any]:
    return dict(ctr(dict(d().props)))


# -- k8s-container-env-no-literal-secret ------------------------------------------------------

LITERAL_SECRET = "k8s-container-env-no-literal-secret"


def with_env(*env: Any) -> Resource:
    return d(_set([*C, "env"], list(env)))


def test_a_literal_credential_names_the_variable_and_the_fix() -> None:
    found = with_env(
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "REDIS_PASSWORD", "value": "hunter2"},
        {"name": "SETTINGS", "value": "[secret]"},  # how synth writes a Pulumi secret
        {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "gh", "key": "t"}}},
    )
    assert messages(LITERAL_SECRET, found) == [
        "container 'agent' sets env REDIS_PASSWORD to a literal value; use valueFrom.secretKeyRef",
        "container 'agent' sets env SETTINGS to a literal value; use valueFrom.secretKeyRef",
    ]


def test_empty_or_nameless_entries_hold_no_credential() -> None:
    assert messages(LITERAL_SECRET, with_env({"name": "API_TOKEN", "value": ""})) == []
    assert messages(LITERAL_SECRET, with_env({"name": "API_TOKEN"})) == []
    assert messages(LITERAL_SECRET, with_env({"value": "hunter2"}, "API_TOKEN=x")) == []
    # one skipped entry does not end the check of the ones after it
    after = with_env({"name": "API_TOKEN", "value": ""}, {"name": "DB_PASSWORD", "value": "x"})
    assert messages(LITERAL_SECRET, after) == [
        "container 'agent' sets env DB_PASSWORD to a literal value; use valueFrom.secretKeyRef"
    ]


def test_the_credential_pattern_and_its_allowance_come_from_config() -> None:
    digests = with_env({"name": "DACA_API_KEYS", "value": "c" * 64})
    assert messages(LITERAL_SECRET, digests) == []
    assert messages(LITERAL_SECRET, digests, allowedNames=[]) != []
    custom = with_env({"name": "MY_PIN", "value": "1234"})
    assert messages(LITERAL_SECRET, custom) == []
    assert messages(LITERAL_SECRET, custom, secretNamePattern="PIN$") == [
        "container 'agent' sets env MY_PIN to a literal value; use valueFrom.secretKeyRef"
    ]


# -- k8s-pod-dedicated-service-account ---------------------------------------------------------

DEFAULT_ACCOUNT = (
    "pod runs as the namespace's 'default' service account; "
    "set spec.serviceAccountName to a dedicated account"
)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("agent", []),
        ("default", [DEFAULT_ACCOUNT]),
        ("", [DEFAULT_ACCOUNT]),
        (None, [DEFAULT_ACCOUNT]),
        (UNKNOWN, []),  # an account created in the same preview: judged at the update
    ],
)
def test_the_default_service_account_is_refused(account: Any, expected: list[str]) -> None:
    workload = d(_set([*P, "serviceAccountName"], account))
    assert messages("k8s-pod-dedicated-service-account", workload) == expected


# -- k8s-resource-not-default-namespace --------------------------------------------------------

NAMESPACE = "k8s-resource-not-default-namespace"
NO_NAMESPACE = (
    "metadata.namespace is not set, so the object lands in the provider's default "
    "namespace; set it explicitly"
)


def namespaced(type_: str, namespace: Any = None) -> Resource:
    metadata: dict[str, Any] = {"name": "x"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return resource(type_, {"metadata": metadata})


@pytest.mark.parametrize(
    "kind",
    [
        "core/v1:Namespace",
        "apiextensions.k8s.io/v1:CustomResourceDefinition",
        "rbac.authorization.k8s.io/v1:ClusterRole",
        "rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "core/v1:PersistentVolume",
        "storage.k8s.io/v1:StorageClass",
        "scheduling.k8s.io/v1:PriorityClass",
        "admissionregistration.k8s.io/v1:MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration",
        "apiregistration.k8s.io/v1:APIService",
        "core/v1:Node",
        "networking.k8s.io/v1:IngressClass",
        "cert-manager.io/v1:ClusterIssuer",
        "cluster.karmada.io/v1alpha1:Cluster",
        "core/v1:ConfigMapList",  # a List holds objects that name their own namespace
    ],
)
def test_cluster_scoped_objects_need_no_namespace(kind: str) -> None:
    assert messages(NAMESPACE, namespaced(f"kubernetes:{kind}")) == []


@pytest.mark.parametrize(
    "kind",
    [
        "core/v1:ConfigMap",
        "rbac.authorization.k8s.io/v1:Role",
        "postgresql.cnpg.io/v1:Cluster",  # CloudNativePG's Cluster is namespaced
        "core/v1:ListenerConfig",  # "List" inside the kind, not at its end
    ],
)
def test_namespaced_objects_must_name_their_namespace(kind: str) -> None:
    assert messages(NAMESPACE, namespaced(f"kubernetes:{kind}")) == [NO_NAMESPACE]
    assert messages(NAMESPACE, namespaced(f"kubernetes:{kind}", "default")) == [
        "object is placed in the 'default' namespace"
    ]
    assert messages(NAMESPACE, namespaced(f"kubernetes:{kind}", "daca")) == []


def test_a_namespace_unknown_at_preview_is_left_to_the_update() -> None:
    # a namespace created in the same preview: it is set, just not known yet (this was
    # read as "not set" and refused every object of a stack's first preview)
    assert messages(NAMESPACE, namespaced("kubernetes:core/v1:ConfigMap", UNKNOWN)) == []
    assert (
        messages(NAMESPACE, resource("kubernetes:core/v1:ConfigMap", {"metadata": UNKNOWN})) == []
    )
    release = resource("kubernetes:helm.sh/v3:Release", {"chart": "redis", "namespace": UNKNOWN})
    assert messages(NAMESPACE, release) == []
    assert messages(NAMESPACE, resource("kubernetes:core/v1:ConfigMap", {})) == [NO_NAMESPACE]


def test_a_helm_release_is_judged_by_its_release_namespace() -> None:
    release = dapr_release()
    assert messages(NAMESPACE, release) == []
    release.props["namespace"] = "default"
    # its chart's objects carry no metadata.namespace of their own at this level
    release.props["metadata"] = {"namespace": "dapr-system"}
    assert messages(NAMESPACE, release) == ["object is placed in the 'default' namespace"]
    del release.props["namespace"]
    assert messages(NAMESPACE, release) == [NO_NAMESPACE]
    chart = resource("kubernetes:helm.sh/v3:Chart", {"namespace": "default"})
    assert messages(NAMESPACE, chart) == ["object is placed in the 'default' namespace"]


@pytest.mark.parametrize(
    "type_",
    [
        "kubernetes:yaml/v2:ConfigGroup",
        "kubernetes:yaml/v2:ConfigFile",
        "kubernetes:helm.sh/v4:Chart",
    ],
)
def test_components_are_left_to_the_objects_they_render(type_: str) -> None:
    assert messages(NAMESPACE, resource(type_, {"namespace": "default"})) == []


def test_the_forbidden_namespaces_come_from_config() -> None:
    kube_system = namespaced("kubernetes:core/v1:ConfigMap", "kube-system")
    assert messages(NAMESPACE, kube_system) == []
    assert messages(NAMESPACE, kube_system, forbiddenNamespaces=["default", "kube-system"]) == [
        "object is placed in the 'kube-system' namespace"
    ]
    default = namespaced("kubernetes:core/v1:ConfigMap", "default")
    assert messages(NAMESPACE, default, forbiddenNamespaces=["kube-system"]) == []


# -- k8s-service-type-allowed and k8s-service-no-admin-port ------------------------------------


def test_a_refused_service_type_is_named_with_the_allowed_ones() -> None:
    policy = "k8s-service-type-allowed"
    assert messages(policy, service("LoadBalancer")) == [
        "Service type LoadBalancer is not allowed on this stack (allowed: ClusterIP)"
    ]
    assert messages(policy, service("LoadBalancer"), allowedTypes=["ClusterIP", "NodePort"]) == [
        "Service type LoadBalancer is not allowed on this stack (allowed: ClusterIP, NodePort)"
    ]
    # no type is a ClusterIP Service
    assert messages(policy, service(None)) == []
    assert messages(policy, service(None), allowedTypes=["NodePort"]) == [
        "Service type ClusterIP is not allowed on this stack (allowed: NodePort)"
    ]


def test_admin_ports_are_named_with_the_field_that_exposes_them() -> None:
    policy = "k8s-service-no-admin-port"
    ports = [
        {"port": 22.0, "targetPort": 2222.0},
        {"port": 443.0, "targetPort": 3389.0},
        {"port": 8022.0, "targetPort": "ssh", "nodePort": 22.0},
        {"port": "3389"},
    ]
    assert messages(policy, service(ports=ports)) == [
        "Service exposes forbidden port 22 (port)",
        "Service exposes forbidden port 3389 (targetPort)",
        "Service exposes forbidden port 22 (nodePort)",
        "Service exposes forbidden port 3389 (port)",
    ]
    assert messages(policy, service(ports=ports), forbiddenPorts=[2222]) == [
        "Service exposes forbidden port 2222 (targetPort)"
    ]
    assert messages(policy, service(ports=[{"port": 21.0}, {"port": 23.0}])) == []


# -- k8s-ingress-tls ------------------------------------------------------------------------

TLS = "k8s-ingress-tls"


def test_an_ingress_without_tls_is_refused_on_a_public_stage() -> None:
    no_tls = ingress({"rules": [{"host": "a.example"}]})
    assert messages(TLS, no_tls) == [
        "Ingress has no spec.tls: this stage is public, serve it over HTTPS"
    ]
    assert messages(TLS, ingress({"tls": [], "rules": [{"host": "a.example"}]})) != []
    assert messages(TLS, no_tls, requireTls=False) == []


def test_every_host_outside_the_certificates_is_named() -> None:
    spec = {
        "tls": [{"hosts": ["a.example"], "secretName": "a"}, {"hosts": ["b.example", 7]}],
        "rules": [{"host": "a.example"}, {"host": "c.example"}, {"host": "b.example"}, {}],
    }
    assert messages(TLS, ingress(spec)) == ["Ingress host c.example is not covered by spec.tls"]
    # a tls entry without hosts covers the controller's default host: nothing to compare
    assert messages(TLS, ingress({"tls": [{"secretName": "a"}], "rules": [{"host": "x"}]})) == []


# -- k8s-workload-min-replicas -------------------------------------------------------------

MIN_REPLICAS = "k8s-workload-min-replicas"


def replicas(value: Any) -> Resource:
    return d(_set(["spec", "replicas"], value))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, []),  # at the minimum
        (3.0, []),
        ("2", []),
        (1.0, ["spec.replicas is 1, below this stack's minimum of 2"]),
        (0.0, ["spec.replicas is 0, below this stack's minimum of 2"]),
        (1.5, ["spec.replicas is 1.5, below this stack's minimum of 2"]),
        (None, ["spec.replicas is 1, below this stack's minimum of 2"]),  # the API's default
    ],
)
def test_a_deployment_is_held_to_the_minimum(value: Any, expected: list[str]) -> None:
    found = stack(MIN_REPLICAS, replicas(value), minReplicas=2)
    assert found == [("agent", m) for m in expected]


def test_the_default_minimum_is_one_replica() -> None:
    assert stack(MIN_REPLICAS, replicas(1.0)) == []
    assert stack(MIN_REPLICAS, replicas(0.0)) == [
        ("agent", "spec.replicas is 0, below this stack's minimum of 1")
    ]
    assert stack(MIN_REPLICAS, replicas(0.0), minReplicas=0) == []


def test_a_deployment_without_a_spec_is_not_judged() -> None:
    assert stack(MIN_REPLICAS, d(lambda p: p.pop("spec")), minReplicas=2) == []


def test_replicas_unknown_at_preview_skip_that_deployment_only() -> None:
    other = replicas(1.0)
    found = stack(MIN_REPLICAS, replicas(UNKNOWN), other, minReplicas=2)
    assert found == [("agent", "spec.replicas is 1, below this stack's minimum of 2")]
    spec_unknown = d(lambda p: p.update(spec=UNKNOWN))
    assert stack(MIN_REPLICAS, spec_unknown, minReplicas=2) == []


def test_autoscalers_are_held_to_the_minimum_with_their_own_defaults() -> None:
    hpa = hpa_of("agent")
    assert stack(MIN_REPLICAS, hpa, minReplicas=1) == []
    assert stack(MIN_REPLICAS, hpa, minReplicas=2) == [
        ("agent-hpa", "spec.minReplicas is 1, below this stack's minimum of 2")
    ]
    del hpa.props["spec"]["minReplicas"]  # the HPA API's default is 1
    assert stack(MIN_REPLICAS, hpa, minReplicas=1) == []
    assert stack(MIN_REPLICAS, hpa, minReplicas=2) == [
        ("agent-hpa", "spec.minReplicas is 1, below this stack's minimum of 2")
    ]
    # KEDA's default minReplicaCount is 0: it scales the Deployment to zero
    assert stack(MIN_REPLICAS, scaled_object(min_replicas=None), minReplicas=1) == [
        ("agent-scaledobject", "spec.minReplicaCount is 0, below this stack's minimum of 1")
    ]
    assert stack(MIN_REPLICAS, scaled_object(min_replicas=None), minReplicas=0) == []
    assert stack(MIN_REPLICAS, scaled_object(min_replicas=2.0), minReplicas=2) == []
    assert stack(MIN_REPLICAS, scaled_object(min_replicas=1.0), minReplicas=2) == [
        ("agent-scaledobject", "spec.minReplicaCount is 1, below this stack's minimum of 2")
    ]


def test_other_kinds_are_not_held_to_the_minimum() -> None:
    statefulset = d(lambda p: p["spec"].update(replicas=0.0))
    statefulset = Resource("kubernetes:apps/v1:StatefulSet", "db", statefulset.props)
    assert stack(MIN_REPLICAS, statefulset, minReplicas=2) == []
    # ...and do not end the check of the Deployments after them
    assert stack(MIN_REPLICAS, statefulset, service(), replicas(1.0), minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]


def test_a_deployment_left_to_an_autoscaler_is_judged_by_the_autoscaler() -> None:
    unset = replicas(None)
    # the HPA's minimum counts, not Kubernetes' default of 1 for the Deployment
    assert stack(MIN_REPLICAS, unset, scaled_object(min_replicas=3.0), minReplicas=2) == []
    # a Deployment in another namespace, or of another name, is not the one scaled
    elsewhere = scaled_object(min_replicas=3.0, namespace="staging")
    assert stack(MIN_REPLICAS, unset, elsewhere, minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]
    assert stack(MIN_REPLICAS, unset, hpa_of("worker"), minReplicas=1) == []
    assert stack(MIN_REPLICAS, unset, hpa_of("worker"), minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2"),
        ("worker-hpa", "spec.minReplicas is 1, below this stack's minimum of 2"),
    ]
    # replicas set by hand are judged even with an autoscaler
    assert stack(MIN_REPLICAS, replicas(1.0), scaled_object(min_replicas=3.0), minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]


def test_an_autoscaler_of_something_else_leaves_the_deployment_to_its_default() -> None:
    statefulset_hpa = hpa_of("agent")
    statefulset_hpa.props["spec"]["scaleTargetRef"]["kind"] = "StatefulSet"
    statefulset_hpa.props["spec"]["minReplicas"] = 3.0
    assert stack(MIN_REPLICAS, replicas(None), statefulset_hpa, minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]
    # an HPA must name its target's kind; a ScaledObject defaults to Deployment
    kindless = hpa_of("agent")
    del kindless.props["spec"]["scaleTargetRef"]["kind"]
    kindless.props["spec"]["minReplicas"] = 3.0
    assert stack(MIN_REPLICAS, replicas(None), kindless, minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]
    keda = scaled_object(min_replicas=3.0, kind=None)
    assert stack(MIN_REPLICAS, replicas(None), keda, minReplicas=2) == []


def test_an_autoscaler_target_unknown_at_preview_spares_its_namespace_deployments() -> None:
    unknown_target = scaled_object(min_replicas=3.0)
    unknown_target.props["spec"]["scaleTargetRef"]["name"] = UNKNOWN
    assert stack(MIN_REPLICAS, replicas(None), unknown_target, minReplicas=2) == []
    whole_ref = scaled_object(min_replicas=3.0)
    whole_ref.props["spec"]["scaleTargetRef"] = UNKNOWN
    assert stack(MIN_REPLICAS, replicas(None), whole_ref, minReplicas=2) == []
    elsewhere = scaled_object(min_replicas=3.0, namespace="staging")
    elsewhere.props["spec"]["scaleTargetRef"]["name"] = UNKNOWN
    assert stack(MIN_REPLICAS, replicas(None), elsewhere, minReplicas=2) == [
        ("agent", "spec.replicas is 1, below this stack's minimum of 2")
    ]


# -- k8s-workload-one-autoscaler -----------------------------------------------------------

ONE_AUTOSCALER = "k8s-workload-one-autoscaler"


def test_the_second_autoscaler_of_a_deployment_is_blamed_with_both_named() -> None:
    assert stack(ONE_AUTOSCALER, scaled_object(), hpa_of("agent")) == [
        (
            "agent-hpa",
            "Deployment daca/agent has 2 autoscalers (ScaledObject agent-scaledobject, "
            "HorizontalPodAutoscaler agent-hpa); they fight",
        )
    ]
    second = hpa_of("agent")
    second = Resource(second.type, "agent-hpa-2", second.props, "urn:agent-hpa-2")
    assert stack(ONE_AUTOSCALER, hpa_of("agent"), second, scaled_object()) == [
        (
            name,
            "Deployment daca/agent has 3 autoscalers (HorizontalPodAutoscaler agent-hpa, "
            "HorizontalPodAutoscaler agent-hpa-2, ScaledObject agent-scaledobject); they fight",
        )
        for name in ("agent-hpa-2", "agent-scaledobject")
    ]


def test_a_deployment_without_a_namespace_is_named_alone() -> None:
    keda, hpa = scaled_object(), hpa_of("agent")
    del keda.props["metadata"]["namespace"]
    del hpa.props["metadata"]["namespace"]
    assert stack(ONE_AUTOSCALER, keda, hpa) == [
        (
            "agent-hpa",
            "Deployment agent has 2 autoscalers (ScaledObject agent-scaledobject, "
            "HorizontalPodAutoscaler agent-hpa); they fight",
        )
    ]


def test_autoscalers_of_other_targets_or_clusters_do_not_fight() -> None:
    assert stack(ONE_AUTOSCALER, scaled_object(), hpa_of("agent")) != []
    statefulset_hpa = hpa_of("agent")
    statefulset_hpa.props["spec"]["scaleTargetRef"]["kind"] = "StatefulSet"
    assert stack(ONE_AUTOSCALER, scaled_object(), statefulset_hpa) == []
    unknown = hpa_of("agent")
    unknown.props["spec"]["scaleTargetRef"]["name"] = UNKNOWN
    assert stack(ONE_AUTOSCALER, scaled_object(), unknown) == []
    assert stack(ONE_AUTOSCALER, in_cluster(scaled_object(), "eu"), hpa_of("agent")) == []
    assert stack(ONE_AUTOSCALER, scaled_object(), d(), service()) == []
    no_spec = hpa_of("agent")
    no_spec.props.pop("spec")
    assert stack(ONE_AUTOSCALER, scaled_object(), no_spec) == []


def test_each_deployment_with_two_autoscalers_is_reported() -> None:
    # a Deployment with one autoscaler, listed first, does not end the check
    found = stack(ONE_AUTOSCALER, hpa_of("worker"), scaled_object(), hpa_of("agent"))
    assert [name for name, _ in found] == ["agent-hpa"]


# -- k8s-app-published-without-auth ----------------------------------------------------------

PUBLISHED = "k8s-app-published-without-auth"
NO_AUTH_ENV = [{"name": "LOG_LEVEL", "value": "info"}]


def unauthenticated(mutate: Any = None) -> Resource:
    """The app's Deployment (Dapr app-id `agent`) with no auth settings."""

    def change(props: dict[str, Any]) -> None:
        ctr(props)["env"] = list(NO_AUTH_ENV)
        if mutate:
            mutate(props)

    return d(change)


def test_a_published_app_without_auth_is_blamed_on_its_publisher() -> None:
    assert stack(PUBLISHED, unauthenticated(), app_service("NodePort")) == [
        (
            "agent-service",
            "NodePort Service 'agent-service' publishes the Dapr app 'agent' (workload 'agent'), "
            "whose containers set none of DACA_API_KEYS, DACA_OIDC_ISSUER: the app has no way "
            "to authenticate callers",
        )
    ]
    assert stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), app_ingress()) == [
        (
            "public-ingress",
            "Ingress 'public-ingress' (to Service 'agent-service') publishes the Dapr app "
            "'agent' (workload 'agent'), whose containers set none of DACA_API_KEYS, "
            "DACA_OIDC_ISSUER: the app has no way to authenticate callers",
        )
    ]


def test_the_auth_variables_come_from_config() -> None:
    oidc = d(_set([*C, "env"], [{"name": "DACA_OIDC_ISSUER", "value": "https://id.example"}]))
    assert stack(PUBLISHED, oidc, app_service()) == []
    found = stack(PUBLISHED, oidc, app_service(), authVariables=["DACA_API_KEYS", "AUTH_URL"])
    assert [m for _, m in found] == [
        "NodePort Service 'agent-service' publishes the Dapr app 'agent' (workload 'agent'), "
        "whose containers set none of DACA_API_KEYS, AUTH_URL: the app has no way to "
        "authenticate callers"
    ]


@pytest.mark.parametrize(
    ("svc_type", "published"),
    [("NodePort", True), ("LoadBalancer", True), ("ClusterIP", False), ("ExternalName", False)],
)
def test_only_node_port_and_load_balancer_services_publish_on_their_own(
    svc_type: str, published: bool
) -> None:
    found = stack(PUBLISHED, unauthenticated(), app_service(svc_type))
    assert [name for name, _ in found] == (["agent-service"] if published else [])


def test_an_ingress_publishes_the_service_it_routes_to_from_any_backend() -> None:
    default_backend = ingress(
        {"defaultBackend": {"service": {"name": "agent", "port": {"number": 80}}}}
    )
    found = stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), default_backend)
    assert [name for name, _ in found] == ["r"]
    # a rule before others, or the default backend before the rules
    first_rule = app_ingress("agent")
    first_rule.props["spec"]["rules"].append(
        {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "docs"}}}]}}
    )
    found = stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), first_rule)
    assert [name for name, _ in found] == ["public-ingress"]
    default_first = app_ingress("docs")
    default_first.props["spec"]["defaultBackend"] = {"service": {"name": "agent"}}
    found = stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), default_first)
    assert [name for name, _ in found] == ["public-ingress"]
    # an Ingress in another namespace cannot route to this Service
    other_ns = app_ingress()
    other_ns.props["metadata"]["namespace"] = "web"
    assert stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), other_ns) == []
    # nor does one whose backend is not a Service
    resource_backend = ingress(
        {"defaultBackend": {"resource": {"kind": "Bucket", "name": "agent"}}}
    )
    assert stack(PUBLISHED, unauthenticated(), app_service("ClusterIP"), resource_backend) == []


def test_the_service_must_select_the_apps_pods() -> None:
    app = unauthenticated()
    every_label = app_service(selector={"app": "agent", "tier": "web"})
    assert stack(PUBLISHED, app, every_label) == []  # the pods lack tier: web
    assert stack(PUBLISHED, app, app_service(selector={"app": UNKNOWN})) == []
    # labels both sides take from one output unknown at preview: judged at the update
    unknown_labels = unauthenticated(
        lambda p: p["spec"]["template"]["metadata"].update(labels={"app": UNKNOWN})
    )
    assert stack(PUBLISHED, unknown_labels, app_service(selector={"app": UNKNOWN})) == []
    assert stack(PUBLISHED, app, app_service(selector={"app": 1})) == []
    # a Service without a selector has hand-made endpoints: nothing to match
    assert stack(PUBLISHED, app, app_service(selector={})) == []
    no_labels = unauthenticated(lambda p: p["spec"]["template"]["metadata"].pop("labels"))
    assert stack(PUBLISHED, no_labels, app_service()) == []
    # a Service with no namespace, or an app with none, may be in the same one
    anywhere = app_service()
    del anywhere.props["metadata"]["namespace"]
    assert len(stack(PUBLISHED, app, anywhere)) == 1
    app_anywhere = unauthenticated(lambda p: p["metadata"].pop("namespace"))
    assert len(stack(PUBLISHED, app_anywhere, app_service())) == 1


def test_auth_set_in_any_app_container_or_unknown_is_enough() -> None:
    keys = {"name": "DACA_API_KEYS", "value": "c" * 64}
    sidecar_keys = with_containers(
        {"name": "agent", "env": list(NO_AUTH_ENV)}, {"name": "proxy", "env": [keys]}
    )
    assert stack(PUBLISHED, sidecar_keys, app_service()) == []
    # an init container's settings are gone once the app runs
    init_keys = with_containers(
        {"name": "agent", "env": list(NO_AUTH_ENV)}, init=({"env": [keys]},)
    )
    assert len(stack(PUBLISHED, init_keys, app_service())) == 1
    # a whole ConfigMap or Secret may carry them: not judged
    env_from = unauthenticated(lambda p: ctr(p).update(envFrom=[{"secretRef": {"name": "auth"}}]))
    assert stack(PUBLISHED, env_from, app_service()) == []
    unknown_first = with_containers(
        {"name": "agent", "env": [{"name": UNKNOWN, "value": "x"}]}, {"name": "proxy"}
    )
    assert stack(PUBLISHED, unknown_first, app_service()) == []


def test_every_published_app_is_checked() -> None:
    # an app the Service does not select, or one that authenticates, listed first
    docs = unauthenticated(lambda p: p["spec"]["template"]["metadata"]["labels"].update(app="docs"))
    docs = Resource(docs.type, "docs", docs.props)
    assert len(stack(PUBLISHED, docs, unauthenticated(), app_service())) == 1
    assert len(stack(PUBLISHED, d(), unauthenticated(), app_service())) == 1


def test_workloads_that_are_not_dapr_apps_are_not_judged() -> None:
    plain = unauthenticated(lambda p: p["spec"]["template"]["metadata"].pop("annotations"))
    assert stack(PUBLISHED, plain, app_service()) == []
    job = unauthenticated()
    job = Resource("kubernetes:batch/v1:Job", "agent", job.props)
    assert len(stack(PUBLISHED, job, app_service())) == 1
    other_kind = Resource("kubernetes:apps/v1:Other", "agent", unauthenticated().props)
    assert stack(PUBLISHED, other_kind, app_service()) == []


# -- kafka-listener-external-tls-auth ---------------------------------------------------------

KAFKA = "kafka-listener-external-tls-auth"


def listener(**fields: Any) -> dict[str, Any]:
    """An external listener, secured; `fields` replace (None: remove) its settings."""
    return _external(**{k: _DELETE if v is None else v for k, v in fields.items()})


@pytest.mark.parametrize(
    "listener_type", ["loadbalancer", "nodeport", "ingress", "route", "tlsroute", "cluster-ip"]
)
def test_every_external_listener_type_must_be_encrypted_and_authenticated(
    listener_type: str,
) -> None:
    open_listener = listener(type=listener_type, tls=False, authentication=None)
    assert messages(KAFKA, kafka_cluster(open_listener)) == [
        f"listener external (type {listener_type}) does not set tls: true: clients would "
        "talk in plaintext",
        f"listener external (type {listener_type}) has no authentication: anyone who "
        "reaches it could read and write",
    ]
    assert messages(KAFKA, kafka_cluster(listener(type=listener_type))) == []


def test_internal_listeners_are_exempt() -> None:
    plain = listener(name="plain", type="internal", tls=False, authentication=None)
    assert messages(KAFKA, kafka_cluster(plain)) == []
    # ...and do not end the check of the listeners after them
    assert messages(KAFKA, kafka_cluster(plain, listener(tls=False))) == [
        "listener external (type loadbalancer) does not set tls: true: clients would talk in "
        "plaintext"
    ]


def test_each_missing_setting_is_named_on_its_own() -> None:
    assert messages(KAFKA, kafka_cluster(listener(tls=None))) == [
        "listener external (type loadbalancer) does not set tls: true: clients would talk in "
        "plaintext"
    ]
    assert messages(KAFKA, kafka_cluster(listener(tls="true"))) == []
    for auth in ({}, {"type": ""}, None):
        assert messages(KAFKA, kafka_cluster(listener(authentication=auth))) == [
            "listener external (type loadbalancer) has no authentication: anyone who reaches "
            "it could read and write"
        ]
    assert messages(KAFKA, kafka_cluster(listener(authentication={"type": "tls"}))) == []


def test_an_unnamed_listener_is_named_by_its_position() -> None:
    unnamed = listener(name=None, tls=False)
    found = messages(KAFKA, kafka_cluster(listener(), unnamed))
    assert found == [
        "listener 1 (type loadbalancer) does not set tls: true: clients would talk in plaintext"
    ]


def test_settings_unknown_at_preview_are_left_to_the_update() -> None:
    assert messages(KAFKA, kafka_cluster(listener(tls=UNKNOWN, authentication=UNKNOWN))) == []
    assert messages(KAFKA, kafka_cluster(listener(type=UNKNOWN, tls=False))) == []
    cluster = kafka_cluster()
    cluster.props["spec"] = UNKNOWN
    with pytest.raises(NotApplicable, match=r"^spec is unknown at preview$"):
        messages(KAFKA, cluster)
    cluster.props["spec"] = {"kafka": {"listeners": UNKNOWN}}
    with pytest.raises(NotApplicable, match=r"^spec.kafka.listeners is unknown at preview$"):
        messages(KAFKA, cluster)
    cluster.props["spec"] = {"kafka": {}}
    with pytest.raises(NotApplicable, match=r"^the Kafka resource has no spec.kafka.listeners$"):
        messages(KAFKA, cluster)
    cluster.props.pop("spec")
    with pytest.raises(NotApplicable, match=r"^the Kafka resource has no spec.kafka.listeners$"):
        messages(KAFKA, cluster)


def test_the_external_types_come_from_config() -> None:
    internal = kafka_cluster(listener(type="internal", authentication=None))
    assert messages(KAFKA, internal, externalTypes=["internal"]) == [
        "listener external (type internal) has no authentication: anyone who reaches it "
        "could read and write"
    ]
    loadbalancer = kafka_cluster(listener(tls=False))
    assert messages(KAFKA, loadbalancer, externalTypes=["nodeport"]) == []


def test_strimzi_v1beta2_clusters_are_covered() -> None:
    assert BY_NAME[KAFKA].applies_to("kubernetes:kafka.strimzi.io/v1beta2:Kafka")
    assert BY_NAME[KAFKA].applies_to("kubernetes:kafka.strimzi.io/v1:Kafka")
    assert not BY_NAME[KAFKA].applies_to("kubernetes:kafka.strimzi.io/v1:KafkaTopic")


# -- monitoring-object-outside-app-namespace ---------------------------------------------------

MONITORING = "monitoring-object-outside-app-namespace"
NO_MONITORING_NAMESPACE = (
    "no namespace: it lands in the provider's default namespace; set the monitoring namespace"
)


def in_app_namespace(namespace: str) -> str:
    return (
        f"monitoring object in the app namespace '{namespace}': whoever may edit the app could "
        "then change what is scraped and alerted on"
    )


def prometheus_release(namespace: Any, chart: str = "kube-prometheus-stack") -> Resource:
    props: dict[str, Any] = {"chart": chart, "name": "kps"}
    if namespace is not None:
        props["namespace"] = namespace
    return resource("kubernetes:helm.sh/v3:Release", props, "kps")


def test_a_monitoring_object_in_an_app_namespace_is_named() -> None:
    assert stack(MONITORING, d(), pod_monitor("daca")) == [("agent-app", in_app_namespace("daca"))]
    rule = resource(
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        {"metadata": {"name": "alerts", "namespace": "daca"}},
        "alerts",
    )
    assert stack(MONITORING, rule, d()) == [("alerts", in_app_namespace("daca"))]
    assert stack(MONITORING, d(), pod_monitor("monitoring")) == []


def test_the_monitoring_chart_is_judged_by_its_release_namespace() -> None:
    assert stack(MONITORING, d(), prometheus_release("daca")) == [("kps", in_app_namespace("daca"))]
    assert stack(MONITORING, d(), prometheus_release("monitoring")) == []
    assert stack(MONITORING, d(), prometheus_release(None)) == [("kps", NO_MONITORING_NAMESPACE)]
    assert stack(MONITORING, d(), prometheus_release(UNKNOWN)) == []
    assert stack(MONITORING, d(), prometheus_release("daca", chart="redis")) == []


def test_an_object_without_a_namespace_is_named() -> None:
    no_metadata = resource("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", {}, "sm")
    assert stack(MONITORING, no_metadata) == [("sm", NO_MONITORING_NAMESPACE)]
    assert stack(MONITORING, pod_monitor("")) == [("agent-app", NO_MONITORING_NAMESPACE)]
    unknown_metadata = resource(
        "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", {"metadata": UNKNOWN}, "sm"
    )
    assert stack(MONITORING, unknown_metadata) == []


def test_a_monitor_and_an_app_in_a_namespace_unknown_at_preview_are_left_to_the_update() -> None:
    # the app and the monitor both in a namespace created in the same preview: whether
    # they share it is known only at the update
    app = d(_set(["metadata", "namespace"], UNKNOWN))
    assert stack(MONITORING, app, pod_monitor(UNKNOWN)) == []
    assert stack(MONITORING, app, prometheus_release(UNKNOWN)) == []


def test_app_namespaces_are_those_of_dapr_enabled_workloads_and_configured_ones() -> None:
    def dapr_enabled(value: Any) -> Resource:
        return d(_set(["spec", "template", "metadata", "annotations", "dapr.io/enabled"], value))

    assert stack(MONITORING, dapr_enabled("false"), pod_monitor("daca")) == []
    assert (
        stack(MONITORING, d(lambda p: p["spec"]["template"].pop("metadata")), pod_monitor("daca"))
        == []
    )
    assert stack(MONITORING, dapr_enabled("true"), pod_monitor("daca")) != []
    unnamespaced = d(lambda p: p["metadata"].pop("namespace"))
    assert stack(MONITORING, unnamespaced, pod_monitor("daca")) == []
    service_in_daca = service()  # a Service is no workload
    service_in_daca.props["spec"]["template"] = d().props["spec"]["template"]
    assert stack(MONITORING, service_in_daca, pod_monitor("daca")) == []
    assert stack(MONITORING, pod_monitor("agents"), appNamespaces=["agents"]) == [
        ("agent-app", in_app_namespace("agents"))
    ]
    assert stack(MONITORING, pod_monitor("agents"), appNamespaces=["other"]) == []
