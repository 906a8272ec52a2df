"""The Grafana dashboard and the alert rules, as Grafana and Alertmanager read them.

The dashboard is loaded from the ConfigMap the component renders, the way Grafana's
sidecar loads it. Checked against Grafana's dashboard kind (grafana/grafana
`kinds/dashboard/dashboard_kind.cue`: the fields we use, their types and ranges), its unit
ids (`packages/grafana-data/src/valueFormats/categories.ts`), and what a reader sees: no
panel on top of another or off the 24-column grid, a legend naming a label the query keeps,
a unit that fits the metric. tests/app/test_metric_names.py checks the metrics exist.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from tests.infra.conftest import one
from tests.infra.test_observability import RULE, component

_STRING = {"type": "string", "minLength": 1}
_UINT = {"type": "integer", "minimum": 0}
_DATASOURCE_REF = {
    "type": "object",
    "properties": {"type": _STRING, "uid": _STRING},
    "additionalProperties": False,
}
_PANEL = {
    "type": "object",
    "required": ["id", "type", "title", "gridPos", "targets", "fieldConfig"],
    "additionalProperties": False,
    "properties": {
        "id": _UINT,
        "type": {"enum": ["timeseries", "stat", "gauge", "table", "row"]},
        "title": _STRING,
        "datasource": _DATASOURCE_REF,
        # #GridPos: h > 0, 0 < w <= 24, 0 <= x < 24, y >= 0
        "gridPos": {
            "type": "object",
            "required": ["h", "w", "x", "y"],
            "additionalProperties": False,
            "properties": {
                "h": {"type": "integer", "minimum": 1},
                "w": {"type": "integer", "minimum": 1, "maximum": 24},
                "x": {"type": "integer", "minimum": 0, "maximum": 23},
                "y": _UINT,
            },
        },
        "fieldConfig": {
            "type": "object",
            "required": ["defaults", "overrides"],
            "additionalProperties": False,
            "properties": {
                "defaults": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"unit": _STRING},
                },
                "overrides": {"type": "array"},
            },
        },
        "targets": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["refId", "expr"],
                "additionalProperties": False,
                "properties": {"refId": _STRING, "expr": _STRING, "legendFormat": _STRING},
            },
        },
    },
}
#: the dashboard kind's fields we use; a misspelt one is a field Grafana never reads
DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "time"],
    "additionalProperties": False,
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": _STRING,
        "tags": {"type": "array", "items": _STRING},
        "timezone": {"type": "string"},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "refresh": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "additionalProperties": False,
            "properties": {"from": _STRING, "to": _STRING},
        },
        "templating": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "list": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "type"],
                        "additionalProperties": False,
                        "properties": {
                            "name": _STRING,
                            "type": {
                                "enum": [
                                    "query",
                                    "adhoc",
                                    "constant",
                                    "datasource",
                                    "interval",
                                    "textbox",
                                    "custom",
                                    "system",
                                ]
                            },
                            "label": _STRING,
                            "query": _STRING,
                            "datasource": _DATASOURCE_REF,
                        },
                    },
                }
            },
        },
        "panels": {"type": "array", "minItems": 1, "items": _PANEL},
    },
}

#: unit ids of Grafana's Misc, Time and Throughput categories (categories.ts)
GRAFANA_UNITS = {
    *("none", "string", "short", "percent", "percentunit", "sci", "locale"),
    *("ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations"),
    *("cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm"),
}
PER_SECOND_UNITS = {"cps", "ops", "reqps", "rps", "wps", "iops", "short"}
GRID_COLUMNS = 24


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    """The dashboard as Grafana's sidecar reads it from the rendered ConfigMap."""
    configmap = one(component(), "kubernetes:core/v1:ConfigMap")["inputs"]
    ((key, text),) = configmap["data"].items()
    # the sidecar writes each key as a file; Grafana's file provider loads `*.json` only
    assert key.endswith(".json"), key
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_the_dashboard_uses_only_fields_grafana_declares(board: dict[str, Any]) -> None:
    jsonschema.validate(board, DASHBOARD_SCHEMA)


def test_the_schema_refuses_what_grafana_would_drop(board: dict[str, Any]) -> None:
    """The schema above can fail: each change below is one Grafana would not read."""
    broken = [
        {**board, "time": {"from": "now-6h"}},
        {**board, "panels": [{**board["panels"][0], "gridPos": {"h": 8, "w": 25, "x": 0, "y": 0}}]},
        {**board, "panels": [{**board["panels"][0], "fieldconfig": {}}]},
        {**board, "templating": {"list": [{"name": "ds", "type": "datasource", "Label": "x"}]}},
    ]
    for dashboard in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(dashboard, DASHBOARD_SCHEMA)


def _cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
    pos = panel["gridPos"]
    return {
        (x, y)
        for x in range(pos["x"], pos["x"] + pos["w"])
        for y in range(pos["y"], pos["y"] + pos["h"])
    }


def test_panels_are_unique_and_none_hides_another(board: dict[str, Any]) -> None:
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids), f"panel ids repeat: {ids}"
    taken: dict[tuple[int, int], str] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= GRID_COLUMNS, f"{panel['title']} runs off the grid: {pos}"
        for cell in _cells(panel):
            assert cell not in taken, f"{panel['title']} covers {taken[cell]} at {cell}"
            taken[cell] = panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs), f"{panel['title']}: refIds repeat: {refs}"
    # the grid has no hole a reader would scroll past: every row band is full width
    rows = {y for (_, y) in taken}
    assert rows == set(range(max(rows) + 1))


def _outer_by(expr: str) -> set[str]:
    """The labels the query's first (outermost) aggregation keeps (`sum by (a, b) (...)`)."""
    match = re.search(r"\bby \(([^)]*)\)", expr)
    return {label.strip() for label in match.group(1).split(",")} if match else set()


def test_a_legend_names_a_label_its_query_keeps(board: dict[str, Any]) -> None:
    seen = 0
    for panel in board["panels"]:
        for target in panel["targets"]:
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
                kept = _outer_by(target["expr"]) - {"le"}
                assert label in kept, (
                    f"{panel['title']}: legend {{{{{label}}}}} but the query keeps {sorted(kept)}"
                )
                seen += 1
    assert seen >= 3


def test_a_quantile_is_between_0_and_1(board: dict[str, Any]) -> None:
    quantiles = [
        float(q)
        for panel in board["panels"]
        for target in panel["targets"]
        for q in re.findall(r"histogram_quantile\(\s*([0-9.]+)", target["expr"])
    ]
    assert quantiles
    assert all(0 <= q <= 1 for q in quantiles), quantiles


def test_each_panels_unit_fits_its_metric(board: dict[str, Any]) -> None:
    for panel in board["panels"]:
        unit = panel["fieldConfig"]["defaults"]["unit"]
        assert unit in GRAFANA_UNITS, f"{panel['title']}: {unit!r} is no Grafana unit"
        exprs = " ".join(t["expr"] for t in panel["targets"])
        if "histogram_quantile" in exprs:
            # ours are in seconds (`_seconds`), daprd's latencies in milliseconds
            expected = "ms" if "dapr_" in exprs else "s"
            assert "_seconds_bucket" in exprs or expected == "ms", exprs
            assert unit == expected, f"{panel['title']}: a latency in {unit!r}, not {expected!r}"
        elif "rate(" in exprs:
            assert unit in PER_SECOND_UNITS, f"{panel['title']}: a rate shown in {unit!r}"


def test_the_time_range_and_the_data_source_variable(board: dict[str, Any]) -> None:
    assert board["time"] == {"from": "now-6h", "to": "now"}
    variables = board["templating"]["list"]
    assert [(v["name"], v["type"], v["query"]) for v in variables] == [
        ("datasource", "datasource", "prometheus")
    ]
    # every panel queries through that variable (so a second Prometheus can be picked),
    # its reference naming the variable's plugin type, as Grafana saves it
    refs = [p["datasource"] for p in board["panels"]]
    refs += [t["datasource"] for p in board["panels"] for t in p["targets"] if "datasource" in t]
    assert refs
    assert {(r["type"], r["uid"]) for r in refs} == {("prometheus", "${datasource}")}


#: kube-prometheus-stack's default Alertmanager config routes and inhibits on these
#: (values.yaml `alertmanager.config.inhibit_rules`: critical mutes warning and info)
SEVERITIES = {"critical", "warning", "info"}


def test_every_alert_carries_a_severity_alertmanager_routes_on() -> None:
    records = component()
    groups = one(records, RULE)["inputs"]["spec"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert rules
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES, rule
        assert rule["labels"]["app"] == "agent", rule


def test_every_alert_watches_targets_a_pod_monitor_scrapes_and_waits_before_firing() -> None:
    """prometheus-operator labels a PodMonitor's targets `job="<namespace>/<name>"`: an
    alert on another job watches nothing and never fires. Without `for`, one bad scrape
    pages someone; a `summary` is what a receiver's template shows first."""
    records = component()
    jobs = {
        f"{m['inputs']['metadata']['namespace']}/{m['inputs']['metadata']['name']}"
        for m in records
        if m["type"] == "kubernetes:monitoring.coreos.com/v1:PodMonitor"
    }
    assert jobs
    groups = one(records, RULE)["inputs"]["spec"]["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        named = set(re.findall(r'job="([^"]*)"', rule["expr"]))
        assert named, rule["alert"]
        assert named <= jobs, f"{rule['alert']} watches {sorted(named - jobs)}"
        assert re.fullmatch(r"[1-9][0-9]*[mh]", str(rule.get("for"))), rule["alert"]
        # the convention of kube-prometheus-stack's own rules, which receivers' templates
        # (Slack's, PagerDuty's) are written against: `summary`, `description`, `runbook_url`
        assert rule["annotations"].get("summary"), rule["alert"]
        assert set(rule["annotations"]) <= {"summary", "description", "runbook_url"}
