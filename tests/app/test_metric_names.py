"""Every metric an alert or a dashboard panel queries is one the app or daprd exports.

(a) the app: its own registry, scraped after exercising it (a reply, a held reply, a
sweep), as Prometheus would read it; (b) daprd: the names dapr/dapr v1.18.3 defines (listed
below with the file each comes from); (c) `up`, which Prometheus writes for every target.
A typo in a query, or a metric renamed in app/metrics.py, fails here instead of leaving an
alert that can never fire. No network: the queries are tokenized, not sent anywhere.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.routes.dapr_bindings import SWEEP_ROUTE
from infra.components.kubernetes.observability_queries import (
    alert_rules,
    dashboard,
)
from infra.config.observability import AlertThresholds
from infra.crd_schemas_monitoring import metric_names, promql_problem
from tests.app.conftest import running_app

pytestmark = pytest.mark.anyio

# dapr/dapr v1.18.3 exports OpenCensus views through contrib.go.opencensus.io/exporter/
# prometheus v0.4.2 with the namespace `dapr` (pkg/metrics/exporter.go,
# DefaultMetricNamespace): name = "dapr_" + the view name with "/" as "_". Count views are
# counters *without* a `_total` suffix (the exporter adds none, and daprd's promhttp handler
# does not offer OpenMetrics, so Prometheus keeps the name); Distribution views are classic
# histograms: `_bucket`, `_sum`, `_count`. Latencies are milliseconds.
_DAPR_VIEWS = {
    # pkg/diagnostics/component_monitoring.go
    "component/state/count": "counter",
    "component/state/latencies": "histogram",
    "component/pubsub_egress/count": "counter",
    "component/pubsub_egress/latencies": "histogram",
    "component/pubsub_ingress/count": "counter",
    "component/pubsub_ingress/latencies": "histogram",
    "component/input_binding/count": "counter",
    "component/input_binding/latencies": "histogram",
    "component/secret/count": "counter",
    "component/secret/latencies": "histogram",
    # pkg/diagnostics/http_monitoring.go
    "http/server/request_count": "counter",
    "http/server/latency": "histogram",
    "http/client/completed_count": "counter",
    "http/client/roundtrip_latency": "histogram",
}


def _dapr_names() -> set[str]:
    names: set[str] = set()
    for view, kind in _DAPR_VIEWS.items():
        base = "dapr_" + view.replace("/", "_")
        if kind == "histogram":
            names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
        else:
            names.add(base)
    return names


#: series Prometheus itself writes for every scrape target
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


async def _app_names() -> set[str]:
    async with running_app(workflow_tick_seconds=0, monitor_interval_seconds=0) as (_, user):
        assert (await user.post("/v1/sessions/m/messages", json={"content": "hi"})).is_success
        held = await user.post("/v1/sessions/m/messages", json={"content": "refund order 7 for 9"})
        assert held.json()["review_id"]
        assert (await user.post(SWEEP_ROUTE, headers={"authorization": ""})).is_success
        exposition = (await user.get("/metrics")).text
    return {
        sample.name
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def all_queries(app_id: str, namespace: str, thresholds: AlertThresholds) -> list[str]:
    """Every PromQL expression the alerts and the dashboard evaluate."""
    exprs = [str(r["expr"]) for r in alert_rules(app_id, thresholds)]
    for panel in dashboard(app_id, namespace)["panels"]:
        exprs.extend(str(t["expr"]) for t in panel["targets"])
    return exprs


async def test_every_alert_and_panel_queries_an_exported_metric() -> None:
    exported = await _app_names() | _dapr_names() | PROMETHEUS_SYNTHETIC
    queries = all_queries("daca-agent", "daca", AlertThresholds())
    assert len(queries) >= len(alert_rules("daca-agent", AlertThresholds())) + len(
        dashboard("daca-agent", "daca")["panels"]
    )
    used: set[str] = set()
    for query in queries:
        assert promql_problem(query) is None, query
        names = metric_names(query)
        assert names, f"no metric found in {query!r}"
        assert names <= exported, f"{sorted(names - exported)} not exported; query: {query}"
        used |= names
    # the alerts the issue names, by the metric behind each
    assert {
        "daca_agent_run_duration_seconds_bucket",
        "daca_reviews_pending",
        "daca_http_requests_total",
        "daca_model_up",
        "up",
        "dapr_component_state_latencies_bucket",
        "dapr_component_pubsub_egress_latencies_bucket",
        "daca_model_tokens_total",
    } <= used


def test_the_name_check_catches_a_typo() -> None:
    assert metric_names('sum(rate(daca_http_request_total{status=~"5.."}[5m]))') == {
        "daca_http_request_total"
    }
    assert "daca_http_request_total" not in _dapr_names()
    assert metric_names("histogram_quantile(0.9, sum by (le, topic) (rate(x_bucket[5m])))") == {
        "x_bucket"
    }


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("sum(rate(x[5m])", "unbalanced"),
        ('x{job="a"}}', "unbalanced"),
        ("x{job=a}", "label matcher"),
        ("x # y", "unexpected"),
        ("XXhistogram_quantile(0.95, x)", "unknown function with name 'XXhistogram_quantile'"),
        ("histogram_quantile(0.95, sum by (le) XX(rate(x[5m])))", "not PromQL"),
        ("sum(x) >", "not PromQL"),
    ],
)
def test_broken_promql_is_reported(expr: str, problem: str) -> None:
    assert problem in str(promql_problem(expr))
