"""Oracle Container Registry (OCIR): a private repository for the arm64 app image."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_oci as oci

from infra.components.app_image import RegistryLogin
from infra.components.options import child_options


@dataclass(frozen=True)
class OcirRepositoryArgs:
    #: the compartment of the repository
    compartment_id: pulumi.Input[str]
    #: the OCI region identifier; OCIR answers at `<region>.ocir.io`
    region: str
    #: the tenancy's Object Storage namespace (OCIR's first path segment)
    namespace: pulumi.Input[str]
    #: the repository name
    repository: str
    #: the OCI user that pushes and pulls (`user` or `oracleidentitycloudservice/user`)
    username: str
    #: that user's auth token (secret)
    auth_token: pulumi.Input[str]


class OcirRepository(pulumi.ComponentResource):
    """A private, immutable-tag-free repository; `login` pushes (docker) and pulls (k3s)."""

    #: `<region>.ocir.io/<namespace>/<repository>`
    image_repository: pulumi.Output[str]
    login: RegistryLogin

    def __init__(
        self, name: str, args: OcirRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:oci:OcirRepository", name, None, opts)
        server = f"{args.region}.ocir.io"
        repository = oci.artifacts.ContainerRepository(
            f"{name}-repository",
            compartment_id=args.compartment_id,
            display_name=args.repository,
            is_public=False,
            opts=child_options(self, opts),
        )
        self.image_repository = pulumi.Output.concat(
            server, "/", args.namespace, "/", repository.display_name
        )
        self.login = RegistryLogin(
            server=server,
            username=pulumi.Output.concat(args.namespace, "/", args.username),
            password=pulumi.Output.secret(args.auth_token),
        )
        self.register_outputs({"imageRepository": self.image_repository})
