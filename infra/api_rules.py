"""What the API server checks that the OpenAPI schemas leave out: names, label syntax,
enumerated values, and the names inside a pod that must agree.

The strict schemas take `imagePullPolicy: ifnotpresent`, a port named `HTTP`, a volume
mount naming no volume and a label value with a space; the API server refuses each, and
the deploy stops half-way. These are the rules of k8s.io/apimachinery's validation
(IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label, IsValidPortName,
IsQualifiedName, IsValidLabelValue) and the enumerations of k8s.io/api/core/v1, for the
fields the stacks render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(f"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

PULL_POLICIES = {"Always", "IfNotPresent", "Never"}
PROTOCOLS = {"TCP", "UDP", "SCTP"}
SERVICE_TYPES = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}
RESTART_POLICIES = {"Always", "OnFailure", "Never"}
ACCESS_MODES = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}
POLICY_TYPES = {"Ingress", "Egress"}
HPA_METRIC_TYPES = {"Resource", "ContainerResource", "Pods", "Object", "External"}
POD_MANAGEMENT_POLICIES = {"OrderedReady", "Parallel"}
#: a Service's externalTrafficPolicy and internalTrafficPolicy
TRAFFIC_POLICIES = {"Cluster", "Local"}
#: the resources asked for by a bare name (k8s.io/api/core/v1 ResourceName: a container's,
#: and a claim's `storage`); any other is an extended resource, named `<domain>/<name>`
STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage", "storage"}
#: autoscaling/v2 MetricTarget.type
HPA_TARGET_TYPES = {"Utilization", "Value", "AverageValue"}
#: k8s.io/apimachinery resource.Quantity: a number, then a binary (Ki…Ei) or decimal
#: (n u m k M G T P E) suffix or an exponent; "512mi" is none
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SUFFIXES = {
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{
        s: Decimal(10) ** e
        for s, e in zip("numkMGTPE", (-9, -6, -3, 3, 6, 9, 12, 15, 18), strict=True)
    },
}
#: kinds whose pod template is at spec.template (CronJob's is one level further down)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
#: kinds named by a DNS-1035 label (a Service's name becomes a DNS name and an env var)
_DNS1035_NAMED = {"Service"}
_DNS1123_LABEL_NAMED = {"Namespace"}
#: RBAC objects are named by path segments ("system:auth-delegator"); CRs by their CRD
_SUBDOMAIN_NAMED = {
    "ConfigMap", "Secret", "ServiceAccount", "Deployment", "StatefulSet", "DaemonSet",
    "Job", "CronJob", "Ingress", "NetworkPolicy", "PodDisruptionBudget",
    "HorizontalPodAutoscaler", "PersistentVolumeClaim", "StorageClass", "IngressClass",
    "PriorityClass",
}  # fmt: skip


def port_name_problem(name: str) -> str | None:
    """IsValidPortName (a container port's name, a named targetPort): an IANA service
    name, 1-15 characters, with a letter, no '--'."""
    if len(name) > 15 or not _PORT_NAME.match(name):
        return "must be 1-15 lower-case letters, digits and '-', starting and ending alphanumeric"
    if "--" in name or not re.search("[a-z]", name):
        return "must contain a letter and no '--'"
    return None


def label_key_problem(key: str) -> str | None:
    """IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name of ≤ 63."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return f"label key {key!r}: its prefix must be a DNS subdomain"
    if len(name) > 63 or not _QUALIFIED_PART.match(name):
        return f"label key {key!r}: its name must be ≤ 63 alphanumerics, '-', '_' or '.'"
    return None


def label_value_problem(value: Any) -> str | None:
    """IsValidLabelValue: empty, or ≤ 63 alphanumerics, '-', '_' and '.', ends alphanumeric."""
    text = str(value)
    if text and (len(text) > 63 or not _QUALIFIED_PART.match(text)):
        return f"label value {text!r} must be ≤ 63 alphanumerics, '-', '_' or '.'"
    return None


def _name_problem(kind: str, name: str) -> str | None:
    if kind in _DNS1035_NAMED and (len(name) > 63 or not DNS1035_LABEL.match(name)):
        return f"name {name!r} must be a DNS-1035 label (a-z first, then a-z, 0-9, '-')"
    if kind in _DNS1123_LABEL_NAMED and (len(name) > 63 or not DNS1123_LABEL.match(name)):
        return f"name {name!r} must be a DNS-1123 label"
    if kind in _SUBDOMAIN_NAMED and (len(name) > 253 or not DNS1123_SUBDOMAIN.match(name)):
        return f"name {name!r} must be a DNS-1123 subdomain"
    return None


def _labels_problems(meta: dict[str, Any], where: str) -> Iterator[str]:
    for key, value in (meta.get("labels") or {}).items():
        problem = label_key_problem(str(key)) or label_value_problem(value)
        if problem:
            yield f"{where}: {problem}"


def _pod_problems(pod: dict[str, Any], claims: set[str], where: str) -> Iterator[str]:
    volumes = [str(v.get("name")) for v in pod.get("volumes") or []]
    for name in volumes:
        if not DNS1123_LABEL.match(name):
            yield f"{where}: volume {name!r} must be a DNS-1123 label"
    if len(set(volumes)) != len(volumes):
        yield f"{where}: volume names repeat: {sorted(volumes)}"
    for volume in pod.get("volumes") or []:
        size = (volume.get("emptyDir") or {}).get("sizeLimit")
        if size is not None and quantity(size) is None:
            yield f"{where}: volume {volume.get('name')!r} sizeLimit {size!r} is not a quantity"
    restart = pod.get("restartPolicy")
    if restart is not None and restart not in RESTART_POLICIES:
        yield f"{where}: restartPolicy {restart!r} is not one of {sorted(RESTART_POLICIES)}"
    containers = [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
    for container in containers:
        name = str(container.get("name"))
        at = f"{where}: container {name}"
        if not DNS1123_LABEL.match(name):
            yield f"{at}: name must be a DNS-1123 label"
        policy = container.get("imagePullPolicy")
        if policy is not None and policy not in PULL_POLICIES:
            yield f"{at}: imagePullPolicy {policy!r} is not one of {sorted(PULL_POLICIES)}"
        for port in container.get("ports") or []:
            if "name" in port and (problem := port_name_problem(str(port["name"]))):
                yield f"{at}: port name {port['name']!r} {problem}"
            if port.get("protocol", "TCP") not in PROTOCOLS:
                yield f"{at}: protocol {port['protocol']!r} is not one of {sorted(PROTOCOLS)}"
        named = {p["name"] for p in container.get("ports") or [] if "name" in p}
        for probe_kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(probe_kind) or {}
            port = (probe.get("httpGet") or probe.get("tcpSocket") or {}).get("port")
            if isinstance(port, str):
                # the API server (validateProbe): a named port is an IANA name; the kubelet
                # then resolves it against the container's own ports, and fails the probe
                # (so restarts or never readies the pod) if it names none
                if problem := port_name_problem(port):
                    yield f"{at}: {probe_kind} port {port!r} {problem}"
                elif port not in named:
                    yield f"{at}: {probe_kind} port {port!r} names no port of the container"
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in {*volumes, *claims}:
                yield f"{at}: volumeMount {mount.get('name')!r} names no volume of the pod"
        yield from _escalation_problems(container.get("securityContext") or {}, at)
        yield from resources_problems(container.get("resources") or {}, at)


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity's value (cpu in cores, memory in bytes), None if it is none."""
    text = str(value)
    if not QUANTITY.match(text):
        return None
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return Decimal(text)


def _resource_name_ok(name: str) -> bool:
    """A resource Kubernetes names (hugepages by size), or a domain-qualified extended one."""
    if name in STANDARD_RESOURCES or name.startswith("hugepages-"):
        return True
    return "/" in name and label_key_problem(name) is None


def resources_problems(resources: dict[str, Any], at: str) -> Iterator[str]:
    """ValidateResourceRequirements: resource names it knows, quantities that parse and
    are not negative, no request above its limit (`must be less than or equal to cpu
    limit`), and an extended resource's request equal to its limit."""
    amounts: dict[str, dict[str, Decimal]] = {}
    for bound in ("requests", "limits"):
        for name, value in (resources.get(bound) or {}).items():
            if not _resource_name_ok(name):
                yield f"{at}: {bound}.{name} is not a resource name"
            amount = quantity(value)
            if amount is None:
                yield f"{at}: {bound}.{name} {value!r} is not a quantity"
            elif amount < 0:
                yield f"{at}: {bound}.{name} must be greater than or equal to 0"
            else:
                amounts.setdefault(bound, {})[name] = amount
    for name, request in amounts.get("requests", {}).items():
        limit = amounts.get("limits", {}).get(name)
        if "/" in name and "kubernetes.io/" not in name:
            # an extended resource (nvidia.com/gpu) is not overcommitted: a request needs
            # a limit, and the two must be equal
            if limit != request:
                yield f"{at}: requests.{name} must equal its limit (an extended resource)"
        elif limit is not None and request > limit:
            yield f"{at}: requests.{name} must be less than or equal to its limit"


def _escalation_problems(context: dict[str, Any], at: str) -> Iterator[str]:
    """ValidateSecurityContext: a privileged container, or one adding CAP_SYS_ADMIN, always
    escalates, so `allowPrivilegeEscalation: false` beside it is refused. The API server
    compares the capability's spelling exactly: `CAP_SYS_ADMIN` is refused, `SYS_ADMIN`
    (the same capability, as Kubernetes usually spells them) is let through."""
    if context.get("allowPrivilegeEscalation") is not False:
        return
    if context.get("privileged") is True:
        yield f"{at}: cannot set allowPrivilegeEscalation to false and privileged to true"
    if "CAP_SYS_ADMIN" in ((context.get("capabilities") or {}).get("add") or []):
        yield f"{at}: cannot set allowPrivilegeEscalation to false and add CAP_SYS_ADMIN"


def _claim_problems(spec: dict[str, Any], where: str) -> Iterator[str]:
    """A claim's access modes: at least one, each one Kubernetes has."""
    modes = spec.get("accessModes") or []
    if not modes:
        yield f"{where}: at least one access mode is required"
    for mode in modes:
        if mode not in ACCESS_MODES:
            yield f"{where}: access mode {mode!r} is not one of {sorted(ACCESS_MODES)}"


def _service_problems(spec: dict[str, Any], where: str) -> Iterator[str]:
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        yield f"{where}: type {kind!r} is not one of {sorted(SERVICE_TYPES)}"
    for field in ("externalTrafficPolicy", "internalTrafficPolicy"):
        if field in spec and spec[field] not in TRAFFIC_POLICIES:
            yield f"{where}: {field} {spec[field]!r} is not one of {sorted(TRAFFIC_POLICIES)}"
    ports = spec.get("ports") or []
    for port in ports:
        # a Service's port is named by a DNS-1123 label (ValidateService); the container
        # ports its targetPort names are IANA service names (IsValidPortName)
        name = str(port.get("name", ""))
        if "name" in port and (len(name) > 63 or not DNS1123_LABEL.match(name)):
            yield f"{where}: port name {name!r} must be a DNS-1123 label"
        elif "name" not in port and len(ports) > 1:
            yield f"{where}: a Service with several ports must name each"
        if port.get("protocol", "TCP") not in PROTOCOLS:
            yield f"{where}: protocol {port['protocol']!r} is not one of {sorted(PROTOCOLS)}"
        if "nodePort" in port and kind not in ("NodePort", "LoadBalancer"):
            yield f"{where}: nodePort may not be used when type is {kind!r}"
        target = port.get("targetPort")
        if isinstance(target, str) and (problem := port_name_problem(target)):
            yield f"{where}: targetPort {target!r} {problem}"


def api_problems(obj: dict[str, Any]) -> list[str]:
    """Every API-server rule `obj` breaks (built-in kinds; labels on any kind)."""
    kind = str(obj.get("kind"))
    meta = obj.get("metadata") or {}
    where = f"{kind}/{meta.get('name', '?')}"
    problems = list(_labels_problems(meta, where))
    name_problem = _name_problem(kind, str(meta.get("name", "")))
    if name_problem:
        problems.append(f"{where}: {name_problem}")
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if kind in WORKLOADS or kind == "CronJob":
        template = spec.get("template") or {}
        problems += _labels_problems(template.get("metadata") or {}, f"{where}: template")
        templates = spec.get("volumeClaimTemplates") or []
        claims = {str((c.get("metadata") or {}).get("name")) for c in templates}
        for claim_template in templates:
            claim_name = (claim_template.get("metadata") or {}).get("name")
            problems += _claim_problems(
                claim_template.get("spec") or {}, f"{where}: volumeClaimTemplate {claim_name}"
            )
        for claim in claims:
            if not DNS1123_SUBDOMAIN.match(claim):
                problems.append(
                    f"{where}: volumeClaimTemplate {claim!r} must be a DNS-1123 subdomain"
                )
        problems += _pod_problems(template.get("spec") or {}, claims, where)
    if kind == "StatefulSet":
        policy = spec.get("podManagementPolicy", "OrderedReady")
        if policy not in POD_MANAGEMENT_POLICIES:
            problems.append(
                f"{where}: podManagementPolicy {policy!r} is not one of "
                f"{sorted(POD_MANAGEMENT_POLICIES)}"
            )
    if kind == "Service":
        problems += _service_problems(spec, where)
    if kind == "PersistentVolumeClaim":
        problems += _claim_problems(spec, where)
    if kind == "HorizontalPodAutoscaler":
        for metric in spec.get("metrics") or []:
            if metric.get("type") not in HPA_METRIC_TYPES:
                problems.append(
                    f"{where}: metric type {metric.get('type')!r} is not one of "
                    f"{sorted(HPA_METRIC_TYPES)}"
                )
            for source in metric.values():
                target = source.get("target") if isinstance(source, dict) else None
                if target is not None and target.get("type") not in HPA_TARGET_TYPES:
                    problems.append(
                        f"{where}: target type {target.get('type')!r} is not one of "
                        f"{sorted(HPA_TARGET_TYPES)}"
                    )
    if kind == "NetworkPolicy":
        for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
            for port in rule.get("ports") or []:
                if port.get("protocol", "TCP") not in PROTOCOLS:
                    problems.append(
                        f"{where}: protocol {port['protocol']!r} is not one of {sorted(PROTOCOLS)}"
                    )
        for policy_type in spec.get("policyTypes") or []:
            if policy_type not in POLICY_TYPES:
                problems.append(
                    f"{where}: policyType {policy_type!r} is not one of {sorted(POLICY_TYPES)}"
                )
    return problems
