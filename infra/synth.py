"""Evaluate a stack offline and write what it would create.

No Pulumi CLI, no credentials, no network: the program runs against Pulumi's mock
monitor in update mode (so every `apply` runs), and every registration is recorded
with the inputs the engine (and so a policy pack) would see. Computed outputs that the
program reads (a kubeconfig, an image digest, a generated password) get deterministic
stand-ins, marked in `resources.json` only through what the program passes on.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra import program
from infra.config import (
    NAMESPACE,
    REPO_ROOT,
    SECRET_PLACEHOLDER,
    ConfigError,
    StackConfig,
    decode_pulumi_values,
    load_config,
)

PROJECT = "daca-ascent"
_SECRET_SIG = rpc._special_secret_sig
_SIG_KEY = rpc._special_sig_key
#: types whose objects are not rendered offline (the provider expands them at deploy)
EXPANDED_AT_DEPLOY = ("kubernetes:helm.sh/", "kubernetes:yaml/")
_KIND_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        [
            "Namespace",
            "CustomResourceDefinition",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "Role",
            "RoleBinding",
            "Component",
            "Configuration",
            "Resiliency",
            "Service",
            "StatefulSet",
            "Deployment",
        ]
    )
}


@dataclass
class SynthResult:
    """Where synth wrote, and what it saw."""

    stack: str
    config: StackConfig
    out_dir: Path
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    seconds: float
    not_rendered: list[str] = field(default_factory=list)

    @property
    def resources_path(self) -> Path:
        return self.out_dir / "resources.json"

    @property
    def manifests_dir(self) -> Path:
        return self.out_dir / "manifests"

    @property
    def k8s_version(self) -> str | None:
        return getattr(self.config, "kubernetes_version", None)


# --- reading a stack file -----------------------------------------------------------


def stack_file(stack: str, root: Path = REPO_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """The engine's view of a `Pulumi.<stack>.yaml`: `ns:key -> string`, and secret keys.

    Encrypted (`secure:`) values cannot be read offline; they become "[secret]".
    """
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read stack config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"stack config {path} is not valid YAML: {exc}") from None
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"stack config {path}: 'config' must be a mapping of keys to values")
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in config.items():
        # as Pulumi does: a key without a namespace belongs to the project
        full_key = str(key) if ":" in str(key) else f"{PROJECT}:{key}"
        value, secret = _without_ciphertext(value)
        if secret:
            secrets.append(full_key)
        values[full_key] = value if isinstance(value, str) else json.dumps(value)
    return values, secrets


def _without_ciphertext(value: Any) -> tuple[Any, bool]:
    """`value` with every `secure:` leaf (top-level, or nested as `pulumi config set
    --secret --path` writes it) replaced by "[secret]"; and whether there was one (Pulumi
    then treats the whole key as secret)."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        pairs = {k: _without_ciphertext(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_without_ciphertext(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def load_stack_config(path: Path) -> tuple[StackConfig, dict[str, str], list[str]]:
    values, secrets = read_stack_file(path)
    decoded = decode_pulumi_values(values, PROJECT)
    secret_keys = frozenset(k.removeprefix(f"{NAMESPACE}:") for k in secrets)
    return load_config(decoded, secret_keys), values, secrets


# --- the mock engine ----------------------------------------------------------------


def _fake_digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


FAKE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: synth
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: synth
  context: {cluster: synth, user: synth}
current-context: synth
users:
- name: synth
  user: {token: synth-offline}
"""


#: the Azure property that holds each azure-native resource's own name
_AZURE_NAME_KEYS = {
    "resources:ResourceGroup": "resourceGroupName",
    "managedidentity:UserAssignedIdentity": "resourceName",
    "operationalinsights:Workspace": "workspaceName",
    "applicationinsights:Component": "resourceName",
    "app:ManagedEnvironment": "environmentName",
    "app:ContainerApp": "containerAppName",
    "app:DaprComponent": "componentName",
    "containerregistry:Registry": "registryName",
    "keyvault:Vault": "vaultName",
    "keyvault:Secret": "secretName",
    "cosmosdb:DatabaseAccount": "accountName",
    "cosmosdb:SqlResourceSqlDatabase": "databaseName",
    "cosmosdb:SqlResourceSqlContainer": "containerName",
    "storage:StorageAccount": "accountName",
    "storage:BlobContainer": "containerName",
    "servicebus:Namespace": "namespaceName",
    "servicebus:Topic": "topicName",
    "servicebus:Subscription": "subscriptionName",
    "containerservice:ManagedCluster": "resourceName",
    "network:PublicIPAddress": "publicIpAddressName",
    "cdn:Profile": "profileName",
    "cdn:AFDEndpoint": "endpointName",
    "cdn:AFDOriginGroup": "originGroupName",
    "cdn:AFDOrigin": "originName",
    "cdn:Route": "routeName",
}
SYNTH_SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de"
SYNTH_TENANT = "00000000-0000-0000-0000-0000000071e7"


def _fake_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "synth:" + "/".join(parts)))


def _azure_outputs(token: str, name: str, state: dict[str, Any]) -> str:
    """Fill the computed outputs of an azure-native resource; return its (fake) ARM id."""
    own = str(state.get(_AZURE_NAME_KEYS.get(token, ""), "") or name)
    state.setdefault("name", own)
    identity = state.get("identity")
    if isinstance(identity, Mapping) and isinstance(identity.get("userAssignedIdentities"), list):
        # inputs list the identity IDs; the resource reports a map of ID -> details
        state["identity"] = {
            **identity,
            "userAssignedIdentities": {
                str(i): {"clientId": _fake_guid("client", str(i))}
                for i in identity["userAssignedIdentities"]
            },
        }
    if token == "managedidentity:UserAssignedIdentity":
        state["clientId"] = _fake_guid("client", name)
        state["principalId"] = _fake_guid("principal", name)
    elif token == "containerregistry:Registry":
        state["loginServer"] = f"{own.lower()}.azurecr.io"
    elif token == "keyvault:Vault":
        props = dict(state.get("properties") or {})
        props["vaultUri"] = f"https://{own}.vault.azure.net/"
        state["properties"] = props
    elif token == "cosmosdb:DatabaseAccount":
        state["documentEndpoint"] = f"https://{own}.documents.azure.com:443/"
    elif token == "servicebus:Namespace":
        state["serviceBusEndpoint"] = f"https://{own}.servicebus.windows.net:443/"
    elif token == "operationalinsights:Workspace":
        state["customerId"] = _fake_guid("workspace", name)
    elif token == "applicationinsights:Component":
        state["connectionString"] = f"InstrumentationKey={_fake_guid('insights', name)}"
    elif token == "app:ManagedEnvironment":
        state["defaultDomain"] = (
            f"synth-{own}.{state.get('location', 'azure')}.azurecontainerapps.io"
        )
    elif token == "app:ContainerApp":
        fqdn = f"{own}.synth.{state.get('location', 'azure')}.azurecontainerapps.io"
        config = dict(state.get("configuration") or {})
        config["ingress"] = {**dict(config.get("ingress") or {}), "fqdn": fqdn}
        state["configuration"] = config
        state["latestRevisionFqdn"] = fqdn.replace(own, f"{own}--synth", 1)
    else:
        _fill_planet_outputs(token, name, own, state)
    group = state.get("resourceGroupName") or "synth-rg"
    if token == "resources:ResourceGroup":
        return f"/subscriptions/{SYNTH_SUBSCRIPTION}/resourceGroups/{own}"
    module, kind = token.split(":")
    return (
        f"/subscriptions/{SYNTH_SUBSCRIPTION}/resourceGroups/{group}/providers/"
        f"Microsoft.{module}/{kind}/{own}"
    )


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def _fill_planet_outputs(token: str, name: str, own: str, state: dict[str, Any]) -> None:
    """The computed outputs of the planet's Azure resources: AKS, its IP, Front Door."""
    location = str(state.get("location") or "synth")
    if token == "containerservice:ManagedCluster":
        prefix = str(state.get("dnsPrefix") or own)
        state["fqdn"] = f"{prefix}-{_short_hash(name)[:8]}.hcp.{location}.azmk8s.io"
        identity = dict(state.get("identity") or {})
        if identity.get("type") == "SystemAssigned":
            identity["principalId"] = _fake_guid("principal", name)
            identity["tenantId"] = SYNTH_TENANT
        state["identity"] = identity
    elif token == "network:PublicIPAddress":
        state["ipAddress"] = f"192.0.2.{10 + int(_short_hash(name), 16) % 200}"
        dns = dict(state.get("dnsSettings") or {})
        if dns.get("domainNameLabel"):
            dns["fqdn"] = f"{dns['domainNameLabel']}.{location}.cloudapp.azure.com"
            state["dnsSettings"] = dns
    elif token == "cdn:Profile":
        state["frontDoorId"] = _fake_guid("frontdoor", name)
    elif token == "cdn:AFDEndpoint":
        state["hostName"] = f"{own}-{_short_hash(name)}.z01.azurefd.net"


#: the AKS server id and client id kubelogin asks Entra ID for (the same in every tenant)
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_AAD_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"


def fake_aks_kubeconfig(resource_group: str, cluster: str) -> str:
    """An AKS user kubeconfig as `listClusterUserCredential?format=exec` returns it for a
    cluster with Entra ID: kubelogin, device-code login."""
    server = f"https://{cluster}-{_short_hash(resource_group, cluster)[:8]}.hcp.synth.azmk8s.io:443"
    user = f"clusterUser_{resource_group}_{cluster}"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "users": [
            {
                "name": user,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--environment",
                            "AzurePublicCloud",
                            "--server-id",
                            AKS_AAD_SERVER_ID,
                            "--client-id",
                            AKS_AAD_CLIENT_ID,
                            "--tenant-id",
                            SYNTH_TENANT,
                            "--login",
                            "devicecode",
                        ],
                        "env": None,
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)


#: what `daca synth` answers for the region's availability domains and images
SYNTH_ADS = [f"Uocm:SYNTH-REGION-1-AD-{n}" for n in (1, 2, 3)]
SYNTH_IMAGE = "Canonical-Ubuntu-24.04-aarch64-2026.09.18-0"


def _octet(name: str) -> int:
    return 10 + int(hashlib.sha256(name.encode()).hexdigest()[:2], 16) % 200


def _oci_outputs(token: str, name: str, state: dict[str, Any]) -> str:
    """Fill the computed outputs of a pulumi-oci resource; return its (fake) OCID."""
    if token == "oci:Core/instance:Instance":
        state["privateIp"] = f"10.0.0.{_octet(name)}"
        vnic = state.get("createVnicDetails") or {}
        public = str(vnic.get("assignPublicIp", "true")) == "true"
        state["publicIp"] = f"198.51.100.{_octet(name)}" if public else ""
    elif token == "oci:Core/publicIp:PublicIp":
        state["ipAddress"] = f"203.0.113.{_octet(name)}"
    kind = token.rsplit(":", 1)[-1].lower()
    return f"ocid1.{kind}.oc1.synth.{hashlib.sha256(name.encode()).hexdigest()[:24]}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _kubernetes_read(token: str, resource_id: str) -> dict[str, Any] | None:
    """What reading an existing object (`Resource.get`) answers offline: a Secret named
    `*-kubeconfig` holds a kubeconfig (Karmada's chart writes one), a Service has a load
    balancer address (documentation range, RFC 5737)."""
    name = resource_id.rsplit("/", 1)[-1]
    if token == "kubernetes:core/v1:Secret" and name.endswith("-kubeconfig"):
        return {"data": {"kubeconfig": _b64(FAKE_KUBECONFIG)}}
    if token == "kubernetes:core/v1:Service":
        return {"status": {"loadBalancer": {"ingress": [{"ip": f"192.0.2.{_octet(name)}"}]}}}
    return None


class SynthMocks(pulumi_mocks.Mocks):
    """Echo inputs; fill in the computed outputs the program reads."""

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        read = _kubernetes_read(args.typ, args.resource_id) if args.resource_id else None
        if read is not None:
            return args.resource_id, {**state, **read}
        if args.typ == "kubernetes:core/v1:Secret" and (
            state.get("type") == "kubernetes.io/service-account-token"
        ):
            # the token controller fills these in; the provider waits for them
            state["data"] = {
                "token": _b64(f"synth-token-{args.name}"),
                "ca.crt": _b64("-----BEGIN CERTIFICATE-----\nsynth\n-----END CERTIFICATE-----\n"),
            }
        elif args.typ == "command:local:Command":
            create = str(state.get("create", ""))
            state["stdout"] = FAKE_KUBECONFIG if "kind get kubeconfig" in create else ""
            state["stderr"] = ""
        elif args.typ == "docker:index/image:Image":
            repo = str(state.get("imageName", args.name)).rsplit(":", 1)[0]
            state["repoDigest"] = f"{repo}@{_fake_digest(args.name, repo)}"
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = _fake_digest(str(state.get("name")))
            state["repoDigest"] = f"{state.get('name')}@{state['imageId']}"
        elif args.typ == "random:index/randomString:RandomString":
            length = int(state.get("length", 6))
            state["result"] = hashlib.sha256(args.name.encode()).hexdigest()[:length]
        elif args.typ == "random:index/randomUuid:RandomUuid":
            state["result"] = _fake_guid("uuid", args.name)
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "synth-" + hashlib.sha256(args.name.encode()).hexdigest()[:24]
        elif args.typ == "command:remote:Command":
            create = str(state.get("create", ""))
            state["stdout"] = FAKE_KUBECONFIG if "k3s.yaml" in create else ""
            state["stderr"] = ""
        elif args.typ == "tls:index/privateKey:PrivateKey":
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state["publicKeyOpenssh"] = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5{seed[:40]} synth\n"
            state["privateKeyOpenssh"] = f"-----BEGIN OPENSSH PRIVATE KEY-----\nsynth-{seed}\n"
            state["privateKeyPem"] = f"-----BEGIN RSA PRIVATE KEY-----\nsynth-{seed}\n"
            state["privateKeyPemPkcs8"] = f"-----BEGIN PRIVATE KEY-----\nsynth-{seed}\n"
        elif args.typ in (
            "tls:index/selfSignedCert:SelfSignedCert",
            "tls:index/locallySignedCert:LocallySignedCert",
        ):
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state["certPem"] = (
                f"-----BEGIN CERTIFICATE-----\nsynth-{seed}\n-----END CERTIFICATE-----\n"
            )
        elif args.typ == "tls:index/certRequest:CertRequest":
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state["certRequestPem"] = f"-----BEGIN CERTIFICATE REQUEST-----\nsynth-{seed}\n"
        elif args.typ == "pulumi:pulumi:StackReference":
            # another stack's outputs: the only one the program reads is a kubeconfig
            state["outputs"] = {"kubeconfig": FAKE_KUBECONFIG}
            state["secretOutputNames"] = ["kubeconfig"]
        elif args.typ.startswith("oci:"):
            return _oci_outputs(args.typ, args.name, state), state
        elif args.typ.startswith("azure-native:") and args.typ.count(":") == 2:
            return _azure_outputs(args.typ.split(":", 1)[1], args.name, state), state
        return f"{args.name}-id", state

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": _fake_guid("deployer-client"),
                "objectId": _fake_guid("deployer"),
                "subscriptionId": SYNTH_SUBSCRIPTION,
                "tenantId": SYNTH_TENANT,
            }, []
        if args.token == "azure-native:operationalinsights:getSharedKeys":
            key = hashlib.sha256(str(args.args.get("workspaceName")).encode()).hexdigest()
            return {"primarySharedKey": f"synth-{key[:32]}", "secondarySharedKey": ""}, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            kubeconfig = fake_aks_kubeconfig(
                str(args.args.get("resourceGroupName")), str(args.args.get("resourceName"))
            )
            value = base64.b64encode(kubeconfig.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        if args.token == "oci:Identity/getAvailabilityDomains:getAvailabilityDomains":
            compartment = args.args.get("compartmentId")
            ads = [
                {"name": n, "id": f"ocid1.ad.{n}", "compartmentId": compartment} for n in SYNTH_ADS
            ]
            return {"availabilityDomains": ads, "compartmentId": compartment}, []
        if args.token == "oci:Core/getImages:getImages":
            image = {
                "id": "ocid1.image.oc1.synth.canonicalubuntu2404aarch64",
                "displayName": SYNTH_IMAGE,
                "operatingSystem": "Canonical Ubuntu",
                "operatingSystemVersion": "24.04",
            }
            return {"images": [image], "compartmentId": args.args.get("compartmentId")}, []
        if args.token == "oci:ObjectStorage/getNamespace:getNamespace":
            return {"namespace": "synthtenancy"}, []
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, plus a record of every registration in order."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            parent = request.parent.split("::")[-1] if request.parent else None
            if parent == f"{PROJECT}-{pulumi.get_stack()}":
                parent = None  # the stack itself
            self.records.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "parent": parent,
                    "custom": bool(request.custom),
                    "inputs": clean(rpc.deserialize_properties(request.object)),
                    # what the engine waits for before creating it (by resource name)
                    "dependsOn": sorted({urn.split("::")[-1] for urn in request.dependencies}),
                    "options": resource_options(request),
                    **_references(request),
                }
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """A component's registered outputs, kept on its record: what `pulumi stack export`
        shows for it, and what `daca synth` writes (the stack's own outputs are not a record)."""
        outputs = clean(rpc.deserialize_properties(request.outputs))
        for record in self.records:
            if record["urn"] == request.urn:
                record["outputs"] = outputs
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def resource_options(request: Any) -> dict[str, Any]:
    """The resource options that change how the engine replaces, updates or shows a
    resource, where the program set them (a policy pack sees none of them)."""
    options: dict[str, Any] = {}
    if request.deleteBeforeReplaceDefined:
        options["deleteBeforeReplace"] = bool(request.deleteBeforeReplace)
    if request.replaceOnChanges:
        options["replaceOnChanges"] = sorted(request.replaceOnChanges)
    if request.ignoreChanges:
        options["ignoreChanges"] = sorted(request.ignoreChanges)
    if request.additionalSecretOutputs:
        options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
    return options


def _references(request: Any) -> dict[str, Any]:
    """Where set: the provider a resource goes through (by name), and which resources
    each input comes from (`daca check` hands these to the pack, which resolves
    references such as a listener's load balancer with them)."""
    references: dict[str, Any] = {}
    if request.custom and request.provider:
        # a provider reference is `<provider urn>::<provider id>`
        references["provider"] = request.provider.split("::")[-2]
    by_property = {
        prop: sorted({urn.split("::")[-1] for urn in deps.urns})
        for prop, deps in request.propertyDependencies.items()
        if deps.urns
    }
    if by_property:
        references["propertyDependencies"] = dict(sorted(by_property.items()))
    return references


def redact(value: Any) -> Any:
    """A secret's shape without its values: keys stay, every leaf is "[secret]"."""
    if isinstance(value, Mapping):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return redact(value.get("value"))
        return {str(k): redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return SECRET_PLACEHOLDER


def clean(value: Any) -> Any:
    """Secrets redacted, whole floats to ints (the mocks send numbers as floats)."""
    if isinstance(value, Mapping):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return redact(value.get("value"))
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


async def _resolve(outputs: Mapping[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        secret = await output._is_secret
        resolved[key] = SECRET_PLACEHOLDER if secret else clean(await output.future())
    return resolved


def run_under_mocks(
    body: Callable[[], Awaitable[None] | None], stack: str, preview: bool = False
) -> list[dict[str, Any]]:
    """Run `body` as a Pulumi program against the mocks; return every registration.

    `preview=False` (update mode) is the default: only then do `apply` callbacks run.
    """
    monitor = RecordingMonitor(SynthMocks())
    # Pulumi drives the thread's current loop; earlier asyncio.run() calls (a test, a
    # server) may have left none, or a closed one
    loop: asyncio.AbstractEventLoop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    if loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi_settings.ROOT.set(None)
    pulumi_mocks.set_mocks(
        SynthMocks(), project=PROJECT, stack=stack, preview=preview, monitor=monitor
    )
    _sync_await(run_pulumi_func(body))
    return monitor.records


def evaluate(
    stack: str, config_values: dict[str, str], secret_keys: list[str], config: StackConfig
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the program for `config` under the mocks; return (records, outputs)."""
    outputs: dict[str, Any] = {}

    async def body() -> None:
        set_all_config(config_values, secret_keys)
        outputs.update(await _resolve(program.build(config)))

    return run_under_mocks(body, stack), outputs


# --- writing ------------------------------------------------------------------------


def manifest_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Kubernetes object a record stands for, or None if it is not one."""
    kind_type: str = record["type"]
    if not record["custom"] or not kind_type.startswith("kubernetes:"):
        return None
    if kind_type.startswith(EXPANDED_AT_DEPLOY):
        return None
    inputs = dict(record["inputs"])
    if "apiVersion" not in inputs or "kind" not in inputs:
        return None
    return inputs


def write_manifests(records: list[dict[str, Any]], directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    objects = [m for m in (manifest_of(r) for r in records) if m is not None]

    def order(obj: Mapping[str, Any]) -> tuple[int, str, str, str]:
        meta = obj.get("metadata") or {}
        rank = _KIND_ORDER.get(obj["kind"], len(_KIND_ORDER))
        return rank, obj["kind"], str(meta.get("namespace") or ""), str(meta.get("name") or "")

    # the same program gives the same files, byte for byte (the engine registers in no
    # fixed order): objects by kind, namespace and name; keys sorted, which also puts
    # apiVersion, kind, metadata and spec first
    objects.sort(key=order)
    for index, obj in enumerate(objects):
        meta = obj.get("metadata") or {}
        parts = [f"{index:03d}", obj["kind"].lower(), meta.get("namespace"), meta.get("name")]
        filename = "-".join(str(p) for p in parts if p) + ".yaml"
        (directory / filename).write_text(yaml.safe_dump(obj, sort_keys=True))
    return len(objects)


def synthesize(
    stack: str, config_file: Path | None = None, out_dir: Path | None = None
) -> SynthResult:
    """Evaluate `stack` offline and write `resources.json` and `manifests/`.

    Raises ConfigError (one line) on bad config, before any resource is registered.
    """
    started = time.perf_counter()
    path = config_file or stack_file(stack)
    config, values, secrets = load_stack_config(path)
    records, outputs = evaluate(stack, values, secrets, config)
    out = out_dir or REPO_ROOT / "build" / "synth" / stack
    out.mkdir(parents=True, exist_ok=True)
    # by URN, keys sorted: the same program gives the same file, byte for byte
    by_urn = sorted(records, key=lambda record: str(record["urn"]))
    (out / "resources.json").write_text(json.dumps(by_urn, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    write_manifests(records, out / "manifests")
    not_rendered = [
        f"{r['type']} {r['name']}" for r in records if r["type"].startswith(EXPANDED_AT_DEPLOY)
    ]
    return SynthResult(
        stack=stack,
        config=config,
        out_dir=out,
        resources=records,
        outputs=outputs,
        seconds=time.perf_counter() - started,
        not_rendered=not_rendered,
    )
