"""`daca:observability`: kube-prometheus-stack with our monitors, alerts and dashboard.

The chart values are checked against what the pinned chart reads (kube-prometheus-stack
88.5.3's values.yaml and its grafana 12.11.1 subchart); the objects against the CRDs it
ships (infra/crd_schemas_monitoring.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.components.kubernetes.observability import (
    PROMETHEUS_URL,
    Observability,
    ObservabilityArgs,
)
from infra.config import ConfigError
from infra.config.observability import ObservabilityConfig
from infra.synth import SynthResult, load_stack_config, synthesize
from infra.validate import validate_manifests, validate_object
from tests.infra.conftest import (
    assert_config_error,
    edited_stack_file,
    of_type,
    one,
    run_under_mocks,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ON = ObservabilityConfig.model_validate({"enabled": True})


def component(config: ObservabilityConfig = ON, region: str | None = None) -> list[dict]:
    outputs: dict[str, Any] = {}

    def build() -> pulumi.Output[Any]:
        obs = Observability(
            "obs",
            ObservabilityArgs(config=config, app_id="agent", app_namespace="daca", region=region),
        )
        return pulumi.Output.all(obs.prometheus_url, obs.grafana_admin_password).apply(
            lambda v: outputs.update(url=v[0], password=v[1])
        )

    records = run_under_mocks(build)
    assert outputs["url"] == "http://kps-prometheus.monitoring.svc:9090" == PROMETHEUS_URL
    return records


def values(records: list[dict]) -> dict[str, Any]:
    release = one(records, RELEASE)["inputs"]
    assert release["chart"] == "kube-prometheus-stack"
    assert release["version"] == "88.5.3"
    assert release["namespace"] == "monitoring"
    assert release["atomic"] is True
    result: dict[str, Any] = release["values"]
    return result


def test_the_chart_picks_up_our_monitors_and_rules_wherever_they_are() -> None:
    records = component()
    spec = values(records)["prometheus"]["prometheusSpec"]
    for kind in ("podMonitor", "serviceMonitor", "rule", "probe"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
    assert values(records)["fullnameOverride"] == "kps"
    # no region label off planet
    assert "externalLabels" not in spec


def test_grafana_reads_its_generated_admin_password_from_a_secret() -> None:
    records = component()
    grafana = values(records)["grafana"]
    secret = one(records, "kubernetes:core/v1:Secret")["inputs"]
    assert grafana["admin"]["existingSecret"] == secret["metadata"]["name"]
    assert secret["metadata"]["namespace"] == "monitoring"
    assert set(secret["stringData"]) == {
        grafana["admin"]["userKey"],
        grafana["admin"]["passwordKey"],
    }
    assert "adminPassword" not in grafana  # never a plain value in the chart's values
    one(records, "random:index/randomPassword:RandomPassword")


def test_the_dashboard_configmap_carries_the_sidecars_label() -> None:
    records = component()
    sidecar = values(records)["grafana"]["sidecar"]["dashboards"]
    configmap = one(records, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert configmap["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]
    assert configmap["metadata"]["namespace"] == "monitoring" == sidecar["searchNamespace"]
    board = json.loads(next(iter(configmap["data"].values())))
    titles = {p["title"] for p in board["panels"]}
    assert {
        "Requests by status",
        "Request latency",
        "Agent runs by outcome",
        "Pending reviews",
    } <= titles
    assert {
        "Model tokens",
        "Dapr state store latency p95",
        "Dapr pub/sub publish latency p95",
    } <= titles


def test_pod_monitors_scrape_the_app_and_daprd_in_the_app_namespace_after_the_crds() -> None:
    records = component()
    monitors = {m["inputs"]["metadata"]["name"]: m for m in of_type(records, POD_MONITOR)}
    assert set(monitors) == {"agent-app", "agent-daprd"}
    ports = {}
    for name, monitor in monitors.items():
        spec = monitor["inputs"]["spec"]
        assert monitor["inputs"]["metadata"]["namespace"] == "monitoring"
        assert spec["namespaceSelector"] == {"matchNames": ["daca"]}
        assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "agent"}}
        ports[name] = spec["podMetricsEndpoints"][0]["port"]
        assert {"obs-crds", "obs-release"} <= set(monitor["dependsOn"])
        assert validate_object(_object(monitor), "1.34.0") is None
    # the app container's port name (AgentWorkload) and the injector's for daprd
    assert ports == {"agent-app": "metrics", "agent-daprd": "dapr-metrics"}
    rule = one(records, RULE)
    assert {"obs-crds", "obs-release"} <= set(rule["dependsOn"])
    assert validate_object(_object(rule), "1.34.0") is None
    alerts = {r["alert"] for r in rule["inputs"]["spec"]["groups"][0]["rules"]}
    assert alerts == {
        "DacaAgentSlowResponses",
        "DacaReviewBacklog",
        "DacaHighErrorRate",
        "DacaSidecarDown",
        "DacaModelUnreachable",
    }


def test_the_crds_are_ours_at_the_operators_version_and_the_chart_skips_them() -> None:
    records = component()
    assert values(records)["crds"] == {"enabled": False}
    assert one(records, RELEASE)["inputs"]["skipCrds"] is True
    files = one(records, "kubernetes:yaml/v2:ConfigGroup")["inputs"]["files"]
    assert len(files) == 10
    assert all("/prometheus-operator/v0.93.1/" in f for f in files)
    assert any(f.endswith("monitoring.coreos.com_podmonitors.yaml") for f in files)
    assert any(f.endswith("monitoring.coreos.com_prometheusrules.yaml") for f in files)


def test_alerts_and_dashboards_can_be_left_out() -> None:
    config = ObservabilityConfig.model_validate(
        {"enabled": True, "alerts": False, "dashboards": False}
    )
    records = component(config)
    assert of_type(records, RULE) == []
    assert of_type(records, "kubernetes:core/v1:ConfigMap") == []
    assert values(records)["grafana"]["enabled"] is False
    assert len(of_type(records, POD_MONITOR)) == 2


def test_sizes_and_retention_reach_prometheus() -> None:
    config = ObservabilityConfig.model_validate(
        {"enabled": True, "retention": "3d", "retentionSize": "1500MB", "storage": "2Gi",
         "prometheusResources": {"cpuRequest": "50m", "memoryRequest": "300Mi",
                                 "cpuLimit": "500m", "memoryLimit": "600Mi"}}
    )  # fmt: skip
    spec = values(component(config, region="eu-west"))["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "3d"
    assert spec["retentionSize"] == "1500MB"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "2Gi"
    assert spec["resources"]["requests"] == {"cpu": "50m", "memory": "300Mi"}
    assert spec["externalLabels"] == {"region": "eu-west"}


def _object(record: dict[str, Any]) -> dict[str, Any]:
    kind = record["type"].rsplit(":", 1)[1]
    api = record["type"].split(":")[1].replace("/", "/", 1)
    inputs = dict(record["inputs"])
    return {"apiVersion": inputs.pop("apiVersion", api), "kind": kind, **inputs}


# --- the stages -------------------------------------------------------------------------


def _metrics_rules(result: SynthResult) -> list[dict[str, Any]]:
    policy = one(result.resources, POLICY, "agent-ingress")["inputs"]["spec"]
    return [
        rule
        for rule in policy["ingress"]
        if {"protocol": "TCP", "port": 9090} in rule["ports"]
        or {"protocol": "TCP", "port": 9464} in rule["ports"]
    ]


def test_prototype_with_observability_on(
    stack_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    result = synthesize(
        "prototype",
        config_file=stack_config({"observability": {"enabled": True}}),
        out_dir=tmp_path / "out",
    )
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []
    one(result.resources, "daca:k8s:Observability", "observability")
    assert result.outputs["grafanaAdminPassword"] == "[secret]"
    # Prometheus, and only Prometheus in `monitoring`, reaches daprd's and the app's metrics
    (rule,) = _metrics_rules(result)
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert {p["port"] for p in rule["ports"]} == {9090, 9464}
    for monitor in of_type(result.resources, POD_MONITOR):
        assert monitor["inputs"]["metadata"]["namespace"] != "daca"


def test_without_observability_the_metrics_ports_stay_closed(prototype: SynthResult) -> None:
    assert _metrics_rules(prototype) == []
    assert of_type(prototype.resources, "daca:k8s:Observability") == []
    assert "grafanaAdminPassword" not in prototype.outputs


def test_oci_with_observability_on(tmp_path: Path) -> None:
    file = edited_stack_file("oci", tmp_path, {"observability.enabled": True})
    result = synthesize("oci", config_file=file, out_dir=tmp_path / "out")
    assert validate_manifests(result.manifests_dir, result.k8s_version) == []
    monitors = of_type(result.resources, POD_MONITOR)
    assert len(monitors) == 2
    assert result.outputs["grafanaAdminPassword"] == "[secret]"
    assert _metrics_rules(result)


# --- config ---------------------------------------------------------------------------

BAD = [
    ({"alerts": True}, ["daca:observability.alerts", "enabled is false"]),
    ({"dashboards": True}, ["daca:observability.dashboards", "enabled is false"]),
    ({"alertmanager": True}, ["daca:observability.alertmanager", "enabled is false"]),
    ({"enabled": True, "alertmanager": True, "alerts": False}, ["alertmanager", "alerts is false"]),
    ({"enabled": True, "retention": "7 days"}, ["retention", "7 days"]),
    ({"enabled": True, "retention": "0"}, ["retention", "'0'"]),
    ({"enabled": True, "retentionSize": "4G"}, ["retentionSize", "4G"]),
    ({"enabled": True, "retentionSize": "6GB", "storage": "5Gi"}, ["(6GB)", "(5Gi)"]),
    ({"enabled": True, "storage": "lots"}, ["storage", "lots"]),
    # a volume in decimal kilobytes is a quantity too (was a ValueError traceback)
    ({"enabled": True, "storage": "500k"}, ["(4GB)", "(500k)"]),
    ({"enabled": True, "scrapeInterval": "30 s"}, ["scrapeInterval", "30 s"]),
    ({"enabled": True, "thresholds": {"errorRatio": 1.5}}, ["errorRatio", "1.5"]),
    ({"enabled": True, "thresholds": {"pendingReviews": 0}}, ["pendingReviews", "0"]),
    ({"enabled": True, "thresholds": {"agentP95Seconds": 0}}, ["agentP95Seconds", "0"]),
    ({"enabled": True, "grafanaResources": {"cpuRequest": "lots"}}, ["cpuRequest", "lots"]),
    ({"enabled": True, "prometheus": True}, ["prometheus"]),
    ({"enabled": True, "globalView": "thanos"}, ["globalView is thanos on stage prototype"]),
    ({"enabled": True, "queryRegion": "eu-west"}, ["queryRegion is set", "globalView is none"]),
    ({"globalView": "thanos"}, ["daca:observability.globalView", "enabled is false"]),
    ({"enabled": True, "globalView": "prometheus"}, ["globalView", "prometheus"]),
]  # fmt: skip


@pytest.mark.parametrize(("section", "expected"), BAD, ids=[str(c[0]) for c in BAD])
def test_bad_observability_config_is_one_line_naming_the_key(
    section: dict[str, Any],
    expected: list[str],
    stack_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    file = stack_config({"observability": section})
    assert_config_error(file, expected)
    # and nothing is registered
    with pytest.raises(ConfigError):
        synthesize("prototype", config_file=file, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "resources.json").exists()


def test_a_misspelled_pod_monitor_field_or_broken_promql_is_caught() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "m", "namespace": "monitoring"},
        "spec": {"selector": {}, "podMetricEndpoints": [{"port": "metrics"}]},
    }
    assert "podMetricEndpoints" in str(validate_object(monitor, "1.34.0"))
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r", "namespace": "monitoring"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]},
    }
    assert "g/A: expr: unbalanced" in str(validate_object(rule, "1.34.0"))
    rule["spec"]["groups"][0]["rules"][0] = {"alert": "A", "expr": "x > 1", "for": "5 min"}
    assert "for" in str(validate_object(rule, "1.34.0"))


def test_shipped_stack_files_document_the_key() -> None:
    root = Path(__file__).parents[2]
    for stack in ("prototype", "oci"):
        text = (root / f"Pulumi.{stack}.yaml").read_text()
        assert "daca:observability" in text
        config = yaml.safe_load(text)["config"]
        assert not (config.get("daca:observability") or {}).get("enabled", False)


@pytest.fixture(scope="module")
def planet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return synthesize("planet", out_dir=tmp_path_factory.mktemp("synth-planet-obs"))


def _region_values(planet: SynthResult) -> dict[str, dict[str, Any]]:
    return {
        r["name"].removesuffix("-observability-release"): r["inputs"]["values"]
        for r in of_type(planet.resources, RELEASE)
        if r["name"].endswith("-observability-release")
    }


def test_planet_labels_every_series_with_its_region(planet: SynthResult) -> None:
    assert validate_manifests(planet.manifests_dir, planet.k8s_version) == []
    regions = {
        name: v["prometheus"]["prometheusSpec"]["externalLabels"]
        for name, v in _region_values(planet).items()
    }
    assert regions == {name: {"region": name} for name in ("eu-west", "us-east", "eu-oci")}
    # each region's monitors go through that region's provider
    for monitor in of_type(planet.resources, POD_MONITOR):
        region = monitor["name"].split("-observability-")[0]
        assert region in monitor["provider"]
    assert planet.outputs["grafanaAdminPasswords"] == "[secret]"


def test_planet_has_one_global_query_view_over_mutual_tls(planet: SynthResult) -> None:
    from infra.components.kubernetes.thanos import SIDECAR_SERVER_NAME

    query = one(
        planet.resources, "kubernetes:apps/v1:Deployment", "eu-west-thanos-query-deployment"
    )
    assert "eu-west" in query["provider"]
    args = query["inputs"]["spec"]["template"]["spec"]["containers"][0]["args"]
    # the image's entrypoint is /bin/thanos: the first argument picks the component
    assert args[0] == "query"
    endpoints = [a.removeprefix("--endpoint=") for a in args if a.startswith("--endpoint=")]
    hosts = {
        o["inputs"]["hostName"] for o in of_type(planet.resources, "azure-native:cdn:AFDOrigin")
    }
    # its own sidecar in-cluster, every other region through its public host on 443
    assert endpoints[0] == "kps-thanos-discovery.monitoring.svc:10901"
    assert len(endpoints) == 3
    assert all(e.endswith(":443") and e.removesuffix(":443") in hosts for e in endpoints[1:])
    assert "--grpc-client-tls-secure" in args
    assert f"--grpc-client-server-name={SIDECAR_SERVER_NAME}" in args
    values = _region_values(planet)
    for region, v in values.items():
        thanos = v["prometheus"]["prometheusSpec"]["thanos"]
        # a client certificate is required (the operator's caFile -> client CA)
        assert thanos["grpcServerTlsConfig"]["caFile"].endswith("/ca.crt")
        mount = thanos["volumeMounts"][0]
        assert mount["name"] == "secret-" + v["prometheus"]["prometheusSpec"]["secrets"][0]
        assert v["prometheus"]["thanosService"] == {"enabled": True}
        sources = v["grafana"]["additionalDataSources"]
        assert (sources != []) == (region == "eu-west")
    routes = of_type(planet.resources, "kubernetes:traefik.io/v1alpha1:IngressRouteTCP")
    assert len(routes) == 3
    for route in routes:
        spec = route["inputs"]["spec"]
        assert spec["tls"] == {"passthrough": True}
        assert spec["routes"][0]["match"] == f"HostSNI(`{SIDECAR_SERVER_NAME}`)"
    csrs = of_type(planet.resources, "tls:index/certRequest:CertRequest")
    servers = [c for c in csrs if "sidecar" in c["name"]]
    assert len(servers) == 3
    assert all(c["inputs"]["dnsNames"] == [SIDECAR_SERVER_NAME] for c in servers)
    certs = of_type(planet.resources, "tls:index/locallySignedCert:LocallySignedCert")
    uses = {c["name"]: set(c["inputs"]["allowedUses"]) for c in certs}
    assert all("server_auth" in u for n, u in uses.items() if "sidecar" in n)
    assert "client_auth" in uses["eu-west-thanos-query-client-cert"]
    # one CA signs them all (three sidecars and Query's client)
    assert len(certs) == 4
    for cert in certs:
        assert cert["propertyDependencies"]["caCertPem"] == ["thanos-ca-cert"]
        assert cert["propertyDependencies"]["caPrivateKeyPem"] == ["thanos-ca-key"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"observability.queryRegion": "mars"}, ["queryRegion is mars", "eu-west, us-east"]),
        (
            {"observability.globalView": "none", "observability.queryRegion": "eu-west"},
            ["queryRegion is set (eu-west)", "globalView is none"],
        ),
    ],
)
def test_bad_planet_global_view_config(
    changes: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(edited_stack_file("planet", tmp_path, changes))
    for fragment in expected:
        assert fragment in str(caught.value)


def test_a_region_without_traefik_cannot_join_the_global_view(tmp_path: Path) -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "Pulumi.planet.yaml").read_text())
    regions = config["config"]["daca:planet"]["regions"]
    regions.append(
        {
            "name": "on-prem",
            "cluster": {
                "kind": "kubeconfig",
                "host": "agent.example.com",
                "installIngressController": False,
                "ingressClass": "nginx",
            },
        }
    )
    file = tmp_path / "Pulumi.t.yaml"
    file.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        load_stack_config(file)
    assert "region on-prem keeps its own ingress controller" in str(caught.value)


def test_the_sidecars_tls_files_are_the_keys_of_its_mounted_secret(planet: SynthResult) -> None:
    """prometheus-operator mounts each of `prometheusSpec.secrets` as volume
    `secret-<name>`; the sidecar's certificate, key and client CA must be files of that
    volume, i.e. keys of the Secret the stack writes in the same region."""
    for region, values in _region_values(planet).items():
        spec = values["prometheus"]["prometheusSpec"]
        (secret_name,) = spec["secrets"]
        (mount,) = spec["thanos"]["volumeMounts"]
        assert mount["name"] == f"secret-{secret_name}"
        (secret,) = [
            s
            for s in of_type(planet.resources, "kubernetes:core/v1:Secret")
            if s["provider"] == region
            and s["inputs"]["metadata"] == {"name": secret_name, "namespace": "monitoring"}
        ]
        files = {f"{mount['mountPath']}/{key}" for key in secret["inputs"]["stringData"]}
        tls = spec["thanos"]["grpcServerTlsConfig"]
        assert set(tls) == {"certFile", "keyFile", "caFile"}
        assert set(tls.values()) == files
        assert tls["certFile"].endswith("/tls.crt")
        assert tls["keyFile"].endswith("/tls.key")
