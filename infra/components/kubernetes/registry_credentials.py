"""A pull secret for a private registry, in the app's namespace."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.app_image import RegistryLogin
from infra.components.options import child_options


def docker_config_json(server: str, username: str, password: str) -> str:
    """The `.dockerconfigjson` the kubelet reads for `server`."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps(
        {"auths": {server: {"username": username, "password": password, "auth": auth}}}
    )


@dataclass(frozen=True)
class RegistryPullSecretArgs:
    #: the Secret's name (what `imagePullSecrets` names)
    secret_name: str
    #: the namespace of the pods that pull
    namespace: pulumi.Input[str]
    #: the registry and its credentials
    login: RegistryLogin


class RegistryPullSecret(pulumi.ComponentResource):
    """A `kubernetes.io/dockerconfigjson` Secret; its data is a Pulumi secret."""

    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryPullSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:RegistryPullSecret", name, None, opts)
        config: pulumi.Output[str] = pulumi.Output.all(
            args.login.username, args.login.password
        ).apply(
            lambda values: docker_config_json(args.login.server, str(values[0]), str(values[1]))
        )
        secret_config: pulumi.Output[str] = pulumi.Output.secret(config)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": args.secret_name, "namespace": args.namespace},
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": secret_config},
            opts=child_options(self, opts),
        )
        self.name = secret.metadata.name
        self.register_outputs({"name": self.name})
