"""The `oci` stage's cloud-init user data: what it installs, where the token goes, and
that its scripts really do what they say (run here on copies, with fake system tools).

`shellcheck` and `cloud-init schema` are the real tools from Debian's `shellcheck` and
`cloud-init` packages. Where one is missing these tests skip, except under CI (CI=true),
which installs both, so there a missing tool fails the run instead of hiding it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.components.oci.cloud_init import (
    FIREWALL_FIX_PATH,
    K3S_CONFIG_PATH,
    K3S_INSTALL_PATH,
    K3S_VERSION,
    OCI_METADATA_MAX_BYTES,
    K3sAgentConfig,
    K3sServerConfig,
    encode_user_data,
    k3s_install_sh_url,
    render_agent,
    render_server,
)

TOKEN = "srv-token-9f2c41d7e8b3a6055c1e"
AGENT_TOKEN = "agt-token-1b7e93a0c4d2f6685e0a"
PUBLIC_IP = "203.0.113.10"
API_NAME = "k3s.daca.example.com"
SERVER_IP = "10.0.1.10"


def server_config(**changes: Any) -> K3sServerConfig:
    settings: dict[str, Any] = {
        "token": TOKEN,
        "agent_token": AGENT_TOKEN,
        "tls_sans": (PUBLIC_IP, API_NAME),
        "node_ip": SERVER_IP,
        "node_name": "daca-k3s-server",
        "node_labels": ("daca.dev/role=server",),
    }
    settings.update(changes)
    return K3sServerConfig(**settings)


def agent_config(**changes: Any) -> K3sAgentConfig:
    settings: dict[str, Any] = {
        "token": AGENT_TOKEN,
        "server_ip": SERVER_IP,
        "node_ip": "10.0.1.11",
        "node_name": "daca-k3s-agent-0",
    }
    settings.update(changes)
    return K3sAgentConfig(**settings)


def parse(document: str) -> dict[str, Any]:
    parsed = yaml.safe_load(document)
    assert isinstance(parsed, dict)
    return parsed


def written(document: dict[str, Any], path: str) -> dict[str, Any]:
    found = [f for f in document["write_files"] if f["path"] == path]
    assert len(found) == 1, f"expected one write_files entry for {path}, found {len(found)}"
    entry: dict[str, Any] = found[0]
    return entry


def k3s_settings(document: dict[str, Any]) -> dict[str, Any]:
    settings = yaml.safe_load(written(document, K3S_CONFIG_PATH)["content"])
    assert isinstance(settings, dict)
    return settings


def install_command(document: dict[str, Any]) -> list[str]:
    found = [c for c in document["runcmd"] if isinstance(c, list) and c[0] == K3S_INSTALL_PATH]
    assert len(found) == 1, f"expected one {K3S_INSTALL_PATH} command in runcmd"
    command: list[str] = found[0]
    return command


RENDERED: dict[str, Callable[[], str]] = {
    "server": lambda: render_server(server_config()),
    "agent": lambda: render_agent(agent_config()),
}


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_tool(command: str, package: str) -> str:
    """The tool's path; skips where it is missing, but fails under CI."""
    path = shutil.which(command)
    if path is not None:
        return path
    message = (
        f"`{command}` is not installed (apt-get install -y {package}). CI installs it, "
        "so under CI=true this fails instead of skipping."
    )
    if is_ci():
        pytest.fail(message)
    pytest.skip(message)


# --- the documents ----------------------------------------------------------------


@pytest.mark.parametrize("role", RENDERED)
def test_document_is_cloud_config_yaml(role: str) -> None:
    text = RENDERED[role]()
    assert text.startswith("#cloud-config\n"), "cloud-init ignores user data without it"
    document = parse(text)
    assert document["write_files"]
    assert document["runcmd"]


@pytest.mark.parametrize("role", RENDERED)
def test_no_package_refresh_upgrade_or_reboot_at_boot(role: str) -> None:
    document = parse(RENDERED[role]())
    assert document["package_update"] is False
    assert document["package_upgrade"] is False
    assert document["package_reboot_if_required"] is False
    assert "packages" not in document


@pytest.mark.parametrize("role", RENDERED)
def test_k3s_is_installed_pinned_from_the_same_tag(role: str) -> None:
    command = install_command(parse(RENDERED[role]()))
    assert command[1:] == [
        role,
        K3S_VERSION,
        f"https://raw.githubusercontent.com/k3s-io/k3s/{K3S_VERSION.replace('+', '%2B')}"
        "/install.sh",
    ]


def test_the_default_version_is_an_exact_stable_release() -> None:
    assert K3S_VERSION == "v1.36.4+k3s1"
    assert k3s_install_sh_url() == (
        "https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh"
    )


def test_another_version_moves_the_url_with_it() -> None:
    command = install_command(parse(render_agent(agent_config(k3s_version="v1.35.6+k3s1"))))
    assert command[2] == "v1.35.6+k3s1"
    assert command[3] == "https://raw.githubusercontent.com/k3s-io/k3s/v1.35.6%2Bk3s1/install.sh"


def test_an_install_sh_checksum_is_passed_to_the_installer() -> None:
    digest = "ab" * 32
    command = install_command(parse(render_server(server_config(install_sh_sha256=digest))))
    assert command[4:] == [digest]


@pytest.mark.parametrize(
    ("role", "tokens"), [("server", [TOKEN, AGENT_TOKEN]), ("agent", [AGENT_TOKEN])]
)
def test_tokens_are_only_in_the_0600_k3s_config_file(role: str, tokens: list[str]) -> None:
    text = RENDERED[role]()
    document = parse(text)
    config_entry = written(document, K3S_CONFIG_PATH)
    assert config_entry["permissions"] == "0600"
    assert config_entry["owner"] == "root:root"
    for token in tokens:
        assert text.count(token) == 1, "the token must appear once: in the config file"
        assert token in config_entry["content"]
        assert token not in yaml.safe_dump(document["runcmd"])
        for entry in document["write_files"]:
            if entry["path"] != K3S_CONFIG_PATH:
                assert token not in entry["content"], f"token leaked into {entry['path']}"
    if role == "agent":
        assert TOKEN not in text, "an agent never gets the server token when agent_token is set"


@pytest.mark.parametrize("role", RENDERED)
def test_no_script_traces_or_puts_secrets_in_the_environment(role: str) -> None:
    for entry in parse(RENDERED[role]())["write_files"]:
        content = entry["content"]
        if not content.startswith("#!"):
            continue
        for line in content.splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] != ["set"]:
                continue
            flags = [w for w in words[1:] if re.fullmatch(r"-[a-z]+", w) and w != "-o"]
            assert not any("x" in f for f in flags), f"{entry['path']} traces: {line}"
            assert "xtrace" not in words, f"{entry['path']} traces: {line}"
        assert "K3S_TOKEN" not in content
        assert "--token" not in content


def test_server_config() -> None:
    settings = k3s_settings(parse(render_server(server_config())))
    assert settings["token"] == TOKEN
    assert settings["agent-token"] == AGENT_TOKEN
    assert settings["tls-san"] == [PUBLIC_IP, API_NAME]
    assert settings["write-kubeconfig-mode"] == "0600", "a string: an int 600 would be wrong"
    assert settings["secrets-encryption"] is True
    assert settings["secrets-encryption-provider"] == "secretbox"
    assert settings["node-ip"] == SERVER_IP
    assert settings["node-name"] == "daca-k3s-server"
    assert settings["node-label"] == ["daca.dev/role=server"]
    # Traefik and ServiceLB carry the NLB's 80/443: nothing may be disabled
    assert "disable" not in settings
    assert "server" not in settings


def test_server_config_without_optional_settings() -> None:
    settings = k3s_settings(
        parse(render_server(K3sServerConfig(token=TOKEN, tls_sans=(PUBLIC_IP,))))
    )
    assert set(settings) == {
        "token",
        "tls-san",
        "write-kubeconfig-mode",
        "secrets-encryption",
        "secrets-encryption-provider",
    }


def test_agent_joins_the_server_on_its_private_ip() -> None:
    settings = k3s_settings(parse(render_agent(agent_config())))
    assert settings["server"] == f"https://{SERVER_IP}:6443"
    assert settings["token"] == AGENT_TOKEN
    assert settings["node-ip"] == "10.0.1.11"
    assert "tls-san" not in settings
    assert "secrets-encryption" not in settings


def test_agent_url_brackets_an_ipv6_server() -> None:
    assert agent_config(server_ip="fd00::10", node_ip=None).server_url == "https://[fd00::10]:6443"


@pytest.mark.parametrize("role", RENDERED)
def test_firewall_fix_runs_before_the_install(role: str) -> None:
    runcmd = parse(RENDERED[role]())["runcmd"]
    assert runcmd[0] == [FIREWALL_FIX_PATH]
    assert runcmd[1][0] == K3S_INSTALL_PATH


# --- bad input fails early -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"k3s_version": "v1.36.4"}, "exact k3s release"),
        ({"k3s_version": "latest"}, "exact k3s release"),
        ({"k3s_version": "v1.36.0-rc1+k3s1"}, "exact k3s release"),
        ({"tls_sans": PUBLIC_IP}, "tuple of strings"),
        ({"tls_sans": ()}, "tls_sans is empty"),
        ({"tls_sans": ("not a host",)}, "neither an IP address nor a DNS name"),
        ({"token": "short"}, "shorter than 16"),
        ({"agent_token": TOKEN}, "agent_token equals token"),
        ({"node_ip": "10.0.1"}, "not an IP address"),
        ({"node_name": "Server_1"}, "RFC 1123"),
        ({"node_labels": ("node-role.kubernetes.io/worker=true",)}, "kubelet may not"),
        ({"node_labels": ("no-equals-sign",)}, "not a valid"),
        ({"install_sh_sha256": "abc"}, "64 lowercase hex"),
    ],
)
def test_bad_server_config_is_refused(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        server_config(**changes)


def test_a_token_with_whitespace_is_refused_without_echoing_it() -> None:
    secret = "line-one-of-token\nline-two"
    with pytest.raises(ValueError, match="without whitespace") as raised:
        server_config(token=secret)
    assert secret not in str(raised.value)
    assert "line-one" not in str(raised.value)


def test_agents_join_over_the_vcn_not_the_internet() -> None:
    with pytest.raises(ValueError, match="not a private address"):
        # a routable address (203.0.113.0/24, used elsewhere here, counts as private)
        agent_config(server_ip="129.146.10.20")


def test_labels_in_the_kubelets_own_namespaces_are_allowed() -> None:
    config = agent_config(node_labels=("node.kubernetes.io/pool=a1", "example.com/tier=free"))
    assert k3s_settings(parse(render_agent(config)))["node-label"] == [
        "node.kubernetes.io/pool=a1",
        "example.com/tier=free",
    ]


# --- the firewall fix, run for real on a copy of Oracle's rules file -------------------

# Shaped like /etc/iptables/rules.v4 on Oracle's Ubuntu images: the two catch-all REJECT
# rules to remove, ACCEPT rules that must stay, and Oracle's InstanceServices chain,
# whose own REJECT rules must stay too. The INPUT REJECT with a source match stands for
# a rule someone added on purpose: only Oracle's exact lines go.
ORACLE_RULES_V4 = """\
# Generated by iptables-save v1.8.10 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:InstanceServices - [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p udp -m udp --sport 123 -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -s 192.0.2.0/24 -j REJECT --reject-with icmp-host-prohibited
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -d 169.254.0.0/16 -j InstanceServices
-A InstanceServices -d 169.254.0.2/32 -p tcp -m owner --uid-owner 0 -m tcp --dport 3260 -m comment --comment "Oracle: keep this rule" -j ACCEPT
-A InstanceServices -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A InstanceServices -d 169.254.169.254/32 -p udp -m udp --dport 53 -j ACCEPT
-A InstanceServices -d 169.254.0.0/16 -p tcp -m tcp -j REJECT --reject-with tcp-reset
-A InstanceServices -d 169.254.0.0/16 -p udp -m udp -j REJECT --reject-with icmp-port-unreachable
COMMIT
# Completed
"""  # noqa: E501

ORACLE_REJECTS = (
    "-A INPUT -j REJECT --reject-with icmp-host-prohibited",
    "-A FORWARD -j REJECT --reject-with icmp-host-prohibited",
)

# A stand-in for iptables that keeps the live rules in a file, answers -C and -D the
# way iptables does, and refuses every other operation: the fix may only delete.
FAKE_IPTABLES = """\
import os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_IPTABLES_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if args and args[0] == "-w":
    args = args[1:]
if len(args) < 2 or args[0] not in ("-C", "-D"):
    sys.exit(99)
state = os.environ["FAKE_IPTABLES_STATE"]
rules = open(state).read().splitlines()
rule = " ".join(["-A", args[1], *args[2:]])
if rule not in rules:
    sys.exit(1)
if args[0] == "-D":
    rules.remove(rule)
    open(state, "w").write("\\n".join(rules) + "\\n")
"""


def script_from(document: dict[str, Any], path: str, into: Path) -> Path:
    script = into / Path(path).name
    script.write_text(written(document, path)["content"])
    script.chmod(0o755)
    return script


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    tool = bin_dir / name
    tool.write_text(body)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


def tools_dir(tmp_path: Path, *, with_iptables: bool) -> Path:
    """A PATH of its own: what the script needs, a fake iptables, never the host's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sh", "sed", "grep", "cat"):
        real = shutil.which(name)
        assert real is not None, f"{name} is needed to run the scripts"
        (bin_dir / name).symlink_to(real)
    if with_iptables:
        fake_tool(bin_dir, "iptables", f"#!{sys.executable}\n{FAKE_IPTABLES}")
    return bin_dir


class FirewallRun:
    def __init__(self, tmp_path: Path, *, with_iptables: bool = True) -> None:
        self.script = script_from(parse(RENDERED["server"]()), FIREWALL_FIX_PATH, tmp_path)
        self.rules = tmp_path / "rules.v4"
        self.rules.write_text(ORACLE_RULES_V4)
        self.live = tmp_path / "live-rules"
        self.live.write_text(
            "\n".join(line for line in ORACLE_RULES_V4.splitlines() if line.startswith("-A "))
            + "\n"
        )
        self.log = tmp_path / "iptables.log"
        self.log.write_text("")
        self.env = {
            "PATH": str(tools_dir(tmp_path, with_iptables=with_iptables)),
            "FAKE_IPTABLES_STATE": str(self.live),
            "FAKE_IPTABLES_LOG": str(self.log),
        }

    def __call__(self) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["sh", str(self.script), str(self.rules)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result


def without_oracle_rejects(text: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if line.rstrip("\n") not in ORACLE_REJECTS
    )


def test_firewall_fix_removes_only_oracles_reject_rules_from_the_file(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path)
    run()
    after = run.rules.read_text()
    assert after == without_oracle_rejects(ORACLE_RULES_V4)
    assert after.count("\n") == ORACLE_RULES_V4.count("\n") - 2
    # what must survive, spelled out
    assert "-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT" in after
    assert "-A INPUT -s 192.0.2.0/24 -j REJECT --reject-with icmp-host-prohibited" in after
    assert "--reject-with tcp-reset" in after
    assert "icmp-port-unreachable" in after
    assert "COMMIT" in after


def test_firewall_fix_removes_only_oracles_reject_rules_live(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path)
    before = run.live.read_text().splitlines()
    run()
    after = run.live.read_text().splitlines()
    assert after == [rule for rule in before if rule not in ORACLE_REJECTS]
    calls = run.log.read_text().splitlines()
    deletes = [call for call in calls if call.split()[1] == "-D"]
    assert deletes == [
        "-w -D INPUT -j REJECT --reject-with icmp-host-prohibited",
        "-w -D FORWARD -j REJECT --reject-with icmp-host-prohibited",
    ]


def test_firewall_fix_run_twice_changes_nothing_more(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path)
    run()
    file_after_first = run.rules.read_bytes()
    mtime_after_first = run.rules.stat().st_mtime_ns
    live_after_first = run.live.read_text()
    calls_after_first = len(run.log.read_text().splitlines())

    second = run()
    assert run.rules.read_bytes() == file_after_first
    assert run.rules.stat().st_mtime_ns == mtime_after_first, "an unchanged file is not rewritten"
    assert run.live.read_text() == live_after_first
    second_calls = run.log.read_text().splitlines()[calls_after_first:]
    assert second_calls
    assert all(call.split()[1] == "-C" for call in second_calls)
    assert "unchanged" in second.stdout


def test_firewall_fix_without_iptables_still_fixes_the_file(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path, with_iptables=False)
    result = run()
    assert run.rules.read_text() == without_oracle_rejects(ORACLE_RULES_V4)
    assert "no iptables" in result.stderr


def test_firewall_fix_without_a_rules_file_succeeds(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path)
    run.rules.unlink()
    result = run()
    assert "does not exist" in result.stdout
    assert not run.rules.exists()


def test_firewall_fix_copes_with_trailing_whitespace_and_crlf(tmp_path: Path) -> None:
    run = FirewallRun(tmp_path)
    run.rules.write_text(
        ORACLE_RULES_V4.replace(ORACLE_REJECTS[0], ORACLE_REJECTS[0] + "  ").replace(
            ORACLE_REJECTS[1], ORACLE_REJECTS[1] + "\r"
        )
    )
    run()
    after = run.rules.read_text()
    assert "-A INPUT -j REJECT" not in after
    assert "-A FORWARD -j REJECT" not in after
    assert "-A INPUT -s 192.0.2.0/24 -j REJECT" in after


# --- the k3s installer wrapper, run with fake curl/systemctl ---------------------------

FAKE_INSTALLER = """\
#!/bin/sh
env | grep -E '^(INSTALL_K3S_|K3S_)' | sort > "$FAKE_LOG/install.env"
echo run >> "$FAKE_LOG/install.runs"
[ "$(wc -l < "$FAKE_LOG/install.runs")" -gt "${FAKE_INSTALL_FAILURES:-0}" ]
"""

FAKE_CURL = """\
#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LOG/curl.args"
out=
while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then out=$2; shift; fi
    shift
done
cp "$FAKE_INSTALLER" "$out"
"""


class InstallRun:
    def __init__(self, tmp_path: Path, role: str = "server") -> None:
        self.document = parse(RENDERED[role]())
        self.script = script_from(self.document, K3S_INSTALL_PATH, tmp_path)
        self.config = tmp_path / "config.yaml"
        self.config.write_text(written(self.document, K3S_CONFIG_PATH)["content"])
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        installer = tmp_path / "fake-install.sh"
        installer.write_text(FAKE_INSTALLER)
        self.installer_sha256 = hashlib.sha256(FAKE_INSTALLER.encode()).hexdigest()
        bin_dir = tmp_path / "fakebin"
        bin_dir.mkdir()
        fake_tool(bin_dir, "curl", FAKE_CURL)
        fake_tool(bin_dir, "systemctl", '#!/bin/sh\necho "$@" >> "$FAKE_LOG/systemctl"\n')
        fake_tool(bin_dir, "sleep", '#!/bin/sh\necho "$@" >> "$FAKE_LOG/sleep"\n')
        self.env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_LOG": str(self.logs),
            "FAKE_INSTALLER": str(installer),
            "DACA_K3S_CONFIG": str(self.config),
        }

    def __call__(
        self, args: list[str] | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        command = args if args is not None else install_command(self.document)[1:]
        return subprocess.run(
            ["sh", str(self.script), *command],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def log(self, name: str) -> list[str]:
        path = self.logs / name
        return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize(("role", "unit"), [("server", "k3s"), ("agent", "k3s-agent")])
def test_installer_fetches_the_pinned_script_and_starts_k3s(
    tmp_path: Path, role: str, unit: str
) -> None:
    run = InstallRun(tmp_path, role)
    result = run()
    assert result.returncode == 0, result.stderr
    curl_args = run.log("curl.args")
    assert curl_args[-1] == k3s_install_sh_url(K3S_VERSION)
    assert "--retry" in curl_args
    assert "--retry-all-errors" in curl_args
    assert "--proto" in curl_args
    assert "=https" in curl_args
    assert run.log("install.env") == [
        f"INSTALL_K3S_EXEC={role}",
        "INSTALL_K3S_SKIP_START=true",
        f"INSTALL_K3S_VERSION={K3S_VERSION}",
    ], "no K3S_* variable (such as K3S_TOKEN) may reach install.sh"
    assert run.log("systemctl") == [f"start {unit}"]
    outputs = [result.stdout, result.stderr, *(p.read_text() for p in run.logs.iterdir())]
    for token in (TOKEN, AGENT_TOKEN):
        assert not any(token in output for output in outputs)


def test_installer_retries_a_failed_install(tmp_path: Path) -> None:
    run = InstallRun(tmp_path)
    result = run(FAKE_INSTALL_FAILURES="2")
    assert result.returncode == 0, result.stderr
    assert len(run.log("install.runs")) == 3
    assert run.log("sleep") == ["15", "30"]


def test_installer_gives_up_after_five_failures(tmp_path: Path) -> None:
    run = InstallRun(tmp_path)
    result = run(FAKE_INSTALL_FAILURES="99")
    assert result.returncode != 0
    assert len(run.log("install.runs")) == 5
    assert run.log("systemctl") == [], "k3s is not started after a failed install"
    assert "giving up" in result.stderr


def test_installer_checks_the_pinned_checksum(tmp_path: Path) -> None:
    run = InstallRun(tmp_path)
    args = install_command(run.document)[1:]
    good = run([*args, run.installer_sha256])
    assert good.returncode == 0, good.stderr

    run.logs.joinpath("install.runs").unlink()
    bad = run([*args, "0" * 64])
    assert bad.returncode != 0
    assert "does not match the pinned sha256" in bad.stderr
    assert run.log("install.runs") == [], "a script that fails its checksum never runs"


def test_installer_refuses_without_its_config_file(tmp_path: Path) -> None:
    run = InstallRun(tmp_path)
    run.config.unlink()
    result = run()
    assert result.returncode != 0
    assert "missing" in result.stderr
    assert run.log("curl.args") == []


def test_installer_refuses_an_unknown_role(tmp_path: Path) -> None:
    run = InstallRun(tmp_path)
    result = run(["master", K3S_VERSION, k3s_install_sh_url()])
    assert result.returncode == 2
    assert "role must be server or agent" in result.stderr


# --- the real validators ---------------------------------------------------------------


def embedded_scripts(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in document["write_files"] if f["content"].startswith("#!")]


@pytest.mark.parametrize("role", RENDERED)
def test_shellcheck_passes_on_every_embedded_script(role: str, tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck", "shellcheck")
    scripts = embedded_scripts(parse(RENDERED[role]()))
    assert {s["path"] for s in scripts} == {FIREWALL_FIX_PATH, K3S_INSTALL_PATH}
    for entry in scripts:
        path = tmp_path / Path(entry["path"]).name
        path.write_text(entry["content"])
        result = subprocess.run(
            [shellcheck, "--severity=style", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, f"{entry['path']}:\n{result.stdout}{result.stderr}"


def test_shellcheck_catches_what_it_should(tmp_path: Path) -> None:
    """The check above can fail: shellcheck flags an unquoted expansion."""
    shellcheck = require_tool("shellcheck", "shellcheck")
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nrm -rf $1/tmp\n")
    assert subprocess.run([shellcheck, str(bad)], capture_output=True).returncode != 0


def cloud_init_schema(path: Path) -> subprocess.CompletedProcess[str]:
    cloud_init = require_tool("cloud-init", "cloud-init")
    return subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("role", RENDERED)
def test_cloud_init_schema_accepts_the_document(role: str, tmp_path: Path) -> None:
    path = tmp_path / f"{role}.yaml"
    path.write_text(RENDERED[role]())
    result = cloud_init_schema(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_cloud_init_schema_rejects_a_broken_document(tmp_path: Path) -> None:
    """The check above can fail: a mistyped value in the same document is refused."""
    document = parse(RENDERED["server"]())
    document["package_upgrade"] = "no"
    path = tmp_path / "broken.yaml"
    path.write_text("#cloud-config\n" + yaml.safe_dump(document))
    assert cloud_init_schema(path).returncode != 0


@pytest.mark.parametrize("role", RENDERED)
def test_only_known_top_level_keys(role: str) -> None:
    # Older cloud-init schemas accept unknown top-level keys silently, so a typo such
    # as `package_upgrades` would pass the validator and be ignored at boot.
    assert set(parse(RENDERED[role]())) == {
        "package_update",
        "package_upgrade",
        "package_reboot_if_required",
        "write_files",
        "runcmd",
    }


# --- the metadata size limit -------------------------------------------------------------


def test_the_limit_is_oracles_32000_bytes() -> None:
    assert OCI_METADATA_MAX_BYTES == 32_000


@pytest.mark.parametrize("role", RENDERED)
def test_real_documents_fit_with_room_for_ssh_keys(role: str) -> None:
    text = RENDERED[role]()
    encoded = encode_user_data(text, reserved_bytes=2_000)
    assert base64.b64decode(encoded).decode() == text
    assert len(encoded) < OCI_METADATA_MAX_BYTES // 2, "keep well clear of the limit"


def test_exactly_the_limit_passes_one_more_block_raises() -> None:
    # 24,000 bytes encode to exactly 32,000; 24,001 to 32,004
    assert len(encode_user_data("a" * 24_000)) == OCI_METADATA_MAX_BYTES
    with pytest.raises(ValueError, match="32000 bytes"):
        encode_user_data("a" * 24_001)


def test_other_metadata_counts_against_the_limit() -> None:
    text = RENDERED["server"]()
    size = len(encode_user_data(text))
    encode_user_data(text, reserved_bytes=OCI_METADATA_MAX_BYTES - size)
    with pytest.raises(ValueError, match="other metadata"):
        encode_user_data(text, reserved_bytes=OCI_METADATA_MAX_BYTES - size + 1)
    with pytest.raises(ValueError, match="negative"):
        encode_user_data(text, reserved_bytes=-1)
