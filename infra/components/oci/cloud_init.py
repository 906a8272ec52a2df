"""cloud-init user data for the `oci` stage's k3s nodes: one server and N agents.

Pure Python, no Pulumi: the caller renders inside an `Output.apply` (the token is a
secret, so the rendered document and its base64 are secret Outputs too) and hands
`encode_user_data(...)` to the instance's `metadata["user_data"]`.

Every node boots from Canonical's Ubuntu 24.04 aarch64 platform image and runs:

1. the Oracle firewall fix: the image's catch-all REJECT rules on INPUT and FORWARD go,
   every other rule stays;
2. the pinned k3s install: `install.sh` from the same k3s tag as the binary, with the
   node's settings (token included) read from `/etc/rancher/k3s/config.yaml` (0600).

Nothing is upgraded at boot: the image plus the pinned k3s is the whole node, so two
boots of the same document give the same node, and the first boot is minutes faster.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote

import yaml

# The k3s release every node installs unless its config says otherwise. Confirmed in
# k3s-io/k3s: PR #14545 "[release-1.36] Update to v1.36.4-k3s1" (the release) and
# PR #14553 "Update stable to v1.36.4+k3s1" (merged 2026-08-27: the stable channel, which
# only ever names a published tag); no later stable move was found. The same tag's
# install.sh is pinned at https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/
# install.sh by several public deployments. Bump it together with a test run on a node.
K3S_VERSION: Final = "v1.36.4+k3s1"

# OCI caps an instance's `metadata` plus `extendedMetadata` at 32,000 bytes in total
# (Oracle Cloud Infrastructure documentation, Compute, "Updating Instance Metadata":
# "The combined size of these two attributes can be a maximum of 32,000 bytes"; the
# LaunchInstanceDetails API reference says the same). `user_data` is stored there
# base64-encoded, so the encoded size is what counts, next to `ssh_authorized_keys`.
OCI_METADATA_MAX_BYTES: Final = 32_000

#: where Oracle's images keep the IPv4 rules that netfilter-persistent restores at boot
ORACLE_RULES_V4: Final = "/etc/iptables/rules.v4"
#: k3s reads this file on every start; it holds the token, hence mode 0600
K3S_CONFIG_PATH: Final = "/etc/rancher/k3s/config.yaml"
#: the firewall fix, written by cloud-init and run from runcmd (and by hand, if needed)
FIREWALL_FIX_PATH: Final = "/usr/local/sbin/daca-oci-firewall-fix"
#: the pinned k3s installer wrapper, written by cloud-init and run from runcmd
K3S_INSTALL_PATH: Final = "/usr/local/sbin/daca-k3s-install"
#: the port agents join on and the NLB forwards (restricted) for the operator
K3S_API_PORT: Final = 6443

#: what a document makes of a node: its install.sh command and its systemd unit follow
Role = Literal["server", "agent"]

# Removes only Oracle's two catch-all REJECT rules, live and in the saved rules file.
#
# Why: Oracle's Ubuntu images end INPUT and FORWARD with
#   -A INPUT -j REJECT --reject-with icmp-host-prohibited
#   -A FORWARD -j REJECT --reject-with icmp-host-prohibited
# which drop flannel's VXLAN (UDP 8472), the kubelet (10250), the API server (6443),
# ServiceLB's 80/443 and every forwarded pod packet. The VCN's security list and NSGs
# are the firewall this stage relies on; these two rules only break the cluster.
# Everything else stays, above all Oracle's InstanceServices chain (which has REJECT
# rules of its own): it keeps non-root users off the boot volume's iSCSI target and the
# metadata service, and Oracle asks that it be left alone.
#
# The rules file path is the first argument (tests run it on a copy). Idempotent: a rule
# that is already gone is not looked for twice, and a file with nothing to remove is not
# rewritten. No `set -x`: nothing here is secret, but nothing here needs tracing either.
_FIREWALL_FIX_SCRIPT: Final = r"""#!/bin/sh
# Removes Oracle's catch-all REJECT rules on INPUT and FORWARD, and only those,
# from the running firewall and from the rules file restored at boot.
# Usage: daca-oci-firewall-fix [RULES_FILE]   (default /etc/iptables/rules.v4)
set -eu

rules_file=${1:-/etc/iptables/rules.v4}
# exactly Oracle's lines; a REJECT with any match before it is someone's rule, not Oracle's
pattern='^-A (INPUT|FORWARD) -j REJECT --reject-with icmp-host-prohibited[[:space:]]*$'

if command -v iptables >/dev/null 2>&1; then
    for chain in INPUT FORWARD; do
        # -C succeeds while the rule is there: deletes every copy, and none on a re-run
        while iptables -w -C "$chain" -j REJECT --reject-with icmp-host-prohibited 2>/dev/null; do
            iptables -w -D "$chain" -j REJECT --reject-with icmp-host-prohibited
            echo "daca-oci-firewall-fix: removed the REJECT rule from the live $chain chain"
        done
    done
else
    echo "daca-oci-firewall-fix: no iptables command; only the rules file is checked" >&2
fi

if [ ! -f "$rules_file" ]; then
    echo "daca-oci-firewall-fix: $rules_file does not exist; nothing to persist"
    exit 0
fi
if grep -Eq "$pattern" "$rules_file"; then
    sed -E -i "/$pattern/d" "$rules_file"
    echo "daca-oci-firewall-fix: removed the REJECT rules from $rules_file"
else
    echo "daca-oci-firewall-fix: $rules_file has no catch-all REJECT rule; unchanged"
fi
"""

# Installs k3s at a pinned release with the install.sh of that same tag.
#
# Arguments, not environment: ROLE VERSION INSTALL_SH_URL [INSTALL_SH_SHA256]. The token
# is in none of them; k3s reads it from the 0600 config file, so it never shows in `ps`,
# in cloud-init's logs or in the `.env` file install.sh writes for the systemd unit
# (install.sh copies every K3S_* variable of its environment there, which is also why
# this script sets none).
_K3S_INSTALL_SCRIPT: Final = r"""#!/bin/sh
# Installs k3s VERSION as ROLE with the install.sh of that same tag, then starts it.
# Usage: daca-k3s-install server|agent VERSION INSTALL_SH_URL [INSTALL_SH_SHA256]
# The token is never an argument: k3s reads it from /etc/rancher/k3s/config.yaml.
set -eu

usage='usage: daca-k3s-install server|agent VERSION INSTALL_SH_URL [INSTALL_SH_SHA256]'
role=${1:?$usage}
version=${2:?$usage}
url=${3:?$usage}
sha256=${4:-}
# overridable for tests only; no K3S_* name, which install.sh would copy into the unit
config=${DACA_K3S_CONFIG:-/etc/rancher/k3s/config.yaml}

case "$role" in
    server) unit=k3s ;;
    agent) unit=k3s-agent ;;
    *) echo "daca-k3s-install: role must be server or agent, not '$role'" >&2; exit 2 ;;
esac
# without its config file a server would start with a token nobody knows
if [ ! -f "$config" ]; then
    echo "daca-k3s-install: $config is missing; refusing to install k3s without it" >&2
    exit 1
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
installer="$workdir/install.sh"

# The network may still be settling at first boot (DNS, routes): retry every error,
# not only the ones curl deems transient.
curl --proto '=https' --tlsv1.2 -fsSL --connect-timeout 10 --max-time 120 \
    --retry 10 --retry-delay 6 --retry-all-errors -o "$installer" "$url"

if [ -n "$sha256" ]; then
    if ! printf '%s  %s\n' "$sha256" "$installer" | sha256sum -c - >/dev/null 2>&1; then
        echo "daca-k3s-install: $url does not match the pinned sha256 $sha256" >&2
        exit 1
    fi
fi

# install.sh fetches the binary and its checksums with one curl each and no retry, so
# the whole (idempotent) install is retried. SKIP_START keeps a slow start out of
# this loop: the service is started once, below.
attempt=1
until INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC="$role" INSTALL_K3S_SKIP_START=true \
    sh "$installer"; do
    if [ "$attempt" -ge 5 ]; then
        echo "daca-k3s-install: install.sh failed $attempt times; giving up" >&2
        exit 1
    fi
    sleep $((attempt * 15))
    attempt=$((attempt + 1))
done

# The unit is Type=notify with no start timeout: this returns once k3s is ready, so
# cloud-init's "done" means a running node. The bound keeps an agent whose server
# never answers from holding cloud-init forever; systemd keeps trying in the background.
if ! timeout 900 systemctl start "$unit"; then
    echo "daca-k3s-install: $unit not ready after 15 minutes; systemd keeps trying" >&2
    exit 1
fi
echo "daca-k3s-install: k3s $version $role is running"
"""

_VERSION_RE: Final = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$")
_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_DNS_LABEL: Final = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_NAME_RE: Final = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
_LABEL_RE: Final = re.compile(
    r"^(?:(?P<prefix>[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
    r"=(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
)
# The kubelet refuses to start with self-set labels under these prefixes (NodeRestriction),
# except the two namespaces set aside for it.
_RESERVED_LABEL_SUFFIXES: Final = ("kubernetes.io", "k8s.io")
_KUBELET_LABEL_PREFIXES: Final = ("kubelet.kubernetes.io", "node.kubernetes.io")
_MIN_TOKEN_LENGTH: Final = 16


@dataclass(frozen=True, kw_only=True)
class K3sNodeConfig:
    """What every k3s node needs, server or agent; see the two subclasses."""

    #: the cluster's join secret (a random string, or k3s's `K10…::server:…` form);
    #: only ever written to the 0600 config file
    token: str
    #: the node's private VCN address for `node-ip`; None lets k3s pick the primary
    #: VNIC's address, which on OCI is the private one anyway
    node_ip: str | None = None
    #: the Kubernetes node name; None keeps the instance's hostname
    node_name: str | None = None
    #: `key=value` labels the kubelet registers the node with
    node_labels: tuple[str, ...] = ()
    #: the exact k3s release to install (`vX.Y.Z+k3sN`)
    k3s_version: str = K3S_VERSION
    #: optional sha256 of that release's install.sh; when set, a different script is
    #: refused (compute it once from the tag, bump it with the version)
    install_sh_sha256: str | None = None

    def __post_init__(self) -> None:
        _check_token("token", self.token)
        if self.node_ip is not None:
            _check_ip("node_ip", self.node_ip)
        if self.node_name is not None and not _is_dns_name(self.node_name):
            raise ValueError(f"node_name {self.node_name!r} is not a lowercase RFC 1123 DNS name")
        object.__setattr__(self, "node_labels", _as_tuple("node_labels", self.node_labels))
        for label in self.node_labels:
            _check_label(label)
        if not _VERSION_RE.match(self.k3s_version):
            raise ValueError(
                f"k3s_version {self.k3s_version!r} is not an exact k3s release such as "
                f"{K3S_VERSION!r}"
            )
        if self.install_sh_sha256 is not None and not _SHA256_RE.match(self.install_sh_sha256):
            raise ValueError(
                f"install_sh_sha256 {self.install_sh_sha256!r} is not 64 lowercase hex digits"
            )


@dataclass(frozen=True, kw_only=True)
class K3sServerConfig(K3sNodeConfig):
    """The k3s server (control plane, and a worker too: Always Free has no room to spare)."""

    #: the public address(es) clients reach the API on (the reserved IP / NLB address,
    #: DNS names): each becomes a `tls-san` of the API server certificate. k3s adds the
    #: node's own addresses and hostname by itself.
    tls_sans: tuple[str, ...]
    #: optional separate join secret for agents: they then never hold `token`, which
    #: would let a machine join as a server and decrypt the cluster's bootstrap data
    agent_token: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "tls_sans", _as_tuple("tls_sans", self.tls_sans))
        if not self.tls_sans:
            raise ValueError("tls_sans is empty: name at least the API's public address")
        for san in self.tls_sans:
            if not (_is_ip(san) or _is_dns_name(san)):
                raise ValueError(f"tls_sans entry {san!r} is neither an IP address nor a DNS name")
        if self.agent_token is not None:
            _check_token("agent_token", self.agent_token)
            if self.agent_token == self.token:
                raise ValueError("agent_token equals token: leave it unset or make it different")


@dataclass(frozen=True, kw_only=True)
class K3sAgentConfig(K3sNodeConfig):
    """A k3s agent (worker). `token` is the server's `agent_token` if it has one."""

    #: the server's private VCN address: agents join inside the VCN, never over the
    #: internet (the NSGs keep 6443 closed to the world)
    server_ip: str

    def __post_init__(self) -> None:
        super().__post_init__()
        address = _check_ip("server_ip", self.server_ip)
        if not address.is_private:
            raise ValueError(
                f"server_ip {self.server_ip!r} is not a private address: agents join the "
                "server over the VCN, not the internet"
            )

    @property
    def server_url(self) -> str:
        """The `server:` URL agents join: `https://<server-private-ip>:6443`."""
        host = self.server_ip
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
        return f"https://{host}:{K3S_API_PORT}"


def k3s_install_sh_url(version: str = K3S_VERSION) -> str:
    """The URL of install.sh at the k3s tag `version` (the `+` spelled `%2B`)."""
    if not _VERSION_RE.match(version):
        raise ValueError(f"{version!r} is not an exact k3s release such as {K3S_VERSION!r}")
    return f"https://raw.githubusercontent.com/k3s-io/k3s/{quote(version, safe='')}/install.sh"


def server_k3s_config(config: K3sServerConfig) -> dict[str, Any]:
    """The server's `/etc/rancher/k3s/config.yaml` as a mapping (keys are k3s flags)."""
    settings: dict[str, Any] = {
        "token": config.token,
        # the API certificate must name the public address kubectl and the NLB use
        "tls-san": list(config.tls_sans),
        # the admin kubeconfig is cluster-admin: root only (the stage reads it over SSH
        # with sudo). Explicit, so no K3S_KUBECONFIG_MODE or default change can widen it.
        "write-kubeconfig-mode": "0600",
        # Secrets are encrypted at rest in the datastore. secretbox (XSalsa20-Poly1305,
        # k3s-io/k3s#12021, in every release since April 2025) is authenticated, unlike
        # the default aescbc; set before the first start, it needs no key rotation.
        "secrets-encryption": True,
        "secrets-encryption-provider": "secretbox",
    }
    if config.agent_token is not None:
        settings["agent-token"] = config.agent_token
    settings.update(_node_settings(config))
    # Deliberately left at k3s's defaults:
    # - Traefik and ServiceLB stay enabled: the stage's Network Load Balancer forwards
    #   80/443 to the nodes, where ServiceLB exposes Traefik.
    # - the datastore stays SQLite (no `cluster-init`): one server, and embedded etcd
    #   would cost RAM and disk writes that the Always Free nodes cannot spare.
    # - flannel stays VXLAN (UDP 8472) inside the private VCN.
    # - cluster-cidr 10.42.0.0/16 and service-cidr 10.43.0.0/16: the VCN must not use them.
    return settings


def agent_k3s_config(config: K3sAgentConfig) -> dict[str, Any]:
    """An agent's `/etc/rancher/k3s/config.yaml` as a mapping (keys are k3s flags)."""
    settings: dict[str, Any] = {"server": config.server_url, "token": config.token}
    settings.update(_node_settings(config))
    return settings


def render_server(config: K3sServerConfig) -> str:
    """The `#cloud-config` user data that makes an instance the k3s server."""
    return _render("server", config, server_k3s_config(config))


def render_agent(config: K3sAgentConfig) -> str:
    """The `#cloud-config` user data that makes an instance a k3s agent of the server."""
    return _render("agent", config, agent_k3s_config(config))


def encode_user_data(text: str, *, reserved_bytes: int = 0) -> str:
    """`text` base64-encoded for the instance's `metadata["user_data"]`.

    Raises ValueError when the encoded text plus `reserved_bytes` (what the rest of the
    instance metadata takes: `ssh_authorized_keys` and the key names) would exceed OCI's
    32,000-byte metadata limit, which OCI would otherwise only report at launch time.
    """
    if reserved_bytes < 0:
        raise ValueError(f"reserved_bytes must not be negative, got {reserved_bytes}")
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    total = len(encoded) + reserved_bytes
    if total > OCI_METADATA_MAX_BYTES:
        raise ValueError(
            f"user_data is {len(encoded)} bytes base64-encoded"
            + (f" (+{reserved_bytes} bytes of other metadata)" if reserved_bytes else "")
            + f"; OCI allows at most {OCI_METADATA_MAX_BYTES} bytes of instance metadata in "
            "total. Shrink the cloud-config (or move large files out of it)."
        )
    return encoded


def _render(role: Role, config: K3sNodeConfig, k3s_settings: dict[str, Any]) -> str:
    install = [
        K3S_INSTALL_PATH,
        role,
        config.k3s_version,
        k3s_install_sh_url(config.k3s_version),
    ]
    if config.install_sh_sha256 is not None:
        install.append(config.install_sh_sha256)
    document: dict[str, Any] = {
        # no package index refresh, no upgrades, no reboots at boot: reproducible nodes
        # and a first boot that does not wait on the mirrors
        "package_update": False,
        "package_upgrade": False,
        "package_reboot_if_required": False,
        "write_files": [
            {
                "path": FIREWALL_FIX_PATH,
                "owner": "root:root",
                "permissions": "0755",
                "content": _FIREWALL_FIX_SCRIPT,
            },
            {
                "path": K3S_INSTALL_PATH,
                "owner": "root:root",
                "permissions": "0755",
                "content": _K3S_INSTALL_SCRIPT,
            },
            {
                # the only place the token is written: root-only, read by k3s itself
                "path": K3S_CONFIG_PATH,
                "owner": "root:root",
                "permissions": "0600",
                "content": _dump(k3s_settings),
            },
        ],
        # list form: cloud-init quotes each word, no shell parses the values; the
        # firewall goes first so flannel and the kubelet come up reachable
        "runcmd": [[FIREWALL_FIX_PATH], install],
    }
    header = (
        "#cloud-config\n"
        f"# DACA Ascent oci stage: k3s {config.k3s_version} {role}, "
        "rendered by infra/components/oci/cloud_init.py\n"
    )
    return header + _dump(document)


class _BlockStyleDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as `|` blocks, so the scripts read as
    scripts in the instance's user data (and in /var/lib/cloud) when debugging a node."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockStyleDumper.add_representer(str, _represent_str)


def _dump(data: dict[str, Any]) -> str:
    # SafeDumper only: plain types in, no Python tags out
    return yaml.dump(
        data, Dumper=_BlockStyleDumper, sort_keys=False, default_flow_style=False, width=4096
    )


def _node_settings(config: K3sNodeConfig) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if config.node_ip is not None:
        settings["node-ip"] = config.node_ip
    if config.node_name is not None:
        settings["node-name"] = config.node_name
    if config.node_labels:
        settings["node-label"] = list(config.node_labels)
    return settings


def _as_tuple(field: str, value: object) -> tuple[str, ...]:
    # a bare string would pass as a sequence of one-character entries
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ValueError(f"{field} must be a tuple of strings, got {value!r}")
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{field} must hold strings only, got {value!r}")
    return tuple(value)


def _check_token(field: str, token: str) -> None:
    if len(token) < _MIN_TOKEN_LENGTH:
        raise ValueError(f"{field} is shorter than {_MIN_TOKEN_LENGTH} characters: too guessable")
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        # the value itself is never put in the message: it is a secret
        raise ValueError(f"{field} must be printable ASCII without whitespace")


def _check_ip(field: str, value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{field} {value!r} is not an IP address") from None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_dns_name(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS_NAME_RE.match(value))


def _check_label(label: str) -> None:
    match = _LABEL_RE.match(label)
    if match is None:
        raise ValueError(f"node label {label!r} is not a valid `key=value` Kubernetes label")
    prefix = match.group("prefix") or ""
    reserved = any(
        prefix == suffix or prefix.endswith("." + suffix) for suffix in _RESERVED_LABEL_SUFFIXES
    )
    allowed = any(prefix == ok or prefix.endswith("." + ok) for ok in _KUBELET_LABEL_PREFIXES)
    if reserved and not allowed:
        raise ValueError(
            f"node label {label!r} is in a kubernetes.io/k8s.io namespace the kubelet may not "
            "set on itself (it would refuse to start); use node.kubernetes.io/ or your own prefix"
        )
