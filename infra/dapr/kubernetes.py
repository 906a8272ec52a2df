"""Render Dapr specs to Kubernetes ``dapr.io/v1alpha1`` objects."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import pulumi

from infra.dapr.spec import DaprComponentSpec

API_VERSION = "dapr.io/v1alpha1"
# the Kubernetes provider plugin that serves these objects is the SDK's own version
_K8S_SDK_VERSION = version("pulumi-kubernetes")


def render_k8s_component(
    spec: DaprComponentSpec, namespace: pulumi.Input[str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """The body of a ``Component`` object: credentials only as ``secretKeyRef``."""
    metadata: list[dict[str, Any]] = [
        {"name": key, "value": value} for key, value in sorted(spec.metadata.items())
    ]
    metadata += [
        {"name": key, "secretKeyRef": {"name": ref.name, "key": ref.key}}
        for key, ref in sorted(spec.secrets.items())
    ]
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"type": spec.type, "version": spec.version, "metadata": metadata},
        "scopes": list(spec.scopes),
    }
    if spec.secret_store is not None:
        body["auth"] = {"secretStore": spec.secret_store}
    return body


class DaprObject(pulumi.CustomResource):
    """A `dapr.io/v1alpha1` object, registered with the Kubernetes provider.

    `pulumi_kubernetes.apiextensions.CustomResource` in Python carries only `spec` and
    `metadata`, but a Dapr `Component` also has top-level `scopes` and `auth`; this
    sends the whole object, as the TypeScript SDK's `otherFields` does.
    """

    def __init__(
        self, name: str, body: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        kind = body["kind"]
        super().__init__(
            f"kubernetes:{API_VERSION}:{kind}",
            name,
            dict(body),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_K8S_SDK_VERSION)),
        )
