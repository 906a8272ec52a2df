"""The `oci` stage's config: where in Oracle Cloud, the network, the k3s nodes and the caps.

The Always Free caps are config (Oracle changes them: A1 went from 4 OCPU / 24 GB to
2 OCPU / 12 GB in total in June 2026). A config over a cap stops the program before any
resource is registered; the policy pack checks the same caps on what it registers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from infra.config.base import (
    NAMESPACE,
    ConfigError,
    DnsLabel,
    _Section,
)
from infra.config.kubernetes import KubernetesStackConfig

_OCID = re.compile(r"^ocid1\.[a-z0-9]+\.oc[0-9]+\.[a-z0-9-]*\.[a-z0-9]+$")
_OCI_REGION = re.compile(r"^[a-z]{2}-[a-z]+-[0-9]$")
_K3S_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
#: the one shape this stage launches: Always Free covers Ampere A1 only up to the caps
A1_SHAPE = "VM.Standard.A1.Flex"
#: OCI's smallest boot volume (GB)
MIN_BOOT_VOLUME_GBS = 50


def _ocid(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        if not _OCID.match(value) or not value.startswith(f"ocid1.{kind}."):
            raise ValueError(
                f"must be an OCI {kind} OCID like 'ocid1.{kind}.oc1..aaaa…' "
                "(OCI Console → Identity → Compartments, or `oci iam compartment list`)"
            )
        return value

    return AfterValidator(check)


def _region(value: str) -> str:
    if not _OCI_REGION.match(value):
        raise ValueError(
            "must be an OCI region identifier such as 'eu-frankfurt-1' or 'us-ashburn-1' "
            "(`oci iam region-subscription list`)"
        )
    return value


def _cidr(value: str) -> str:
    if "/" not in value:
        raise ValueError("must be a CIDR block with its prefix length, e.g. '203.0.113.7/32'")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("must be a CIDR block such as '10.0.0.0/16' (host bits zero)") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 CIDR block")
    return value


def _operator_cidr(value: str) -> str:
    _cidr(value)
    if ipaddress.ip_network(value).prefixlen < 8:
        raise ValueError(
            "must be your own address range (e.g. '203.0.113.7/32', from `curl -s "
            "ifconfig.me`): SSH and the Kubernetes API are never opened to the internet"
        )
    return value


def _k3s_version(value: str) -> str:
    if not _K3S_VERSION.match(value):
        raise ValueError("must be an exact k3s release such as 'v1.33.5+k3s1'")
    return value


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError("must be a fully qualified DNS name such as 'agent.example.com'")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class OciNodeConfig(_Section):
    """One A1.Flex VM: its share of the Always Free OCPUs, memory and block storage."""

    ocpus: Annotated[float, Field(gt=0, le=80)] = 1
    memory_gbs: Annotated[float, Field(gt=0, le=512)] = 6
    boot_volume_gbs: Annotated[int, Field(ge=MIN_BOOT_VOLUME_GBS, le=32768)] = 50


class OciAgentsConfig(OciNodeConfig):
    """The k3s agents: all alike."""

    count: Annotated[int, Field(ge=0, le=20)] = 1


class OciImageConfig(_Section):
    """The node image: found by shape (aarch64, never a Minimal image), or pinned by OCID."""

    operating_system: Literal["Canonical Ubuntu"] = "Canonical Ubuntu"
    operating_system_version: Literal["24.04", "22.04"] = "24.04"
    #: pins the image; unset, the newest matching platform image is looked up
    id: Annotated[str, _ocid("image")] | None = None


class OciNetworkConfig(_Section):
    """The VCN: one public subnet by default; private nodes (+ NAT gateway) by config."""

    vcn_cidr: Cidr = "10.0.0.0/16"
    public_subnet_cidr: Cidr = "10.0.0.0/24"
    private_subnet_cidr: Cidr = "10.0.1.0/24"
    #: nodes in a private subnet behind a NAT gateway (NOT Always Free: raise
    #: `caps.maxNatGateways` to 1 to accept its cost); SSH then goes through the NLB
    private_nodes: bool = False

    @model_validator(mode="after")
    def _subnets_inside_vcn(self) -> OciNetworkConfig:
        vcn = ipaddress.ip_network(self.vcn_cidr)
        for key, cidr in (
            ("publicSubnetCidr", self.public_subnet_cidr),
            ("privateSubnetCidr", self.private_subnet_cidr),
        ):
            if not ipaddress.ip_network(cidr).subnet_of(vcn):  # type: ignore[arg-type]
                raise ValueError(f"{key} {cidr} is not inside vcnCidr {self.vcn_cidr}")
        if ipaddress.ip_network(self.public_subnet_cidr).overlaps(
            ipaddress.ip_network(self.private_subnet_cidr)
        ):
            raise ValueError(
                f"publicSubnetCidr {self.public_subnet_cidr} overlaps privateSubnetCidr "
                f"{self.private_subnet_cidr}"
            )
        return self


class OciCapsConfig(_Section):
    """Always Free limits (Oracle's, as of June 2026); over them the stage refuses to run."""

    max_a1_ocpus: Annotated[float, Field(ge=0)] = 2
    max_a1_memory_gbs: Annotated[float, Field(ge=0)] = 12
    #: boot + block volumes, all instances together
    max_block_storage_gbs: Annotated[int, Field(ge=0)] = 200
    #: NAT gateways are not Always Free
    max_nat_gateways: Annotated[int, Field(ge=0)] = 0


class OciIngressConfig(_Section):
    """The public HTTPS entry: Traefik (k3s) + cert-manager with Let's Encrypt HTTP-01."""

    #: unset: `<reserved-ip>.sslip.io`, which needs no domain
    host: Annotated[str, AfterValidator(_hostname)] | None = None
    #: Let's Encrypt account email (expiry notices); optional
    acme_email: Annotated[str, Field(pattern=_EMAIL.pattern)] | None = None
    #: `staging` while testing: production issues at most 5 certificates per host a week
    acme_server: Literal["production", "staging"] = "production"


class OciRegistryConfig(_Section):
    """Oracle Container Registry (OCIR), used when `daca:app.image` is unset."""

    #: the OCI user that pushes, as `docker login` wants it after the namespace:
    #: `<user>` or, for federated users, `oracleidentitycloudservice/<user>`;
    #: its auth token is the secret `daca:ociAuthToken`
    username: str | None = None
    repository: DnsLabel = "daca-agent"


class OciSiteConfig(_Section):
    """A k3s cluster on OCI: where, from where it is run, and its nodes. The `oci` stage's
    section and a planet region's `kind: oci` cluster both are one."""

    region: Annotated[str, AfterValidator(_region)]
    #: the profile of the OCI CLI's ~/.oci/config (`oci setup config`) that holds the API
    #: key; the provider also takes TF_VAR_tenancy_ocid, TF_VAR_user_ocid, ... from the env
    config_profile: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "DEFAULT"
    compartment_id: Annotated[str, _ocid("compartment")]
    #: 1-3: the availability domain of every node (A1 capacity varies between them)
    availability_domain: Annotated[int, Field(ge=1, le=3)] = 1
    #: the only source allowed to reach SSH (22) and the Kubernetes API (6443)
    operator_cidr: Annotated[str, AfterValidator(_operator_cidr)]
    # kept equal to cloud_init.K3S_VERSION (a test checks), the release the renderer is
    # tested with; an explicit alias, since the camelCase generator would say `k3SVersion`
    k3s_version: Annotated[str, AfterValidator(_k3s_version), Field(alias="k3sVersion")] = (
        "v1.36.4+k3s1"
    )
    image: OciImageConfig = OciImageConfig()
    server: OciNodeConfig = OciNodeConfig()
    agents: OciAgentsConfig = OciAgentsConfig()
    caps: OciCapsConfig = OciCapsConfig()

    def check_free_tier(self, key: str) -> None:
        """Refuse nodes over the caps; `key` is where this section lives (`daca:oci`)."""
        nodes = [self.server] + [self.agents] * self.agents.count
        agents = f"{self.agents.count} x agents"
        for field, total, cap, cap_key in (
            ("ocpus", sum(n.ocpus for n in nodes), self.caps.max_a1_ocpus, "maxA1Ocpus"),
            (
                "memoryGbs",
                sum(n.memory_gbs for n in nodes),
                self.caps.max_a1_memory_gbs,
                "maxA1MemoryGbs",
            ),
            (
                "bootVolumeGbs",
                sum(n.boot_volume_gbs for n in nodes),
                self.caps.max_block_storage_gbs,
                "maxBlockStorageGbs",
            ),
        ):
            if total > cap:
                raise ConfigError(
                    f"{key}.server.{field} + {key}.agents.{field} ({agents}) total {total:g}, "
                    f"above the Always Free cap of {cap:g} ({key}.caps.{cap_key}); shrink "
                    "the nodes or, to pay for more, raise the cap"
                )


class OciConfig(OciSiteConfig):
    """Where the stage deploys and what it launches."""

    #: an extra public key (OpenSSH format) allowed to log in as `ubuntu`
    ssh_public_key: (
        Annotated[str, Field(pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) \S+")] | None
    ) = None
    network: OciNetworkConfig = OciNetworkConfig()
    ingress: OciIngressConfig = OciIngressConfig()
    registry: OciRegistryConfig = OciRegistryConfig()


class OciStackConfig(KubernetesStackConfig):
    """The `oci` stage: k3s on Always Free Ampere A1 VMs, the shared Kubernetes platform on it."""

    stage: Literal["oci"]
    oci: OciConfig
    # Secret config only: an OCI auth token for OCIR (`pulumi config set --secret`)
    oci_auth_token: str | None = None

    component_types: ClassVar[Mapping[str, frozenset[str]]] = {
        "stateStore": frozenset({"state.redis"}),
        "pubsub": frozenset({"pubsub.redis", "pubsub.kafka"}),
        "secretStore": frozenset({"secretstores.kubernetes"}),
    }

    @property
    def kubernetes_version(self) -> str:
        """The Kubernetes version k3s runs: what manifests are validated against."""
        return self.oci.k3s_version.removeprefix("v").split("+", 1)[0]

    def check_stage(self) -> None:
        self._check_caps()
        if self.app.image is None and not (self.oci.registry.username and self.oci_auth_token):
            raise ConfigError(
                f"{NAMESPACE}:app.image is unset, so the image is built and pushed to OCIR, "
                f"which needs {NAMESPACE}:oci.registry.username and the secret "
                f"{NAMESPACE}:ociAuthToken (`pulumi config set --secret {NAMESPACE}:ociAuthToken "
                "<token>`); or set app.image to an arm64 image you already published"
            )

    def _check_caps(self) -> None:
        oci = self.oci
        oci.check_free_tier(f"{NAMESPACE}:oci")
        if oci.network.private_nodes and oci.caps.max_nat_gateways < 1:
            raise ConfigError(
                f"{NAMESPACE}:oci.network.privateNodes: true needs a NAT gateway, which is not "
                f"Always Free; set {NAMESPACE}:oci.caps.maxNatGateways: 1 to accept its cost"
            )
