"""An AKS cluster for one planet region: Entra ID sign-in and Azure RBAC only, and a static
public IP with a DNS label for the region's ingress, known before the ingress controller is."""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.network as network
import yaml

from infra.components.azure.identity import Grantee, grant_role
from infra.components.options import child_options
from infra.config.llm import GPU_NODE_LABEL, GPU_TAINT_KEY

#: Azure built-in role definition IDs (learn.microsoft.com, "Azure built-in roles":
#: Containers and Networking). Cluster Admin: every Kubernetes object in the cluster,
#: through Azure RBAC; Network Contributor: what AKS's cloud provider needs to attach a
#: public IP that lives outside the node resource group.
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"

#: Service annotations AKS's cloud provider (kubernetes-sigs/cloud-provider-azure,
#: pkg/consts) reads on a LoadBalancer Service: use this existing public IP by name, look
#: for it in this resource group, and probe this path (AKS >= 1.24 probes HTTP ports over
#: HTTP at "/", where ingress-nginx answers 404, which takes every backend out of the pool)
PIP_NAME_ANNOTATION = "service.beta.kubernetes.io/azure-pip-name"
PIP_RESOURCE_GROUP_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-resource-group"
HEALTH_PROBE_PATH_ANNOTATION = (
    "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"
)

#: what `kubelogin convert-kubeconfig` writes (Azure/kubelogin, pkg/internal/converter)
KUBELOGIN_API_VERSION = "client.authentication.k8s.io/v1beta1"
KUBELOGIN_INSTALL_HINT = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://azure.github.io/kubelogin/\n"
)

# the cluster name is also its DNS prefix: 1-54 letters, digits and hyphens, alphanumeric
# at both ends
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
# a public IP's domain name label (network: PublicIPAddressDnsSettings)
_DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_MINOR_VERSION = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True)
class AksClusterArgs:
    #: the resource group that holds the cluster and its ingress IP
    resource_group_name: pulumi.Input[str]
    #: the Azure region, in its canonical form ("westeurope")
    location: pulumi.Input[str]
    #: the cluster's Azure name, also its DNS prefix: 1-54 letters, digits and hyphens
    cluster_name: str
    #: the subscription (role definitions are subscription-scoped)
    subscription_id: pulumi.Input[str]
    #: the Entra ID tenant users sign in from
    tenant_id: pulumi.Input[str]
    #: the object id of whoever runs `pulumi up` (`get_client_config().object_id`): granted
    #: "Azure Kubernetes Service RBAC Cluster Admin" on the cluster, since local accounts
    #: are off and nobody else can reach the API
    deployer_object_id: pulumi.Input[str]
    #: the ingress IP's DNS label: the region's public host is
    #: `<dns_label>.<location>.cloudapp.azure.com`; unique within the Azure region
    dns_label: str
    #: "MAJOR.MINOR" (e.g. "1.33"), or None for AKS's default version. Never a patch: the
    #: "patch" auto-upgrade channel moves patches, and a pinned one would be rolled back
    kubernetes_version: str | None = None
    #: the system pool's VM size. D2s_v5 (2 vCPU, 8 GiB, general purpose) is offered in
    #: nearly every region and meets AKS's system-pool minimum (2 vCPU, 4 GiB); the
    #: burstable B sizes run out of CPU credits under Dapr + the app
    node_vm_size: str = "Standard_D2s_v5"
    #: nodes to start with (AKS wants two or more on a lone system pool in production)
    node_count: int = 2
    #: the autoscaler's floor; the cluster autoscaler runs only when max_count > min_count
    min_count: int = 2
    #: the autoscaler's ceiling
    max_count: int = 2
    #: "User" (a laptop signed in with `az login`) or "ServicePrincipal" (CI): Azure
    #: refuses a role assignment whose principal type does not match the principal
    deployer_principal_type: str = "User"
    #: CIDRs that may reach the Kubernetes API; empty leaves it reachable from anywhere,
    #: still only with an Entra ID token (local accounts are off)
    api_server_authorized_ip_ranges: Sequence[str] = ()
    #: turn on the OIDC issuer and workload identity (pods get Entra ID tokens)
    workload_identity: bool = False
    #: the ingress IP's Azure name; default `<cluster_name>-ingress`
    ingress_ip_name: str | None = None
    #: a GPU node pool (`GPU_POOL_NAME`): its NVIDIA VM size and node count; None: no GPUs
    gpu_pool: tuple[str, int] | None = None


#: the GPU pool's name (1-12 lowercase letters and digits), its taint and node label: only
#: pods that tolerate the taint run there; the label is what NVIDIA's device plugin selects
GPU_POOL_NAME = "gpu"
GPU_TAINT = f"{GPU_TAINT_KEY}=present:NoSchedule"


def check_args(args: AksClusterArgs) -> None:
    """Raise ValueError naming the field, its value and what is allowed."""
    if not _CLUSTER_NAME.match(args.cluster_name):
        raise ValueError(
            f"cluster_name {args.cluster_name!r}: 1-54 letters, digits and hyphens, "
            "starting and ending with a letter or digit (it is also the DNS prefix)"
        )
    if not _DNS_LABEL.match(args.dns_label):
        raise ValueError(
            f"dns_label {args.dns_label!r}: 3-63 lowercase letters, digits and hyphens, "
            "starting with a letter and ending with a letter or digit"
        )
    if args.kubernetes_version is not None and not _MINOR_VERSION.match(args.kubernetes_version):
        raise ValueError(
            f"kubernetes_version {args.kubernetes_version!r}: MAJOR.MINOR (e.g. '1.33') or "
            "None; the 'patch' upgrade channel keeps the patch current"
        )
    if not 1 <= args.min_count <= args.node_count <= args.max_count <= 1000:
        raise ValueError(
            f"node counts min={args.min_count} node={args.node_count} max={args.max_count}: "
            "need 1 <= min_count <= node_count <= max_count <= 1000"
        )
    for cidr in args.api_server_authorized_ip_ranges:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            raise ValueError(
                f"api_server_authorized_ip_ranges: {cidr!r} is not a CIDR (e.g. 203.0.113.7/32)"
            ) from None
    if args.deployer_principal_type not in ("User", "ServicePrincipal"):
        raise ValueError(
            f"deployer_principal_type {args.deployer_principal_type!r}: User or ServicePrincipal"
        )


def kubeconfig_for_azure_cli(kubeconfig: str) -> str:
    """What `kubelogin convert-kubeconfig -l azurecli` makes of an AKS kubeconfig.

    Every user whose exec plugin is kubelogin gets `kubelogin get-token --login azurecli
    --server-id <its server id>` (and keeps its cache dir), so tokens come from `az login`
    instead of a device-code prompt no `pulumi up` could answer. Users that are not
    kubelogin's, or that name no server id (kubelogin refuses those too), are left alone.
    """
    document = yaml.safe_load(kubeconfig)
    for entry in document.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        plugin = user.get("exec") if isinstance(user, dict) else None
        if (
            not isinstance(plugin, dict)
            or "kubelogin" not in str(plugin.get("command", "")).lower()
        ):
            continue
        args = [str(a) for a in plugin.get("args") or []]
        server_id = _arg_after(args, "--server-id")
        if server_id is None:
            continue
        converted = ["get-token", "--login", "azurecli", "--server-id", server_id]
        cache_dir = _arg_after(args, "--cache-dir") or _arg_after(args, "--token-cache-dir")
        if cache_dir is not None:
            converted += ["--cache-dir", cache_dir]
        assert isinstance(user, dict)
        user["exec"] = {
            "apiVersion": KUBELOGIN_API_VERSION,
            "command": "kubelogin",
            "args": converted,
            "env": None,
            "installHint": plugin.get("installHint") or KUBELOGIN_INSTALL_HINT,
            "provideClusterInfo": False,
        }
        user.pop("auth-provider", None)
    return yaml.safe_dump(document, sort_keys=False)


def _arg_after(args: list[str], flag: str) -> str | None:
    for index, arg in enumerate(args[:-1]):
        if arg == flag:
            return args[index + 1]
    return None


class AksCluster(pulumi.ComponentResource):
    """One region's AKS cluster, its ingress IP, and who may use them.

    The cluster: system-assigned identity; Entra ID (managed AAD) with Azure RBAC for
    Kubernetes authorization, Kubernetes RBAC on, local accounts off (so no static admin
    certificate exists); Azure CNI Overlay with the Cilium dataplane (kubenet is being
    retired, overlay pods take no VNet addresses, and Cilium enforces the NetworkPolicies
    the platform layer writes); Free tier; the "patch" auto-upgrade channel.

    The ingress IP: a static Standard public IP with a DNS label, in the cluster's resource
    group (not the node resource group AKS deletes with the cluster), so the region's host
    is known, and stays, whatever happens to the ingress controller. The cluster's identity
    gets Network Contributor on that resource group, as AKS requires for an IP outside its
    node resource group (give each region a resource group of its own, so that grant
    reaches no other region's network); `ingress_service_annotations` carries the
    annotations the ingress controller's Service needs, and depends on that grant.

    The API server answers only Entra ID tokens; `api_server_authorized_ip_ranges`
    narrows who may reach it at all (the operator's CIDR; the CI runner's, if CI deploys).

    `kubeconfig` (secret) authenticates through the kubelogin exec plugin in Azure CLI mode:
    the machine running `pulumi up` needs `kubelogin` on its PATH and an `az login` as the
    deployer, who is granted Cluster Admin here. Role assignments can take minutes to
    reach the API server: a first `pulumi up` may need a second run.
    """

    id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    #: the cluster's identity (the principal granted Network Contributor)
    principal_id: pulumi.Output[str]
    ingress_ip: pulumi.Output[str]
    ingress_host: pulumi.Output[str]
    ingress_ip_name: pulumi.Output[str]
    ingress_ip_resource_group: pulumi.Output[str]
    #: the annotations for the ingress controller's LoadBalancer Service
    ingress_service_annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(args)
        super().__init__("daca:azure:AksCluster", name, None, opts)
        cluster = _cluster(f"{name}-cluster", args, _cluster_options(self, opts, args))
        ingress_ip = network.PublicIPAddress(
            f"{name}-ingress-ip",
            resource_group_name=args.resource_group_name,
            location=args.location,
            public_ip_address_name=args.ingress_ip_name or f"{args.cluster_name}-ingress",
            # Standard: the only SKU AKS's Standard load balancer takes
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            dns_settings={"domain_name_label": args.dns_label},
            opts=child_options(self, opts),
        )
        principal_id = cluster.identity.apply(lambda i: (i.principal_id if i else None) or "")
        network_grant = grant_role(
            f"{name}-network-contributor",
            subscription_id=args.subscription_id,
            role=NETWORK_CONTRIBUTOR,
            scope=pulumi.Output.concat(
                "/subscriptions/",
                args.subscription_id,
                "/resourceGroups/",
                args.resource_group_name,
            ),
            grantee=Grantee(label="cluster", principal_id=principal_id),
            parent=self,
        )
        # not grant_role: that one types every principal ServicePrincipal, and the deployer
        # is often a User
        admin_grant = authorization.RoleAssignment(
            f"{name}-deployer-cluster-admin",
            principal_id=args.deployer_object_id,
            principal_type=args.deployer_principal_type,
            role_definition_id=pulumi.Output.concat(
                "/subscriptions/",
                args.subscription_id,
                "/providers/Microsoft.Authorization/roleDefinitions/",
                AKS_RBAC_CLUSTER_ADMIN,
            ),
            scope=cluster.id,
            opts=child_options(self, opts),
        )
        if args.gpu_pool is not None:
            _gpu_pool(f"{name}-gpu-pool", args, cluster, child_options(self, opts))
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=cluster.name,
            # exec: a kubelogin kubeconfig (the "azure" auth-provider left kubectl in 1.26)
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[admin_grant]),
        )
        self.kubeconfig = pulumi.Output.secret(
            credentials.kubeconfigs.apply(
                lambda kubeconfigs: kubeconfig_for_azure_cli(
                    base64.b64decode(kubeconfigs[0].value).decode()
                )
            )
        )
        self.id = cluster.id
        self.cluster_name = cluster.name
        self.principal_id = principal_id
        self.ingress_ip = ingress_ip.ip_address.apply(lambda ip: ip or "")
        self.ingress_host = ingress_ip.dns_settings.apply(
            lambda dns: (dns.fqdn if dns is not None else None) or ""
        )
        self.ingress_ip_name = ingress_ip.name
        self.ingress_ip_resource_group = pulumi.Output.from_input(args.resource_group_name)
        self.ingress_service_annotations = pulumi.Output.all(
            ingress_ip.name, pulumi.Output.from_input(args.resource_group_name), network_grant.id
        ).apply(
            lambda values: {
                PIP_NAME_ANNOTATION: values[0],
                PIP_RESOURCE_GROUP_ANNOTATION: values[1],
                HEALTH_PROBE_PATH_ANNOTATION: "/healthz",
            }
        )
        self.register_outputs(
            {
                "id": self.id,
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "principalId": self.principal_id,
                "ingressIp": self.ingress_ip,
                "ingressHost": self.ingress_host,
                "ingressIpName": self.ingress_ip_name,
                "ingressIpResourceGroup": self.ingress_ip_resource_group,
            }
        )


def _autoscaled(args: AksClusterArgs) -> bool:
    return args.max_count > args.min_count


def _cluster(
    name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions
) -> containerservice.ManagedCluster:
    autoscaled = _autoscaled(args)
    system_pool: containerservice.ManagedClusterAgentPoolProfileArgsDict = {
        # 1-12 lowercase letters and digits; the mode must be explicit through the API
        "name": "system",
        "mode": "System",
        "type": "VirtualMachineScaleSets",
        "os_type": "Linux",
        "vm_size": args.node_vm_size,
        "count": args.node_count,
        "enable_auto_scaling": autoscaled,
        "min_count": args.min_count if autoscaled else None,
        "max_count": args.max_count if autoscaled else None,
        "orchestrator_version": args.kubernetes_version,
    }
    ranges = list(args.api_server_authorized_ip_ranges)
    return containerservice.ManagedCluster(
        name,
        resource_group_name=args.resource_group_name,
        location=args.location,
        resource_name_=args.cluster_name,
        dns_prefix=args.cluster_name,
        kubernetes_version=args.kubernetes_version,
        # Free: no uptime SLA and no charge for the control plane
        sku={"name": "Base", "tier": "Free"},
        identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
        aad_profile={"managed": True, "enable_azure_rbac": True, "tenant_id": args.tenant_id},
        enable_rbac=True,
        disable_local_accounts=True,
        network_profile={
            "network_plugin": "azure",
            "network_plugin_mode": "overlay",
            "network_dataplane": "cilium",
            "network_policy": "cilium",
            "load_balancer_sku": "standard",
            "outbound_type": "loadBalancer",
        },
        agent_pool_profiles=[system_pool],
        auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
        api_server_access_profile={"authorized_ip_ranges": ranges} if ranges else None,
        oidc_issuer_profile={"enabled": True} if args.workload_identity else None,
        security_profile=(
            {"workload_identity": {"enabled": True}} if args.workload_identity else None
        ),
        opts=opts,
    )


def _gpu_pool(
    name: str,
    args: AksClusterArgs,
    cluster: containerservice.ManagedCluster,
    opts: pulumi.ResourceOptions,
) -> containerservice.AgentPool:
    """A User pool of NVIDIA GPU VMs; AKS installs their driver (gpuProfile.driver Install)."""
    assert args.gpu_pool is not None
    vm_size, count = args.gpu_pool
    return containerservice.AgentPool(
        name,
        resource_group_name=args.resource_group_name,
        resource_name_=cluster.name,
        agent_pool_name=GPU_POOL_NAME,
        mode="User",
        type="VirtualMachineScaleSets",
        os_type="Linux",
        vm_size=vm_size,
        count=count,
        orchestrator_version=args.kubernetes_version,
        node_taints=[GPU_TAINT],
        node_labels=dict([GPU_NODE_LABEL]),
        gpu_profile={"driver": "Install"},
        opts=opts,
    )


def _cluster_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, args: AksClusterArgs
) -> pulumi.ResourceOptions:
    options = child_options(parent, opts)
    if _autoscaled(args):
        # the autoscaler owns the node count once it runs; the program must not reset it
        options = pulumi.ResourceOptions.merge(
            options, pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[0].count"])
        )
    return options
