"""The app's Dapr components, its Configuration and its Resiliency policy on Kubernetes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.components.kubernetes.conventions import PART_OF
from infra.components.options import child_options
from infra.config.base import TracingConfig
from infra.dapr.kubernetes import API_VERSION, DaprObject, render_k8s_component
from infra.dapr.spec import PUBSUB, STATESTORE, DaprComponentSpec


@dataclass(frozen=True)
class DaprComponentsArgs:
    #: the namespace the app runs in (components are namespaced)
    namespace: pulumi.Input[str]
    #: the app-id every object is scoped to
    app_id: str
    #: the components, from the stage-neutral spec
    components: Sequence[DaprComponentSpec]
    #: where traces go; without an exporter nothing is sampled
    tracing: TracingConfig = field(default_factory=TracingConfig)
    #: secrets the app may read through the secret store (all others are denied)
    allowed_secrets: Sequence[str] = field(default_factory=list)
    #: the name of the secret store component
    secret_store: str = "secretstore"


def tracing_spec(tracing: TracingConfig) -> dict[str, Any]:
    """The Configuration's `spec.tracing`: an exporter block only when one is configured."""
    # a plain decimal: the CRD takes a string, and 1e-05 is not one a reader expects
    rate = f"{tracing.effective_sampling_rate:.10f}".rstrip("0").rstrip(".")
    spec: dict[str, Any] = {"samplingRate": rate}
    if tracing.exporter == "otlp":
        spec["otel"] = {
            "endpointAddress": tracing.endpoint,
            "isSecure": tracing.otlp_secure,
            "protocol": tracing.otlp_protocol,
        }
    elif tracing.exporter == "zipkin":
        spec["zipkin"] = {"endpointAddress": tracing.endpoint}
    return spec


def resiliency_spec() -> dict[str, Any]:
    """Timeouts, retries and a circuit breaker for the state store and pub/sub."""
    return {
        "policies": {
            "timeouts": {"state": "5s", "pubsub": "10s"},
            "retries": {
                "state": {"policy": "exponential", "maxInterval": "2s", "maxRetries": 3},
                "pubsub": {"policy": "exponential", "maxInterval": "10s", "maxRetries": 5},
            },
            "circuitBreakers": {
                "backend": {
                    "maxRequests": 1,
                    "interval": "30s",
                    "timeout": "30s",
                    "trip": "consecutiveFailures >= 5",
                }
            },
        },
        "targets": {
            "components": {
                STATESTORE: {
                    "outbound": {"timeout": "state", "retry": "state", "circuitBreaker": "backend"}
                },
                PUBSUB: {
                    "outbound": {
                        "timeout": "pubsub",
                        "retry": "pubsub",
                        "circuitBreaker": "backend",
                    },
                    "inbound": {"timeout": "pubsub", "retry": "pubsub"},
                },
            }
        },
    }


class DaprComponents(pulumi.ComponentResource):
    """Renders each spec to a `Component`, plus the app's `Configuration` and `Resiliency`.

    Everything is scoped to the app-id; the Configuration (named by `configuration`)
    goes into the app's `dapr.io/config` annotation. mTLS itself is a control-plane
    setting (`daprsystem` Configuration, set by the Helm chart's `global.mtls.enabled`).
    """

    configuration: pulumi.Output[str]
    component_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: DaprComponentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:dapr:DaprComponents", name, None, opts)
        child = child_options(self, opts)
        labels = {"app.kubernetes.io/part-of": PART_OF, "dapr.io/app-id": args.app_id}
        for spec in args.components:
            if args.app_id not in spec.scopes:
                raise ValueError(f"component {spec.name!r} is not scoped to {args.app_id!r}")
            DaprObject(
                f"{name}-{spec.name}",
                render_k8s_component(spec, args.namespace, labels),
                opts=child,
            )
        config_name = f"{args.app_id}-config"
        DaprObject(
            f"{name}-configuration",
            {
                "apiVersion": API_VERSION,
                "kind": "Configuration",
                "metadata": {"name": config_name, "namespace": args.namespace, "labels": labels},
                "spec": {
                    "tracing": tracing_spec(args.tracing),
                    "metric": {"enabled": True},
                    "secrets": {
                        "scopes": [
                            {
                                "storeName": args.secret_store,
                                "defaultAccess": "deny",
                                "allowedSecrets": list(args.allowed_secrets),
                            }
                        ]
                    },
                },
            },
            opts=child,
        )
        DaprObject(
            f"{name}-resiliency",
            {
                "apiVersion": API_VERSION,
                "kind": "Resiliency",
                "metadata": {
                    "name": f"{args.app_id}-resiliency",
                    "namespace": args.namespace,
                    "labels": labels,
                },
                "spec": resiliency_spec(),
                "scopes": [args.app_id],
            },
            opts=child,
        )
        self.configuration = pulumi.Output.from_input(config_name)
        self.component_names = pulumi.Output.from_input([s.name for s in args.components])
        self.register_outputs(
            {"configuration": self.configuration, "componentNames": self.component_names}
        )
