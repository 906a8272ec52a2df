"""The k3s admin kubeconfig, read from the server over SSH once cloud-init is done."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from infra.components.options import child_options

K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
#: how long to wait for the API after cloud-init (k3s writes the file when it serves)
WAIT_SECONDS = 300


def read_kubeconfig_script(api_address: str, api_port: int = 6443) -> str:
    """The remote shell: wait for cloud-init and k3s, print the kubeconfig for `api_address`.

    Progress and errors go to stderr; stdout carries only the kubeconfig.
    """
    server = shlex.quote(f"https://{api_address}:{api_port}")
    return (
        "set -eu; "
        "if ! cloud-init status --wait >/dev/null; then "
        "echo 'cloud-init failed on the k3s server: see /var/log/cloud-init-output.log' >&2; "
        "cloud-init status --long >&2 || true; exit 1; fi; "
        f"for _ in $(seq {WAIT_SECONDS // 5}); do sudo test -s {K3S_KUBECONFIG} && break; "
        "sleep 5; done; "
        f"sudo test -s {K3S_KUBECONFIG} || {{ echo 'k3s wrote no kubeconfig in "
        f"{WAIT_SECONDS}s: see journalctl -u k3s' >&2; exit 1; }}; "
        f"sudo sed 's#https://127.0.0.1:{api_port}#'{server}'#' {K3S_KUBECONFIG}"
    )


@dataclass(frozen=True)
class K3sKubeconfigArgs:
    #: where SSH reaches the server (its public IP, or the load balancer's SSH listener)
    ssh_host: pulumi.Input[str]
    #: the deploy key (OpenSSH private key), secret
    ssh_private_key: pulumi.Input[str]
    #: the public address the kubeconfig points kubectl at (a `tls-san` of the API)
    api_address: pulumi.Input[str]
    #: changes when the server is replaced: the kubeconfig is read again
    server_id: pulumi.Input[str]
    ssh_user: str = "ubuntu"


class K3sKubeconfig(pulumi.ComponentResource):
    """`kubeconfig` is a secret, and the command's output is never logged."""

    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: K3sKubeconfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:K3sKubeconfig", name, None, opts)
        read = remote.Command(
            f"{name}-read",
            connection=remote.ConnectionArgs(
                host=args.ssh_host,
                user=args.ssh_user,
                private_key=args.ssh_private_key,
                # the VM boots and runs cloud-init first: keep dialling for ~10 minutes
                dial_error_limit=40,
                per_dial_timeout=15,
            ),
            create=pulumi.Output.from_input(args.api_address).apply(read_kubeconfig_script),
            triggers=[args.server_id],
            # stdout is the admin kubeconfig: never in Pulumi's logs, secret in state
            logging=remote.Logging.NONE,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts),
                pulumi.ResourceOptions(additional_secret_outputs=["stdout"]),
            ),
        )
        self.kubeconfig = pulumi.Output.secret(read.stdout)
        self.register_outputs({"kubeconfig": self.kubeconfig})
