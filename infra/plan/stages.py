"""One planner per stage: its sizing, its ceilings and its bill."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from infra.plan.inputs import PlanInputs
from infra.plan.model import (
    STAGES,
    Demand,
    Limit,
    Scenario,
    Stage,
    StagePlan,
    StagePlanner,
    api_usd_per_month,
    common_figures,
    cpu_per_message_with_sidecar,
    demand,
    finish,
    gpus_for,
    llm_limits,
    per_replica_messages,
    replicas_for,
    section_figures,
    sidecar_calls_per_message,
    users_for,
)


def _pod_memory_gib(inputs: PlanInputs) -> float:
    return inputs.app.replica_memory_gib.value + inputs.dapr.sidecar_memory_gib.value


def _no_gpu(scenario: Scenario, inputs: PlanInputs, why: str) -> list[Limit]:
    return llm_limits(scenario, inputs, 0.0, why)


def _cluster_limits(
    scenario: Scenario,
    inputs: PlanInputs,
    where: str,
    usable_vcpu: float,
    usable_memory_gib: float,
    nodes: int,
    kind: str = "hard",
) -> list[Limit]:
    """CPU, memory and pod-count ceilings of a fixed set of machines running the platform."""
    per_replica = per_replica_messages(inputs, 1.0)
    util = inputs.app.target_cpu_utilization.value
    per_message = cpu_per_message_with_sidecar(inputs)
    pods = (
        inputs.kubernetes.max_pods_per_node.value - inputs.kubernetes.system_pods_per_node.value
    ) * nodes
    memory_replicas = max(0.0, usable_memory_gib) / _pod_memory_gib(inputs)
    return [
        Limit(
            f"{where} CPU: {usable_vcpu:g} vCPU left for the app",
            "hard",
            users_for(max(0.0, usable_vcpu) * util / per_message, scenario),
            f"{per_message * 1000:.2f} ms of app + daprd CPU per message at {util:.0%} load",
        ),
        Limit(
            f"{where} memory: {usable_memory_gib:g} GiB left for the app",
            "hard",
            users_for(math.floor(memory_replicas) * per_replica, scenario),
            f"{_pod_memory_gib(inputs):g} GiB per replica (app + daprd)",
        ),
        Limit(
            f"Kubernetes pods per node: {inputs.kubernetes.max_pods_per_node.value:g} "
            f"x {nodes} node(s)",
            "hard",
            users_for(pods * per_replica, scenario),
            f"{inputs.kubernetes.system_pods_per_node.value:g} system pods per node",
        ),
    ]


# --- prototype: kind on one laptop --------------------------------------------------


@dataclass(frozen=True)
class FixedCluster:
    """A stage whose cluster does not grow: what the app may use of it, and its labels."""

    stage: Literal["prototype", "oci"]
    #: the section of inputs.yaml with the stage's figures
    section: Any
    #: what the capacity limits are called ("laptop", "Always Free A1")
    label: str
    usable_vcpu: float
    usable_memory_gib: float
    nodes: int
    #: why no GPU fits
    no_gpu: str
    #: what the infrastructure line of the cost is called (it costs nothing)
    infrastructure: str


def _plan_fixed_cluster(scenario: Scenario, inputs: PlanInputs, site: FixedCluster) -> StagePlan:
    load = demand(scenario, inputs)
    limits = _cluster_limits(
        scenario, inputs, site.label, site.usable_vcpu, site.usable_memory_gib, site.nodes
    )
    limits += _no_gpu(scenario, inputs, site.no_gpu)
    per_replica = per_replica_messages(inputs, 1.0)
    sizing = {
        "replicas": replicas_for(load, per_replica),
        "per_replica": per_replica,
        "nodes": site.nodes,
        "regions": 1,
        "gpus": 0,
    }
    costs = {site.infrastructure: 0.0}
    if scenario.llm == "api":
        costs["LLM API"] = api_usd_per_month(load, scenario, inputs)
    figures = common_figures(inputs, scenario) + section_figures("kubernetes", inputs.kubernetes)
    figures += section_figures(f"stages.{site.stage}", site.section)
    return finish(site.stage, scenario, limits, sizing, costs, figures, load, inputs)


def plan_prototype(scenario: Scenario, inputs: PlanInputs) -> StagePlan:
    proto = inputs.stages.prototype
    share = proto.docker_share.value
    return _plan_fixed_cluster(
        scenario,
        inputs,
        FixedCluster(
            stage="prototype",
            section=proto,
            label="laptop",
            usable_vcpu=proto.laptop_vcpu.value * share - proto.platform_vcpu.value,
            usable_memory_gib=proto.laptop_memory_gib.value * share
            - proto.platform_memory_gib.value,
            nodes=int(proto.nodes.value),
            no_gpu="a laptop has no data-centre GPU",
            infrastructure="infrastructure (your laptop)",
        ),
    )


def _aca_limits(scenario: Scenario, inputs: PlanInputs, per_replica: float) -> list[Limit]:
    aca = inputs.stages.aca
    app = inputs.app
    ru_per_message = (
        app.state_reads_per_message.value * aca.cosmos_ru_per_read.value
        + app.state_writes_per_message.value * aca.cosmos_ru_per_write.value
    )
    cores_per_replica = aca.replica_vcpu.value
    limits = [
        Limit(
            f"ACA replicas per app: {aca.max_replicas.value:g}",
            "hard",
            users_for(aca.max_replicas.value * per_replica, scenario),
            f"{per_replica:.1f} messages/s per {cores_per_replica:g}-vCPU replica",
        ),
        Limit(
            f"ACA cores per environment: {aca.environment_cores_default.value:g} (default quota)",
            "quota",
            users_for(
                aca.environment_cores_default.value / cores_per_replica * per_replica, scenario
            ),
            "raised on request, up to the maximum",
        ),
        Limit(
            f"ACA cores per environment: {aca.environment_cores_max.value:g} (maximum)",
            "hard",
            users_for(aca.environment_cores_max.value / cores_per_replica * per_replica, scenario),
            "the Consumption profile's maximum quota",
        ),
        Limit(
            f"Cosmos DB serverless: {aca.cosmos_ru_per_second.value:,.0f} RU/s per container",
            "hard",
            users_for(aca.cosmos_ru_per_second.value / ru_per_message, scenario),
            f"{ru_per_message:g} RU per message; beyond it: provisioned throughput",
        ),
    ]
    return limits + _no_gpu(scenario, inputs, "not on Container Apps in this design")


def _aca_costs(
    scenario: Scenario, inputs: PlanInputs, load: Demand, replicas: int
) -> dict[str, float]:
    aca = inputs.stages.aca
    seconds = 3600 * inputs.hours_per_month.value
    vcpu_s = replicas * aca.replica_vcpu.value * seconds
    gib_s = replicas * aca.replica_memory_gib.value * seconds
    ru = load.messages_per_month * (
        inputs.app.state_reads_per_message.value * aca.cosmos_ru_per_read.value
        + inputs.app.state_writes_per_message.value * aca.cosmos_ru_per_write.value
    )
    bus_ops = load.messages_per_month * inputs.app.publishes_per_message.value
    costs = {
        "Container Apps vCPU": max(0.0, vcpu_s - aca.free_vcpu_seconds.value)
        * aca.usd_per_vcpu_second.value,
        "Container Apps memory": max(0.0, gib_s - aca.free_gib_seconds.value)
        * aca.usd_per_gib_second.value,
        "Container Apps requests": max(0.0, load.messages_per_month - aca.free_requests.value)
        / 1e6
        * aca.usd_per_million_requests.value,
        "Cosmos DB serverless": ru / 1e6 * aca.cosmos_usd_per_million_ru.value,
        "Service Bus Standard": aca.servicebus_base_usd_per_month.value
        + max(0.0, bus_ops - 13e6) / 1e6 * aca.servicebus_usd_per_million_operations.value,
    }
    if scenario.llm == "api":
        costs["LLM API"] = api_usd_per_month(load, scenario, inputs)
    return costs


def plan_aca(scenario: Scenario, inputs: PlanInputs) -> StagePlan:
    aca = inputs.stages.aca
    load = demand(scenario, inputs)
    # ACA runs daprd itself and bills only the app container's allocation
    per_replica = per_replica_messages(inputs, aca.replica_vcpu.value)
    replicas = replicas_for(load, per_replica)
    sizing = {
        "replicas": replicas,
        "per_replica": per_replica,
        "nodes": 0,
        "regions": 1,
        "gpus": 0,
    }
    limits = _aca_limits(scenario, inputs, per_replica)
    costs = _aca_costs(scenario, inputs, load, replicas)
    figures = common_figures(inputs, scenario) + section_figures("stages.aca", aca)
    return finish("aca", scenario, limits, sizing, costs, figures, load, inputs)


# --- oci: k3s on Always Free A1 -----------------------------------------------------


def plan_oci(scenario: Scenario, inputs: PlanInputs) -> StagePlan:
    oci = inputs.stages.oci
    return _plan_fixed_cluster(
        scenario,
        inputs,
        FixedCluster(
            stage="oci",
            section=oci,
            label="Always Free A1",
            usable_vcpu=(oci.ocpus.value - oci.platform_vcpu.value) * oci.vcpu_per_ocpu.value,
            usable_memory_gib=oci.memory_gib.value - oci.platform_memory_gib.value,
            nodes=int(oci.nodes.value),
            no_gpu="Always Free has no GPU shape",
            infrastructure="Always Free A1, block storage, NLB",
        ),
    )


# --- planet: AKS regions behind Azure Front Door -------------------------------------


@dataclass(frozen=True)
class PlanetLayout:
    """How the planet stage spreads the load: regions fill one after another."""

    #: app replicas in each region, in region order
    replicas: list[int]
    #: nodes for the app and the region's platform services, per region
    app_nodes: list[int]
    #: GPU nodes (one GPU each) per region
    gpus: list[int]

    @property
    def regions(self) -> int:
        return len(self.replicas)

    @property
    def nodes(self) -> int:
        return sum(self.app_nodes) + sum(self.gpus)


def planet_region_nodes(inputs: PlanInputs, replicas: int) -> int:
    """Nodes one region needs for `replicas` app pods plus its platform services."""
    planet, k8s = inputs.stages.planet, inputs.kubernetes
    per_replica = per_replica_messages(inputs, 1.0)
    sidecar_vcpu = max(
        inputs.dapr.sidecar_cpu_request.value,
        per_replica
        * sidecar_calls_per_message(inputs)
        * inputs.dapr.sidecar_cpu_seconds_per_call.value
        / inputs.app.target_cpu_utilization.value,
    )
    pod_vcpu = inputs.app.replica_vcpu.value + sidecar_vcpu
    node_vcpu = planet.node_vm.value * k8s.node_allocatable_fraction.value
    node_memory = planet.node_memory_gib.value * k8s.node_allocatable_fraction.value
    return max(
        math.ceil((replicas * pod_vcpu + planet.platform_vcpu_per_region.value) / node_vcpu),
        math.ceil(
            (replicas * _pod_memory_gib(inputs) + planet.platform_memory_gib_per_region.value)
            / node_memory
        ),
        math.ceil(replicas / (k8s.max_pods_per_node.value - k8s.system_pods_per_node.value)),
    )


def planet_layout(load: Demand, scenario: Scenario, inputs: PlanInputs) -> PlanetLayout:
    """Regions fill one after another (each at least its minimum, at most its maximum), so
    a growing load never shrinks a region: replicas, nodes and cost only grow with users.
    GPUs spread evenly; the front door weighs each region by its replicas."""
    planet = inputs.stages.planet
    needed = replicas_for(load, per_replica_messages(inputs, 1.0))
    low, high = int(planet.min_replicas_per_region.value), int(planet.max_replicas_per_region.value)
    regions = max(int(planet.min_regions.value), math.ceil(needed / high))
    replicas = [low] * regions
    spare = needed - low * regions
    for index in range(regions):
        added = min(max(spare, 0), high - low)
        replicas[index] += added
        spare -= added
    gpus = gpus_for(load, scenario, inputs)
    return PlanetLayout(
        replicas=replicas,
        app_nodes=[planet_region_nodes(inputs, count) for count in replicas],
        gpus=[gpus // regions + (1 if i < gpus % regions else 0) for i in range(regions)],
    )


def _planet_limits(scenario: Scenario, inputs: PlanInputs) -> list[Limit]:
    planet = inputs.stages.planet
    app_nodes = planet_region_nodes(inputs, int(planet.max_replicas_per_region.value))
    per_replica = per_replica_messages(inputs, 1.0)
    state_ops = inputs.app.state_reads_per_message.value + inputs.app.state_writes_per_message.value
    max_regions = planet.max_regions.value
    nodes_per_cluster = min(
        planet.max_nodes_per_region.value, inputs.kubernetes.max_nodes_per_cluster.value
    )
    gpu_nodes = max_regions * max(0.0, nodes_per_cluster - app_nodes)
    limits = [
        Limit(
            f"planet config: {max_regions:g} regions x {planet.max_replicas_per_region.value:g} "
            "replicas",
            "hard",
            users_for(max_regions * planet.max_replicas_per_region.value * per_replica, scenario),
            "daca:planet.regions and overrides.maxReplicas maxima; Front Door: 50 origins "
            "per origin group",
        ),
        Limit(
            f"Azure Front Door: {planet.frontdoor_requests_per_second.value:,.0f} requests/s "
            "per profile",
            "quota",
            users_for(planet.frontdoor_requests_per_second.value, scenario),
            "raised by an Azure support request",
        ),
        Limit(
            f"Redis per region: {planet.redis_ops_per_second.value:,.0f} ops/s",
            "hard",
            users_for(max_regions * planet.redis_ops_per_second.value / state_ops, scenario),
            f"{state_ops:g} state operations per message, one Redis per region",
        ),
    ]
    where = f"{max_regions:g} regions x {nodes_per_cluster:g} nodes per cluster, 1 GPU per node"
    return limits + llm_limits(scenario, inputs, gpu_nodes, where)


def _planet_costs(
    scenario: Scenario, inputs: PlanInputs, load: Demand, layout: PlanetLayout
) -> dict[str, float]:
    planet = inputs.stages.planet
    hours = inputs.hours_per_month.value
    app_nodes = sum(layout.app_nodes)
    requests = load.messages_per_month
    costs = {
        f"AKS nodes ({planet.node_vm.name})": app_nodes * planet.node_usd_per_hour.value * hours,
        "AKS Standard tier": layout.regions * planet.aks_usd_per_cluster_hour.value * hours,
        "Front Door Standard": planet.frontdoor_base_usd_per_month.value
        + requests / 1e4 * planet.frontdoor_usd_per_10k_requests.value
        + requests * inputs.app.response_kib.value / 1024**2 * planet.frontdoor_usd_per_gb.value,
    }
    if scenario.llm == "api":
        costs["LLM API"] = api_usd_per_month(load, scenario, inputs)
    else:
        costs["GPU nodes"] = (
            sum(layout.gpus) * inputs.llm.self_hosted.gpu_node_usd_per_hour.value * hours
        )
    return costs


def plan_planet(scenario: Scenario, inputs: PlanInputs) -> StagePlan:
    planet = inputs.stages.planet
    load = demand(scenario, inputs)
    layout = planet_layout(load, scenario, inputs)
    sizing = {
        "replicas": sum(layout.replicas),
        "per_replica": per_replica_messages(inputs, 1.0),
        "nodes": layout.nodes,
        "regions": layout.regions,
        "gpus": sum(layout.gpus),
    }
    limits = _planet_limits(scenario, inputs)
    costs = _planet_costs(scenario, inputs, load, layout)
    figures = common_figures(inputs, scenario) + section_figures("kubernetes", inputs.kubernetes)
    figures += section_figures("stages.planet", planet)
    return finish("planet", scenario, limits, sizing, costs, figures, load, inputs)


PLANNERS: dict[Stage, StagePlanner] = {
    "prototype": plan_prototype,
    "aca": plan_aca,
    "oci": plan_oci,
    "planet": plan_planet,
}


def plan(
    scenario: Scenario, inputs: PlanInputs, stages: tuple[Stage, ...] = STAGES
) -> list[StagePlan]:
    """Every requested stage's plan, in the order the stages climb."""
    return [PLANNERS[stage](scenario, inputs) for stage in stages]
