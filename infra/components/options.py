"""Resource options every component gives its children."""

from __future__ import annotations

import pulumi


def child_options(
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions | None,
    depends_on: list[pulumi.Resource] | None = None,
) -> pulumi.ResourceOptions:
    """`parent=`, plus the component's own `depends_on`.

    Pulumi does not hold a component's children back for the component's `depends_on`
    (pulumi/pulumi#8721): without this, a Dapr `Component` could be applied before the
    CRDs exist, or the app's pod start before the sidecar injector is there.
    """
    given = opts.depends_on if opts is not None else None
    if given is None:
        inherited: list[pulumi.Resource] = []
    elif isinstance(given, pulumi.Resource):
        inherited = [given]
    elif isinstance(given, list):
        inherited = list(given)
    else:
        raise TypeError("components take depends_on as a resource or a list of resources")
    return pulumi.ResourceOptions(parent=parent, depends_on=[*inherited, *(depends_on or [])])
