"""What each of our components hands on: the outputs it registers.

A component's registered outputs are what `pulumi stack export` and the Pulumi console show
for it and what `daca synth` writes beside its record; a stack built on ours reads them. A
null there, a name that is no object of the component, or a credential in the clear is
what a user of the component would trip on. Checked over the variants of
tests/infra/test_references.py (every optional part on in one stack or another), on
prototype, oci, planet and planet on Karmada.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import defaultdict
from urllib.parse import urlsplit

import pulumi_tls
import pytest

from infra.config.base import SECRET_PLACEHOLDER
from infra.synth import SynthResult, manifest_of
from tests.infra.conftest import Record
from tests.infra.test_references import VARIANTS, variant_records

#: components whose objects are the whole of them: nothing for another to read
NOTHING_TO_HAND_ON = {"daca:k8s:KafkaMirror"}

#: an output named for an object kind names an object of that kind the component made
NAMED_KINDS = {
    "deploymentName": "Deployment",
    "serviceName": "Service",
    "secretName": "Secret",
    "scaledObjectName": "ScaledObject",
}
CAMEL_CASE = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*")
CREDENTIAL = re.compile(r"password|kubeconfig|token|privatekey", re.IGNORECASE)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def records(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[Record]:
    return variant_records(request.param, tmp_path_factory.mktemp(request.param))


def _components(records: list[Record]) -> list[Record]:
    found = [r for r in records if not r["custom"] and r["type"].startswith("daca:")]
    assert found, "no component of ours in this stack: the test would check nothing"
    return found


def _descendants(records: list[Record]) -> dict[str, list[Record]]:
    """By component name: every record under it, however deep (parents are by name)."""
    children: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.get("parent"):
            children[record["parent"]].append(record)
    below: dict[str, list[Record]] = {}

    def walk(name: str, seen: set[str]) -> list[Record]:
        found: list[Record] = []
        for child in children.get(name, []):
            found.append(child)
            if child["name"] not in seen:
                found += walk(child["name"], seen | {child["name"]})
        return found

    for record in records:
        if not record["custom"]:
            below[record["name"]] = walk(record["name"], {record["name"]})
    return below


def _empty(value: object) -> bool:
    return value is None or value in ("", [], {})


def test_every_component_registers_what_it_hands_on(records: list[Record]) -> None:
    for component in _components(records):
        where = f"{component['type']} {component['name']}"
        outputs = component.get("outputs")
        assert outputs is not None, f"{where} registers no outputs"
        if component["type"] in NOTHING_TO_HAND_ON:
            continue
        assert outputs, f"{where} registers nothing"
        for key, value in outputs.items():
            assert CAMEL_CASE.fullmatch(key), f"{where}: output {key!r} is not camelCase"
            assert not _empty(value), f"{where}: output {key} is {value!r}"
            if isinstance(value, list):
                assert not any(_empty(v) for v in value), f"{where}: output {key} is {value}"


def test_a_credential_output_is_a_secret(records: list[Record]) -> None:
    seen = 0
    for component in _components(records):
        for key, value in (component.get("outputs") or {}).items():
            if CREDENTIAL.search(key):
                assert value == SECRET_PLACEHOLDER, (
                    f"{component['type']} {component['name']}: output {key} is in the clear"
                )
                seen += 1
    if not seen:
        pytest.skip("no credential output in this variant")


def test_an_output_naming_an_object_names_one_the_component_made(records: list[Record]) -> None:
    below = _descendants(records)
    seen: set[str] = set()
    for component in _components(records):
        made = [m for r in below[component["name"]] if (m := manifest_of(r)) is not None]
        for key, value in (component.get("outputs") or {}).items():
            where = f"{component['type']} {component['name']}: {key}={value!r}"
            if key in NAMED_KINDS:
                names = {m["metadata"]["name"] for m in made if m["kind"] == NAMED_KINDS[key]}
                assert value in names, f"{where}: its {NAMED_KINDS[key]}s are {sorted(names)}"
                seen.add(key)
            elif key == "namespace":
                # its objects' namespace, or where its Helm release installs
                namespaces = {m["metadata"].get("namespace") for m in made} | {
                    r["inputs"].get("namespace")
                    for r in below[component["name"]]
                    if r["type"] == "kubernetes:helm.sh/v3:Release"
                }
                assert value in namespaces, (
                    f"{where}: its objects are in {sorted(map(str, namespaces))}"
                )
                seen.add(key)
            elif key == "name" and component["type"] == "daca:k8s:AppNamespace":
                assert value in {m["metadata"]["name"] for m in made if m["kind"] == "Namespace"}
                seen.add(key)
    assert {"deploymentName", "serviceName", "namespace"} <= seen


def _serves(records: list[Record], service: str, namespace: str) -> bool:
    """A Service of that name in that namespace: ours, one a Helm release there makes (the
    chart names its Services after `fullnameOverride`, else the release), or Strimzi's."""
    for record in records:
        manifest = manifest_of(record)
        if manifest is not None and manifest["kind"] == "Service":
            meta = manifest["metadata"]
            if (meta["name"], meta.get("namespace")) == (service, namespace):
                return True
        if manifest is not None and manifest["kind"] == "Kafka":
            # Strimzi makes `<cluster>-kafka-bootstrap` beside the Kafka
            meta = manifest["metadata"]
            if (f"{meta['name']}-kafka-bootstrap", meta.get("namespace")) == (service, namespace):
                return True
        if record["type"] == "kubernetes:helm.sh/v3:Release":
            inputs = record["inputs"]
            prefix = (inputs.get("values") or {}).get("fullnameOverride") or inputs.get("name")
            if inputs.get("namespace") == namespace and prefix and service.startswith(prefix):
                return True
    return False


def test_an_address_output_is_a_url_or_host_and_port(records: list[Record]) -> None:
    """And an in-cluster address (`<service>.<namespace>.svc…`) names a Service there."""
    seen = 0
    for component in _components(records):
        for key, value in (component.get("outputs") or {}).items():
            where = f"{component['type']} {component['name']}: {key}={value!r}"
            if key == "url" or key.endswith("Url"):
                parts = urlsplit(value)
                assert parts.scheme in ("http", "https"), where
                assert parts.hostname, where
                host = parts.hostname
            elif key in ("host", "bootstrapServers"):
                host, _, port = str(value).rpartition(":")
                assert host, where
                assert port.isdigit(), where
            else:
                continue
            if host.endswith((".svc", ".svc.cluster.local")):
                labels = host.split(".")
                assert labels[2:] in (["svc"], ["svc", "cluster", "local"]), (
                    f"{where}: not <service>.<namespace>.svc"
                )
                assert _serves(records, labels[0], labels[1]), f"{where}: no such Service"
                seen += 1
    assert seen, "no in-cluster address among the outputs: the test would check nothing"


def test_synth_writes_each_components_outputs(prototype: SynthResult) -> None:
    """`daca synth` shows them: resources.json holds the workload's outputs."""
    written = json.loads(prototype.resources_path.read_text())
    workload = next(r for r in written if r["type"] == "daca:k8s:AgentWorkload")
    assert workload["outputs"] == {"deploymentName": "daca-agent", "serviceName": "daca-agent"}


#: the tls provider's defaults: RSA of 2048 bits, ECDSA on P224
STRONG_RSA_BITS = 3072
STRONG_CURVES = {"P256", "P384", "P521"}


def test_every_private_key_is_strong(records: list[Record]) -> None:
    """A CA or node key made here lives for years: RSA of 3072 bits or more (NIST SP
    800-57 past 2030), ECDSA on P-256 or stronger, or Ed25519; the tls provider's
    defaults (RSA 2048, P-224) are not."""
    keys = [r for r in records if r["type"] == "tls:index/privateKey:PrivateKey"]
    for key in keys:
        inputs = key["inputs"]
        algorithm = inputs["algorithm"]
        if algorithm == "RSA":
            assert inputs.get("rsaBits", 2048) >= STRONG_RSA_BITS, key["name"]
        elif algorithm == "ECDSA":
            assert inputs.get("ecdsaCurve", "P224") in STRONG_CURVES, key["name"]
        else:
            assert algorithm == "ED25519", key["name"]
    if not keys:
        pytest.skip("no key made in this variant")


def test_every_certificate_is_signed_with_a_key_made_here(records: list[Record]) -> None:
    keys = {r["name"] for r in records if r["type"] == "tls:index/privateKey:PrivateKey"}
    certs = [r for r in records if r["type"].startswith("tls:index/") and "Cert" in r["type"]]
    for cert in certs:
        used = {
            name
            for prop, names in (cert.get("propertyDependencies") or {}).items()
            if prop in ("privateKeyPem", "caPrivateKeyPem")
            for name in names
        }
        assert used, f"{cert['name']} is signed with no key"
        assert used <= keys, f"{cert['name']} is signed with {sorted(used - keys)}"
    if not certs:
        pytest.skip("no certificate made in this variant")


LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"


def _accepted_key_usages() -> set[str]:
    """The key usages the tls provider accepts, as its SDK documents them."""
    source = inspect.getsource(pulumi_tls.SelfSignedCert)
    found = re.search(r"allowed_uses: .*?Accepted values: (.*?)\.\n", source)
    assert found, "the tls SDK no longer lists its accepted key usages"
    return set(re.findall(r"`([a-z_]+)`", found.group(1)))


def test_every_certificate_allows_only_uses_the_tls_provider_knows(
    records: list[Record],
) -> None:
    """The provider refuses an unknown key usage at `pulumi up`, after the keys exist; a
    CA must be allowed to sign certificates and a leaf to serve or to log in."""
    accepted = _accepted_key_usages()
    assert {"cert_signing", "server_auth", "client_auth", "digital_signature"} <= accepted
    certs = [
        r
        for r in records
        if r["type"] in ("tls:index/selfSignedCert:SelfSignedCert", LOCALLY_SIGNED)
    ]
    for cert in certs:
        uses = set(cert["inputs"]["allowedUses"])
        assert uses <= accepted, f"{cert['name']}: {sorted(uses - accepted)}"
        if cert["inputs"].get("isCaCertificate"):
            assert "cert_signing" in uses, cert["name"]
        else:
            assert uses & {"server_auth", "client_auth"}, cert["name"]
    if not certs:
        pytest.skip("no certificate made in this variant")


#: Pulumi type tokens, `<package>:<module>:<Type>`: a URN holds it, so a respelt one
#: replaces the component and everything under it on the next `up`
TYPE_TOKEN = re.compile(r"daca:[a-z0-9]+:[A-Z][A-Za-z0-9]*")


def test_every_component_type_is_a_pulumi_type_token(records: list[Record]) -> None:
    for component in _components(records):
        assert TYPE_TOKEN.fullmatch(component["type"]), component["type"]
