"""One member cluster registered with Karmada in Push mode, the way `karmadactl join` does it.

Karmada (v1.18, `pkg/karmadactl/join`, `pkg/util/credential.go`) registers a cluster in
two halves. In the member: the namespace `karmada-cluster`, a ServiceAccount
`karmada-<cluster>` bound to a ClusterRole `karmada-controller-manager:karmada-<cluster>`
(every verb on every resource, `get` on non-resource URLs), a ServiceAccount
`karmada-impersonator`, and a long-lived token Secret for each. In the Karmada API: the
Secret `karmada-cluster/<cluster>` with data `token` and `caBundle`, the Secret
`karmada-cluster/<cluster>-impersonator` with data `token`, and the cluster-scoped
`Cluster` object (`cluster.karmada.io/v1alpha1`, `syncMode: Push`) naming both Secrets.
Karmada's controllers read only `token` and `caBundle` (`BuildClusterConfig`), never a
kubeconfig, so a member's own admin credentials (client certificates, exec plugins) are
not handed over: the member mints a token for Karmada alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.options import child_options

CLUSTER_API = "cluster.karmada.io/v1alpha1"
#: where both halves keep the credentials (`karmadactl`'s DefaultKarmadaClusterNamespace);
#: the Karmada chart creates it in the Karmada API
CLUSTER_NAMESPACE = "karmada-cluster"
#: the label `karmadactl` puts on what it creates for Karmada
SYSTEM_LABELS = {"karmada.io/system": "true"}
IMPERSONATOR = "karmada-impersonator"
# Karmada's ValidateClusterName: a DNS-1123 label of at most 48 characters (the
# execution namespace `karmada-es-<cluster>` needs the rest)
_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$")
# label values, as Karmada checks provider and region (field selectors match them)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class KarmadaMemberArgs:
    #: the member's name in Karmada (what placements and overrides name)
    cluster_name: str
    #: the member's API server URL as Karmada's controllers reach it (`https://…`)
    api_endpoint: pulumi.Input[str]
    #: the member cluster's provider, built by the stack from its kubeconfig (a secret):
    #: the ServiceAccounts and token Secrets Karmada uses are created through it
    member_provider: k8s.Provider
    #: `spec.region` of the Cluster (placements and spread constraints select on it)
    region: str | None = None
    #: `spec.zones` of the Cluster
    zones: tuple[str, ...] = ()
    #: `spec.provider` of the Cluster (`azure`, `oci`, …)
    cloud_provider: str | None = None
    #: labels of the Cluster object (what a placement's labelSelector matches)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _CLUSTER_NAME.match(self.cluster_name):
            raise ValueError(
                f"Karmada cluster name {self.cluster_name!r} must be a DNS-1123 label of at "
                "most 48 characters"
            )
        for what, value in (("region", self.region), ("cloud_provider", self.cloud_provider)):
            if value is not None and not _LABEL_VALUE.match(value):
                raise ValueError(f"{what} {value!r} must be a valid label value")


def service_account_name(cluster_name: str) -> str:
    """`karmadactl`'s name for the member's ServiceAccount (names.GenerateServiceAccountName)."""
    return f"karmada-{cluster_name}"


def cluster_role_name(cluster_name: str) -> str:
    """`karmadactl`'s ClusterRole (and binding) name (names.GenerateRoleName)."""
    return f"karmada-controller-manager:{service_account_name(cluster_name)}"


def impersonator_secret_name(cluster_name: str) -> str:
    """The control-plane Secret with the impersonator's token (GenerateImpersonationSecretName)."""
    return f"{cluster_name}-impersonator"


def cluster_spec(args: KarmadaMemberArgs, api_endpoint: str) -> dict[str, Any]:
    """The `Cluster` object's spec (cluster.karmada.io/v1alpha1)."""
    spec: dict[str, Any] = {
        "syncMode": "Push",
        "apiEndpoint": api_endpoint,
        "secretRef": {"namespace": CLUSTER_NAMESPACE, "name": args.cluster_name},
        "impersonatorSecretRef": {
            "namespace": CLUSTER_NAMESPACE,
            "name": impersonator_secret_name(args.cluster_name),
        },
    }
    if args.cloud_provider:
        spec["provider"] = args.cloud_provider
    if args.region:
        spec["region"] = args.region
    if args.zones:
        spec["zones"] = list(args.zones)
    return spec


def _credentials(data: Mapping[str, str] | None, keys: Mapping[str, str]) -> dict[str, str]:
    """Karmada's data keys from a token Secret's `data` (already base64, as `data` wants)."""
    if not data:
        raise ValueError("the member's ServiceAccount token Secret has no data yet")
    return {ours: data[theirs] for ours, theirs in keys.items()}


class KarmadaMember(pulumi.ComponentResource):
    """A member cluster joined to Karmada in Push mode (Karmada's controllers push the
    propagated objects to `api_endpoint`, so the hub must reach it).

    Give it the Karmada API provider (`ResourceOptions(providers=[karmada])`); the member's
    own provider goes in `args.member_provider`. `cluster_name` is the Cluster's name.

    Pull mode (the `karmada-agent`, for members behind NAT) is not built here: the agent
    needs a client certificate for the Karmada API signed by Karmada's CA (the chart's
    `installMode: agent` takes `agent.kubeconfig.{caCrt,crt,key,server}`), so the control
    plane would have to run with `certs.mode: custom` and a CA this program owns, and the
    member must reach the Karmada API server instead.
    """

    cluster_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: KarmadaMemberArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:k8s:KarmadaMember", name, None, opts)
        member = pulumi.ResourceOptions.merge(
            child_options(self, opts), pulumi.ResourceOptions(provider=args.member_provider)
        )
        token, impersonator_token = self._member_credentials(name, args, member)
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={
                "name": args.cluster_name,
                "namespace": CLUSTER_NAMESPACE,
                "labels": SYSTEM_LABELS,
            },
            type="Opaque",
            data=pulumi.Output.secret(
                token.data.apply(
                    lambda d: _credentials(d, {"caBundle": "ca.crt", "token": "token"})
                )
            ),
            opts=child_options(self, opts),
        )
        impersonator = k8s.core.v1.Secret(
            f"{name}-impersonator-credentials",
            metadata={
                "name": impersonator_secret_name(args.cluster_name),
                "namespace": CLUSTER_NAMESPACE,
                "labels": SYSTEM_LABELS,
            },
            type="Opaque",
            data=pulumi.Output.secret(
                impersonator_token.data.apply(lambda d: _credentials(d, {"token": "token"}))
            ),
            opts=child_options(self, opts),
        )
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=CLUSTER_API,
            kind="Cluster",
            metadata={"name": args.cluster_name, "labels": dict(args.labels)},
            spec=pulumi.Output.from_input(args.api_endpoint).apply(
                lambda endpoint: cluster_spec(args, endpoint)
            ),
            opts=child_options(self, opts, depends_on=[secret, impersonator]),
        )
        self.cluster_name = cluster.id.apply(lambda _: args.cluster_name)
        self.register_outputs({"clusterName": self.cluster_name})

    def _member_credentials(
        self, name: str, args: KarmadaMemberArgs, member: pulumi.ResourceOptions
    ) -> tuple[k8s.core.v1.Secret, k8s.core.v1.Secret]:
        """The member's half: Karmada's ServiceAccounts, RBAC and long-lived token Secrets."""
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": CLUSTER_NAMESPACE, "labels": SYSTEM_LABELS},
            opts=member,
        )
        in_namespace = pulumi.ResourceOptions.merge(
            member, pulumi.ResourceOptions(depends_on=[namespace])
        )
        account = service_account_name(args.cluster_name)
        accounts = {
            account: k8s.core.v1.ServiceAccount(
                f"{name}-service-account",
                metadata={"name": account, "namespace": CLUSTER_NAMESPACE, "labels": SYSTEM_LABELS},
                opts=in_namespace,
            ),
            IMPERSONATOR: k8s.core.v1.ServiceAccount(
                f"{name}-impersonator",
                metadata={
                    "name": IMPERSONATOR,
                    "namespace": CLUSTER_NAMESPACE,
                    "labels": SYSTEM_LABELS,
                },
                opts=in_namespace,
            ),
        }
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            metadata={"name": cluster_role_name(args.cluster_name), "labels": SYSTEM_LABELS},
            rules=[
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["get"]},
            ],
            opts=member,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata={"name": cluster_role_name(args.cluster_name), "labels": SYSTEM_LABELS},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role.metadata.name,
            },
            subjects=[{"kind": "ServiceAccount", "name": account, "namespace": CLUSTER_NAMESPACE}],
            opts=pulumi.ResourceOptions.merge(
                member, pulumi.ResourceOptions(depends_on=[accounts[account]])
            ),
        )
        tokens = [
            # a `service-account-token` Secret: the token controller fills in `token` and
            # `ca.crt`, and the provider waits until it has (pulumi-kubernetes#2048)
            k8s.core.v1.Secret(
                f"{name}-{suffix}",
                metadata={
                    "name": sa,
                    "namespace": CLUSTER_NAMESPACE,
                    "labels": SYSTEM_LABELS,
                    "annotations": {"kubernetes.io/service-account.name": sa},
                },
                type="kubernetes.io/service-account-token",
                # the SDK keeps a Secret's `data` output secret in state
                opts=pulumi.ResourceOptions.merge(
                    member, pulumi.ResourceOptions(depends_on=[accounts[sa]])
                ),
            )
            for sa, suffix in ((account, "token"), (IMPERSONATOR, "impersonator-token"))
        ]
        return tokens[0], tokens[1]
