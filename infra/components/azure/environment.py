"""The Container Apps environment: Log Analytics, optional Application Insights, Consumption."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.app as app
import pulumi_azure_native.applicationinsights as applicationinsights
import pulumi_azure_native.operationalinsights as operationalinsights

from infra.components.options import child_options


@dataclass(frozen=True)
class AcaEnvironmentArgs:
    #: the resource group that holds the environment
    resource_group_name: pulumi.Input[str]
    #: the Azure region
    location: pulumi.Input[str]
    #: the environment's Azure name (the workspace and App Insights names derive from it)
    environment_name: str
    #: send Dapr's telemetry to an Application Insights resource
    app_insights: bool = False
    #: days Log Analytics keeps logs (30 is the free retention)
    log_retention_days: int = 30


class AcaEnvironment(pulumi.ComponentResource):
    """A Consumption-only ACA managed environment whose logs go to Log Analytics.

    ACA runs Dapr for the apps in it; with `app_insights`, Dapr's traces and metrics
    go to Application Insights through the environment's `daprAIConnectionString`.
    """

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    default_domain: pulumi.Output[str]

    def __init__(
        self, name: str, args: AcaEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:aca_environment:AcaEnvironment", name, None, opts)
        child = child_options(self, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            workspace_name=f"{args.environment_name}-logs",
            sku={"name": "PerGB2018"},
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=args.resource_group_name,
            workspace_name=workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        dapr_ai: pulumi.Output[str] | None = None
        if args.app_insights:
            insights = applicationinsights.Component(
                f"{name}-insights",
                resource_group_name=args.resource_group_name,
                location=args.location,
                resource_name_=f"{args.environment_name}-insights",
                kind="web",
                application_type="web",
                ingestion_mode="LogAnalytics",
                workspace_resource_id=workspace.id,
                opts=child,
            )
            dapr_ai = pulumi.Output.secret(insights.connection_string)
        environment = app.ManagedEnvironment(
            f"{name}-environment",
            resource_group_name=args.resource_group_name,
            location=args.location,
            environment_name=args.environment_name,
            # Consumption only: no workload profiles, so no dedicated (billed) nodes
            app_logs_configuration={
                "destination": "log-analytics",
                "log_analytics_configuration": {
                    "customer_id": workspace.customer_id,
                    "shared_key": pulumi.Output.secret(keys.primary_shared_key).apply(
                        lambda key: key or ""
                    ),
                },
            },
            dapr_ai_connection_string=dapr_ai,
            zone_redundant=False,
            opts=child,
        )
        self.id = environment.id
        self.name = environment.name
        self.default_domain = environment.default_domain
        self.register_outputs(
            {"id": self.id, "name": self.name, "defaultDomain": self.default_domain}
        )
