"""The agent as an Azure Container App with ACA-managed Dapr."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.app as app
from pulumi_command import local

from infra.components.api_keys import REVIEWER_DIGESTS_ENV, USER_DIGESTS_ENV, ApiKeys
from infra.components.options import child_options

#: the Container App secret that holds the model key (a Key Vault reference)
MODEL_KEY_SECRET = "openai-api-key"


@dataclass(frozen=True)
class ServiceBusScaleRule:
    """Scale on the backlog of one topic subscription (KEDA `azure-servicebus`)."""

    #: the namespace's name (KEDA builds `<namespace>.servicebus.windows.net`)
    namespace: pulumi.Input[str]
    topic: str
    subscription: str
    #: active messages per replica
    message_count: int
    #: the resource ID of the user-assigned identity KEDA authenticates with
    identity_id: pulumi.Input[str]


@dataclass(frozen=True)
class AcaContainerAppArgs:
    #: the resource group that holds the app
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the managed environment's resource ID
    environment_id: pulumi.Input[str]
    #: the Dapr app-id (also the Container App's name)
    app_id: str
    #: the image, pinned by digest or exact tag
    image: pulumi.Input[str]
    #: the port the app listens on (ingress target and Dapr app-port)
    port: int
    #: vCPU and memory, a pair ACA accepts (e.g. 0.25 / "0.5Gi")
    cpu: float
    memory: str
    #: replica bounds; 0 lets the app scale to zero
    min_replicas: int
    max_replicas: int
    #: concurrent requests per replica before scaling out
    concurrent_requests: int
    #: the identity the app runs as (pulls images, reads Key Vault references)
    app_identity_id: pulumi.Input[str]
    #: further identities attached for the app's sidecar and scaler
    extra_identity_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    #: plain environment variables
    env: Mapping[str, str] = field(default_factory=dict)
    #: the registry to pull from by identity (None: a public image)
    registry_server: pulumi.Input[str] | None = None
    #: the versionless Key Vault URL of the model key (None: the app runs offline)
    model_key_url: pulumi.Input[str] | None = None
    #: a KEDA Service Bus rule on the app's subscription backlog
    service_bus_rule: ServiceBusScaleRule | None = None
    #: the app's API keys, of which the app gets only the digests (plain env); None leaves
    #: it without credentials (behind ACA's Dapr it then refuses every /v1 call)
    api_keys: ApiKeys | None = None
    #: the port the app serves Prometheus metrics on; ingress targets only `port`, so it
    #: stays inside the replica. None keeps `/metrics` on the app port (and public)
    metrics_port: int | None = None
    #: seconds to wait after the role assignments before the first revision: Azure RBAC
    #: takes a while to apply, and the revision pulls and reads secrets at once
    rbac_settle_seconds: int = 60


def _probe(kind: str, path: str, port: int, period: int) -> app.ContainerAppProbeArgsDict:
    return {
        "type": kind,
        "http_get": {"path": path, "port": port, "scheme": "HTTP"},
        "initial_delay_seconds": 2,
        "period_seconds": period,
        "timeout_seconds": 3,
        "failure_threshold": 3,
    }


class AcaContainerApp(pulumi.ComponentResource):
    """External HTTPS-only ingress, Dapr on, identity everywhere, secrets from Key Vault."""

    fqdn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: AcaContainerAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_container_app:AcaContainerApp", name, None, opts)
        # the component's depends_on (the role assignments) holds this back too
        settle: list[pulumi.Resource] = []
        if args.rbac_settle_seconds > 0:
            settle.append(
                local.Command(
                    f"{name}-rbac-settle",
                    create=f"sleep {args.rbac_settle_seconds}",
                    opts=child_options(self, opts),
                )
            )
        # the app listens on DACA_PORT (default 8000): ingress, Dapr and probes use `port`
        plain: dict[str, pulumi.Input[str]] = {"DACA_PORT": str(args.port), **args.env}
        if args.metrics_port is not None:
            plain["DACA_METRICS_PORT"] = str(args.metrics_port)
        if args.api_keys is not None:
            plain[USER_DIGESTS_ENV] = args.api_keys.user_key_digest
            plain[REVIEWER_DIGESTS_ENV] = args.api_keys.reviewer_key_digest
        env: list[app.EnvironmentVarArgsDict] = [
            {"name": key, "value": value} for key, value in sorted(plain.items())
        ]
        secrets: list[app.SecretArgsDict] = []
        if args.model_key_url is not None:
            secrets.append(
                {
                    "name": MODEL_KEY_SECRET,
                    "key_vault_url": args.model_key_url,
                    "identity": args.app_identity_id,
                }
            )
            env.append({"name": "OPENAI_API_KEY", "secret_ref": MODEL_KEY_SECRET})
        registries: list[app.RegistryCredentialsArgsDict] = []
        if args.registry_server is not None:
            registries.append({"server": args.registry_server, "identity": args.app_identity_id})

        rules: list[app.ScaleRuleArgsDict] = [
            {
                "name": "http-concurrency",
                "http": {"metadata": {"concurrentRequests": str(args.concurrent_requests)}},
            }
        ]
        if args.service_bus_rule is not None:
            rule = args.service_bus_rule
            rules.append(
                {
                    "name": "review-backlog",
                    "custom": {
                        "type": "azure-servicebus",
                        "identity": rule.identity_id,
                        "metadata": {
                            "namespace": rule.namespace,
                            "topicName": rule.topic,
                            "subscriptionName": rule.subscription,
                            "messageCount": str(rule.message_count),
                        },
                    },
                }
            )

        container_app = app.ContainerApp(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            container_app_name=args.app_id,
            managed_environment_id=args.environment_id,
            identity={
                "type": app.ManagedServiceIdentityType.USER_ASSIGNED,
                "user_assigned_identities": [args.app_identity_id, *args.extra_identity_ids],
            },
            configuration={
                "active_revisions_mode": app.ActiveRevisionsMode.SINGLE,
                "dapr": {
                    "enabled": True,
                    "app_id": args.app_id,
                    "app_port": args.port,
                    "app_protocol": app.AppProtocol.HTTP,
                    "log_level": app.LogLevel.INFO,
                },
                "ingress": {
                    "external": True,
                    "target_port": args.port,
                    "transport": app.IngressTransportMethod.AUTO,
                    # HTTP requests get a redirect to HTTPS, never an answer
                    "allow_insecure": False,
                    "traffic": [{"latest_revision": True, "weight": 100}],
                },
                "registries": registries,
                "secrets": secrets,
            },
            template={
                "containers": [
                    {
                        "name": "agent",
                        "image": args.image,
                        "resources": {"cpu": args.cpu, "memory": args.memory},
                        "env": env,
                        "probes": [
                            _probe("Liveness", "/healthz", args.port, 10),
                            _probe("Readiness", "/readyz", args.port, 5),
                        ],
                    }
                ],
                "scale": {
                    "min_replicas": args.min_replicas,
                    "max_replicas": args.max_replicas,
                    "rules": rules,
                },
            },
            opts=child_options(self, opts, depends_on=settle),
        )
        self.fqdn = container_app.configuration.apply(
            lambda c: (c.ingress.fqdn if c is not None and c.ingress is not None else None) or ""
        )
        self.url = self.fqdn.apply(lambda fqdn: f"https://{fqdn}")
        self.register_outputs({"fqdn": self.fqdn, "url": self.url})
