"""The agent's alerts and Grafana dashboard, as data: every query names only metrics the app
(app/metrics.py) or daprd 1.18 really export (tests/infra/test_metric_names.py proves it)."""

from __future__ import annotations

import json
from typing import Any

from infra.config.observability import AlertThresholds

#: the job label prometheus-operator gives a PodMonitor's targets: `<namespace>/<name>`
MONITORING_NAMESPACE = "monitoring"


def app_monitor_name(app_id: str) -> str:
    """The PodMonitor scraping the app's own `/metrics`."""
    return f"{app_id}-app"


def daprd_monitor_name(app_id: str) -> str:
    """The PodMonitor scraping the injected daprd's metrics port."""
    return f"{app_id}-daprd"


def job(monitor: str) -> str:
    """The `job` label of a PodMonitor's targets (prometheus-operator's default)."""
    return f"{MONITORING_NAMESPACE}/{monitor}"


def alert_rules(app_id: str, thresholds: AlertThresholds) -> list[dict[str, Any]]:
    """The PrometheusRule's alerting rules (one group)."""
    app_job = job(app_monitor_name(app_id))
    daprd_job = job(daprd_monitor_name(app_id))
    t = thresholds

    def rule(name: str, expr: str, wait: str, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": wait,
            "labels": {"severity": severity, "app": app_id},
            "annotations": {"summary": summary},
        }

    return [
        rule(
            "DacaAgentSlowResponses",
            "histogram_quantile(0.95, sum by (le) "
            f'(rate(daca_agent_run_duration_seconds_bucket{{job="{app_job}"}}[5m]))) '
            f"> {t.agent_p95_seconds:g}",
            "10m",
            "warning",
            f"95% of agent runs take longer than {t.agent_p95_seconds:g}s",
        ),
        rule(
            "DacaReviewBacklog",
            # every replica reports the store's total: max, not sum
            f'max(daca_reviews_pending{{job="{app_job}"}}) > {t.pending_reviews}',
            "15m",
            "warning",
            f"more than {t.pending_reviews} reviews wait for a human decision",
        ),
        rule(
            "DacaHighErrorRate",
            f'sum(rate(daca_http_requests_total{{job="{app_job}",status=~"5.."}}[5m])) '
            f'/ sum(rate(daca_http_requests_total{{job="{app_job}"}}[5m])) '
            f"> {t.error_ratio:g}",
            "5m",
            "critical",
            f"more than {t.error_ratio:.0%} of requests answer 5xx",
        ),
        rule(
            "DacaSidecarDown",
            f'up{{job="{daprd_job}"}} == 0',
            "5m",
            "critical",
            "a daprd sidecar's metrics endpoint does not answer: the pod has no Dapr",
        ),
        rule(
            "DacaModelUnreachable",
            f'max(daca_model_up{{job="{app_job}"}}) == 0',
            "5m",
            "critical",
            "no replica reaches the model endpoint",
        ),
    ]


def _panel(
    panel_id: int, title: str, unit: str, targets: list[tuple[str, str]], x: int, y: int
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard(app_id: str, namespace: str) -> dict[str, Any]:
    """The agent's Grafana dashboard (schema of Grafana 11/12 dashboards)."""
    app = f'job="{job(app_monitor_name(app_id))}"'
    dapr = f'job="{job(daprd_monitor_name(app_id))}",app_id="{app_id}"'
    by_le = "sum by (le) (rate({0}[5m]))"
    panels = [
        _panel(1, "Requests by status", "reqps",
               [(f"sum by (status) (rate(daca_http_requests_total{{{app}}}[5m]))", "{{status}}")],
               0, 0),
        _panel(2, "Request latency", "s", [
            (f"histogram_quantile({q}, "
             + by_le.format(f"daca_http_request_duration_seconds_bucket{{{app}}}") + ")",
             f"p{int(q * 100)}")
            for q in (0.5, 0.95, 0.99)
        ], 12, 0),
        _panel(3, "Agent runs by outcome", "ops",
               [(f"sum by (outcome) (rate(daca_agent_run_duration_seconds_count{{{app}}}[5m]))",
                 "{{outcome}}")], 0, 8),
        _panel(4, "Agent run latency p95", "s", [
            ("histogram_quantile(0.95, "
             + by_le.format(f"daca_agent_run_duration_seconds_bucket{{{app}}}") + ")", "p95")
        ], 12, 8),
        _panel(5, "Pending reviews", "short",
               [(f"max(daca_reviews_pending{{{app}}})", "pending")], 0, 16),
        _panel(6, "Model tokens", "short",
               [(f"sum by (direction) (rate(daca_model_tokens_total{{{app}}}[5m]))",
                 "{{direction}}")], 12, 16),
        _panel(7, "Dapr state store latency p95", "ms", [
            ("histogram_quantile(0.95, sum by (le, operation) "
             f"(rate(dapr_component_state_latencies_bucket{{{dapr}}}[5m])))", "{{operation}}")
        ], 0, 24),
        _panel(8, "Dapr pub/sub publish latency p95", "ms", [
            ("histogram_quantile(0.95, sum by (le, topic) "
             f"(rate(dapr_component_pubsub_egress_latencies_bucket{{{dapr}}}[5m])))",
             "{{topic}}")
        ], 12, 24),
        _panel(9, "Model reachable", "short",
               [(f"min(daca_model_up{{{app}}})", "up")], 0, 32),
    ]  # fmt: skip
    return {
        "uid": f"{app_id}-agent"[:40],
        "title": f"DACA agent ({app_id} in {namespace})",
        "tags": ["daca"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                }
            ]
        },
        "panels": panels,
    }


def dashboard_json(app_id: str, namespace: str) -> str:
    """The dashboard as the sidecar loads it from a ConfigMap key."""
    return json.dumps(dashboard(app_id, namespace), indent=1, sort_keys=True)
