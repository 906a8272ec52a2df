"""Where Karmada runs the app: one PropagationPolicy and per-region OverridePolicies.

The app's objects are sent once to the Karmada API server; these policies
(`policy.karmada.io/v1alpha1`, Karmada v1.18) make them run in every active region. The
pair is the maintained successor of KubeFed's `FederatedDeployment` (placement) and its
`overrides` (per-cluster fields).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import pulumi
import pulumi_kubernetes as k8s

from infra.components.kubernetes.conventions import standard_labels
from infra.components.options import child_options

POLICY_API = "policy.karmada.io/v1alpha1"
DEPLOYMENT = ("apps/v1", "Deployment")
AUTOSCALER = ("autoscaling/v2", "HorizontalPodAutoscaler")
#: Karmada keeps a member's own `spec.replicas` (its HPA's choice) for a workload with
#: this label instead of resetting it to the template's (util.RetainReplicasLabel)
RETAIN_REPLICAS_LABEL = "resourcetemplate.karmada.io/retain-replicas"


class PropagatedResource(NamedTuple):
    """An object of the app that Karmada propagates, by apiVersion, kind and name."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class KarmadaAppPoliciesArgs:
    #: the app's name: the policies are named after it
    app_id: str
    #: the app's namespace (in the Karmada API); the policies and their selectors live there
    namespace: str
    #: the app's objects to propagate (Deployment, Service, HPA, …); ConfigMaps, Secrets
    #: and the ServiceAccount a Deployment references follow it (`propagateDeps`)
    resources: Sequence[PropagatedResource | tuple[str, str, str]]
    #: the active regions' Karmada cluster names: the app runs in each, and nowhere else
    clusters: Sequence[str]
    #: replicas per cluster (the Deployment's `spec.replicas` and the HPA's `minReplicas`
    #: there); a cluster without an entry keeps the template's count
    replicas_by_cluster: Mapping[str, int] = field(default_factory=dict)
    #: extra environment variables per cluster, appended to the Deployments' container
    env_by_cluster: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: index of that container in the pod template
    container_index: int = 0
    #: how long the app may stay unhealthy in a cluster before Karmada fails it over
    failover_toleration_seconds: int = 300
    #: how long the failed cluster's copy may linger waiting for the new one to be healthy
    failover_grace_period_seconds: int = 600
    #: what Karmada does when an object already exists in a member: `Abort` (default) or
    #: `Overwrite` (take over what the `pulumi` fan-out mode left there)
    conflict_resolution: Literal["Abort", "Overwrite"] = "Abort"
    #: each member scales its copy itself (KEDA's ScaledObject there), so Karmada must
    #: keep the member's replica count, as with a propagated HPA
    member_autoscaler: bool = False

    def __post_init__(self) -> None:
        if not self.clusters:
            raise ValueError("KarmadaAppPolicies needs at least one cluster")
        if len(set(self.clusters)) != len(self.clusters):
            raise ValueError(f"clusters are listed twice: {list(self.clusters)}")
        stray = sorted(
            (set(self.replicas_by_cluster) | set(self.env_by_cluster)) - set(self.clusters)
        )
        if stray:
            raise ValueError(f"replicas or env given for clusters that are not placed: {stray}")
        low = {c: n for c, n in self.replicas_by_cluster.items() if n < 1}
        if low:
            raise ValueError(
                f"replicas must be at least 1 (remove a cluster from clusters to drain it): {low}"
            )
        if not self.resources:
            raise ValueError("KarmadaAppPolicies needs the resources to propagate")
        if self.failover_toleration_seconds < 0 or self.failover_grace_period_seconds < 1:
            raise ValueError("failover toleration must be >= 0 and the grace period >= 1 second")

    @property
    def selected(self) -> list[PropagatedResource]:
        return [PropagatedResource(*r) for r in self.resources]


def _selectors(resources: Sequence[PropagatedResource], namespace: str) -> list[dict[str, str]]:
    # Karmada's webhook requires each selector's namespace to be the policy's own
    return [
        {"apiVersion": r.api_version, "kind": r.kind, "name": r.name, "namespace": namespace}
        for r in resources
    ]


def _of_kind(
    resources: Sequence[PropagatedResource], kind: tuple[str, str]
) -> list[PropagatedResource]:
    return [r for r in resources if (r.api_version, r.kind) == kind]


def propagation_policy_spec(args: KarmadaAppPoliciesArgs) -> dict[str, Any]:
    """The PropagationPolicy's spec: the app's objects, on exactly `args.clusters`, each
    with the full replica count (`Duplicated`), failed over when unhealthy."""
    return {
        "resourceSelectors": _selectors(args.selected, args.namespace),
        # the referenced ConfigMaps/Secrets/ServiceAccount go (and fail over) with the
        # Deployment; the webhook requires it with application failover
        "propagateDeps": True,
        "conflictResolution": args.conflict_resolution,
        "placement": {
            "clusterAffinity": {"clusterNames": list(args.clusters)},
            "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
        },
        "failover": {
            "application": {
                "decisionConditions": {"tolerationSeconds": args.failover_toleration_seconds},
                # keep the old copy until the new one is healthy (or the grace period ends)
                "purgeMode": "Gracefully",
                "gracePeriodSeconds": args.failover_grace_period_seconds,
            }
        },
    }


def _workload_overriders(args: KarmadaAppPoliciesArgs, cluster: str) -> dict[str, Any]:
    overriders: dict[str, Any] = {}
    plaintext: list[dict[str, Any]] = []
    if cluster in args.replicas_by_cluster:
        plaintext.append(
            {
                "path": "/spec/replicas",
                "operator": "replace",
                "value": args.replicas_by_cluster[cluster],
            }
        )
    container = f"/spec/template/spec/containers/{args.container_index}/env/-"
    plaintext += [
        {"path": container, "operator": "add", "value": {"name": key, "value": value}}
        for key, value in sorted(args.env_by_cluster.get(cluster, {}).items())
    ]
    if plaintext:
        overriders["plaintext"] = plaintext
    if _of_kind(args.selected, AUTOSCALER) or args.member_autoscaler:
        # the member's HPA owns the count after the first sync; without the label Karmada
        # would reset it to the template's on every sync
        overriders["labelsOverrider"] = [
            {"operator": "add", "value": {RETAIN_REPLICAS_LABEL: "true"}}
        ]
    return overriders


def override_policy_spec(args: KarmadaAppPoliciesArgs) -> dict[str, Any] | None:
    """The Deployments' OverridePolicy spec: one rule per cluster (its replicas, its env),
    or None when no cluster overrides anything."""
    deployments = _of_kind(args.selected, DEPLOYMENT)
    rules = [
        {"targetCluster": {"clusterNames": [cluster]}, "overriders": overriders}
        for cluster in args.clusters
        if (overriders := _workload_overriders(args, cluster))
    ]
    if not deployments or not rules:
        return None
    return {"resourceSelectors": _selectors(deployments, args.namespace), "overrideRules": rules}


def autoscaling_override_spec(args: KarmadaAppPoliciesArgs) -> dict[str, Any] | None:
    """The HPAs' OverridePolicy spec: each cluster's replicas as its `minReplicas` (an HPA
    would otherwise scale the Deployment back to the template's floor), or None."""
    autoscalers = _of_kind(args.selected, AUTOSCALER)
    rules = [
        {
            "targetCluster": {"clusterNames": [cluster]},
            "overriders": {
                "plaintext": [
                    {"path": "/spec/minReplicas", "operator": "replace", "value": replicas}
                ]
            },
        }
        for cluster in args.clusters
        if (replicas := args.replicas_by_cluster.get(cluster)) is not None
    ]
    if not autoscalers or not rules:
        return None
    return {"resourceSelectors": _selectors(autoscalers, args.namespace), "overrideRules": rules}


class KarmadaAppPolicies(pulumi.ComponentResource):
    """The app's PropagationPolicy (`<app_id>`) and OverridePolicies (`<app_id>-workload`
    for the Deployment, `<app_id>-autoscaling` for the HPA), in the Karmada API.

    Give it the Karmada API provider. With `Duplicated` scheduling on all active clusters,
    application failover has nowhere new to put the app: Karmada takes it off the
    unhealthy cluster (after `failover_toleration_seconds`, keeping it for the grace
    period), and the front door's health probes stop sending traffic there.
    """

    propagation_policy: pulumi.Output[str]
    override_policies: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: KarmadaAppPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:KarmadaAppPolicies", name, None, opts)
        # the project's labels, as on every other object: `-l app.kubernetes.io/name=<app>`
        labels = standard_labels(args.app_id, "federation")
        overrides: dict[str, k8s.apiextensions.CustomResource] = {}
        for suffix, spec in (
            ("workload", override_policy_spec(args)),
            ("autoscaling", autoscaling_override_spec(args)),
        ):
            if spec is None:
                continue
            policy_name = f"{args.app_id}-{suffix}"
            overrides[policy_name] = k8s.apiextensions.CustomResource(
                f"{name}-{suffix}-override",
                api_version=POLICY_API,
                kind="OverridePolicy",
                metadata={"name": policy_name, "namespace": args.namespace, "labels": labels},
                spec=spec,
                opts=child_options(self, opts),
            )
        # overrides first: Works built before them would reach members with the
        # template's replicas and be corrected a moment later
        propagation = k8s.apiextensions.CustomResource(
            f"{name}-propagation",
            api_version=POLICY_API,
            kind="PropagationPolicy",
            metadata={"name": args.app_id, "namespace": args.namespace, "labels": labels},
            spec=propagation_policy_spec(args),
            opts=child_options(self, opts, depends_on=list(overrides.values())),
        )
        self.propagation_policy = propagation.id.apply(lambda _: args.app_id)
        self.override_policies = pulumi.Output.all(*(o.id for o in overrides.values())).apply(
            lambda _: list(overrides)
        )
        self.register_outputs(
            {
                "propagationPolicy": self.propagation_policy,
                "overridePolicies": self.override_policies,
            }
        )
