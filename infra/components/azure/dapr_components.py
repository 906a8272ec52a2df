"""The app's Dapr components as ACA `DaprComponent`s in the managed environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.app as app

from infra.components.options import child_options
from infra.dapr.aca import render_aca_component
from infra.dapr.spec import DaprComponentSpec


@dataclass(frozen=True)
class AcaDaprComponentsArgs:
    #: the resource group of the environment
    resource_group_name: pulumi.Input[str]
    #: the managed environment's name (components belong to the environment)
    environment_name: pulumi.Input[str]
    #: the components, from the stage-neutral spec
    components: Sequence[DaprComponentSpec]


class AcaDaprComponents(pulumi.ComponentResource):
    """Renders each spec with :func:`render_aca_component`; names stay the spec's."""

    component_names: list[str]

    def __init__(
        self, name: str, args: AcaDaprComponentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_dapr_components:AcaDaprComponents", name, None, opts)
        self.component_names = []
        for spec in args.components:
            rendered = render_aca_component(spec)
            app.DaprComponent(
                f"{name}-{spec.name}",
                resource_group_name=args.resource_group_name,
                environment_name=args.environment_name,
                component_name=rendered.component_name,
                component_type=rendered.component_type,
                version=rendered.version,
                metadata=rendered.metadata,
                scopes=rendered.scopes,
                secret_store_component=rendered.secret_store_component,
                ignore_errors=rendered.ignore_errors,
                init_timeout=rendered.init_timeout,
                opts=child_options(self, opts),
            )
            self.component_names.append(spec.name)
        self.register_outputs({"componentNames": self.component_names})
